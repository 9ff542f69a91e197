/**
 * What the int8 ops share: the fixed-point facts (int8 range, the rounding right shift that
 * requantization and the accelerator's ALU both perform) and input checks naming the node.
 */
import type { TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { DType } from "../../../core/dtype.ts";
import type { Expr } from "../../te/expr.ts";
import { add, cast, floordiv, int, max, min } from "../../te/expr.ts";
import { attrError, shapeError } from "../nn/common.ts";

export const INT8_MIN = -128;
export const INT8_MAX = 127;
/** Shifts the requantizer accepts: the rounding bias 2^(s−1) must fit the ALU's 16-bit signed immediate. */
export const MAX_SHIFT = 15;

/**
 * The rounding arithmetic shift right every int8 path uses: ⌊(x + 2^(s−1)) / 2^s⌋ in wrapping
 * int32 (round half up), i.e. add the bias, then shift. s = 0 is the identity.
 */
export function roundingShift(x: Expr, s: number): Expr {
  return s === 0 ? x : floordiv(add(x, int(2 ** (s - 1))), int(2 ** s));
}

/** Clips to [lo, 127] (lo = 0 fuses a ReLU) and casts to int8. */
export function clipToInt8(x: Expr, relu: boolean): Expr {
  return cast("i8", max(min(x, int(INT8_MAX, x.dtype)), int(relu ? 0 : INT8_MIN, x.dtype)));
}

export function expectDtype(node: string, op: string, inputs: readonly TensorType[], k: number, want: readonly DType[]): void {
  const t = inputs[k]!;
  if (!want.includes(t.dtype)) throw shapeError(node, op, `input ${k} must be ${want.join(" or ")}, got ${showType(t)}`, inputs);
}

export function checkShift(node: string, op: string, s: number): void {
  if (!Number.isInteger(s) || s < 0 || s > MAX_SHIFT) throw attrError(node, op, `shift must be an integer in [0, ${MAX_SHIFT}], got ${s}`);
}

/** Static (numeric) dimensions or a ShapeError naming the node. */
export function staticDims(node: string, op: string, inputs: readonly TensorType[], k: number): number[] {
  const t = inputs[k]!;
  if (!t.shape.every((d): d is number => typeof d === "number")) throw shapeError(node, op, `input ${k} needs static dimensions, got ${showType(t)}`, inputs);
  return t.shape as number[];
}
