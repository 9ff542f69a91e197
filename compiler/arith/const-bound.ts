/**
 * Numeric bound analysis (TVM's ConstIntBound): for an integer expression, a [lo, hi]
 * pair of numbers (±Infinity when unbounded) containing every value it takes when each
 * ranged var lies in its range. i32/i64 vars without a range are unbounded (overflow is
 * ignored); i8/u8/bool values are bounded by their type.
 */
import type { DType } from "../../core/dtype.ts";
import { isFloat } from "../../core/dtype.ts";
import type { Expr, Var } from "../te/expr.ts";
import type { Analyzer } from "./analyzer.ts";
import { canon } from "./canonical.ts";
import { floorDiv, floorMod, truncDiv } from "./const-fold.ts";
import { exprKey } from "./key.ts";
import type { Sum } from "./linear.ts";
import { addSums, constSum, isIndexType } from "./linear.ts";

export interface Bound { readonly lo: number; readonly hi: number }

export const FULL: Bound = { lo: -Infinity, hi: Infinity };
export const point = (v: number): Bound => ({ lo: v, hi: v });

export function dtypeBound(t: DType): Bound {
  switch (t) {
    case "bool": return { lo: 0, hi: 1 };
    case "u8": return { lo: 0, hi: 255 };
    case "i8": return { lo: -128, hi: 127 };
    default: return FULL;
  }
}

// ---- interval arithmetic on numbers, careful with 0 × ∞ ----

const mulN = (x: number, y: number): number => (x === 0 || y === 0 ? 0 : x * y);
export const bAdd = (a: Bound, b: Bound): Bound => ({ lo: a.lo + b.lo, hi: a.hi + b.hi });
export function bScale(a: Bound, k: number): Bound {
  const x = mulN(a.lo, k), y = mulN(a.hi, k);
  return k >= 0 ? { lo: x, hi: y } : { lo: y, hi: x };
}
export function bMul(a: Bound, b: Bound): Bound {
  const c = [mulN(a.lo, b.lo), mulN(a.lo, b.hi), mulN(a.hi, b.lo), mulN(a.hi, b.hi)];
  return { lo: Math.min(...c), hi: Math.max(...c) };
}
export const bMin = (a: Bound, b: Bound): Bound => ({ lo: Math.min(a.lo, b.lo), hi: Math.min(a.hi, b.hi) });
export const bMax = (a: Bound, b: Bound): Bound => ({ lo: Math.max(a.lo, b.lo), hi: Math.max(a.hi, b.hi) });
export const bUnion = (a: Bound, b: Bound): Bound => ({ lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) });
export const bIntersect = (a: Bound, b: Bound): Bound => ({ lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) });
const bNeg = (a: Bound): Bound => ({ lo: -a.hi, hi: -a.lo });
const absMax = (a: Bound): number => Math.max(Math.abs(a.lo), Math.abs(a.hi));
const fdiv = (x: number, d: number): number => (Number.isFinite(x) ? floorDiv(x, d) : x / d);
const tdiv = (x: number, d: number): number => (Number.isFinite(x) ? truncDiv(x, d) : x / d);

/** floor(a / d) for d within [d.lo, d.hi]. */
export function bFloorDiv(a: Bound, d: Bound): Bound {
  if (d.lo >= 1) {
    // For a ≥ 0 the quotient shrinks toward 0 as d grows; for a < 0 it grows toward -1.
    const lo = a.lo >= 0 ? (d.hi === Infinity ? 0 : fdiv(a.lo, d.hi)) : fdiv(a.lo, d.lo);
    const hi = a.hi >= 0 ? fdiv(a.hi, d.lo) : (d.hi === Infinity ? -1 : fdiv(a.hi, d.hi));
    return { lo, hi };
  }
  if (d.hi <= -1) return bFloorDiv(bNeg(a), bNeg(d)); // ⌊a/d⌋ = ⌊-a/-d⌋
  const m = absMax(a); // |d| ≥ 1 whenever defined, so |⌊a/d⌋| ≤ |a|
  return { lo: -m, hi: m };
}

/** floormod(a, d) for d within [d.lo, d.hi]: the sign of d, magnitude below |d|. */
export function bFloorMod(a: Bound, d: Bound): Bound {
  if (d.lo >= 1) {
    if (a.lo >= 0 && a.hi < d.lo) return a;
    if (d.lo === d.hi && Number.isFinite(a.lo) && Number.isFinite(a.hi) && floorDiv(a.lo, d.lo) === floorDiv(a.hi, d.lo)) {
      return { lo: floorMod(a.lo, d.lo), hi: floorMod(a.hi, d.lo) };
    }
    return { lo: 0, hi: Math.min(d.hi - 1, a.lo >= 0 ? a.hi : Infinity) };
  }
  if (d.hi <= -1) {
    if (a.hi <= 0 && a.lo > d.hi) return a;
    return { lo: Math.max(d.lo + 1, a.hi <= 0 ? a.lo : -Infinity), hi: 0 };
  }
  const m = absMax(d) - 1;
  return { lo: -m, hi: m };
}

export function bTruncDiv(a: Bound, d: Bound): Bound {
  if (d.lo >= 1) {
    const lo = a.lo >= 0 ? (d.hi === Infinity ? 0 : tdiv(a.lo, d.hi)) : tdiv(a.lo, d.lo);
    const hi = a.hi >= 0 ? tdiv(a.hi, d.lo) : (d.hi === Infinity ? 0 : tdiv(a.hi, d.hi));
    return { lo, hi };
  }
  if (d.hi <= -1) return bNeg(bTruncDiv(a, bNeg(d)));
  const m = absMax(a);
  return { lo: -m, hi: m };
}

/** truncmod takes the sign of the dividend, magnitude below |d|. */
export function bTruncMod(a: Bound, d: Bound): Bound {
  const m = absMax(d) - 1;
  const dmin = d.lo >= 1 ? d.lo : d.hi <= -1 ? -d.hi : 0;
  if (a.lo >= 0 && a.hi < dmin) return a;
  if (a.hi <= 0 && -a.lo < dmin) return a;
  return { lo: a.lo >= 0 ? 0 : Math.max(-m, a.lo), hi: a.hi <= 0 ? 0 : Math.min(m, a.hi) };
}

/** Clamps a bound that left the type's range (narrow ints wrap) back to the type's range. */
function fitType(b: Bound, t: DType): Bound {
  const d = dtypeBound(t);
  return b.lo >= d.lo && b.hi <= d.hi ? b : d;
}

// ---- the analysis ----

export function varBound(an: Analyzer, v: Var): Bound {
  const r = an.ranges.get(v);
  if (r === undefined) return dtypeBound(v.dtype);
  const hit = an.varBounds.get(v);
  if (hit) return hit;
  if (an.visitingVars.has(v)) return dtypeBound(v.dtype); // a range that mentions itself
  an.visitingVars.add(v);
  try {
    const lo = canon(an, r.min);
    const hi = addSums(lo, addSums(canon(an, r.extent), constSum(lo.dtype, -1)));
    const b = fitType({ lo: boundSum(an, lo).lo, hi: boundSum(an, hi).hi }, v.dtype);
    an.varBounds.set(v, b);
    return b;
  } finally {
    an.visitingVars.delete(v);
  }
}

export function boundSum(an: Analyzer, s: Sum): Bound {
  let acc = point(s.constant);
  for (const t of s.terms) {
    let m = boundExpr(an, t.atoms[0]!);
    for (let i = 1; i < t.atoms.length; i++) m = bMul(m, boundExpr(an, t.atoms[i]!));
    acc = bAdd(acc, bScale(m, t.coef));
    if (acc.lo === -Infinity && acc.hi === Infinity) break;
  }
  return acc;
}

export function boundExpr(an: Analyzer, e: Expr): Bound {
  if (e.kind === "const") return point(e.value);
  if (e.kind === "var") return varBound(an, e);
  const key = exprKey(e);
  const hit = an.boundMemo.get(key);
  if (hit) return hit;
  const b = computeBound(an, e);
  an.boundMemo.set(key, b);
  return b;
}

function computeBound(an: Analyzer, e: Expr): Bound {
  const sub = (x: Expr) => boundExpr(an, x);
  switch (e.kind) {
    case "const": return point(e.value);
    case "var": return varBound(an, e);
    case "bin": {
      if (isFloat(e.dtype)) return FULL;
      const a = sub(e.a), b = sub(e.b);
      let r: Bound;
      switch (e.op) {
        case "add": r = bAdd(a, b); break;
        case "sub": r = bAdd(a, bNeg(b)); break;
        case "mul": r = bMul(a, b); break;
        case "div": case "floordiv": r = bFloorDiv(a, b); break;
        case "floormod": r = bFloorMod(a, b); break;
        case "truncdiv": r = bTruncDiv(a, b); break;
        case "truncmod": r = bTruncMod(a, b); break;
        case "min": r = bMin(a, b); break;
        case "max": r = bMax(a, b); break;
      }
      return isIndexType(e.dtype) ? r : fitType(r, e.dtype);
    }
    case "cmp": case "and": case "or": case "not": return { lo: 0, hi: 1 };
    case "select": return bUnion(sub(e.t), sub(e.f));
    case "cast": {
      if (e.dtype === "bool") return { lo: 0, hi: 1 };
      if (isFloat(e.dtype)) return FULL; // rounding to a narrow float can leave the int bound
      const inner = sub(e.value);
      if (isFloat(e.value.dtype) && !isFloat(e.dtype)) {
        // float → int truncates toward zero (monotone)
        return fitType({ lo: Math.trunc(inner.lo), hi: Math.trunc(inner.hi) }, e.dtype);
      }
      return fitType(inner, e.dtype);
    }
    case "call": {
      if (e.fn === "abs" && !isFloat(e.dtype)) {
        const a = sub(e.args[0]!);
        const lo = a.lo >= 0 ? a.lo : a.hi <= 0 ? -a.hi : 0;
        return fitType({ lo, hi: absMax(a) }, e.dtype);
      }
      return dtypeBound(e.dtype);
    }
    case "broadcast": return sub(e.value);
    case "ramp": return bAdd(sub(e.base), bMul(sub(e.stride), { lo: 0, hi: e.lanes - 1 }));
    case "load": case "access": case "reduce": return dtypeBound(e.dtype);
  }
}
