/**
 * Vendor-library baselines (OpenBLAS, oneDNN) as small C++ shims behind Lathe's kernel ABI,
 * built through the same cached toolchain as Lathe's kernels, and the machine's load, which
 * the vendor benchmarks record because the machine is shared.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { compileShared } from "../../compiler/targets/cpu/toolchain.ts";
import { NativeLibrary } from "../../runtime/native.ts";
import type { BenchReport } from "./report.ts";

/**
 * Builds and opens the shim `source` (a file URL) linked with `flags`; null, with a note
 * saying why, when it does not build (the library is not installed).
 */
export async function vendorShim(report: BenchReport, what: string, source: URL, flags: readonly string[]): Promise<NativeLibrary | null> {
  try {
    const lib = await compileShared(readFileSync(source, "utf8"), flags);
    return NativeLibrary.open(lib.path);
  } catch (e) {
    report.note(`${what} wrapper failed to build: ${(e as Error).message.split("\n")[0]}`);
    return null;
  }
}

/** oneDNN's link flags (Debian's libdnnl-dev; its CPU runtime is OpenMP, so threads are OpenMP's). */
export const ONEDNN_FLAGS = ["-ldnnl"] as const;
export const ONEDNN_INSTALL = "apt-get install libdnnl-dev";

/** "1-min load a, 5-min b" for the notes. */
export function loadText(): string {
  const [a, b] = loadavg();
  return `load average ${a!.toFixed(2)} (1 min), ${b!.toFixed(2)} (5 min)`;
}
