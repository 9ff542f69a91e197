/**
 * Symbolic interval analysis (TVM's int_set): bounds of an index expression as
 * expressions, when each ranged var sweeps its range and every other var stays fixed.
 * Works on canonical sums term by term, so `io*16 + ii` with ii ∈ [0, 16) gets
 * [io*16, io*16 + 15] and max − min + 1 simplifies to 16.
 */
import type { DType } from "../../core/dtype.ts";
import type { Expr, Var } from "../te/expr.ts";
import { add, bool, cast, int, lanesOf, mapChildren, mul, variable } from "../te/expr.ts";
import { Analyzer } from "./analyzer.ts";
import { canon, minMax, mulOrAtom } from "./canonical.ts";
import { divConst, divide, modConst } from "./divmod.ts";
import type { Bound } from "./const-bound.ts";
import { boundExpr, boundSum } from "./const-bound.ts";
import { exprKey, varsOf } from "./key.ts";
import type { Sum, Term } from "./linear.ts";
import {
  SumBuilder, addConst, addSums, constSum, isConstSum, isIndexType, makeTerm, sumEqual, sumToExpr, termSum,
} from "./linear.ts";
import { tightBound } from "./prove.ts";
import { simplifyExpr } from "./rewrite.ts";

/** Inclusive bounds; null = unbounded on that side. */
export interface Interval { min: Expr | null; max: Expr | null }
/** var ∈ [min, min + extent − 1] */
export type VarRanges = ReadonlyMap<Var, { min: Expr; extent: Expr }>;

/** Symbolic bounds of a sum, as sums; null = unbounded. */
export interface SymInterval { readonly lo: Sum | null; readonly hi: Sum | null }

/**
 * Bounds of e when each var in `ranges` ranges over its domain; vars not in `ranges` stay
 * symbolic (point intervals). Results simplified.
 */
export function intervalOf(e: Expr, ranges: VarRanges): Interval {
  if (lanesOf(e) > 1) {
    const lane = laneView(e, ranges);
    return lane ? intervalOf(lane.e, lane.ranges) : { min: null, max: null };
  }
  const an = new Analyzer(ranges);
  if (lanesOf(e) === 1 && isIndexType(e.dtype)) {
    const s = canon(an, e);
    const r = relaxSum(an, s);
    const nb = tightBound(an, s);
    return { min: endpoint(an, s.dtype, r.lo, nb.lo, Math.max), max: endpoint(an, s.dtype, r.hi, nb.hi, Math.min) };
  }
  const simple = simplifyExpr(an, e);
  if (simple.kind === "const") return { min: simple, max: simple };
  if (![...varsOf(simple)].some((v) => ranges.has(v))) return { min: simple, max: simple };
  if (e.dtype === "bool") return { min: bool(false), max: bool(true) };
  const b = lanesOf(e) === 1 ? boundExpr(an, simple) : { lo: -Infinity, hi: Infinity };
  return { min: numConst(e.dtype, b.lo), max: numConst(e.dtype, b.hi) };
}

/** Numeric bounds, or null when either side is not a known constant. */
export function constIntervalOf(e: Expr, ranges: VarRanges): { min: number; max: number } | null {
  if (lanesOf(e) > 1) {
    const lane = laneView(e, ranges);
    return lane ? constIntervalOf(lane.e, lane.ranges) : null;
  }
  const an = new Analyzer(ranges);
  let b: Bound;
  if (lanesOf(e) === 1 && isIndexType(e.dtype)) {
    b = tightBound(an, canon(an, e));
  } else {
    const simple = simplifyExpr(an, e);
    b = simple.kind === "const" ? { lo: simple.value, hi: simple.value }
      : lanesOf(simple) === 1 && !isFloatType(simple.dtype) ? boundExpr(an, simple)
      : { lo: -Infinity, hi: Infinity };
  }
  return Number.isFinite(b.lo) && Number.isFinite(b.hi) ? { min: b.lo, max: b.hi } : null;
}

/**
 * A vector expression as the scalar value of one lane `t ∈ [0, lanes)`: ramp(b, s) → b + s·t,
 * broadcast(v) → v. Every lane shares t, so the bounds over t cover all lanes. Null for
 * shapes this does not understand (nested vectors).
 */
function laneView(e: Expr, ranges: VarRanges): { e: Expr; ranges: VarRanges } | null {
  const lanes = lanesOf(e);
  const t = variable("lane", "i32");
  let ok = true;
  const go = (x: Expr): Expr => {
    if (lanesOf(x) === 1) return x;
    if (lanesOf(x) !== lanes) { ok = false; return x; }
    switch (x.kind) {
      case "ramp": {
        if (lanesOf(x.base) !== 1 || lanesOf(x.stride) !== 1) { ok = false; return x; }
        const lane: Expr = x.dtype === "i32" ? t : cast(x.dtype, t);
        return add(x.base, mul(x.stride, lane));
      }
      case "broadcast": return lanesOf(x.value) === 1 ? x.value : ((ok = false), x);
      default: {
        const m = mapChildren(x, go);
        const { lanes: _drop, ...scalar } = m as Expr & { lanes?: number };
        return scalar as Expr;
      }
    }
  };
  const scalar = go(e);
  if (!ok) return null;
  const r = new Map(ranges);
  r.set(t, { min: int(0), extent: int(lanes) });
  return { e: scalar, ranges: r };
}

const isFloatType = (t: DType): boolean => t === "f16" || t === "f32" || t === "f64";
const numConst = (dtype: DType, v: number): Expr | null =>
  Number.isFinite(v) ? { kind: "const", value: v, dtype } : null;

/** A symbolic endpoint, tightened by the numeric bound when it is a constant anyway. */
function endpoint(
  an: Analyzer, dtype: DType, s: Sum | null, num: number, pick: (a: number, b: number) => number,
): Expr | null {
  if (s === null) return numConst(dtype, num);
  if (isConstSum(s)) return sumToExpr(constSum(s.dtype, Number.isFinite(num) ? pick(s.constant, num) : s.constant));
  return sumToExpr(canon(an, sumToExpr(s))); // re-canonicalised: recombines div/mod pairs
}

/**
 * Relaxes every ranged var of `s` into its bounds, in the analyzer's stage order (a var
 * before the vars its own range mentions), giving sums over unranged vars only.
 */
export function relaxSum(an: Analyzer, s: Sum): SymInterval {
  an.depth++;
  try {
    let lo: Sum | null = s, hi: Sum | null = s;
    for (const set of an.stages) {
      if (lo) lo = sumInterval(an, lo, set).lo;
      if (hi) hi = sumInterval(an, hi, set).hi;
      if (!lo && !hi) break;
    }
    return { lo, hi };
  } finally {
    an.depth--;
  }
}

const touches = (an: Analyzer, a: Expr, relax: ReadonlySet<Var>): boolean => {
  for (const v of an.atomVars(a, exprKey(a))) if (relax.has(v)) return true;
  return false;
};

/** Bounds of a sum when the vars in `relax` sweep their ranges (others fixed). */
export function sumInterval(an: Analyzer, s: Sum, relax: ReadonlySet<Var>): SymInterval {
  if (!s.terms.some((t) => t.atoms.some((a) => touches(an, a, relax)))) return { lo: s, hi: s };
  let lo: SumBuilder | null = new SumBuilder(s.dtype).addConst(s.constant);
  let hi: SumBuilder | null = new SumBuilder(s.dtype).addConst(s.constant);
  for (const t of s.terms) {
    const ti = termInterval(an, t, s.dtype, relax);
    lo = lo && ti.lo ? lo.addSum(ti.lo) : null;
    hi = hi && ti.hi ? hi.addSum(ti.hi) : null;
    if (!lo && !hi) break;
  }
  return { lo: lo && lo.build(), hi: hi && hi.build() };
}

function scaleInterval(i: SymInterval, k: number): SymInterval {
  const sc = (x: Sum | null) => x && new SumBuilder(x.dtype).addSum(x, k).build();
  return k >= 0 ? { lo: sc(i.lo), hi: sc(i.hi) } : { lo: sc(i.hi), hi: sc(i.lo) };
}

const numeric = (dtype: DType, b: Bound): SymInterval => ({
  lo: Number.isFinite(b.lo) ? constSum(dtype, b.lo) : null,
  hi: Number.isFinite(b.hi) ? constSum(dtype, b.hi) : null,
});

function termInterval(an: Analyzer, t: Term, dtype: DType, relax: ReadonlySet<Var>): SymInterval {
  const ranged: Expr[] = [], fixed: Expr[] = [];
  for (const a of t.atoms) (touches(an, a, relax) ? ranged : fixed).push(a);
  const whole = termSum(dtype, t);
  if (ranged.length === 0) return { lo: whole, hi: whole };
  if (ranged.length === 1) {
    const ai = atomInterval(an, ranged[0]!, relax);
    if (fixed.length === 0) return scaleInterval(ai, t.coef);
    // p·a is linear in a, so its extremes are at a's endpoints whatever p's sign.
    const p = termSum(dtype, makeTerm(fixed, t.coef));
    const pb = boundSum(an, p);
    const mul = (x: Sum | null) => x && mulOrAtom(p, x);
    if (pb.lo >= 0) return { lo: mul(ai.lo), hi: mul(ai.hi) };
    if (pb.hi <= 0) return { lo: mul(ai.hi), hi: mul(ai.lo) };
    if (ai.lo && ai.hi) {
      const x = mulOrAtom(p, ai.lo), y = mulOrAtom(p, ai.hi);
      return { lo: minMax(an, "min", [x, y]), hi: minMax(an, "max", [x, y]) };
    }
  }
  return numeric(dtype, boundSum(an, whole));
}

function atomInterval(an: Analyzer, a: Expr, relax: ReadonlySet<Var>): SymInterval {
  // Memoised per relaxed set: an expression DAG must not be relaxed once per path.
  let memo = an.intervalMemo.get(relax);
  if (!memo) { memo = new Map(); an.intervalMemo.set(relax, memo); }
  const key = exprKey(a);
  const hit = memo.get(key);
  if (hit) return hit;
  let r = symbolicAtomInterval(an, a, relax);
  if (r === null || r.lo === null || r.hi === null) {
    const n = numeric(a.dtype, boundExpr(an, a));
    r = { lo: r?.lo ?? n.lo, hi: r?.hi ?? n.hi };
  }
  memo.set(key, r);
  return r;
}

function symbolicAtomInterval(an: Analyzer, a: Expr, relax: ReadonlySet<Var>): SymInterval | null {
  const sub = (x: Expr) => sumInterval(an, canon(an, x), relax);
  if (a.kind === "var") {
    const r = an.ranges.get(a);
    if (!r || r.min.dtype !== a.dtype || r.extent.dtype !== a.dtype) return null;
    const lo = canon(an, r.min);
    return { lo, hi: addConst(addSums(lo, canon(an, r.extent)), -1) };
  }
  if (a.kind === "select") {
    const t = sub(a.t), f = sub(a.f);
    return {
      lo: t.lo && f.lo ? minMax(an, "min", [t.lo, f.lo]) : null,
      hi: t.hi && f.hi ? minMax(an, "max", [t.hi, f.hi]) : null,
    };
  }
  if (a.kind !== "bin" || !isIndexType(a.dtype) || a.a.dtype !== a.dtype || a.b.dtype !== a.dtype) return null;
  switch (a.op) {
    case "min": case "max": {
      const x = sub(a.a), y = sub(a.b);
      const both = (p: Sum | null, q: Sum | null) => (p && q ? minMax(an, a.op as "min" | "max", [p, q]) : null);
      // min(x, y) ≤ min(x.hi, y.hi): an unbounded side drops out; dually for max's lower bound.
      return a.op === "min"
        ? { lo: both(x.lo, y.lo), hi: x.hi && y.hi ? both(x.hi, y.hi) : x.hi ?? y.hi }
        : { lo: x.lo && y.lo ? both(x.lo, y.lo) : x.lo ?? y.lo, hi: both(x.hi, y.hi) };
    }
    case "floordiv": case "div": {
      if (a.b.kind === "const") {
        const c = a.b.value;
        if (c === 0) return null;
        const x = sub(a.a);
        const d = (s: Sum | null) => s && divConst(an, s, c);
        return c > 0 ? { lo: d(x.lo), hi: d(x.hi) } : { lo: d(x.hi), hi: d(x.lo) };
      }
      const dv = canon(an, a.b);
      if (tightBound(an, dv).lo < 1) return null;
      const x = sub(a.a), dd = sumInterval(an, dv, relax);
      if (!x.lo || !x.hi || !dd.lo || !dd.hi) return null;
      // ⌊x/d⌋ rises with x; for fixed x it is monotone in d, so the extremes sit at d's ends.
      const q = (p: Sum, s: Sum) => divide(an, p, s, "floordiv");
      return {
        lo: minMax(an, "min", [q(x.lo, dd.lo), q(x.lo, dd.hi)]),
        hi: minMax(an, "max", [q(x.hi, dd.lo), q(x.hi, dd.hi)]),
      };
    }
    case "floormod": {
      if (a.b.kind === "const") {
        const c = a.b.value;
        if (c <= 0) return null;
        const x = sub(a.a);
        // Both ends in the same period: the remainder moves with x.
        if (x.lo && x.hi && sumEqual(divConst(an, x.lo, c), divConst(an, x.hi, c))) {
          return { lo: modConst(an, x.lo, c), hi: modConst(an, x.hi, c) };
        }
        return null;
      }
      const dv = canon(an, a.b);
      if (tightBound(an, dv).lo < 1) return null;
      const dd = sumInterval(an, dv, relax);
      let hi = dd.hi && addConst(dd.hi, -1);
      const xs = canon(an, a.a);
      if (tightBound(an, xs).lo >= 0) {
        const x = sumInterval(an, xs, relax);
        if (x.hi) hi = hi ? minMax(an, "min", [hi, x.hi]) : x.hi;
      }
      return { lo: constSum(a.dtype, 0), hi };
    }
    default: return null;
  }
}
