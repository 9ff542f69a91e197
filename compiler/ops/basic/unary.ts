/**
 * Elementwise unary ops: neg exp log sqrt rsqrt tanh sigmoid relu leaky_relu gelu softplus
 * abs sign, erf (which gelu's gradient needs), reciprocal, the trigonometric and hyperbolic
 * functions and their inverses, floor ceil round. Each is one `unary(...)` entry: the
 * scalar formula (its compute rule) and its derivative written with graph ops.
 */
import type { Attrs, Value } from "../../graph/graph.ts";
import type { Expr } from "../../te/expr.ts";
import { add, call, div, float, gt, lt, max, mul, neg as negE, select } from "../../te/expr.ts";
import { compute } from "../../te/tensor.ts";
import type { AttrSpec, OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { arity, floatOnly, numeric } from "./common.ts";
import type { GraphOps } from "./vjp-util.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

interface UnarySpec<A extends Attrs> {
  readonly name: string;
  /** Float-only ops reject integer inputs; the others accept any numeric dtype. */
  readonly float: boolean;
  readonly attrs?: Readonly<Record<string, AttrSpec>>;
  readonly f: (x: Expr, attrs: A) => Expr;
  /** d loss/dx given g = d loss/d out; null: no gradient flows (sign). */
  readonly grad: ((o: GraphOps, x: Value, out: Value, g: Value, attrs: A) => Value) | null;
}

function unary<A extends Attrs = Attrs>(spec: UnarySpec<A>): OpDef<A> {
  return defineOp<A>({
    name: spec.name,
    fusion: "elemwise",
    attrs: spec.attrs ?? {},
    infer: (inputs, _attrs, node) => {
      arity(inputs, 1, node, spec.name);
      const x = inputs[0]!;
      const dtype = spec.float ? floatOnly(x, node, spec.name) : numeric(x, node, spec.name);
      return [{ shape: [...x.shape], dtype }];
    },
    compute: ([x], attrs, ctx) => [compute(x!.shape, (...i) => spec.f(x!.at(...i), attrs), ctx.name)],
    vjp: ({ node, b }, [g]) => {
      const x = node.inputs[0]!;
      if (!g || !spec.grad || !differentiable(x)) return [null];
      return [spec.grad(graphOps(b), x, node.outputs[0]!, g, node.attrs as A)];
    },
  });
}

const c = (v: number, like: Expr): Expr => float(v, like.dtype);

export const neg = unary({ name: "neg", float: false, f: (x) => negE(x), grad: (o, _x, _y, g) => o.neg(g) });

export const exp = unary({ name: "exp", float: true, f: (x) => call("exp", x), grad: (o, _x, y, g) => o.mul(g, y) });

export const log = unary({ name: "log", float: true, f: (x) => call("log", x), grad: (o, x, _y, g) => o.div(g, x) });

// d sqrt(x) = 1 / (2 sqrt(x)): reuse the output.
export const sqrt = unary({
  name: "sqrt", float: true, f: (x) => call("sqrt", x),
  grad: (o, _x, y, g) => o.div(g, o.mul(y, o.scalar(2, y.type.dtype))),
});

// d x^(-1/2) = -1/2 · x^(-3/2) = -1/2 · y³.
export const rsqrt = unary({
  name: "rsqrt", float: true, f: (x) => call("rsqrt", x),
  grad: (o, _x, y, g) => o.mul(g, o.mul(o.scalar(-0.5, y.type.dtype), o.mul(y, o.mul(y, y)))),
});

export const tanh = unary({
  name: "tanh", float: true, f: (x) => call("tanh", x),
  grad: (o, _x, y, g) => o.mul(g, o.sub(o.scalar(1, y.type.dtype), o.mul(y, y))),
});

export const sigmoid = unary({
  name: "sigmoid", float: true, f: (x) => call("sigmoid", x),
  grad: (o, _x, y, g) => o.mul(g, o.mul(y, o.sub(o.scalar(1, y.type.dtype), y))),
});

// The gradient at exactly 0 is taken as 0 (the subgradient PyTorch and TVM pick).
export const relu = unary({
  name: "relu", float: false, f: (x) => max(x, 0),
  grad: (o, x, _y, g) => o.maskKeep(o.op("greater", [x, o.scalar(0, x.type.dtype)]), g),
});

type LeakyAttrs = { readonly alpha: number };
export const leakyRelu = unary<LeakyAttrs>({
  name: "leaky_relu", float: true, attrs: { alpha: { kind: "float", default: 0.01 } },
  f: (x, { alpha }) => select(gt(x, 0), x, mul(x, c(alpha, x))),
  grad: (o, x, _y, g, { alpha }) => {
    const t = x.type.dtype;
    return o.op("where", [o.op("greater", [x, o.scalar(0, t)]), g, o.mul(g, o.scalar(alpha, t))]);
  },
});

export const erf = unary({
  name: "erf", float: true, f: (x) => call("erf", x),
  // d erf(x) = 2/√π · e^(−x²)
  grad: (o, x, _y, g) => {
    const t = x.type.dtype;
    const e = o.op("exp", [o.mul(o.mul(x, x), o.scalar(-1, t))]);
    return o.mul(g, o.mul(e, o.scalar(2 / Math.sqrt(Math.PI), t)));
  },
});

// Exact (erf) form: gelu(x) = x·Φ(x) with Φ(x) = ½(1 + erf(x/√2)).
export const gelu = unary({
  name: "gelu", float: true,
  f: (x) => mul(mul(x, c(0.5, x)), add(c(1, x), call("erf", mul(x, c(Math.SQRT1_2, x))))),
  // d gelu = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
  grad: (o, x, _y, g) => {
    const t = x.type.dtype;
    const cdf = o.mul(o.add(o.op("erf", [o.mul(x, o.scalar(Math.SQRT1_2, t))]), o.scalar(1, t)), o.scalar(0.5, t));
    const pdf = o.mul(o.op("exp", [o.mul(o.mul(x, x), o.scalar(-0.5, t))]), o.scalar(1 / Math.sqrt(2 * Math.PI), t));
    return o.mul(g, o.add(cdf, o.mul(x, pdf)));
  },
});

// log(1 + eˣ) written as max(x, 0) + log(1 + e^(−|x|)) so that large |x| neither overflows nor loses the linear part.
export const softplus = unary({
  name: "softplus", float: true,
  f: (x) => add(max(x, c(0, x)), call("log", add(c(1, x), call("exp", negE(call("abs", x)))))),
  grad: (o, x, _y, g) => o.mul(g, o.op("sigmoid", [x])),
});

// d|x| = sign(x); at 0 that is 0.
export const abs = unary({
  name: "abs", float: false, f: (x) => call("abs", x),
  grad: (o, x, _y, g) => o.mul(g, o.op("sign", [x])),
});

/** −1, 0 or 1 in the input's dtype; piecewise constant, so no gradient. */
export const sign = unary({
  name: "sign", float: false,
  f: (x) => select(gt(x, 0), c(1, x), select(lt(x, 0), c(-1, x), c(0, x))),
  grad: null,
});

export const reciprocal = unary({
  name: "reciprocal", float: true, f: (x) => div(c(1, x), x),
  grad: (o, _x, y, g) => o.neg(o.mul(g, o.mul(y, y))),
});

// Trigonometric and hyperbolic functions with their derivatives written as graph ops.
const one = (o: GraphOps, v: Value): Value => o.scalar(1, v.type.dtype);
/** x², a piece of the inverse functions' derivatives. */
const sq = (o: GraphOps, x: Value): Value => o.mul(x, x);

export const sin = unary({ name: "sin", float: true, f: (x) => call("sin", x), grad: (o, x, _y, g) => o.mul(g, o.op("cos", [x])) });
export const cos = unary({ name: "cos", float: true, f: (x) => call("cos", x), grad: (o, x, _y, g) => o.neg(o.mul(g, o.op("sin", [x]))) });
// d tan = 1 + tan².
export const tan = unary({ name: "tan", float: true, f: (x) => call("tan", x), grad: (o, _x, y, g) => o.mul(g, o.add(one(o, y), sq(o, y))) });
export const asin = unary({ name: "asin", float: true, f: (x) => call("asin", x), grad: (o, x, _y, g) => o.mul(g, o.op("rsqrt", [o.sub(one(o, x), sq(o, x))])) });
export const acos = unary({ name: "acos", float: true, f: (x) => call("acos", x), grad: (o, x, _y, g) => o.neg(o.mul(g, o.op("rsqrt", [o.sub(one(o, x), sq(o, x))]))) });
export const atan = unary({ name: "atan", float: true, f: (x) => call("atan", x), grad: (o, x, _y, g) => o.div(g, o.add(one(o, x), sq(o, x))) });
export const sinh = unary({ name: "sinh", float: true, f: (x) => call("sinh", x), grad: (o, x, _y, g) => o.mul(g, o.op("cosh", [x])) });
export const cosh = unary({ name: "cosh", float: true, f: (x) => call("cosh", x), grad: (o, x, _y, g) => o.mul(g, o.op("sinh", [x])) });
export const asinh = unary({ name: "asinh", float: true, f: (x) => call("asinh", x), grad: (o, x, _y, g) => o.mul(g, o.op("rsqrt", [o.add(sq(o, x), one(o, x))])) });
export const acosh = unary({ name: "acosh", float: true, f: (x) => call("acosh", x), grad: (o, x, _y, g) => o.mul(g, o.op("rsqrt", [o.sub(sq(o, x), one(o, x))])) });
export const atanh = unary({ name: "atanh", float: true, f: (x) => call("atanh", x), grad: (o, x, _y, g) => o.div(g, o.sub(one(o, x), sq(o, x))) });

// Piecewise constant: no gradient (as sign). `round` takes halves to even (ONNX Round, C's nearbyint).
export const floor = unary({ name: "floor", float: true, f: (x) => call("floor", x), grad: null });
export const ceil = unary({ name: "ceil", float: true, f: (x) => call("ceil", x), grad: null });
export const round = unary({ name: "round", float: true, f: (x) => call("round", x), grad: null });

export const unaryOps = [
  neg, exp, log, sqrt, rsqrt, tanh, sigmoid, relu, leakyRelu, erf, gelu, softplus, abs, sign,
  reciprocal, sin, cos, tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh, floor, ceil, round,
];
