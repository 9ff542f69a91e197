/** Where targets keep what they build (kernel libraries, simulators): one cache directory for all. */
import { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** LATHE_CACHE_DIR, or ~/.cache/lathe/kernels; created on first use. */
export function cacheDir(): string {
  const dir = process.env.LATHE_CACHE_DIR ?? path.join(os.homedir(), ".cache", "lathe", "kernels");
  mkdirSync(dir, { recursive: true });
  return dir;
}
