/** Runs the `lathe` CLI in-process for tests: what it printed, and its exit code. */
import { vi } from "vitest";
import { main } from "../../cli/main.ts";

export interface CliResult {
  readonly out: string;
  readonly err: string;
  readonly code: number;
}

export async function lathe(...args: string[]): Promise<CliResult> {
  const out: string[] = [], err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => { out.push(a.join(" ")); });
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => { err.push(a.join(" ")); });
  try {
    await main(["node", "lathe", ...args]);
  } finally {
    log.mockRestore(); error.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out: out.join("\n"), err: err.join("\n"), code };
}
