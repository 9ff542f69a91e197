/**
 * Matrix products: `matmul` (rank ≥ 2, batch dimensions broadcast as in numpy.matmul) and
 * `batch_matmul` (rank 3, TVM's). `transA`/`transB` (ONNX Gemm's and TVM's nn.matmul's
 * flags) read an operand with its last two axes swapped, so Aᵀ·B is one kernel that reads A
 * in place instead of a transpose materialized first. Gradients: g·B̂ᵀ and Âᵀ·g written with
 * those flags (no transpose nodes), summed down to a broadcast operand's shape (`sum_like`)
 * when its batch dimensions were broadcast.
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

/** The transposition flags of a matmul node. */
type MatmulAttrs = { readonly transA: boolean; readonly transB: boolean };

function inferMatmul(op: string, inputs: readonly TensorType[], attrs: MatmulAttrs, node: string, rank: number | null): TensorType[] {
  expectArity(node, op, inputs, 2);
  expectFloat(node, op, inputs, [0, 1]);
  const dtype = expectSameDtype(node, op, inputs, [0, 1]);
  const [a, b] = inputs as [TensorType, TensorType];
  for (const t of [a, b]) {
    if (rank === null ? t.shape.length < 2 : t.shape.length !== rank) {
      throw shapeError(node, op, rank === null ? "operands must have rank ≥ 2" : `operands must have rank ${rank}`, inputs);
    }
  }
  const ka = a.shape.at(attrs.transA ? -2 : -1)!, kb = b.shape.at(attrs.transB ? -1 : -2)!;
  if (ka !== kb) throw shapeError(node, op, `inner dimensions differ (${ka} vs ${kb})`, inputs);
  const batch = broadcastBatch(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (batch === null) throw shapeError(node, op, "batch dimensions do not broadcast", inputs);
  return [{ shape: [...batch, a.shape.at(attrs.transA ? -1 : -2)!, b.shape.at(attrs.transB ? -2 : -1)!], dtype }];
}

/**
 * out[..., i, j] = Σ_k Â[..., i, k] · B̂[..., k, j], where Â reads A[..., k, i] under transA
 * (B̂ likewise), reading a broadcast batch dimension at 0.
 */
function computeMatmul(inputs: readonly TeTensor[], attrs: MatmulAttrs, ctx: ComputeContext): TeTensor[] {
  const [A, B] = inputs as [TeTensor, TeTensor];
  const shape = outShape(ctx);
  const K = A.shape.at(attrs.transA ? -2 : -1)!;
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
    const a = attrs.transA ? A.at(...ai, rk.var, i) : A.at(...ai, i, rk.var);
    const b = attrs.transB ? B.at(...bi, j, rk.var) : B.at(...bi, rk.var, j);
    return sum(rk, mul(a, b));
  }, ctx.name)];
}

/** Sums a broadcast gradient down to its operand's shape; a no-op when nothing was broadcast. */
const unbroadcast = (b: GraphEmitter, g: Value, like: Value): Value => (sameType(g.type, like.type) ? g : b.op1("sum_like", [g, like]));

/**
 * With Â = transA ? Aᵀ : A (B̂ likewise) and C = Â·B̂: dÂ = g·B̂ᵀ and dB̂ = Âᵀ·g; an operand
 * read transposed gets the transpose of its hat's gradient, (g·B̂ᵀ)ᵀ = B̂·gᵀ and
 * (Âᵀ·g)ᵀ = gᵀ·Â. Every transpose here is a flag on the product, never a node.
 */
function matmulVjp(op: string): OpDef["vjp"] {
  return ({ node, b }: VjpContext, [g]) => {
    if (!g) return [null, null];
    const [A, B] = node.inputs as [Value, Value];
    const tA = node.attrs["transA"] === true, tB = node.attrs["transB"] === true;
    const dA = tA ? b.op1(op, [B, g], { transA: tB, transB: true }) : b.op1(op, [g, B], { transA: false, transB: !tB });
    const dB = tB ? b.op1(op, [g, A], { transA: true, transB: tA }) : b.op1(op, [A, g], { transA: !tA, transB: false });
    return [unbroadcast(b, dA, A), unbroadcast(b, dB, B)];
  };
}

const TRANS_ATTRS = { transA: { kind: "bool", default: false }, transB: { kind: "bool", default: false } } as const;

export const matmul = defineOp<MatmulAttrs>({
  name: "matmul",
  fusion: "outEWiseFusable",
  attrs: TRANS_ATTRS,
  infer: (inputs, a, node) => inferMatmul("matmul", inputs, a, node, null),
  compute: (inputs, a, ctx) => computeMatmul(inputs, a, ctx),
  vjp: matmulVjp("matmul"),
});

export const batchMatmul = defineOp<MatmulAttrs>({
  name: "batch_matmul",
  fusion: "outEWiseFusable",
  attrs: TRANS_ATTRS,
  infer: (inputs, a, node) => inferMatmul("batch_matmul", inputs, a, node, 3),
  compute: (inputs, a, ctx) => computeMatmul(inputs, a, ctx),
  vjp: matmulVjp("batch_matmul"),
});
