/** Elementwise ONNX ops: unary math, activations, arithmetic and comparisons with NumPy broadcasting, casts. */
import type { Value } from "../../../graph/graph.ts";
import { isFloat } from "../../../../core/dtype.ts";
import type { ConvertContext, Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";
import { dtypeOf } from "../tensor.ts";

/** ONNX op → Lathe op with the same meaning, one input. */
const UNARY: Readonly<Record<string, string>> = {
  Relu: "relu", Sigmoid: "sigmoid", Tanh: "tanh", Exp: "exp", Log: "log", Sqrt: "sqrt", Abs: "abs", Neg: "neg",
  Erf: "erf", Sign: "sign", Softplus: "softplus", Sin: "sin", Cos: "cos", Tan: "tan", Asin: "asin", Acos: "acos",
  Atan: "atan", Sinh: "sinh", Cosh: "cosh", Asinh: "asinh", Acosh: "acosh", Atanh: "atanh", Floor: "floor",
  Ceil: "ceil", Round: "round", Reciprocal: "reciprocal", IsNaN: "isnan", Not: "logical_not",
};

/** ONNX op → Lathe op, two broadcasting inputs. */
const BINARY: Readonly<Record<string, string>> = {
  Add: "add", Sub: "sub", Mul: "mul", Equal: "equal", Less: "less", Greater: "greater",
  LessOrEqual: "less_equal", GreaterOrEqual: "greater_equal", And: "logical_and", Or: "logical_or", Xor: "logical_xor",
};

/** Folds a variadic op (Max, Min, Sum, Mean) left to right. */
const fold = (ctx: ConvertContext, op: string): Value => {
  let acc = ctx.input(0);
  for (let i = 1; i < ctx.numInputs; i++) acc = ctx.op(op, [acc, ctx.input(i)]);
  return acc;
};

const floatOnly = (ctx: ConvertContext, x: Value): void => {
  if (!isFloat(x.type.dtype)) ctx.unsupported(`input of type ${x.type.dtype} (only floating point is supported)`);
};

/** ONNX activations that are compositions of Lathe ops (shared with the recurrent layers' activation lists). */
export const activation = {
  elu: (ctx: ConvertContext, x: Value, alpha: number): Value => {
    const t = x.type.dtype;
    const neg = ctx.op("mul", [ctx.scalar(alpha, t), ctx.op("sub", [ctx.op("exp", [x]), ctx.scalar(1, t)])]);
    return ctx.op("where", [ctx.op("less", [x, ctx.scalar(0, t)]), neg, x]);
  },
  hardSigmoid: (ctx: ConvertContext, x: Value, alpha: number, beta: number): Value => {
    const t = x.type.dtype;
    const lin = ctx.op("add", [ctx.op("mul", [x, ctx.scalar(alpha, t)]), ctx.scalar(beta, t)]);
    return ctx.op("minimum", [ctx.op("maximum", [lin, ctx.scalar(0, t)]), ctx.scalar(1, t)]);
  },
  thresholdedRelu: (ctx: ConvertContext, x: Value, alpha: number): Value => {
    const t = x.type.dtype;
    return ctx.op("where", [ctx.op("greater", [x, ctx.scalar(alpha, t)]), x, ctx.scalar(0, t)]);
  },
  softsign: (ctx: ConvertContext, x: Value): Value =>
    ctx.op("div", [x, ctx.op("add", [ctx.op("abs", [x]), ctx.scalar(1, x.type.dtype)])]),
};

const table: Record<string, Converter> = {};
for (const [onnx, lathe] of Object.entries(UNARY)) table[onnx] = (ctx) => [ctx.op(lathe, [ctx.input(0)])];
/**
 * Before opset 7, `broadcast=1` aligned B with A starting at `axis` (default: B's trailing
 * dimensions), e.g. a per-channel bias [C] against [N, C, H, W] at axis 1: B gets trailing 1s.
 */
function legacyBroadcast(ctx: ConvertContext, a: Value, b: Value): Value {
  if (ctx.opset >= 7 || ctx.attrs.int("broadcast", 0) === 0 || !ctx.attrs.has("axis")) return b;
  const ra = a.type.shape.length, rb = b.type.shape.length;
  const axis = ctx.attrs.int("axis") < 0 ? ctx.attrs.int("axis") + ra : ctx.attrs.int("axis");
  const trailing = ra - axis - rb;
  if (trailing < 0) ctx.unsupported(`legacy broadcast of rank ${rb} at axis ${axis} of rank ${ra}`);
  return trailing === 0 ? b : ctx.op("reshape", [b], { shape: [...b.type.shape.map(() => 0), ...new Array<number>(trailing).fill(1)] });
}

for (const [onnx, lathe] of Object.entries(BINARY)) {
  table[onnx] = (ctx) => {
    const a = ctx.input(0);
    return [ctx.op(lathe, [a, legacyBroadcast(ctx, a, ctx.input(1))])];
  };
}

Object.assign(table, {
  Identity: (ctx) => [ctx.input(0)],
  Pow: (ctx) => {
    // The exponent may have another type; the result has the base's. Integer powers are
    // computed in f64 (exact for the integer results ONNX tests expect) and cast back.
    const x = ctx.input(0), y = ctx.input(1), t = x.type.dtype;
    const work = isFloat(t) ? t : "f64";
    const as = (v: Value) => (v.type.dtype === work ? v : ctx.op("cast", [v], { dtype: work }));
    const r = ctx.op("pow", [as(x), as(y)]);
    return [r.type.dtype === t ? r : ctx.op("cast", [r], { dtype: t })];
  },
  Max: (ctx) => [fold(ctx, "maximum")],
  Min: (ctx) => [fold(ctx, "minimum")],
  Sum: (ctx) => [fold(ctx, "add")],
  Mean: (ctx) => {
    const x = ctx.input(0);
    floatOnly(ctx, x);
    return [ctx.op("div", [fold(ctx, "add"), ctx.scalar(ctx.numInputs, x.type.dtype)])];
  },
  Div: (ctx) => {
    // Lathe's integer div floors; ONNX's truncates toward zero: (a − fmod(a, b)) / b is exact.
    const a = ctx.input(0), b = legacyBroadcast(ctx, a, ctx.input(1));
    if (isFloat(a.type.dtype) || a.type.dtype === "u8") return [ctx.op("div", [a, b])];
    return [ctx.op("div", [ctx.op("sub", [a, ctx.op("mod", [a, b], { fmod: 1 })]), b])];
  },
  Mod: (ctx) => [ctx.op("mod", [ctx.input(0), ctx.input(1)], { fmod: ctx.attrs.int("fmod", 0) })],
  BitShift: (ctx) => [ctx.op("bitshift", [ctx.input(0), ctx.input(1)], { direction: ctx.attrs.string("direction").toLowerCase() })],
  IsInf: (ctx) => [ctx.op("isinf", [ctx.input(0)], { detect_positive: ctx.attrs.int("detect_positive", 1), detect_negative: ctx.attrs.int("detect_negative", 1) })],
  Where: (ctx) => [ctx.op("where", [ctx.input(0), ctx.input(1), ctx.input(2)])],
  Cast: (ctx) => {
    const to = dtypeOf(ctx.attrs.int("to"), `${ctx.opType} (node ${ctx.name}): attribute 'to'`);
    const x = ctx.input(0);
    return [x.type.dtype === to ? x : ctx.op("cast", [x], { dtype: to })];
  },
  CastLike: (ctx) => {
    const x = ctx.input(0), to = ctx.input(1).type.dtype;
    return [x.type.dtype === to ? x : ctx.op("cast", [x], { dtype: to })];
  },
  LeakyRelu: (ctx) => [ctx.op("leaky_relu", [ctx.input(0)], { alpha: ctx.attrs.float("alpha", 0.01) })],
  PRelu: (ctx) => {
    // x if x ≥ 0 else slope·x, the slope broadcasting against x.
    const x = ctx.input(0);
    let slope = ctx.input(1);
    // Older exporters give a per-channel slope [C] for x [N, C, …]: align it with axis 1.
    const rx = x.type.shape.length;
    if (slope.type.shape.length === 1 && rx > 2 && slope.type.shape[0] !== x.type.shape[rx - 1] && slope.type.shape[0] === x.type.shape[1]) {
      slope = ctx.op("reshape", [slope], { shape: [0, ...new Array<number>(rx - 2).fill(1)] });
    }
    const zero = ctx.scalar(0, x.type.dtype);
    return [ctx.op("where", [ctx.op("less", [x, zero]), ctx.op("mul", [x, slope]), x])];
  },
  Elu: (ctx) => {
    const x = ctx.input(0);
    floatOnly(ctx, x);
    return [activation.elu(ctx, x, ctx.attrs.float("alpha", 1))];
  },
  Celu: (ctx) => {
    // max(0, x) + min(0, α·(exp(x/α) − 1))
    const x = ctx.input(0), t = x.type.dtype;
    floatOnly(ctx, x);
    const alpha = ctx.attrs.float("alpha", 1);
    const e = ctx.op("mul", [ctx.scalar(alpha, t), ctx.op("sub", [ctx.op("exp", [ctx.op("div", [x, ctx.scalar(alpha, t)])]), ctx.scalar(1, t)])]);
    return [ctx.op("add", [ctx.op("maximum", [x, ctx.scalar(0, t)]), ctx.op("minimum", [e, ctx.scalar(0, t)])])];
  },
  Selu: (ctx) => {
    const x = ctx.input(0), t = x.type.dtype;
    floatOnly(ctx, x);
    const alpha = ctx.attrs.float("alpha", 1.67326319217681884765625), gamma = ctx.attrs.float("gamma", 1.05070102214813232421875);
    const neg = ctx.op("mul", [ctx.scalar(alpha, t), ctx.op("sub", [ctx.op("exp", [x]), ctx.scalar(1, t)])]);
    return [ctx.op("mul", [ctx.scalar(gamma, t), ctx.op("where", [ctx.op("less_equal", [x, ctx.scalar(0, t)]), neg, x])])];
  },
  HardSigmoid: (ctx) => {
    const x = ctx.input(0);
    floatOnly(ctx, x);
    return [activation.hardSigmoid(ctx, x, ctx.attrs.float("alpha", 0.2), ctx.attrs.float("beta", 0.5))];
  },
  HardSwish: (ctx) => {
    const x = ctx.input(0), t = x.type.dtype;
    floatOnly(ctx, x);
    const hs = ctx.op("minimum", [ctx.op("maximum", [ctx.op("add", [ctx.op("mul", [x, ctx.scalar(1 / 6, t)]), ctx.scalar(0.5, t)]), ctx.scalar(0, t)]), ctx.scalar(1, t)]);
    return [ctx.op("mul", [x, hs])];
  },
  ThresholdedRelu: (ctx) => [activation.thresholdedRelu(ctx, ctx.input(0), ctx.attrs.float("alpha", 1))],
  Softsign: (ctx) => {
    const x = ctx.input(0);
    floatOnly(ctx, x);
    return [activation.softsign(ctx, x)];
  },
  Shrink: (ctx) => {
    const x = ctx.input(0), t = x.type.dtype;
    const lambd = ctx.attrs.float("lambd", 0.5), bias = ctx.attrs.float("bias", 0);
    const lo = ctx.op("where", [ctx.op("less", [x, ctx.scalar(-lambd, t)]), ctx.op("add", [x, ctx.scalar(bias, t)]), ctx.scalar(0, t)]);
    return [ctx.op("where", [ctx.op("greater", [x, ctx.scalar(lambd, t)]), ctx.op("sub", [x, ctx.scalar(bias, t)]), lo])];
  },
  Clip: (ctx) => {
    let x = ctx.input(0);
    const t = x.type.dtype;
    // Opset < 11: bounds are attributes; from 11 they are optional scalar inputs.
    const lo = ctx.opset < 11 ? (ctx.attrs.has("min") ? ctx.scalar(ctx.attrs.float("min"), t) : undefined) : ctx.optional(1);
    const hi = ctx.opset < 11 ? (ctx.attrs.has("max") ? ctx.scalar(ctx.attrs.float("max"), t) : undefined) : ctx.optional(2);
    if (lo) x = ctx.op("maximum", [x, lo]);
    if (hi) x = ctx.op("minimum", [x, hi]);
    return [x];
  },
  Dropout: (ctx) => {
    // Inference: the identity (training_mode, input 2 from opset 12, must be absent or false).
    const x = ctx.input(0);
    if (ctx.opset >= 12 && ctx.has(2)) {
      const training = ctx.staticNumbers(2, "training_mode");
      if (training[0]) ctx.unsupported("training_mode = true (random dropout at inference is not supported)");
    }
    if (ctx.opset < 7 && ctx.attrs.int("is_test", 0) === 0) ctx.unsupported("is_test = 0");
    const outs: Value[] = [x];
    if (ctx.numOutputs > 1) outs.push(ctx.op("not_equal", [x, ctx.op("add", [x, ctx.scalar(1, x.type.dtype)])]));
    return outs;
  },
} satisfies Record<string, Converter>);

registerConverters(table);
