/**
 * Normalization: batch_norm (inference, channel axis 1, running statistics as inputs),
 * batch_norm_train (statistics of the batch over every axis but `axis`; outputs y, the
 * batch mean and the biased batch variance) and layer_norm (ONNX's: over axes [axis, rank),
 * with scale and bias of shape x.shape[axis:]). Variances are two-pass (mean first).
 * VJPs are the standard closed forms, written with basic ops:
 *   x̂ = (x − μ)·rstd,  ĝ = g·scale,
 *   dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))  (+ the mean and variance outputs' own terms).
 */
import type { Value } from "../../graph/graph.ts";
import type { GraphEmitter } from "../../graph/graph.ts";
import type { TensorType } from "../../graph/types.ts";
import { sameDim, showType } from "../../graph/types.ts";
import type { Expr, Var } from "../../te/expr.ts";
import { add, call, cast, div, mul, sub } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { expectArity, expectFloat, expectSameDtype, normAxis, numAttr, product, scalarConst, shapeError } from "./common.ts";

const rsqrt = (e: Expr): Expr => call("rsqrt", e);

/** Checks that input k is a vector [C] matching channel dimension `c`. */
function expectChannelVector(inputs: readonly TensorType[], k: number, c: TensorType["shape"][number], what: string, node: string, op: string): void {
  const t = inputs[k]!;
  if (t.shape.length !== 1 || !sameDim(t.shape[0]!, c)) throw shapeError(node, op, `${what} must be [${c}], got ${showType(t)}`, inputs);
}

/**
 * Mean and biased variance of x over every axis except those in `keep` (the statistics'
 * axes, in order): two reductions, the variance's around the mean.
 */
function moments(x: TeTensor, keep: readonly number[], name: string): { mean: TeTensor; variance: TeTensor } {
  const rank = x.shape.length;
  const reduced = x.shape.map((_, k) => k).filter((k) => !keep.includes(k));
  const count = cast(x.dtype, product(reduced.map((k) => x.shape[k]!)));
  const shape = keep.map((k) => x.shape[k]!);
  // x's index with the kept axes from `outer` and the reduced ones from `r`.
  const index = (outer: readonly Expr[], r: readonly Var[]): Expr[] =>
    Array.from({ length: rank }, (_, k) => (keep.includes(k) ? outer[keep.indexOf(k)]! : r[reduced.indexOf(k)]!));
  const ra = reduced.map((k) => reduceAxis(x.shape[k]!, `r${k}`));
  const S = compute(shape, (...o) => sum(ra, x.at(...index(o, ra.map((a) => a.var)))), `${name}.sum`);
  const mean = compute(shape, (...o) => div(S.at(...o), count), `${name}.mean`);
  const rb = reduced.map((k) => reduceAxis(x.shape[k]!, `q${k}`));
  const Q = compute(shape, (...o) => {
    const d = sub(x.at(...index(o, rb.map((a) => a.var))), mean.at(...o));
    return sum(rb, mul(d, d));
  }, `${name}.sqsum`);
  const variance = compute(shape, (...o) => div(Q.at(...o), count), `${name}.var`);
  return { mean, variance };
}

// ---- batch_norm (inference) ----

export const batchNorm: OpDef = defineOp({
  name: "batch_norm",
  fusion: "broadcast",
  attrs: { epsilon: { kind: "float", default: 1e-5 } },
  infer: (inputs, _a, node) => {
    const op = "batch_norm";
    expectArity(node, op, inputs, 5);
    expectFloat(node, op, inputs, [0, 1, 2, 3, 4]);
    expectSameDtype(node, op, inputs, [0, 1, 2, 3, 4]);
    const x = inputs[0]!;
    if (x.shape.length < 2) throw shapeError(node, op, `x must have rank ≥ 2 (N, C, …), got ${showType(x)}`, inputs);
    ["scale", "bias", "mean", "var"].forEach((what, k) => expectChannelVector(inputs, k + 1, x.shape[1]!, what, node, op));
    return [x];
  },
  compute: ([x, scale, bias, mean, variance], a, ctx) => {
    const eps = numAttr(a, "epsilon");
    return [compute(x!.shape, (...ix) => {
      const c = ix[1]!;
      return add(mul(sub(x!.at(...ix), mean!.at(c)), mul(scale!.at(c), rsqrt(add(variance!.at(c), eps)))), bias!.at(c));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    if (!g) return [null, null, null, null, null];
    const [x, scale, , mean, variance] = node.inputs as [Value, Value, Value, Value, Value];
    const dtype = x.type.dtype;
    const R = otherAxes(x.type.shape.length, 1);
    const bc = (v: Value) => b.op1("unsqueeze", [v], { axes: R });
    const inv = b.op1("rsqrt", [b.op1("add", [variance, scalarConst(b, numAttr(node.attrs, "epsilon"), dtype, "epsilon")])]);
    const k = b.op1("mul", [scale, inv]);
    const dx = b.op1("mul", [g, bc(k)]);
    const xc = b.op1("sub", [x, bc(mean)]);
    const sgx = b.op1("sum", [b.op1("mul", [g, xc])], { axes: R });
    const dbias = b.op1("sum", [g], { axes: R });
    const dscale = b.op1("mul", [sgx, inv]);
    const dmean = b.op1("neg", [b.op1("mul", [dbias, k])]);
    // d rsqrt(v + ε)/dv = −½·rsqrt(v + ε)³
    const inv3 = b.op1("mul", [inv, b.op1("mul", [inv, inv])]);
    const dvar = b.op1("mul", [b.op1("mul", [sgx, scale]), b.op1("mul", [inv3, scalarConst(b, -0.5, dtype, "minus_half")])]);
    return [dx, dscale, dbias, dmean, dvar];
  },
});

const otherAxes = (rank: number, axis: number): number[] => Array.from({ length: rank }, (_, k) => k).filter((k) => k !== axis);

// ---- batch_norm_train ----

export const batchNormTrain: OpDef = defineOp({
  name: "batch_norm_train",
  fusion: "opaque",
  attrs: { epsilon: { kind: "float", default: 1e-5 }, axis: { kind: "int", default: 1 } },
  infer: (inputs, a, node) => {
    const op = "batch_norm_train";
    expectArity(node, op, inputs, 3);
    expectFloat(node, op, inputs, [0, 1, 2]);
    expectSameDtype(node, op, inputs, [0, 1, 2]);
    const x = inputs[0]!;
    if (x.shape.length < 1) throw shapeError(node, op, "x must have rank ≥ 1", inputs);
    const c = x.shape[normAxis(node, op, numAttr(a, "axis"), x.shape.length)]!;
    expectChannelVector(inputs, 1, c, "scale", node, op);
    expectChannelVector(inputs, 2, c, "bias", node, op);
    const stat = { shape: [c], dtype: x.dtype };
    return [x, stat, stat];
  },
  compute: ([x, scale, bias], a, ctx) => {
    const axis = normAxis(ctx.name, "batch_norm_train", numAttr(a, "axis"), x!.shape.length);
    const eps = numAttr(a, "epsilon");
    const { mean, variance } = moments(x!, [axis], ctx.name);
    const y = compute(x!.shape, (...ix) => {
      const c = ix[axis]!;
      return add(mul(mul(sub(x!.at(...ix), mean.at(c)), rsqrt(add(variance.at(c), eps))), scale!.at(c)), bias!.at(c));
    }, ctx.name);
    return [y, mean, variance];
  },
  vjp: ({ node, b }, [gy, gmean, gvar]) => {
    const [x, scale] = node.inputs as [Value, Value, Value];
    const [, mean, variance] = node.outputs as [Value, Value, Value];
    const axis = normAxis(node.name, "batch_norm_train", numAttr(node.attrs, "axis"), x.type.shape.length);
    const R = otherAxes(x.type.shape.length, axis);
    const bc = (v: Value) => b.op1("unsqueeze", [v], { axes: R });
    const dtype = x.type.dtype;
    const xc = b.op1("sub", [x, bc(mean)]);
    const terms: Value[] = [];
    let dscale: Value | null = null, dbias: Value | null = null;
    if (gy) {
      const rstd = bc(b.op1("rsqrt", [b.op1("add", [variance, scalarConst(b, numAttr(node.attrs, "epsilon"), dtype, "epsilon")])]));
      const xhat = b.op1("mul", [xc, rstd]);
      terms.push(normGrad(b, b.op1("mul", [gy, bc(scale)]), xhat, rstd, R));
      dscale = b.op1("sum", [b.op1("mul", [gy, xhat])], { axes: R });
      dbias = b.op1("sum", [gy], { axes: R });
    }
    if (gmean || gvar) {
      // dμ/dx = 1/M and dσ²/dx = 2(x − μ)/M, with M the reduced count (a tensor, so symbolic batch sizes work).
      const count = b.op1("sum", [b.op1("ones_like", [x])], { axes: R, keepdims: true });
      if (gmean) terms.push(b.op1("broadcast_like", [b.op1("div", [bc(gmean), count]), x]));
      if (gvar) terms.push(b.op1("mul", [xc, b.op1("div", [b.op1("mul", [bc(gvar), scalarConst(b, 2, dtype, "two")]), count])]));
    }
    const dx = terms.length === 0 ? null : terms.reduce((s, t) => b.op1("add", [s, t]));
    return [dx, dscale, dbias];
  },
});

/** rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) over axes R (keepdims, so everything broadcasts back). */
function normGrad(b: GraphEmitter, ghat: Value, xhat: Value, rstd: Value, R: readonly number[]): Value {
  const mean = (v: Value) => b.op1("mean", [v], { axes: [...R], keepdims: true });
  const inner = b.op1("sub", [b.op1("sub", [ghat, mean(ghat)]), b.op1("mul", [xhat, mean(b.op1("mul", [ghat, xhat]))])]);
  return b.op1("mul", [rstd, inner]);
}

// ---- layer_norm ----

export const layerNorm: OpDef = defineOp({
  name: "layer_norm",
  fusion: "opaque",
  attrs: { axis: { kind: "int", default: -1 }, epsilon: { kind: "float", default: 1e-5 } },
  infer: (inputs, a, node) => {
    const op = "layer_norm";
    expectArity(node, op, inputs, 3);
    expectFloat(node, op, inputs, [0, 1, 2]);
    expectSameDtype(node, op, inputs, [0, 1, 2]);
    const x = inputs[0]!;
    if (x.shape.length < 1) throw shapeError(node, op, "x must have rank ≥ 1", inputs);
    const axis = normAxis(node, op, numAttr(a, "axis"), x.shape.length);
    const tail = x.shape.slice(axis);
    for (const [k, what] of [[1, "scale"], [2, "bias"]] as const) {
      const t = inputs[k]!;
      if (t.shape.length !== tail.length || !t.shape.every((d, i) => sameDim(d, tail[i]!))) {
        throw shapeError(node, op, `${what} must be [${tail.join(", ")}] (x's shape from axis ${axis}), got ${showType(t)}`, inputs);
      }
    }
    return [x];
  },
  compute: ([x, scale, bias], a, ctx) => {
    const rank = x!.shape.length;
    const axis = normAxis(ctx.name, "layer_norm", numAttr(a, "axis"), rank);
    const eps = numAttr(a, "epsilon");
    const lead = Array.from({ length: axis }, (_, k) => k);
    const { mean, variance } = moments(x!, lead, ctx.name);
    return [compute(x!.shape, (...ix) => {
      const l = ix.slice(0, axis), t = ix.slice(axis);
      return add(mul(mul(sub(x!.at(...ix), mean.at(...l)), rsqrt(add(variance.at(...l), eps))), scale!.at(...t)), bias!.at(...t));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [gy]) => {
    if (!gy) return [null, null, null];
    const [x, scale] = node.inputs as [Value, Value, Value];
    const rank = x.type.shape.length;
    const axis = normAxis(node.name, "layer_norm", numAttr(node.attrs, "axis"), rank);
    const T = Array.from({ length: rank - axis }, (_, k) => axis + k);
    const L = Array.from({ length: axis }, (_, k) => k);
    const mean = (v: Value) => b.op1("mean", [v], { axes: T, keepdims: true });
    const xc = b.op1("sub", [x, mean(x)]);
    const eps = scalarConst(b, numAttr(node.attrs, "epsilon"), x.type.dtype, "epsilon");
    const rstd = b.op1("rsqrt", [b.op1("add", [mean(b.op1("mul", [xc, xc])), eps])]);
    const xhat = b.op1("mul", [xc, rstd]);
    const dx = normGrad(b, b.op1("mul", [gy, scale]), xhat, rstd, T);
    // `sum` with no axes would reduce everything; with axis 0 there is nothing to sum over.
    const overLead = (v: Value) => (L.length === 0 ? v : b.op1("sum", [v], { axes: L }));
    return [dx, overLead(b.op1("mul", [gy, xhat])), overLead(gy)];
  },
});
