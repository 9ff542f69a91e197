/**
 * Helpers for BYOC patterns that emit C++: the kernel's signature and the argument
 * checks every Lathe kernel makes at entry (count, dtype, rank, constant dimensions), so
 * a pattern only writes the call it exists for.
 */
import type { DType } from "../../core/dtype.ts";
import { bytesOf } from "../../core/dtype.ts";
import type { ExternalKernel } from "./plugin.ts";

/** The type-code enumerator of lathe_rt.h for a dtype. */
const CODE: Record<DType, string> = {
  f16: "LATHE_FLOAT", f32: "LATHE_FLOAT", f64: "LATHE_FLOAT", i8: "LATHE_INT", i32: "LATHE_INT", i64: "LATHE_INT", u8: "LATHE_UINT", bool: "LATHE_BOOL",
};

/**
 * `extern "C" int32_t <symbol>(const LatheTensor* args, int32_t num_args) { checks; body; return 0; }`.
 * `body` reads `args[i]` (the match's inputs, then its output) and may `return` a non-zero
 * code after `lathe_fail(...)`.
 */
export function externalFunction(k: ExternalKernel, body: string, includes: readonly string[] = []): string {
  const args = [...k.inputs, k.output];
  const what = `${k.symbol} (${k.nodes.map((n) => n.name).join(" → ")})`;
  const L = [`  if (num_args != ${args.length}) { lathe_fail("${what}: expected ${args.length} arguments, got %d", (int)num_args); return 1; }`];
  args.forEach((v, i) => {
    const t = v.type;
    L.push(`  if (args[${i}].dtype.code != ${CODE[t.dtype]} || args[${i}].dtype.bits != ${t.dtype === "bool" ? 8 : bytesOf(t.dtype) * 8} || args[${i}].ndim != ${t.shape.length}) { lathe_fail("${what}: argument ${v.name} must be ${t.dtype} of rank ${t.shape.length}"); return 2; }`);
    t.shape.forEach((d, j) => {
      if (typeof d === "number") L.push(`  if (args[${i}].shape[${j}] != ${d}) { lathe_fail("${what}: ${v.name} dimension ${j} must be ${d}, got %lld", (long long)args[${i}].shape[${j}]); return 2; }`);
    });
  });
  return `${includes.map((h) => `#include ${h}\n`).join("")}extern "C" int32_t ${k.symbol}(const LatheTensor* args, int32_t num_args) {\n${L.join("\n")}\n${body.replace(/\s+$/, "")}\n  return 0;\n}\n`;
}
