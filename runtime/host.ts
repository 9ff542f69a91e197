/** Facts about the host CPU that loading a compiled library depends on (and the compiler's cache key). */
import { readFileSync } from "node:fs";
import os from "node:os";

let cpu: string | null = null;

/** The host CPU as "model|flags" (from /proc/cpuinfo where there is one). */
export function hostCpu(): string {
  cpu ??= readHostCpu(); // the CPU does not change under a running process
  return cpu;
}

function readHostCpu(): string {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const model = /model name\s*:\s*(.*)/.exec(info)?.[1] ?? "";
    const flags = /flags\s*:\s*(.*)/.exec(info)?.[1] ?? "";
    return `${model}|${flags}`;
  } catch {
    return `${os.arch()}|${os.cpus()[0]?.model ?? ""}`;
  }
}

/** x86 extensions that matter for -march=native code; another host must have them all. */
const ISA_FLAGS = new Set([
  "sse3", "ssse3", "sse4_1", "sse4_2", "popcnt", "avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "movbe",
  "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512ifma", "avx512vbmi", "avx512_vbmi2",
  "avx512_vnni", "avx512_bitalg", "avx512_vpopcntdq", "avx512_bf16", "avx512_fp16", "avx_vnni",
  "amx_tile", "amx_bf16", "amx_int8",
]);

export const hostIsa = (): string[] => (hostCpu().split("|")[1] ?? "").split(/\s+/).filter((f) => ISA_FLAGS.has(f)).sort();
