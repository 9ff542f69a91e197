/**
 * Index-driven ops: gather{axis}(data, indices), its adjoint gather_grad (a scatter-add,
 * written as a masked reduction over the index positions), and one_hot. Negative indices
 * count from the end (ONNX); an index out of range is an error when evaluated, never a
 * silent read.
 */
import { ShapeError } from "../../../core/errors.ts";
import type { TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { Expr, ExprLike } from "../../te/expr.ts";
import { add, cast, eq, float, lt, select } from "../../te/expr.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import { defineOp } from "../op.ts";
import { arity, at, integral, normAxis, outShape, sameShape } from "./common.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

/** An index read as i32, with a negative one wrapped by `size`. */
export function wrapIndex(i: Expr, size: ExprLike): Expr {
  const v = cast("i32", i);
  return select(lt(v, 0), add(v, size), v);
}

type AxisAttrs = { readonly axis: number };

/** data[:axis] + indices.shape + data[axis+1:] */
const gatheredShape = (data: TensorType, indices: TensorType, a: number) =>
  [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];

export const gather = defineOp<AxisAttrs>({
  name: "gather",
  fusion: "injective",
  attrs: { axis: { kind: "int", default: 0 } },
  infer: (inputs, { axis }, node) => {
    arity(inputs, 2, node, "gather");
    const [data, indices] = inputs as readonly [TensorType, TensorType];
    integral(indices, node, "gather", "indices");
    const a = normAxis(axis, data.shape.length, node, "gather");
    return [{ shape: gatheredShape(data, indices, a), dtype: data.dtype }];
  },
  compute: ([data, indices], { axis }, ctx) => {
    const a = normAxis(axis, data!.shape.length, ctx.name, "gather");
    const ri = indices!.shape.length;
    return [compute(outShape(ctx), (...o) => {
      const j = wrapIndex(indices!.at(...o.slice(a, a + ri)), data!.shape[a]!);
      return data!.at(...o.slice(0, a), j, ...o.slice(a + ri));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    const [data, indices] = node.inputs;
    if (!g || !differentiable(data!)) return [null, null];
    return [graphOps(b).op("gather_grad", [g, indices!, data!], node.attrs), null];
  },
});

/**
 * gather's adjoint: out[pre, j, post] = Σ over index positions p with indices[p] = j of
 * g[pre, p, post]. Repeated indices accumulate. Shaped like `like` (the gathered data).
 */
export const gatherGrad = defineOp<AxisAttrs>({
  name: "gather_grad",
  fusion: "reduce",
  attrs: { axis: { kind: "int", default: 0 } },
  infer: (inputs, { axis }, node) => {
    arity(inputs, 3, node, "gather_grad");
    const [g, indices, like] = inputs as readonly [TensorType, TensorType, TensorType];
    integral(indices, node, "gather_grad", "indices");
    const a = normAxis(axis, like.shape.length, node, "gather_grad");
    const want = gatheredShape(like, indices, a);
    if (!sameShape(want, g.shape)) {
      throw new ShapeError(`${at(node, "gather_grad")}: gradient ${showType(g)} does not match gathering ${showType(like)} by ${showType(indices)} (expected [${want.join(", ")}])`);
    }
    return [{ shape: [...like.shape], dtype: g.dtype }];
  },
  compute: ([g, indices, like], { axis }, ctx) => {
    const a = normAxis(axis, like!.shape.length, ctx.name, "gather_grad");
    return [compute(outShape(ctx), (...o) => {
      const rs = indices!.shape.map((d, k) => reduceAxis(d, `p${k}`));
      const p = rs.map((r) => r.var);
      const hit = eq(wrapIndex(indices!.at(...p), like!.shape[a]!), o[a]!);
      const src = g!.at(...o.slice(0, a), ...p, ...o.slice(a + 1));
      // A scalar index has no positions to reduce over.
      return rs.length === 0 ? select(hit, src, float(0, g!.dtype)) : sum(rs, src, { where: hit });
    }, ctx.name)];
  },
  vjp: ({ node, b }, [gg]) => [gg ? graphOps(b).op("gather", [gg, node.inputs[1]!], node.attrs) : null, null, null],
});

type OneHotAttrs = { readonly depth: number; readonly axis: number };

/** f32 one-hot vectors along a new axis; an index outside [−depth, depth) gives all zeros. */
export const oneHot = defineOp<OneHotAttrs>({
  name: "one_hot",
  fusion: "injective",
  attrs: { depth: { kind: "int" }, axis: { kind: "int", default: -1 } },
  infer: (inputs, { depth, axis }, node) => {
    arity(inputs, 1, node, "one_hot");
    const x = inputs[0]!;
    integral(x, node, "one_hot", "indices");
    if (depth <= 0) throw new ShapeError(`${at(node, "one_hot")}: depth must be positive, got ${depth}`);
    const a = normAxis(axis, x.shape.length + 1, node, "one_hot");
    return [{ shape: [...x.shape.slice(0, a), depth, ...x.shape.slice(a)], dtype: "f32" }];
  },
  compute: ([x], { depth, axis }, ctx) => {
    const a = normAxis(axis, x!.shape.length + 1, ctx.name, "one_hot");
    return [compute(outShape(ctx), (...o) => {
      const j = wrapIndex(x!.at(...o.slice(0, a), ...o.slice(a + 1)), depth);
      return select(eq(j, o[a]!), float(1, "f32"), float(0, "f32"));
    }, ctx.name)];
  },
  vjp: () => [null],
});

export const gatherOps = [gather, gatherGrad, oneHot];
