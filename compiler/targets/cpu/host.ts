/** Facts about the host CPU that the cpu target's passes depend on. */
import { readFileSync } from "node:fs";

/** The widest SIMD register -march=native gives on this host, in bytes. */
export function hostVectorBytes(): number {
  const override = Number(process.env.LATHE_VECTOR_BYTES);
  if (Number.isInteger(override) && override > 0) return override;
  let flags = "";
  try {
    flags = /flags\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
  } catch {
    return 16;
  }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  return has("avx512f") ? 64 : has("avx2") || has("avx") ? 32 : 16;
}
