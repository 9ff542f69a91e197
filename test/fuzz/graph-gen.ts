/**
 * Random well-typed graphs for differential fuzzing (issue 23).
 *
 * A case is a *recipe*: input shapes and a list of steps, each a kind, two operand picks and
 * a few small parameters, all plain naturals. `buildCase` turns a recipe into a graph: a
 * step's operands are picked from the values made so far (index mod count) and its
 * parameters are read mod the ranges the op allows, so every recipe builds and fast-check's
 * shrinking (fewer steps, smaller numbers) keeps recipes valid and moves them towards
 * the simplest graph: parameter 0 is always the plainest choice. A step that does not apply
 * to its operand (a convolution of a vector) is skipped, and the skip is counted.
 *
 * Values stay bounded (inputs and weights in [−1, 1], no exp/pow, divisors ≥ 0.5), so a
 * difference between a target and the interpreter is a real one and not an overflow.
 */
import fc from "fast-check";
import type { DType } from "../../core/dtype.ts";
import { LatheError } from "../../core/errors.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Attrs, Graph, Value } from "../../compiler/graph/graph.ts";
import type { Dim } from "../../compiler/graph/types.ts";
import { Rng } from "../../runtime/random.ts";

export const STEP_KINDS = [
  "unary", "binary", "where", "reduce", "argmax", "softmax", "layer_norm", "transpose", "reshape", "slice", "pad",
  "concat", "matmul", "conv2d", "pool", "global_pool", "cast",
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export interface InputSpec {
  readonly shape: readonly number[];
  readonly dtype: "f32" | "i32";
  /** The first dimension is symbolic ("n") in the graph; the data has shape[0] rows. */
  readonly dynamic: boolean;
}

export interface Step {
  readonly kind: StepKind;
  /** Operand picks (mod the number of values so far). */
  readonly a: number;
  readonly b: number;
  /** Small naturals, read mod each parameter's range (0 = the plainest choice). */
  readonly p: readonly number[];
}

export interface Recipe {
  readonly inputs: readonly InputSpec[];
  readonly steps: readonly Step[];
  /** Seeds the input data and the weights. */
  readonly seed: number;
}

export interface FuzzCase {
  /** The recipe it was built from (absent for a case replayed from a repro's graph text). */
  readonly recipe?: Recipe;
  /** Seeds what a target draws for the case (random tuning configs). */
  readonly seed: number;
  readonly graph: Graph;
  /** Input data (in [−1, 1] for floats, [−4, 4] for integers) and shapes. */
  readonly inputs: readonly { readonly data: Float64Array; readonly shape: readonly number[]; readonly dtype: DType }[];
  /** Steps that did not apply to their operand, by kind. */
  readonly skipped: readonly StepKind[];
}

const DIMS = [1, 2, 3, 4, 5, 7, 8, 16] as const;

/** Shapes with odd and size-1 dims; rank-4 ones small enough to convolve quickly. */
const shapeArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.array(fc.constantFrom(...DIMS), { minLength: 1, maxLength: 3 }),
  fc.tuple(fc.constantFrom(1, 2), fc.constantFrom(1, 2, 3, 4, 8), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })).map((t) => [...t]),
);

const inputArb: fc.Arbitrary<InputSpec> = fc.record({
  shape: shapeArb,
  dtype: fc.constantFrom<"f32" | "i32">("f32", "f32", "f32", "i32"),
  dynamic: fc.constantFrom(false, false, true),
});

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom(...STEP_KINDS),
  a: fc.nat({ max: 15 }),
  b: fc.nat({ max: 15 }),
  p: fc.array(fc.nat({ max: 15 }), { minLength: 6, maxLength: 6 }),
});

export const recipeArb: fc.Arbitrary<Recipe> = fc.record({
  inputs: fc.array(inputArb, { minLength: 1, maxLength: 2 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }),
  seed: fc.nat({ max: 0xffff }),
});

const UNARY_F = ["relu", "neg", "abs", "tanh", "sigmoid", "sin", "cos", "leaky_relu", "softplus", "gelu", "erf", "atan"] as const;
const UNARY_I = ["neg", "abs"] as const;
const BINARY_F = ["add", "sub", "mul", "maximum", "minimum", "div"] as const;
const BINARY_I = ["add", "sub", "mul", "maximum", "minimum"] as const;
const REDUCE_F = ["sum", "mean", "max", "min", "logsumexp"] as const;
const REDUCE_I = ["sum", "max", "min"] as const;

const ELEMENTWISE: ReadonlySet<StepKind> = new Set(["unary", "binary", "where", "cast"]);
const pick = <T>(xs: readonly T[], k: number): T => xs[k % xs.length]!;
const isFloat = (v: Value): boolean => v.type.dtype === "f32" || v.type.dtype === "f64";
/** A value's dims: numbers, or a symbol's name (a dynamic input's first dim and what it flows into). */
const shapeOf = (v: Value): Dim[] => [...v.type.shape];
const isStatic = (dims: readonly Dim[]): dims is number[] => dims.every((d) => typeof d === "number");
const count = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
/** The axes whose bit is set in mask (at least one: axis mask % rank when none is). */
const axesOf = (mask: number, rank: number): number[] => {
  const axes = Array.from({ length: rank }, (_, i) => i).filter((i) => (mask >> i) & 1);
  return axes.length ? axes : [mask % rank];
};
/** The k-th permutation of 0..n−1 (Lehmer code; k = 0 is the identity). */
function permutationOf(k: number, n: number): number[] {
  const rest = Array.from({ length: n }, (_, i) => i), out: number[] = [];
  for (let i = n; i >= 1; i--) {
    const f = [1, 1, 2, 6, 24][i - 1]!;
    out.push(rest.splice(Math.floor(k / f) % i, 1)[0]!);
  }
  return out;
}

export interface BuildOptions {
  /** The float dtype of inputs, weights and casts (f64 for finite-difference gradient checks). Default f32. */
  readonly float?: "f32" | "f64";
}

/** Builds the recipe's graph; the last value made (and the first step's, if different) are the outputs. */
export function buildCase(recipe: Recipe, opts: BuildOptions = {}): FuzzCase {
  const float = opts.float ?? "f32";
  const b = new GraphBuilder();
  const rng = new Rng(recipe.seed);
  const dtypeOf = (s: InputSpec): DType => (s.dtype === "f32" ? float : s.dtype);
  // Every dynamic input's first dimension is the same symbol, so they stay broadcast-compatible.
  const pool: Value[] = recipe.inputs.map((s, i) => b.input(`x${i}`, s.dynamic ? ["n", ...s.shape.slice(1)] : s.shape, dtypeOf(s)));
  const weight = (name: string, shape: readonly number[], lo = -1, hi = 1): Value => {
    const n = count(shape), data = float === "f64" ? new Float64Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = rng.uniform(lo, hi);
    return b.constant(name, data, shape, float);
  };
  const skipped: StepKind[] = [];
  const made: Value[] = [];
  for (const step of recipe.steps) {
    const x = pool[step.a % pool.length]!;
    const y = pool[step.b % pool.length]!;
    let out: Value | null;
    try {
      out = applyStep(b, step, x, y, weight, float);
    } catch (e) {
      // The generator only builds ops it believes valid: a refusal is a generator bug or an op's, so it is reported.
      if (e instanceof LatheError) throw new LatheError(`fuzz generator: step ${JSON.stringify(step)} on ${x.name} ${JSON.stringify(x.type)}: ${e.message}`);
      throw e;
    }
    if (out === null) { skipped.push(step.kind); continue; }
    pool.push(out);
    made.push(out);
  }
  const outputs = made.length === 0 ? [pool[0]!] : made.length === 1 || made[0] === made.at(-1) ? [made.at(-1)!] : [made[0]!, made.at(-1)!];
  // An input given back unchanged is legal but tests nothing: keep it only when nothing else exists.
  const graph = b.build(outputs);
  // The symbol binds to one size: the first dynamic input's rows.
  const rows = recipe.inputs.find((s) => s.dynamic)?.shape[0] ?? 0;
  const inputs = recipe.inputs.map((s) => ({
    shape: s.dynamic ? [rows, ...s.shape.slice(1)] : s.shape,
    dtype: dtypeOf(s),
    data: Float64Array.from({ length: count(s.dynamic ? [rows, ...s.shape.slice(1)] : s.shape) }, () => (s.dtype === "i32" ? rng.int(-4, 5) : rng.uniform(-1, 1))),
  }));
  return { recipe, seed: recipe.seed, graph, inputs, skipped };
}

type Weight = (name: string, shape: readonly number[], lo?: number, hi?: number) => Value;

function applyStep(b: GraphBuilder, step: Step, x: Value, y: Value, weight: Weight, float: "f32" | "f64"): Value | null {
  const [p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0] = step.p;
  const s = shapeOf(x), r = s.length;
  const op1 = (op: string, ins: readonly Value[], attrs: Attrs = {}): Value => b.op(op, ins, attrs)[0]!;
  // A scalar (a full reduction's result) has no axis to work along.
  if (r === 0 && !ELEMENTWISE.has(step.kind)) return null;
  switch (step.kind) {
    case "unary":
      return isFloat(x) ? op1(pick(UNARY_F, p0), [x]) : op1(pick(UNARY_I, p0), [x]);
    case "binary": {
      const op = isFloat(x) ? pick(BINARY_F, p0) : pick(BINARY_I, p0);
      // The other operand: y itself when it broadcasts against x, else a constant of a broadcastable shape.
      let other: Value;
      if (op !== "div" && y.type.dtype === x.type.dtype && broadcasts(shapeOf(y), s)) other = y;
      else {
        const shape = s.slice(p2 % (r + 1)).map((d, i) => ((p1 >> i) & 1 || typeof d !== "number" ? 1 : d));
        if (!isFloat(x)) return null;
        other = op === "div" ? weight("w", shape, 0.5, 1.5) : weight("w", shape);
      }
      return p3 % 2 && op !== "div" ? op1(op, [other, x]) : op1(op, [x, other]);
    }
    case "where": {
      if (!isFloat(x)) return null;
      const cond = op1(pick(["greater", "less", "greater_equal"], p0), [x, weight("t", [], -0.5, 0.5)]);
      return op1("where", [cond, x, op1(pick(["neg", "tanh", "relu"], p1), [x])]);
    }
    case "reduce": {
      const op = isFloat(x) ? pick(REDUCE_F, p0) : pick(REDUCE_I, p0);
      return op1(op, [x], { axes: axesOf(p1, r), keepdims: p2 % 2 === 1 });
    }
    case "argmax": {
      const idx = op1(p0 % 2 ? "argmin" : "argmax", [x], { axis: p1 % r, keepdims: p2 % 2 === 1 });
      return op1("cast", [idx], { dtype: float });
    }
    case "softmax":
      return isFloat(x) ? op1(p0 % 2 ? "log_softmax" : "softmax", [x], { axis: p1 % r }) : null;
    case "layer_norm": {
      if (!isFloat(x)) return null;
      const axis = p0 % r, tail = s.slice(axis);
      if (!isStatic(tail)) return null;
      return op1("layer_norm", [x, weight("g", tail), weight("beta", tail)], { axis });
    }
    case "transpose":
      return r < 2 ? null : op1("transpose", [x], { perm: permutationOf(p0, r) });
    case "reshape": {
      // Merge two neighbours, or split a dimension by a factor that divides it.
      if (!isStatic(s)) return null;
      if (p0 % 2 === 0 && r >= 2) {
        const i = p1 % (r - 1);
        return op1("reshape", [x], { shape: [...s.slice(0, i), s[i]! * s[i + 1]!, ...s.slice(i + 2)] });
      }
      const i = p1 % r, d = s[i]!, f = [2, 3, 4].find((k) => d % k === 0 && d > k);
      if (f === undefined || r >= 4) return op1("reshape", [x], { shape: [count(s)] });
      return op1("reshape", [x], { shape: [...s.slice(0, i), f, d / f, ...s.slice(i + 1)] });
    }
    case "slice": {
      const axis = p0 % r, d = s[axis]!;
      if (typeof d !== "number") return null;
      const step1 = p3 % 3 === 2 ? -1 : (p3 % 3) + 1;
      const start = p1 % d, len = 1 + (p2 % d);
      if (step1 < 0) return op1("slice", [x], { starts: [d - 1 - start], ends: [-d - 1], axes: [axis], steps: [-1] });
      return op1("slice", [x], { starts: [start], ends: [Math.min(d, start + len * step1)], axes: [axis], steps: [step1] });
    }
    case "pad": {
      const padded = (i: number, bit: number): boolean => ((bit >> i) & 1) === 1 && typeof s[i] === "number";
      const pads = [...s.map((_, i) => (padded(i, p0) ? 1 + (p2 % 2) : 0)), ...s.map((_, i) => (padded(i, p1) ? 1 : 0))];
      return op1("pad", [x], { pads, value: isFloat(x) ? [0, 0.5, -1][p3 % 3]! : 0 });
    }
    case "concat": {
      const axis = p0 % r;
      if (typeof s[axis] !== "number") return null;
      const fits = y.type.dtype === x.type.dtype && shapeOf(y).length === r && shapeOf(y).every((d, i) => i === axis ? typeof d === "number" : d === s[i]);
      return op1("concat", [x, fits ? y : x], { axis });
    }
    case "matmul": {
      if (!isFloat(x) || r < 2) return null;
      const n = pick([1, 3, 8, 17], p0), k = s[r - 1]!, batch = s.slice(0, r - 2);
      if (typeof k !== "number") return null;
      // transB (a weight stored [n, k]) on some draws: the packed-transposed panel path.
      const transB = p2 % 3 === 0;
      const w = weight("w", [...(p1 % 2 && r >= 3 && isStatic(batch) ? batch : []), ...(transB ? [n, k] : [k, n])]);
      return op1("matmul", [x, w], { transB });
    }
    case "conv2d": {
      if (!isFloat(x) || r !== 4) return null;
      if (!isStatic(s.slice(1))) return null;
      const [, c, h, wd] = s as [Dim, number, number, number];
      const groups = [1, c, 2].filter((g) => c % g === 0)[p0 % 3 % [1, c, 2].filter((g) => c % g === 0).length]!;
      const o = groups * pick([1, 2, 3], p1);
      const k = 1 + (p2 % 3), stride = 1 + (p3 % 2), dil = 1 + (p4 % 2), pad = p5 % 3;
      const span = dil * (k - 1) + 1;
      if (h + 2 * pad < span || wd + 2 * pad < span) return null;
      const out = op1("conv2d", [x, weight("w", [o, c / groups, k, k])], { strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [dil, dil], groups });
      return p1 % 2 ? op1("add", [out, weight("bias", [o, 1, 1])]) : out;
    }
    case "pool": {
      if (!isFloat(x) || r !== 4 || !isStatic(s.slice(1))) return null;
      const k = 1 + (p1 % 3), stride = 1 + (p2 % 2), pad = Math.min(p3 % 2, Math.floor(k / 2));
      if ((s[2] as number) + 2 * pad < k || (s[3] as number) + 2 * pad < k) return null;
      const attrs: Attrs = { kernel: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] };
      return p0 % 2 ? op1("avg_pool2d", [x], { ...attrs, count_include_pad: p4 % 2 === 1 }) : op1("max_pool2d", [x], attrs);
    }
    case "global_pool":
      return isFloat(x) && r === 4 ? op1(p0 % 2 ? "global_max_pool2d" : "global_avg_pool2d", [x]) : null;
    case "cast":
      // Only exact casts: integers to f32 (a float to an integer would flip on rounding noise).
      return isFloat(x) ? null : op1("cast", [x], { dtype: float });
  }
}

/** Whether `a` broadcasts against `b` without changing b's shape (numpy rules, right-aligned). */
function broadcasts(a: readonly Dim[], b: readonly Dim[]): boolean {
  if (a.length > b.length) return false;
  return a.every((d, i) => d === 1 || d === b[b.length - a.length + i]);
}
