/**
 * Reductions over a set of axes — sum mean max min logsumexp prod {axes (empty = all),
 * keepdims} — and argmax/argmin{axis, keepdims, select_last_index} → i32.
 *
 * Gradients: sum/mean broadcast g back; logsumexp multiplies by softmax; max/min send g to
 * the positions equal to the result, split evenly between ties (so the gradient still sums
 * to g — the choice PyTorch makes for amax/amin).
 */
import { ShapeError } from "../../../core/errors.ts";
import type { Value } from "../../graph/graph.ts";
import type { Dim, TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { Expr, Var } from "../../te/expr.ts";
import { add, call, cast, div, eq, float, ne, or, select, sub } from "../../te/expr.ts";
import type { IterVar, Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, prod as prodR, reduceAxis, rmax, rmin, sum as sumR } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { arity, at, floatOnly, normAxes, normAxis, numeric, outShape, productExpr } from "./common.ts";
import type { GraphOps } from "./vjp-util.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

type ReduceAttrs = { readonly axes: readonly number[]; readonly keepdims: boolean };

const reducedShape = (shape: readonly Dim[], axes: readonly number[], keepdims: boolean): Dim[] =>
  shape.flatMap((d, k) => (axes.includes(k) ? (keepdims ? [1] : []) : [d]));

type Reducer = typeof sumR;
/** A reduction over `rs`; over no axes at all it is the (masked) source itself. */
function reduceOver(r: Reducer, rs: readonly IterVar[], source: Expr, where?: Expr): Expr {
  if (rs.length > 0) return r(rs, source, where ? { where } : {});
  return source;
}

/**
 * A compute over the reduced shape: `body` gets the reduce axes, `x` read at (output
 * indices, reduce axes), and the output indices.
 */
function reduceCompute(
  x: TeTensor, axes: readonly number[], keepdims: boolean, shape: readonly Expr[], name: string,
  body: (rs: readonly IterVar[], xv: Expr, o: readonly Var[]) => Expr,
): TeTensor {
  return compute(shape, (...o) => {
    const rs = axes.map((a) => reduceAxis(x.shape[a]!, `r${a}`));
    let j = 0, r = 0;
    const idx = x.shape.map((_, d) => {
      if (!axes.includes(d)) return o[j++]!;
      if (keepdims) j++;
      return rs[r++]!.var;
    });
    return body(rs, x.at(...idx), o);
  }, name);
}

interface ReductionSpec {
  readonly name: string;
  readonly float: boolean;
  readonly build: (x: TeTensor, axes: readonly number[], keepdims: boolean, shape: readonly Expr[], name: string) => TeTensor;
  /** The input's gradient; `gKeep`/`yKeep` are g and the output with the reduced axes kept as size 1. */
  readonly grad: (o: GraphOps, x: Value, yKeep: () => Value, gKeep: Value, axes: readonly number[]) => Value;
}

function reduction(spec: ReductionSpec): OpDef<ReduceAttrs> {
  return defineOp<ReduceAttrs>({
    name: spec.name,
    fusion: "reduce",
    attrs: { axes: { kind: "ints", default: [] }, keepdims: { kind: "bool", default: false } },
    infer: (inputs, { axes, keepdims }, node) => {
      arity(inputs, 1, node, spec.name);
      const x = inputs[0]!;
      if (spec.float) floatOnly(x, node, spec.name);
      else numeric(x, node, spec.name);
      return [{ shape: reducedShape(x.shape, normAxes(axes, x.shape.length, node, spec.name), keepdims), dtype: x.dtype }];
    },
    compute: ([x], { axes, keepdims }, ctx) =>
      [spec.build(x!, normAxes(axes, x!.shape.length, ctx.name, spec.name), keepdims, outShape(ctx), ctx.name)],
    vjp: ({ node, b }, [g]) => {
      const x = node.inputs[0]!;
      if (!g || !differentiable(x)) return [null];
      const { axes: given, keepdims } = node.attrs as ReduceAttrs;
      const axes = normAxes(given, x.type.shape.length, node.name, spec.name);
      const o = graphOps(b);
      const keep = (v: Value): Value => (keepdims || axes.length === 0 ? v : o.op("unsqueeze", [v], { axes }));
      return [spec.grad(o, x, () => keep(node.outputs[0]!), keep(g), axes)];
    },
  });
}

export const sum = reduction({
  name: "sum", float: false,
  build: (x, axes, keepdims, shape, name) => reduceCompute(x, axes, keepdims, shape, name, (rs, v) => reduceOver(sumR, rs, v)),
  grad: (o, x, _y, g) => o.op("broadcast_like", [g, x]),
});

export const mean = reduction({
  name: "mean", float: true,
  build: (x, axes, keepdims, shape, name) => {
    const s = reduceCompute(x, axes, keepdims, shape, `${name}.sum`, (rs, v) => reduceOver(sumR, rs, v));
    const count = cast(x.dtype, productExpr(axes.map((a) => x.shape[a]!)));
    return compute(shape, (...o) => div(s.at(...o), count), name);
  },
  grad: (o, x, _y, g, axes) => {
    const spread = o.op("broadcast_like", [g, x]);
    const dims = axes.map((a) => x.type.shape[a]!);
    if (dims.every((d) => typeof d === "number")) {
      return o.mul(spread, o.scalar(1 / (dims as number[]).reduce((p, d) => p * d, 1), x.type.dtype));
    }
    // A symbolic count is only known at run time: count the elements with a graph op.
    return o.div(spread, o.op("sum", [o.op("ones_like", [x])], { axes, keepdims: true }));
  },
});

const extremum = (name: "max" | "min", r: Reducer): OpDef<ReduceAttrs> => reduction({
  name, float: false,
  build: (x, axes, keepdims, shape, n) => reduceCompute(x, axes, keepdims, shape, n, (rs, v) => reduceOver(r, rs, v)),
  grad: (o, x, yKeep, g, axes) => {
    const hit = o.op("cast", [o.op("equal", [x, yKeep()])], { dtype: x.type.dtype });
    const ties = o.op("sum", [hit], { axes, keepdims: true });
    return o.mul(hit, o.div(g, ties));
  },
});
export const max = extremum("max", rmax);
export const min = extremum("min", rmin);

/** log Σ eˣ, stabilised by the maximum; an all −∞ slice gives −∞, not NaN. */
export const logsumexp = reduction({
  name: "logsumexp", float: true,
  build: (x, axes, keepdims, shape, name) => {
    const m = reduceCompute(x, axes, keepdims, shape, `${name}.max`, (rs, v) => reduceOver(rmax, rs, v));
    // Shift by the maximum, except an infinite one (x − ∞ would be NaN; e^x then carries the infinity itself).
    const shift = (o: readonly Var[]): Expr => {
      const v = m.at(...o);
      return select(or(eq(v, float(Infinity, x.dtype)), eq(v, float(-Infinity, x.dtype))), float(0, x.dtype), v);
    };
    const s = reduceCompute(x, axes, keepdims, shape, `${name}.sum`, (rs, v, o) => reduceOver(sumR, rs, call("exp", sub(v, shift(o)))));
    return compute(shape, (...o) => add(shift(o), call("log", s.at(...o))), name);
  },
  grad: (o, x, yKeep, g) => o.mul(g, o.op("exp", [o.sub(x, yKeep())])),
});

/**
 * Π over the axes. The gradient is the product of the other elements, computed without
 * dividing by zero: with no zero in a slice it is y/x; with exactly one zero, only that
 * position gets the product of the rest; with more, every position gets 0.
 */
export const prod = reduction({
  name: "prod", float: false,
  build: (x, axes, keepdims, shape, name) => reduceCompute(x, axes, keepdims, shape, name, (rs, v) => reduceOver(prodR, rs, v)),
  grad: (o, x, _y, g, axes) => {
    const t = x.type.dtype;
    const zero = o.op("equal", [x, o.scalar(0, t)]);
    const nonzero = o.op("where", [zero, o.scalar(1, t), x]);
    const rest = o.op("prod", [nonzero], { axes, keepdims: true });
    const zeros = o.op("sum", [o.op("cast", [zero], { dtype: t })], { axes, keepdims: true });
    const count = (n: number): Value => o.op("equal", [zeros, o.scalar(n, t)]);
    const others = o.op("where", [zero,
      o.maskKeep(count(1), rest),
      o.maskKeep(count(0), o.div(rest, nonzero))]);
    return o.mul(o.op("broadcast_like", [g, x]), others);
  },
});

type ArgAttrs = { readonly axis: number; readonly keepdims: boolean; readonly select_last_index: number };

/**
 * Index of the first (select_last_index = 1: the last) maximum or minimum along `axis`, as
 * i32; a NaN counts as the extremum (NumPy).
 */
function argExtremum(name: "argmax" | "argmin", r: Reducer): OpDef<ArgAttrs> {
  return defineOp<ArgAttrs>({
    name,
    fusion: "reduce",
    attrs: { axis: { kind: "int" }, keepdims: { kind: "bool", default: false }, select_last_index: { kind: "int", default: 0 } },
    infer: (inputs, { axis, keepdims }, node) => {
      arity(inputs, 1, node, name);
      const x: TensorType = inputs[0]!;
      numeric(x, node, name);
      const a = normAxis(axis, x.shape.length, node, name);
      if (x.shape[a] === 0) throw new ShapeError(`${at(node, name)}: ${name} over an empty axis ${a} of ${showType(x)}`);
      return [{ shape: reducedShape(x.shape, [a], keepdims), dtype: "i32" }];
    },
    compute: ([x], { axis, keepdims, select_last_index: last }, ctx) => {
      const a = [normAxis(axis, x!.shape.length, ctx.name, name)];
      const shape = outShape(ctx);
      const m = reduceCompute(x!, a, keepdims, shape, `${ctx.name}.${name === "argmax" ? "max" : "min"}`, (rs, v) => reduceOver(r, rs, v));
      return [reduceCompute(x!, a, keepdims, shape, ctx.name, (rs, v, o) =>
        (last ? rmax : rmin)(rs, rs[0]!.var, { where: or(eq(v, m.at(...o)), ne(v, v)) }))];
    },
    vjp: () => [null],
  });
}
export const argmax = argExtremum("argmax", rmax);
export const argmin = argExtremum("argmin", rmin);

export const reduceOps = [sum, mean, max, min, logsumexp, prod, argmax, argmin];

