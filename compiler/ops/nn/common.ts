/**
 * Helpers shared by the nn ops: typed attribute access, shape errors that name the node,
 * output shapes as TE expressions, zero/−∞ padded stages and scalar constants for VJPs.
 */
import { LatheError, ShapeError } from "../../../core/errors.ts";
import type { Attrs, Value } from "../../graph/graph.ts";
import type { GraphEmitter } from "../../graph/graph.ts";
import type { Dim, TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { DType } from "../../../core/dtype.ts";
import { isFloat } from "../../../core/dtype.ts";
import type { Expr } from "../../te/expr.ts";
import { add, and, ge, int, lt, mul, select, sub } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute } from "../../te/tensor.ts";
import type { ComputeContext } from "../op.ts";

// ---- attributes (normalized by the registry before any op function sees them) ----

export function intsAttr(a: Attrs, key: string): number[] {
  const v = a[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) throw new LatheError(`attribute "${key}" must be ints, got ${JSON.stringify(v)}`);
  return [...(v as readonly number[])];
}
export function numAttr(a: Attrs, key: string): number {
  const v = a[key];
  if (typeof v !== "number") throw new LatheError(`attribute "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}
export function boolAttr(a: Attrs, key: string): boolean {
  const v = a[key];
  if (typeof v !== "boolean") throw new LatheError(`attribute "${key}" must be a bool, got ${JSON.stringify(v)}`);
  return v;
}

// ---- errors ----

/** A ShapeError naming the node, the op and every input type. */
export function shapeError(node: string, op: string, msg: string, inputs: readonly TensorType[]): ShapeError {
  return new ShapeError(`node ${node} (${op}): ${msg}; inputs ${inputs.map(showType).join(", ")}`);
}

/** An attribute error naming the node and op. */
export const attrError = (node: string, op: string, msg: string): LatheError => new LatheError(`node ${node} (${op}): ${msg}`);

export function expectArity(node: string, op: string, inputs: readonly TensorType[], n: number): void {
  if (inputs.length !== n) throw shapeError(node, op, `takes ${n} input(s), got ${inputs.length}`, inputs);
}

export function expectRank(node: string, op: string, inputs: readonly TensorType[], k: number, rank: number, what: string): void {
  if (inputs[k]!.shape.length !== rank) throw shapeError(node, op, `${what} must have rank ${rank}, got ${showType(inputs[k]!)}`, inputs);
}

export function expectFloat(node: string, op: string, inputs: readonly TensorType[], ks: readonly number[]): void {
  for (const k of ks) {
    if (!isFloat(inputs[k]!.dtype)) throw shapeError(node, op, `input ${k} must be a float tensor, got ${showType(inputs[k]!)}`, inputs);
  }
}

export function expectSameDtype(node: string, op: string, inputs: readonly TensorType[], ks: readonly number[]): DType {
  const t = inputs[ks[0]!]!.dtype;
  for (const k of ks) {
    if (inputs[k]!.dtype !== t) throw shapeError(node, op, `inputs must share one dtype (${t} vs ${inputs[k]!.dtype})`, inputs);
  }
  return t;
}

/** Normalizes a possibly negative axis; errors name the node. */
export function normAxis(node: string, op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw attrError(node, op, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

// ---- TE helpers ----

/** A graph dimension as a TE expression: numbers become constants, names the graph's size variables. */
export function dimExpr(d: Dim, ctx: ComputeContext): Expr {
  if (typeof d === "number") return int(d);
  const v = ctx.sizes.get(d);
  if (!v) throw new LatheError(`node ${ctx.name}: symbolic dimension ${d} is not bound by any input`);
  return v;
}

/** The k-th output's shape as TE expressions. */
export const outShape = (ctx: ComputeContext, k = 0): Expr[] => ctx.outputs[k]!.shape.map((d) => dimExpr(d, ctx));

/** `e + n`, folded when `e` is a constant (keeps shapes of static graphs constant). */
export function plus(e: Expr, n: number): Expr {
  if (n === 0) return e;
  return e.kind === "const" ? int(e.value + n) : add(e, n);
}

/** `e * n`, folded when `e` is a constant. */
export function times(e: Expr, n: number): Expr {
  if (n === 1) return e;
  return e.kind === "const" ? int(e.value * n) : mul(e, n);
}

/** The product of expressions, folding constants. */
export function product(es: readonly Expr[]): Expr {
  let k = 1;
  let rest: Expr | null = null;
  for (const e of es) {
    if (e.kind === "const") k *= e.value;
    else rest = rest === null ? e : mul(rest, e);
  }
  return rest === null ? int(k) : times(rest, k);
}

/** The row-major flat index of `idx` in a tensor of shape `shape`. */
export function flatIndex(idx: readonly Expr[], shape: readonly Expr[]): Expr {
  let f: Expr = int(0);
  idx.forEach((i, d) => { f = d === 0 ? i : add(mul(f, shape[d]!), i); });
  return f;
}

/**
 * Pads the trailing `before.length` (spatial) dimensions of `x` with `value`, through a
 * stage that reads `x` only inside its bounds (a `select` on them). Returns `x` itself
 * when there is no padding.
 */
export function padSpatial(x: TeTensor, before: readonly number[], after: readonly number[], value: number, name: string): TeTensor {
  if (before.every((p) => p === 0) && after.every((p) => p === 0)) return x;
  const lead = x.shape.length - before.length;
  const shape = x.shape.map((d, k) => (k < lead ? d : plus(d, before[k - lead]! + after[k - lead]!)));
  return compute(shape, (...ax) => {
    const conds: Expr[] = [];
    const idx: Expr[] = [];
    ax.forEach((v, k) => {
      if (k < lead) { idx.push(v); return; }
      const p = before[k - lead]!, q = after[k - lead]!;
      if (p > 0) conds.push(ge(v, p));
      if (q > 0) conds.push(lt(v, plus(x.shape[k]!, p)));
      idx.push(p === 0 ? v : sub(v, p));
    });
    if (conds.length === 0) return x.at(...idx);
    return select(conds.reduce((a, c) => and(a, c)), x.at(...idx), value);
  }, name);
}

// ---- spatial output sizes ----

/**
 * The output size of a sliding window along one dimension: ⌊(n + pads − span) / stride⌋ + 1,
 * where span is the window's dilated extent. A symbolic size passes through only when the
 * window preserves it (stride 1, pads = span − 1); otherwise its size is not a `Dim`.
 */
export function windowOut(node: string, op: string, inputs: readonly TensorType[], n: Dim, padSum: number, span: number, stride: number): Dim {
  if (typeof n === "string") {
    if (stride === 1 && padSum === span - 1) return n;
    throw shapeError(node, op, `symbolic spatial dimension ${n} only passes through a window that preserves it (stride 1, pads = dilated kernel − 1)`, inputs);
  }
  const out = Math.floor((n + padSum - span) / stride) + 1;
  if (n + padSum < span || out < 1) throw shapeError(node, op, `the window (extent ${span}) does not fit the padded input (size ${n} + pads ${padSum})`, inputs);
  return out;
}

/** Checks a spatial ints attribute's length and lower bound. */
export function checkInts(node: string, op: string, name: string, v: readonly number[], len: number, lo: number): void {
  if (v.length !== len) throw attrError(node, op, `attribute "${name}" needs ${len} value(s), got [${v.join(", ")}]`);
  if (v.some((x) => x < lo)) throw attrError(node, op, `attribute "${name}" values must be ≥ ${lo}, got [${v.join(", ")}]`);
}

// ---- VJP helpers ----

/** A scalar constant of a float dtype (shape []), for closed-form gradients. */
export function scalarConst(b: GraphEmitter, value: number, dtype: DType, name = "c"): Value {
  switch (dtype) {
    case "f32": return b.constant(name, Float32Array.of(value), [], dtype);
    case "f64": return b.constant(name, Float64Array.of(value), [], dtype);
    default: throw new LatheError(`a ${dtype} scalar constant is not supported in a gradient (f32 and f64 are)`);
  }
}
