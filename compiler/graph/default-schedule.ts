/**
 * The default cpu schedule of a fused group, by stage kind: elementwise and injective
 * intermediates are inlined; a reduction (the anchor) is computed per row of the output
 * that consumes it; every computed stage vectorizes its innermost data axis (with the
 * reduce loops moved outside it) and the outermost loop of each root stage runs in
 * parallel. No stage is left as a naive loop nest.
 */
import { bytesOf } from "../te/dtype.ts";
import type { Tensor } from "../te/tensor.ts";
import { MATERIALIZE } from "../te/tensor.ts";
import type { Schedule, Stage } from "../schedule/schedule.ts";
import { cacheRead, cacheWrite } from "../schedule/cache.ts";
import { visitExpr } from "../te/expr.ts";

const pow2Below = (n: number): number => 2 ** Math.floor(Math.log2(n));

function vectorizeInner(st: Stage, vectorBytes: number): void {
  const data = st.axis;
  if (data.length === 0) return;
  const inner = data.at(-1)!;
  const ext = st.constExtent(inner);
  if (ext === null || ext < 4) return;
  const lanes = Math.min(pow2Below(vectorBytes / bytesOf(st.tensor.dtype)) * 2, pow2Below(ext));
  if (lanes < 2) return;
  const [io, ii] = st.split(inner, { factor: lanes });
  st.reorder(io, ...st.reduceAxis, ii);
  st.vectorize(ii);
}

/**
 * Register tiling for a matmul-like anchor (one reduce axis, ≥ 2 data axes), TVM's opt_gemm
 * recipe as in bench/gemm: mr×nr blocks of the output accumulate in the anchor's buffer
 * (the epilogue stage, or a cache_write copy, reads them out), the operand indexed by the
 * column axis is packed per column panel, rows unrolled and columns vectorized.
 */
function gemmLike(s: Schedule, anchorTensor: Tensor, outTensor: Tensor, vectorBytes: number): boolean {
  let anchor = s.stage(anchorTensor);
  if (anchor.reduceAxis.length !== 1 || anchor.axis.length < 2) return false;
  let out = s.stage(outTensor);
  // The epilogue must be elementwise over the anchor's own index space.
  if (out.axis.length !== anchor.axis.length || out.axis.some((a, k) => {
    const e = out.constExtent(a), f = anchor.constExtent(anchor.axis[k]!);
    return e !== f || (e === null && a.dom.extent !== anchor.axis[k]!.dom.extent);
  })) return false;
  const lanes = pow2Below(vectorBytes / bytesOf(anchor.tensor.dtype));
  const n = anchor.constExtent(anchor.axis.at(-1)!);
  if (n === null || n < lanes) return false;
  if (out === anchor) {
    const local = cacheWrite(s, anchorTensor, "local");
    anchor = s.stage(local);
    out = s.stage(anchorTensor);
  }
  const nr = n >= 4 * lanes ? 4 * lanes : n >= 2 * lanes ? 2 * lanes : lanes;
  const mExt = out.constExtent(out.axis.at(-2)!);
  const mr = mExt === null ? 6 : Math.min(6, mExt);
  const [io, jo, ii, ji] = out.tile(out.axis.at(-2)!, out.axis.at(-1)!, mr, nr);
  out.reorder(jo, io, ii, ji);
  out.vectorize(ji);
  anchor.computeAt(out, io);
  const [ai, aj] = anchor.axis.slice(-2);
  anchor.reorder(anchor.reduceAxis[0]!, ai!, aj!);
  if (mr > 1) anchor.unroll(ai!);
  anchor.vectorize(aj!);
  // Pack each operand read along the column axis, one nr-wide panel per column tile.
  const j = anchorTensor.op.kind === "compute" ? anchorTensor.op.axes.at(-1)!.var : null;
  const body = anchor.op!.body;
  const packed = new Set<Tensor>();
  visitExpr(body, (e) => {
    if (e.kind === "access" && e.tensor.op.kind === "placeholder" && e.indices.some((ix) => {
      let uses = false;
      visitExpr(ix, (x) => { if (x.kind === "var" && anchor.axis.at(-1)!.var === x) uses = true; });
      return uses;
    })) packed.add(e.tensor);
  });
  for (const p of packed) s.stage(cacheRead(s, p, "global", [anchor.tensor])).computeAt(out, jo);
  const first = out.leaves[0]!;
  if (first.kind === "data") out.parallel(first);
  void j;
  return true;
}

export function defaultSchedule(s: Schedule, outputs: readonly Tensor[], vectorBytes: number, gemmAnchor: Tensor | null = null): void {
  const computed0 = s.stages.filter((st) => st.op !== null);
  for (const st of computed0) {
    if (!st.isOutput && st.op!.body.kind !== "reduce" && st.op!.tag !== MATERIALIZE) st.computeInline();
  }
  const gemmDone = new Set<Stage>();
  if (gemmAnchor) {
    const out = outputs.find((o) => o === gemmAnchor || s.dependsOn(s.stage(o), s.stage(gemmAnchor)));
    if (out && gemmLike(s, gemmAnchor, out, vectorBytes)) {
      for (const st of s.stages) if (st.op && st.attach.kind !== "inline") gemmDone.add(st);
    }
  }
  const computed = s.stages.filter((st) => st.op !== null && !gemmDone.has(st));
  const outStages = outputs.map((t) => s.stage(t));
  for (const st of computed) {
    if (st.isOutput || st.attach.kind === "inline") continue;
    // A reduction feeding an output is computed per row of that output.
    // Only when exactly one output needs it: computed inside one output's loops, it would not
    // exist for the others.
    const readers = outStages.filter((o) => s.dependsOn(o, st));
    const consumer = readers.length === 1 ? readers[0] : undefined;
    // Only for an elementwise epilogue (same rank): a smaller reduction computed per row
    // would be recomputed for every row.
    if (consumer && consumer.axis.length >= 2 && consumer.axis.length === st.axis.length && consumer.op!.body.kind !== "reduce") {
      st.computeAt(consumer, consumer.axis[consumer.axis.length - 2]!);
    }
  }
  for (const st of computed) {
    if (st.attach.kind === "inline") continue;
    vectorizeInner(st, vectorBytes);
    if (st.attach.kind === "root" && st.leaves.length >= 2 && st.leaves[0]!.kind === "data") st.parallel(st.leaves[0]!);
  }
}
