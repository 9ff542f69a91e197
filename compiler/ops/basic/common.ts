/**
 * Helpers shared by the basic ops: error messages that name the node and op, dtype rules,
 * axis normalisation, and output shapes as tensor-expression dimensions.
 */
import { LatheError, ShapeError } from "../../../core/errors.ts";
import type { Dim, TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { DType } from "../../../core/dtype.ts";
import { isFloat } from "../../../core/dtype.ts";
import type { Expr } from "../../te/expr.ts";
import { constInt, int, mul } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import type { ComputeContext } from "../op.ts";

/** "node add_1 (add)": the prefix of every error an op raises. */
export const at = (node: string, op: string): string => `node ${node} (${op})`;

export const showShape = (shape: readonly Dim[]): string => `[${shape.join(", ")}]`;

/** Throws unless there are exactly `n` inputs. */
export function arity(inputs: readonly TensorType[], n: number, node: string, op: string): void {
  if (inputs.length !== n) throw new ShapeError(`${at(node, op)}: takes ${n} input(s), got ${inputs.length}`);
}

/** Ops such as exp, div of floats, mean: integers and bools are rejected rather than truncated silently. */
export function floatOnly(t: TensorType, node: string, op: string): DType {
  if (!isFloat(t.dtype)) throw new ShapeError(`${at(node, op)}: needs a float input, got ${showType(t)} (cast it first)`);
  return t.dtype;
}

/** Arithmetic on bools is rejected (NumPy would promote; we make the cast explicit). */
export function numeric(t: TensorType, node: string, op: string): DType {
  if (t.dtype === "bool") throw new ShapeError(`${at(node, op)}: arithmetic on bool is not defined, got ${showType(t)} (cast it first)`);
  return t.dtype;
}

export function integral(t: TensorType, node: string, op: string, what: string): void {
  if (isFloat(t.dtype) || t.dtype === "bool") throw new ShapeError(`${at(node, op)}: ${what} must be an integer tensor, got ${showType(t)}`);
}

/** Both operands of a binary op share one dtype (no implicit promotion: a cast is a node you can see). */
export function sameDtype(types: readonly TensorType[], node: string, op: string): DType {
  const d = types[0]!.dtype;
  if (types.some((t) => t.dtype !== d)) {
    throw new ShapeError(`${at(node, op)}: operand dtypes differ: ${types.map(showType).join(" vs ")} (insert a cast)`);
  }
  return d;
}

/** An axis in [-rank, rank) as a non-negative index. */
export function normAxis(axis: number, rank: number, node: string, op: string): number {
  if (axis < -rank || axis >= rank) throw new ShapeError(`${at(node, op)}: axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** Sorted, distinct, non-negative axes; an empty list means every axis when `emptyIsAll`. */
export function normAxes(axes: readonly number[], rank: number, node: string, op: string, emptyIsAll = true): number[] {
  if (axes.length === 0 && emptyIsAll) return Array.from({ length: rank }, (_, k) => k);
  const out = axes.map((a) => normAxis(a, rank, node, op)).sort((a, b) => a - b);
  if (out.some((a, k) => k > 0 && a === out[k - 1])) throw new ShapeError(`${at(node, op)}: axes [${axes.join(", ")}] repeat an axis`);
  return out;
}

export const sameShape = (a: readonly Dim[], b: readonly Dim[]): boolean =>
  a.length === b.length && a.every((d, k) => d === b[k]);

/** A graph dimension as a TE expression: a constant, or the graph's size variable of that name. */
export function dimExpr(d: Dim, ctx: ComputeContext): Expr {
  if (typeof d === "number") return int(d);
  const v = ctx.sizes.get(d);
  if (!v) throw new LatheError(`node ${ctx.name}: symbolic dimension ${d} has no size variable`);
  return v;
}

/** The k-th output's shape as TE dimensions. */
export const outShape = (ctx: ComputeContext, k = 0): Expr[] => ctx.outputs[k]!.shape.map((d) => dimExpr(d, ctx));

/** A TE tensor's shape as graph dimensions (symbolic sizes by their variable's name). */
export const dimsOf = (t: TeTensor): Dim[] =>
  t.shape.map((d) => (d.kind === "const" ? d.value : d.kind === "var" ? d.name : `(${d.kind})`));

/** Product of TE dimensions (symbolic sizes allowed). */
export function productExpr(dims: readonly Expr[]): Expr {
  let p: Expr = int(1);
  for (const d of dims) p = constInt(p) === 1 ? d : mul(p, d);
  return p;
}
