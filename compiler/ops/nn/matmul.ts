/**
 * Matrix products: `matmul` (rank ≥ 2, batch dimensions broadcast as in numpy.matmul) and
 * `batch_matmul` (rank 3, TVM's). Gradients: g·Bᵀ and Aᵀ·g, summed down to a broadcast
 * operand's shape (`sum_like`) when its batch dimensions were broadcast.
 */
import type { Dim, TensorType } from "../../graph/types.ts";
import { sameType } from "../../graph/types.ts";
import type { Value } from "../../graph/graph.ts";
import type { GraphEmitter } from "../../graph/graph.ts";
import { int, mul } from "../../te/expr.ts";
import type { Expr } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { ComputeContext, OpDef, VjpContext } from "../op.ts";
import { defineOp } from "../op.ts";
import { expectArity, expectFloat, expectSameDtype, outShape, shapeError } from "./common.ts";

/** NumPy broadcasting of the batch dimensions (right-aligned); null on a mismatch. */
function broadcastBatch(a: readonly Dim[], b: readonly Dim[]): Dim[] | null {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let k = 0; k < n; k++) {
    const x = a[a.length - n + k] ?? 1, y = b[b.length - n + k] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else return null;
  }
  return out;
}

function inferMatmul(op: string, inputs: readonly TensorType[], node: string, rank: number | null): TensorType[] {
  expectArity(node, op, inputs, 2);
  expectFloat(node, op, inputs, [0, 1]);
  const dtype = expectSameDtype(node, op, inputs, [0, 1]);
  const [a, b] = inputs as [TensorType, TensorType];
  for (const t of [a, b]) {
    if (rank === null ? t.shape.length < 2 : t.shape.length !== rank) {
      throw shapeError(node, op, rank === null ? "operands must have rank ≥ 2" : `operands must have rank ${rank}`, inputs);
    }
  }
  const ka = a.shape.at(-1)!, kb = b.shape.at(-2)!;
  if (ka !== kb) throw shapeError(node, op, `inner dimensions differ (${ka} vs ${kb})`, inputs);
  const batch = broadcastBatch(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (batch === null) throw shapeError(node, op, "batch dimensions do not broadcast", inputs);
  return [{ shape: [...batch, a.shape.at(-2)!, b.shape.at(-1)!], dtype }];
}

/** out[..., i, j] = Σ_k A[..., i, k] · B[..., k, j], reading a broadcast batch dimension at 0. */
function computeMatmul(inputs: readonly TeTensor[], ctx: ComputeContext): TeTensor[] {
  const [A, B] = inputs as [TeTensor, TeTensor];
  const shape = outShape(ctx);
  const K = A.shape.at(-1)!;
  const nb = shape.length - 2;
  // Batch index of an operand: aligned to the right; a dimension of size 1 broadcasts (reads 0).
  const batchIdx = (t: TeTensor, ax: readonly Expr[]): Expr[] => {
    const r = t.shape.length - 2;
    return t.shape.slice(0, r).map((d, k) => (d.kind === "const" && d.value === 1 ? int(0) : ax[nb - r + k]!));
  };
  const rk = reduceAxis(K, "k");
  return [compute(shape, (...ax) => {
    const i = ax[nb]!, j = ax[nb + 1]!;
    const ai = batchIdx(A, ax), bi = batchIdx(B, ax);
    return sum(rk, mul(A.at(...ai, i, rk.var), B.at(...bi, rk.var, j)));
  }, ctx.name)];
}

/** Swaps the last two axes (for the gradient's transposes). */
function swapLast(b: GraphEmitter, v: Value): Value {
  const r = v.type.shape.length;
  const perm = [...Array.from({ length: r - 2 }, (_, k) => k), r - 1, r - 2];
  return b.op1("transpose", [v], { perm });
}

/** Sums a broadcast gradient down to its operand's shape; a no-op when nothing was broadcast. */
const unbroadcast = (b: GraphEmitter, g: Value, like: Value): Value => (sameType(g.type, like.type) ? g : b.op1("sum_like", [g, like]));

function matmulVjp(op: string): OpDef["vjp"] {
  return ({ node, b }: VjpContext, [g]) => {
    if (!g) return [null, null];
    const [A, B] = node.inputs as [Value, Value];
    const dA = b.op1(op, [g, swapLast(b, B)]);
    const dB = b.op1(op, [swapLast(b, A), g]);
    return [unbroadcast(b, dA, A), unbroadcast(b, dB, B)];
  };
}

export const matmul: OpDef = defineOp({
  name: "matmul",
  fusion: "outEWiseFusable",
  attrs: {},
  infer: (inputs, _a, node) => inferMatmul("matmul", inputs, node, null),
  compute: (inputs, _a, ctx) => computeMatmul(inputs, ctx),
  vjp: matmulVjp("matmul"),
});

export const batchMatmul: OpDef = defineOp({
  name: "batch_matmul",
  fusion: "outEWiseFusable",
  attrs: {},
  infer: (inputs, _a, node) => inferMatmul("batch_matmul", inputs, node, 3),
  compute: (inputs, _a, ctx) => computeMatmul(inputs, ctx),
  vjp: matmulVjp("batch_matmul"),
});
