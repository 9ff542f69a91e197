/**
 * Ops that gradients are written with: sum_like (undo a broadcast), broadcast_like (undo a
 * reduction), reshape_like, zeros_like, ones_like. Taking the target shape from a value
 * rather than an attribute keeps symbolic dimensions symbolic.
 */
import { ShapeError } from "../../../core/errors.ts";
import type { TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { Expr } from "../../te/expr.ts";
import { float, int, isConst } from "../../te/expr.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { readBroadcast, tryBroadcast } from "./broadcast.ts";
import { arity, at, outShape, sameShape } from "./common.ts";
import { reshapeCompute, sameCount } from "./shape.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

/** Throws unless `small` broadcasts to exactly `big`'s shape. */
function checkBroadcastsTo(small: TensorType, big: TensorType, node: string, op: string): void {
  const b = tryBroadcast([small.shape, big.shape]);
  if (!b || !sameShape(b, big.shape)) throw new ShapeError(`${at(node, op)}: ${showType(small)} does not broadcast to ${showType(big)}`);
}

/** Σ of x over the dimensions that broadcasting `like` to x's shape would stretch; shaped like `like`. */
export const sumLike = defineOp({
  name: "sum_like",
  fusion: "reduce",
  attrs: {},
  infer: (inputs, _attrs, node) => {
    arity(inputs, 2, node, "sum_like");
    const [x, like] = inputs as readonly [TensorType, TensorType];
    checkBroadcastsTo(like, x, node, "sum_like");
    return [{ shape: [...like.shape], dtype: x.dtype }];
  },
  compute: ([x, like], _attrs, ctx) => {
    const off = x!.shape.length - like!.shape.length;
    // x's axes that collapse: the leading extra ones, and those where like has a literal 1 and x does not.
    const reduced = x!.shape.map((d, k) => k < off || (isConst(like!.shape[k - off]!, 1) && !isConst(d, 1)));
    return [compute(outShape(ctx), (...o) => {
      const rs = x!.shape.flatMap((d, k) => (reduced[k] ? [reduceAxis(d, `r${k}`)] : []));
      let r = 0;
      const idx: Expr[] = x!.shape.map((_, k) => (reduced[k] ? rs[r++]!.var : isConst(x!.shape[k]!, 1) ? int(0) : o[k - off]!));
      const src = x!.at(...idx);
      return rs.length === 0 ? src : sum(rs, src);
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => [g && differentiable(node.inputs[0]!) ? graphOps(b).op("broadcast_like", [g, node.inputs[0]!]) : null, null],
});

/** x broadcast (NumPy rules) to `like`'s shape. */
export const broadcastLike = defineOp({
  name: "broadcast_like",
  fusion: "broadcast",
  attrs: {},
  infer: (inputs, _attrs, node) => {
    arity(inputs, 2, node, "broadcast_like");
    const [x, like] = inputs as readonly [TensorType, TensorType];
    checkBroadcastsTo(x, like, node, "broadcast_like");
    return [{ shape: [...like.shape], dtype: x.dtype }];
  },
  compute: ([x], _attrs, ctx) => [compute(outShape(ctx), (...o) => readBroadcast(x!, o), ctx.name)],
  vjp: ({ node, b }, [g]) => [g && differentiable(node.inputs[0]!) ? graphOps(b).sumTo(g, node.inputs[0]!) : null, null],
});

/** x's elements in row-major order, shaped like `like`. */
export const reshapeLike = defineOp({
  name: "reshape_like",
  fusion: "injective",
  attrs: {},
  infer: (inputs, _attrs, node) => {
    arity(inputs, 2, node, "reshape_like");
    const [x, like] = inputs as readonly [TensorType, TensorType];
    if (!sameCount(x.shape, like.shape)) throw new ShapeError(`${at(node, "reshape_like")}: ${showType(x)} and ${showType(like)} hold different numbers of elements`);
    return [{ shape: [...like.shape], dtype: x.dtype }];
  },
  compute: ([x], _attrs, ctx) => [reshapeCompute(x!, outShape(ctx), ctx.name)],
  vjp: ({ node, b }, [g]) => [g && differentiable(node.inputs[0]!) ? graphOps(b).op("reshape_like", [g, node.inputs[0]!]) : null, null],
});

function filled(name: string, v: number): OpDef {
  return defineOp({
    name,
    fusion: "elemwise",
    attrs: {},
    infer: (inputs, _attrs, node) => {
      arity(inputs, 1, node, name);
      return [{ shape: [...inputs[0]!.shape], dtype: inputs[0]!.dtype }];
    },
    compute: ([x], _attrs, ctx) => [compute(x!.shape, () => float(v, x!.dtype), ctx.name)],
    vjp: () => [null],
  });
}
/** Zeros (ones) of x's type; x's values are not read, so no gradient flows. */
export const zerosLike = filled("zeros_like", 0);
export const onesLike = filled("ones_like", 1);

export const gradHelperOps = [sumLike, broadcastLike, reshapeLike, zerosLike, onesLike];
