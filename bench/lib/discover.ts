/** Finds benchmarks: every bench/<name>/index.ts is one. */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LatheError } from "../../core/errors.ts";

export const BENCH_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Names of the benchmarks under `root`, sorted. */
export function listBenches(root: string = BENCH_ROOT): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, "index.ts")))
    .map((e) => e.name)
    .sort();
}

/** The entry file of benchmark `name`; a LatheError listing the available ones if there is none. */
export function benchEntry(name: string, root: string = BENCH_ROOT): string {
  const available = listBenches(root);
  if (!available.includes(name)) {
    const list = available.length > 0 ? available.join(", ") : "none yet";
    throw new LatheError(`no benchmark named "${name}" (bench/${name}/index.ts); available: ${list}`);
  }
  return join(root, name, "index.ts");
}
