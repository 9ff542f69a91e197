/**
 * Tensors and the operations that produce them: placeholders (inputs) and computes
 * (an expression per output element, possibly a reduction). No schedule lives here.
 */
import { LatheError } from "../../core/errors.ts";
import type { DType } from "../../core/dtype.ts";
import type { Combiner, Expr, ExprLike, Var } from "./expr.ts";
import { int, lift, variable, cast as castExpr, visitExpr } from "./expr.ts";
import { isFloat } from "../../core/dtype.ts";

export interface Range { readonly min: Expr; readonly extent: Expr }
export const range = (min: ExprLike, extent: ExprLike): Range => ({ min: lift(min), extent: lift(extent) });

/** An iteration variable over a domain: data-parallel (an output axis) or a reduction axis. */
export interface IterVar { readonly var: Var; readonly dom: Range; readonly kind: "data" | "reduce" }

export interface PlaceholderOp { readonly kind: "placeholder"; readonly name: string }
export interface ComputeOp {
  readonly kind: "compute";
  readonly name: string;
  readonly axes: readonly IterVar[];
  /** The element expression; a `reduce` node may only appear at the top. */
  readonly body: Expr;
  readonly tag: string;
}
export type Operation = PlaceholderOp | ComputeOp;

export interface Tensor {
  readonly name: string;
  readonly shape: readonly Expr[];
  readonly dtype: DType;
  readonly op: Operation;
  /** Element read: `A.at(i, j)`. */
  at(...indices: ExprLike[]): Expr;
}

export class TensorError extends LatheError {
  override name = "TensorError";
}

function makeTensor(name: string, shape: readonly Expr[], dtype: DType, op: Operation): Tensor {
  const t: Tensor = {
    name, shape, dtype, op,
    at(...indices: ExprLike[]): Expr {
      if (indices.length !== shape.length) {
        throw new TensorError(`${name} has ${shape.length} dimension(s) but was indexed with ${indices.length}`);
      }
      const idx = indices.map((i) => lift(i));
      for (const [k, i] of idx.entries()) {
        if (isFloat(i.dtype) || i.dtype === "bool") throw new TensorError(`index ${k} of ${name} must be an integer, got ${i.dtype}`);
      }
      return { kind: "access", tensor: t, indices: idx.map((i) => (i.dtype === "i32" ? i : castExpr("i32", i))), dtype };
    },
  };
  return t;
}

/** A symbolic size (for example a batch dimension) that a kernel reads from its arguments' shapes. */
/**
 * Tag of a compute that schedules should keep in memory rather than inline (its body is
 * costly to repeat, or repeats its inputs).
 */
export const MATERIALIZE = "materialize";

export const sizeVar = (name: string): Var => variable(name, "i32");

export function placeholder(shape: readonly ExprLike[], dtype: DType = "f32", name = "placeholder"): Tensor {
  return makeTensor(name, shape.map((s) => lift(s)), dtype, { kind: "placeholder", name });
}

const AXIS_NAMES = ["i", "j", "k", "l", "m", "n", "o", "p"];

/**
 * `compute([M, N], (i, j) => A.at(i, j) + 1, "C")`. The body receives the output axes'
 * variables; a reduction must be the whole body (as in TVM).
 */
export function compute(
  shape: readonly ExprLike[],
  fn: (...axes: Var[]) => ExprLike,
  name = "compute",
  opts: { axisNames?: readonly string[]; dtype?: DType; tag?: string } = {},
): Tensor {
  const dims = shape.map((s) => lift(s));
  const axes: IterVar[] = dims.map((d, k) => ({
    var: variable(opts.axisNames?.[k] ?? AXIS_NAMES[k] ?? `ax${k}`),
    dom: { min: int(0), extent: d },
    kind: "data",
  }));
  let body = lift(fn(...axes.map((a) => a.var)));
  if (opts.dtype && body.dtype !== opts.dtype) body = castExpr(opts.dtype, body);
  checkReduceAtTop(body, name);
  return makeTensor(name, dims, body.dtype, { kind: "compute", name, axes, body, tag: opts.tag ?? "" });
}

function checkReduceAtTop(body: Expr, name: string): void {
  const inner = body.kind === "reduce" ? [body.source, ...(body.init ? [body.init] : [])] : [body];
  for (const e of inner) {
    visitExpr(e, (x) => {
      if (x.kind === "reduce") throw new TensorError(`${name}: a reduction must be the whole compute body (nest reductions as separate computes)`);
    });
  }
}

export function reduceAxis(extent: ExprLike, name = "r", min: ExprLike = 0): IterVar {
  return { var: variable(name), dom: range(min, extent), kind: "reduce" };
}

function reducer(combiner: Combiner) {
  return (axes: IterVar | readonly IterVar[], source: ExprLike, opts: { init?: ExprLike; where?: Expr } = {}): Expr => {
    const list = Array.isArray(axes) ? (axes as readonly IterVar[]) : [axes as IterVar];
    for (const a of list) if (a.kind !== "reduce") throw new TensorError(`${combiner}: ${a.var.name} is not a reduce axis`);
    const src = lift(source);
    const init = opts.init === undefined ? null : lift(opts.init, src.dtype);
    return { kind: "reduce", combiner, source: src, axes: list, init, cond: opts.where ?? null, dtype: src.dtype };
  };
}
export const sum = reducer("sum");
export const prod = reducer("prod");
export const rmax = reducer("max");
export const rmin = reducer("min");

/** Identity element of a combiner for a dtype (the value a reduction over nothing yields). */
export function identityOf(c: Combiner, dtype: DType): number {
  switch (c) {
    case "sum": return 0;
    case "prod": return 1;
    case "max": return isFloat(dtype) ? -Infinity : dtype === "u8" || dtype === "bool" ? 0 : dtype === "i8" ? -128 : -2147483648;
    case "min": return isFloat(dtype) ? Infinity : dtype === "u8" || dtype === "bool" ? 255 : dtype === "i8" ? 127 : 2147483647;
  }
}

/** The tensors a compute reads, in first-use order. */
export function inputTensors(t: Tensor): Tensor[] {
  if (t.op.kind !== "compute") return [];
  const seen: Tensor[] = [];
  visitExpr(t.op.body, (x) => { if (x.kind === "access" && !seen.includes(x.tensor)) seen.push(x.tensor); });
  return seen;
}

/** All tensors reachable from the outputs, producers before consumers. */
export function postOrder(outputs: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visiting = new Set<Tensor>();
  const visit = (t: Tensor): void => {
    if (order.includes(t)) return;
    if (visiting.has(t)) throw new TensorError(`cycle through ${t.name}`);
    visiting.add(t);
    for (const i of inputTensors(t)) visit(i);
    visiting.delete(t);
    order.push(t);
  };
  outputs.forEach(visit);
  return order;
}
