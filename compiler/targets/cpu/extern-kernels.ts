/**
 * Ops whose cpu kernels are written by hand rather than lowered from their tensor
 * expressions, through the same BYOC mechanism target plugins use (targets/byoc.ts): a
 * pattern takes the op out of its fusion group and emits a C++ kernel with Lathe's ABI.
 * The op's TE compute stays its meaning — the interpreter, the webgpu target and the fuzzer's
 * loop-IR bisection use it — so the kernel here is tested against it.
 *
 * segment_sum: its TE form is a reduction over all N rows masked by `ids[p] = s` for every
 * segment s, O(N × segments × row) (ops/basic/segment.ts says why a TE reduction cannot read
 * its range from a buffer). The kernel here is the one-pass scatter: zero the output, then
 * add each row into out[ids[p]], O(N × row). Rows whose id is outside [0, segments) are
 * dropped, as the op defines. It is serial: rows of different ids would race on a shared
 * output row, and the pass is memory-bound.
 */
import type { DType } from "../../../core/dtype.ts";
import type { Value } from "../../graph/graph.ts";
import { externalFunction } from "../external-c.ts";
import type { ExternalKernel, ExternalPattern, PatternMatch } from "../plugin.ts";

const C_TYPE: Partial<Record<DType, string>> = { f32: "float", f64: "double", i32: "int32_t", i64: "int64_t" };

const segmentSumAccepts = (m: PatternMatch): boolean => {
  const [data, ids] = m.nodes[0]!.inputs as [Value, Value];
  return C_TYPE[data.type.dtype] !== undefined && (ids.type.dtype === "i32" || ids.type.dtype === "i64");
};

function segmentSumKernel(k: ExternalKernel): string {
  const node = k.nodes[0]!;
  const [data, ids] = node.inputs as [Value, Value];
  const d = k.inputs.indexOf(data), i = k.inputs.indexOf(ids), o = k.inputs.length;
  const t = C_TYPE[data.type.dtype]!, it = C_TYPE[ids.type.dtype]!;
  const body = [
    `  const int64_t N = args[${d}].shape[0], S = args[${o}].shape[0];`,
    `  int64_t row = 1;`,
    `  for (int32_t j = 1; j < args[${d}].ndim; ++j) row *= args[${d}].shape[j];`,
    `  if (args[${i}].shape[0] != N) { lathe_fail("${k.symbol}: %lld segment ids for %lld rows", (long long)args[${i}].shape[0], (long long)N); return 2; }`,
    `  const ${t}* x = static_cast<const ${t}*>(args[${d}].data);`,
    `  const ${it}* id = static_cast<const ${it}*>(args[${i}].data);`,
    `  ${t}* y = static_cast<${t}*>(args[${o}].data);`,
    `  for (int64_t q = 0; q < S * row; ++q) y[q] = 0;`,
    `  for (int64_t p = 0; p < N; ++p) {`,
    `    const int64_t s = (int64_t)id[p];`,
    `    if (s < 0 || s >= S) continue;`,
    `    ${t}* dst = y + s * row;`,
    `    const ${t}* src = x + p * row;`,
    `    for (int64_t r = 0; r < row; ++r) dst[r] += src[r];`,
    `  }`,
  ];
  return externalFunction(k, body.join("\n"));
}

/** The cpu target's own hand-written kernels, matched before any plugin's patterns. */
export const CPU_EXTERNAL_PATTERNS: readonly ExternalPattern[] = [
  { name: "segment_sum_scatter", ops: ["segment_sum"], accepts: segmentSumAccepts, emit: segmentSumKernel },
];
