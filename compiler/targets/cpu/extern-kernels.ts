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
 *
 * gather → segment_sum (rows of a table picked by an index, then summed by segment: a sparse
 * matrix times a dense one, as the crowd aggregators' E- and M-steps do) runs as one pass
 * that adds table[idx[p]] into out[ids[p]], so the gathered [N, row] tensor is never
 * written: at 10M labels of 10 classes that tensor alone was 800 MB of f64.
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

/** gather along axis 0 by a vector of indices, whose result is segment_sum's data (not its ids). */
const gatherSegmentSumAccepts = (m: PatternMatch): boolean => {
  const [gather, seg] = m.nodes as [PatternMatch["nodes"][0], PatternMatch["nodes"][0]];
  const [table, index] = gather.inputs as [Value, Value];
  const axis = Number(gather.attrs["axis"] ?? 0);
  const rank = table.type.shape.length;
  const ids = seg.inputs[1]!;
  return (axis === 0 || axis === -rank) && rank >= 1 && index.type.shape.length === 1 && (index.type.dtype === "i32" || index.type.dtype === "i64")
    && seg.inputs[0] === gather.outputs[0] && ids !== gather.outputs[0] && C_TYPE[table.type.dtype] !== undefined && (ids.type.dtype === "i32" || ids.type.dtype === "i64");
};

/**
 * The one-pass scatter both kernels are: zero the output, then for every p whose id lies in
 * [0, segments) add row `src_row` of `data` into out[ids[p]]. `source` is the C++ that sets
 * src_row for p (with its checks), `count` the argument whose first dimension is N.
 */
function scatterKernel(k: ExternalKernel, o: { data: Value; ids: Value; count: number; noun: string; locals: readonly string[]; source: string }): string {
  const d = k.inputs.indexOf(o.data), i = k.inputs.indexOf(o.ids), out = k.inputs.length;
  const t = C_TYPE[o.data.type.dtype]!, it = C_TYPE[o.ids.type.dtype]!;
  const body = [
    `  const int64_t N = args[${o.count}].shape[0], S = args[${out}].shape[0];`,
    `  int64_t row = 1;`,
    `  for (int32_t j = 1; j < args[${d}].ndim; ++j) row *= args[${d}].shape[j];`,
    `  if (args[${i}].shape[0] != N) { lathe_fail("${k.symbol}: %lld segment ids for %lld ${o.noun}", (long long)args[${i}].shape[0], (long long)N); return 2; }`,
    `  const ${t}* x = static_cast<const ${t}*>(args[${d}].data);`,
    `  const ${it}* id = static_cast<const ${it}*>(args[${i}].data);`,
    `  ${t}* y = static_cast<${t}*>(args[${out}].data);`,
    ...o.locals,
    `  for (int64_t q = 0; q < S * row; ++q) y[q] = 0;`,
    `  for (int64_t p = 0; p < N; ++p) {`,
    `    const int64_t s = (int64_t)id[p];`,
    `    if (s < 0 || s >= S) continue;`,
    o.source,
    `    ${t}* dst = y + s * row;`,
    `    const ${t}* src = x + src_row * row;`,
    `    for (int64_t r = 0; r < row; ++r) dst[r] += src[r];`,
    `  }`,
  ];
  return externalFunction(k, body.join("\n"));
}

function gatherSegmentSumKernel(k: ExternalKernel): string {
  const [gather, seg] = k.nodes as [ExternalKernel["nodes"][0], ExternalKernel["nodes"][0]];
  const [table, index] = gather.inputs as [Value, Value];
  const x = k.inputs.indexOf(index), d = k.inputs.indexOf(table), xt = C_TYPE[index.type.dtype]!;
  return scatterKernel(k, {
    data: table, ids: seg.inputs[1]!, count: x, noun: "gathered rows",
    locals: [`  const ${xt}* at = static_cast<const ${xt}*>(args[${x}].data);`, `  const int64_t R = args[${d}].shape[0];`],
    source: [
      `    int64_t src_row = (int64_t)at[p];`,
      `    if (src_row < 0) src_row += R; // gather's negative indices count from the end`,
      `    if (src_row < 0 || src_row >= R) { lathe_fail("${k.symbol}: gather index %lld is outside [%lld, %lld)", (long long)at[p], (long long)-R, (long long)R); return 2; }`,
    ].join("\n"),
  });
}

function segmentSumKernel(k: ExternalKernel): string {
  const [data, ids] = k.nodes[0]!.inputs as [Value, Value];
  return scatterKernel(k, { data, ids, count: k.inputs.indexOf(data), noun: "rows", locals: [], source: "    const int64_t src_row = p;" });
}

/** The cpu target's own hand-written kernels, matched before any plugin's patterns. */
export const CPU_EXTERNAL_PATTERNS: readonly ExternalPattern[] = [
  { name: "gather_segment_sum", ops: ["gather", "segment_sum"], accepts: gatherSegmentSumAccepts, emit: gatherSegmentSumKernel },
  { name: "segment_sum_scatter", ops: ["segment_sum"], accepts: segmentSumAccepts, emit: segmentSumKernel },
];
