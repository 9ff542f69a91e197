/**
 * softmax and log_softmax along one axis, numerically stable: the maximum along the axis is
 * subtracted before exponentiating (stages: max, exp, sum, normalize).
 * VJPs: softmax dx = (g − Σ g·y)·y; log_softmax dx = g − exp(y)·Σ g (sums along the axis).
 */
import type { Attrs, Value } from "../../graph/graph.ts";
import type { TensorType } from "../../graph/types.ts";
import type { Expr, Var } from "../../te/expr.ts";
import { call, div, sub } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, reduceAxis, rmax, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { expectArity, expectFloat, normAxis, numAttr, shapeError } from "./common.ts";

/** The max and the sum of exp(x − max) along `axis` (shape: x's without the axis), and exp(x − max). */
function stableExp(x: TeTensor, axis: number, name: string): { M: TeTensor; E: TeTensor; S: TeTensor; red: (ix: readonly Expr[]) => Expr[] } {
  const red = (ix: readonly Expr[]): Expr[] => ix.filter((_, k) => k !== axis);
  const full = (o: readonly Expr[], r: Var): Expr[] => [...o.slice(0, axis), r, ...o.slice(axis)];
  const shape = red(x.shape);
  const r1 = reduceAxis(x.shape[axis]!, "r");
  const M = compute(shape, (...o) => rmax(r1, x.at(...full(o, r1.var))), `${name}.max`);
  const E = compute(x.shape, (...ix) => call("exp", sub(x.at(...ix), M.at(...red(ix)))), `${name}.exp`);
  const r2 = reduceAxis(x.shape[axis]!, "r");
  const S = compute(shape, (...o) => sum(r2, E.at(...full(o, r2.var))), `${name}.sum`);
  return { M, E, S, red };
}

function inferSoftmax(op: string) {
  return (inputs: readonly TensorType[], a: Attrs, node: string): TensorType[] => {
    expectArity(node, op, inputs, 1);
    expectFloat(node, op, inputs, [0]);
    if (inputs[0]!.shape.length < 1) throw shapeError(node, op, "x must have rank ≥ 1", inputs);
    normAxis(node, op, numAttr(a, "axis"), inputs[0]!.shape.length);
    return [inputs[0]!];
  };
}

export const softmax: OpDef = defineOp({
  name: "softmax",
  fusion: "opaque",
  attrs: { axis: { kind: "int", default: -1 } },
  infer: inferSoftmax("softmax"),
  compute: ([x], a, ctx) => {
    const axis = normAxis(ctx.name, "softmax", numAttr(a, "axis"), x!.shape.length);
    const { E, S, red } = stableExp(x!, axis, ctx.name);
    return [compute(x!.shape, (...ix) => div(E.at(...ix), S.at(...red(ix))), ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    if (!g) return [null];
    const y = node.outputs[0]!;
    const axis = normAxis(node.name, "softmax", numAttr(node.attrs, "axis"), y.type.shape.length);
    const s = b.op1("sum", [b.op1("mul", [g, y])], { axes: [axis], keepdims: true });
    return [b.op1("mul", [b.op1("sub", [g, s]), y])];
  },
});

export const logSoftmax: OpDef = defineOp({
  name: "log_softmax",
  fusion: "opaque",
  attrs: { axis: { kind: "int", default: -1 } },
  infer: inferSoftmax("log_softmax"),
  compute: ([x], a, ctx) => {
    const axis = normAxis(ctx.name, "log_softmax", numAttr(a, "axis"), x!.shape.length);
    const { M, S, red } = stableExp(x!, axis, ctx.name);
    return [compute(x!.shape, (...ix) => sub(sub(x!.at(...ix), M.at(...red(ix))), call("log", S.at(...red(ix)))), ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    if (!g) return [null];
    const y: Value = node.outputs[0]!;
    const axis = normAxis(node.name, "log_softmax", numAttr(node.attrs, "axis"), y.type.shape.length);
    const s = b.op1("sum", [g], { axes: [axis], keepdims: true });
    return [b.op1("sub", [g, b.op1("mul", [b.op1("exp", [y]), s])])];
  },
});
