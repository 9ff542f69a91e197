/**
 * Comparisons (→ bool, broadcasting, no gradient), `where(cond, a, b)` and `cast`.
 */
import { ShapeError } from "../../../core/errors.ts";
import type { Value } from "../../graph/graph.ts";
import type { TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { DType } from "../../../core/dtype.ts";
import { isDType, isFloat } from "../../../core/dtype.ts";
import type { Expr } from "../../te/expr.ts";
import { cast as castE, eq, ge, gt, le, lt, ne, select } from "../../te/expr.ts";
import { compute } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { broadcastTypes, readBroadcast } from "./broadcast.ts";
import { arity, at, outShape, sameDtype } from "./common.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

function comparison(name: string, f: (a: Expr, b: Expr) => Expr): OpDef {
  return defineOp({
    name,
    fusion: "broadcast",
    attrs: {},
    infer: (inputs, _attrs, node) => {
      arity(inputs, 2, node, name);
      sameDtype(inputs, node, name);
      return [{ shape: broadcastTypes(inputs, node, name), dtype: "bool" }];
    },
    compute: ([a, b], _attrs, ctx) => [compute(outShape(ctx), (...i) => f(readBroadcast(a!, i), readBroadcast(b!, i)), ctx.name)],
    vjp: () => [null, null],
  });
}

export const equal = comparison("equal", eq);
export const notEqual = comparison("not_equal", ne);
export const less = comparison("less", lt);
export const lessEqual = comparison("less_equal", le);
export const greater = comparison("greater", gt);
export const greaterEqual = comparison("greater_equal", ge);

/** Elementwise choice, all three operands broadcast together. */
export const where = defineOp({
  name: "where",
  fusion: "broadcast",
  attrs: {},
  infer: (inputs, _attrs, node) => {
    arity(inputs, 3, node, "where");
    const [c, a, b] = inputs as readonly [TensorType, TensorType, TensorType];
    if (c.dtype !== "bool") throw new ShapeError(`${at(node, "where")}: the condition must be bool, got ${showType(c)}`);
    const dtype = sameDtype([a, b], node, "where");
    return [{ shape: broadcastTypes(inputs, node, "where"), dtype }];
  },
  compute: ([c, a, b], _attrs, ctx) =>
    [compute(outShape(ctx), (...i) => select(readBroadcast(c!, i), readBroadcast(a!, i), readBroadcast(b!, i)), ctx.name)],
  vjp: ({ node, b }, [g]) => {
    const [c, x, y] = node.inputs as [Value, Value, Value];
    if (!g || !differentiable(x)) return [null, null, null];
    const o = graphOps(b);
    return [null, o.sumTo(o.maskKeep(c, g), x), o.sumTo(o.maskDrop(c, g), y)];
  },
});

type CastAttrs = { readonly dtype: string };
/** Conversion with C semantics (floats truncate toward zero into integers; nonzero → true). */
export const cast = defineOp<CastAttrs>({
  name: "cast",
  fusion: "broadcast",
  attrs: { dtype: { kind: "string" } },
  infer: (inputs, { dtype }, node) => {
    arity(inputs, 1, node, "cast");
    if (!isDType(dtype)) throw new ShapeError(`${at(node, "cast")}: unknown dtype "${dtype}"`);
    return [{ shape: [...inputs[0]!.shape], dtype }];
  },
  compute: ([x], { dtype }, ctx) => [compute(x!.shape, (...i) => castE(dtype as DType, x!.at(...i)), ctx.name)],
  // Only float → float casts pass a gradient (an integer output has no cotangent).
  vjp: ({ node, b }, [g]) => {
    const x = node.inputs[0]!;
    if (!g || !differentiable(x) || !isFloat(node.outputs[0]!.type.dtype)) return [null];
    return [graphOps(b).op("cast", [g], { dtype: x.type.dtype })];
  },
});

export const compareOps = [equal, notEqual, less, lessEqual, greater, greaterEqual, where, cast];
