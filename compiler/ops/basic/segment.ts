/**
 * segment_sum (TensorFlow's unsorted_segment_sum): out[s, ...] = Σ over rows p with
 * segment_ids[p] = s of data[p, ...]. Rows need not be sorted or contiguous; a segment no
 * row names is 0; a row whose id is outside [0, num_segments) is dropped (TF drops
 * negative ids).
 *
 * The number of segments is the attribute `num_segments`, or, with a third input `like`
 * (a shape carrier whose data is never read, as gather_grad's), `like`'s first dimension,
 * which may be symbolic, so one compiled graph serves every number of segments.
 *
 * Cost. As a tensor expression, each output element is a reduction over all N rows
 * masked by `segment_ids[p] = s` (the form scatter.ts gives scatters): lowered as is, a loop
 * nest over [num_segments, ..., N] with the test inside, O(N × num_segments × row) work for
 * O(N × row) useful additions. TE reduction domains are fixed ranges (compiler/tir/lower.ts
 * takes a reduce axis's extent as a loop bound, never a value read from a buffer), so the
 * one-pass form — a loop over the N rows that adds each row into out[segment_ids[p]] — is
 * not a TE compute. The cpu target therefore runs a hand-written one-pass kernel
 * (targets/cpu/extern-kernels.ts, through the BYOC mechanism) for f32/f64/i32/i64 data;
 * this compute stays the op's meaning (interpreter, webgpu, other dtypes). Measured (cpu, 2
 * shared cores, f64 rows of 4, symbolic sizes): 100 000 rows into 20 000 segments took
 * ≈ 1.8 s as the masked reduction and 1.5–10 ms (min–median of 9) with the kernel.
 *
 * models/crowd/graphs.ts predates the kernel and lays rows out padded instead: a gather by
 * an index matrix [segments, max rows] with a mask, then a sum over the padded axis, in two
 * levels (chunks of ⌈√max⌉ rows, then the chunks of each segment), O(N + segments × √max).
 *
 * Gradient: d data = gather(g, segment_ids) along axis 0; none for the ids or `like`.
 * It is defined for ids inside [0, num_segments) (gather wraps a negative index and an id
 * ≥ num_segments is an out-of-bounds read), which is what callers should pass.
 */
import { ShapeError } from "../../../core/errors.ts";
import type { Value } from "../../graph/graph.ts";
import type { Dim, TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import { cast, eq } from "../../te/expr.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { at, integral, numeric, outShape } from "./common.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

type SegmentAttrs = { readonly num_segments: number };

const OP = "segment_sum";

export const segmentSum = defineOp<SegmentAttrs>({
  name: OP,
  fusion: "reduce",
  attrs: { num_segments: { kind: "int", default: -1 } },
  infer: (inputs, { num_segments: ns }, node) => {
    if (inputs.length !== 2 && inputs.length !== 3) {
      throw new ShapeError(`${at(node, OP)}: takes 2 inputs (data, segment_ids) or 3 (data, segment_ids, like), got ${inputs.length}`);
    }
    const [data, ids, like] = inputs as readonly [TensorType, TensorType, TensorType | undefined];
    numeric(data, node, OP);
    integral(ids, node, OP, "segment_ids");
    if (data.shape.length < 1) throw new ShapeError(`${at(node, OP)}: data ${showType(data)} must have rank ≥ 1 (rows to sum)`);
    if (ids.shape.length !== 1) throw new ShapeError(`${at(node, OP)}: segment_ids ${showType(ids)} must be a vector`);
    const n = data.shape[0]!, m = ids.shape[0]!;
    const sameN = typeof n === "number" && typeof m === "number" ? n === m : n === m;
    if (!sameN) throw new ShapeError(`${at(node, OP)}: segment_ids ${showType(ids)} must have one id per row of data ${showType(data)}`);
    let segments: Dim;
    if (like) {
      if (like.shape.length < 1) throw new ShapeError(`${at(node, OP)}: like ${showType(like)} must have rank ≥ 1 (its first dimension is the number of segments)`);
      segments = like.shape[0]!;
      if (ns !== -1 && ns !== segments) {
        throw new ShapeError(`${at(node, OP)}: num_segments ${ns} disagrees with like ${showType(like)} (leave it at -1 with a like input)`);
      }
    } else {
      if (ns < 0) throw new ShapeError(`${at(node, OP)}: num_segments must be ≥ 0 (or give a like input), got ${ns}`);
      segments = ns;
    }
    return [{ shape: [segments, ...data.shape.slice(1)], dtype: data.dtype }];
  },
  compute: ([data, ids], _attrs, ctx) => [compute(outShape(ctx), (s, ...rest) => {
    const n = data!.shape[0]!;
    const p = reduceAxis(n, "p");
    const hit = eq(cast("i32", ids!.at(p.var)), s!);
    return sum(p, data!.at(p.var, ...rest), { where: hit });
  }, ctx.name)],
  vjp: ({ node, b }, [g]) => {
    const [data, ids] = node.inputs as [Value, Value];
    const none = node.inputs.map(() => null);
    if (!g || !differentiable(data)) return none;
    return [graphOps(b).op("gather", [g, ids], { axis: 0 }), ...none.slice(1)];
  },
});

export const segmentOps: readonly OpDef[] = [segmentSum as OpDef];
