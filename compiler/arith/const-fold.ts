/**
 * Constant folding of single nodes whose operands are constants, with the value a C
 * program (or the reference evaluator) would compute: integers wrap to their dtype,
 * f32/f16 results are rounded once from the exact double result.
 */
import type { DType } from "../../core/dtype.ts";
import { isFloat, wrapTo } from "../../core/dtype.ts";
import type { BinOp, CmpOp, Intrinsic } from "../te/expr.ts";
import { iadd, imul } from "./linear.ts";

/** ⌊a / b⌋ for integers, exact (the double quotient can round across an integer). */
export function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  const r = a - q * b;
  if (b > 0 ? r < 0 : r > 0) q -= 1;
  else if (b > 0 ? r >= b : r <= b) q += 1;
  return q;
}
export const floorMod = (a: number, b: number): number => a - b * floorDiv(a, b);
export function truncDiv(a: number, b: number): number {
  const q = floorDiv(Math.abs(a), Math.abs(b));
  return (a < 0) !== (b < 0) ? -q : q;
}
export const truncMod = (a: number, b: number): number => a - b * truncDiv(a, b);

/** Folds `a op b`; null when the result is undefined (integer division by zero). */
export function foldBin(op: BinOp, a: number, b: number, dtype: DType): number | null {
  if (isFloat(dtype)) {
    let r: number;
    switch (op) {
      case "add": r = a + b; break;
      case "sub": r = a - b; break;
      case "mul": r = a * b; break;
      case "div": r = a / b; break;
      case "floordiv": r = Math.floor(a / b); break;
      case "floormod": r = a - b * Math.floor(a / b); break;
      case "truncdiv": r = Math.trunc(a / b); break;
      case "truncmod": r = a % b; break;
      // NaN operands: C's fmin/fmax and std::min disagree, so leave those to run time.
      case "min": if (Number.isNaN(a) || Number.isNaN(b)) return null; r = Math.min(a, b); break;
      case "max": if (Number.isNaN(a) || Number.isNaN(b)) return null; r = Math.max(a, b); break;
    }
    return wrapTo(dtype, r);
  }
  a = wrapTo(dtype, a); b = wrapTo(dtype, b);
  const wide = dtype === "i32" || dtype === "i64";
  switch (op) {
    case "add": return wide ? iadd(dtype, a, b) : wrapTo(dtype, a + b);
    case "sub": return wide ? iadd(dtype, a, -b) : wrapTo(dtype, a - b);
    case "mul": return wide ? imul(dtype, a, b) : wrapTo(dtype, a * b);
    case "min": return Math.min(a, b);
    case "max": return Math.max(a, b);
    default: break;
  }
  if (b === 0) return null;
  switch (op) {
    case "div": case "floordiv": return wrapTo(dtype, floorDiv(a, b));
    case "floormod": return wrapTo(dtype, floorMod(a, b));
    case "truncdiv": return wrapTo(dtype, truncDiv(a, b));
    case "truncmod": return wrapTo(dtype, truncMod(a, b));
  }
}

export function foldCmp(op: CmpOp, a: number, b: number): boolean {
  switch (op) {
    case "eq": return a === b;
    case "ne": return a !== b;
    case "lt": return a < b;
    case "le": return a <= b;
    case "gt": return a > b;
    case "ge": return a >= b;
  }
}

export function foldCast(to: DType, v: number): number {
  if (to === "bool") return v !== 0 ? 1 : 0; // NaN is true, as in C
  return wrapTo(to, v);
}

/** Only intrinsics whose result is exactly determined (correctly rounded) are folded. */
export function foldCall(fn: Intrinsic, args: readonly number[], dtype: DType): number | null {
  const x = args[0]!;
  switch (fn) {
    case "abs": return wrapTo(dtype, Math.abs(x));
    case "floor": return wrapTo(dtype, Math.floor(x));
    case "ceil": return wrapTo(dtype, Math.ceil(x));
    case "sqrt": return isFloat(dtype) ? wrapTo(dtype, Math.sqrt(x)) : null;
    default: return null; // exp/log/tanh/…: libm results differ in the last bit between platforms
  }
}
