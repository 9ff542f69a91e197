/**
 * Proving facts about integer expressions: `tightBound` (numeric bounds of a canonical sum,
 * sharpened by symbolic relaxation when ranges are symbolic) and `canProve`.
 */
import type { Expr, Var } from "../te/expr.ts";
import { Analyzer } from "./analyzer.ts";
import { canon } from "./canonical.ts";
import { modConst } from "./divmod.ts";
import type { Bound } from "./const-bound.ts";
import { bIntersect, boundSum, point } from "./const-bound.ts";
import type { VarRanges } from "./interval.ts";
import { exprKey } from "./key.ts";
import { relaxSum } from "./interval.ts";
import type { Sum } from "./linear.ts";
import { SumBuilder, isConstSum, sumKey } from "./linear.ts";
import { simplifyExpr } from "./rewrite.ts";

/** True only if `cond` (a bool Expr) holds for every assignment within `ranges`. Sound, not complete. */
export function canProve(cond: Expr, ranges?: VarRanges): boolean {
  const s = simplifyExpr(new Analyzer(ranges), cond);
  return s.kind === "const" && s.value !== 0;
}

/** Numeric bounds of a canonical sum, as tight as the analyses here can make them. */
export function tightBound(an: Analyzer, s: Sum): Bound {
  if (isConstSum(s)) return point(s.constant);
  const key = sumKey(s);
  const hit = an.tightMemo.get(an, key);
  if (hit) return hit;
  let b = boundSum(an, s);
  if (b.lo !== b.hi) {
    const v = divVariant(an, s);
    if (v) b = bIntersect(b, boundSum(an, v));
  }
  if (an.depth === 0 && mentions(an, s, an.symbolicVars)) {
    // Substituting symbolic ranges lets terms cancel: j − n with j ∈ [0, n) is at most −1.
    const r = relaxSum(an, s);
    b = bIntersect(b, { lo: r.lo ? boundSum(an, r.lo).lo : -Infinity, hi: r.hi ? boundSum(an, r.hi).hi : Infinity });
  }
  an.tightMemo.set(an, key, b);
  return b;
}

/**
 * The same value with each k·c·floordiv(x, c) written as k·x − k·floormod(x, c), so that
 * x cancels against other terms: bounds c·⌊x/c⌋ − x by [−(c−1), 0] instead of by ranges.
 */
function divVariant(an: Analyzer, s: Sum): Sum | null {
  let out: SumBuilder | null = null;
  for (const t of s.terms) {
    const a = t.atoms.length === 1 ? t.atoms[0]! : null;
    if (a === null || a.kind !== "bin" || a.op !== "floordiv" || a.b.kind !== "const" || a.b.value <= 0) continue;
    const c = a.b.value;
    if (t.coef % c !== 0) continue;
    const k = t.coef / c;
    const x = canon(an, a.a);
    out ??= new SumBuilder(s.dtype).addSum(s);
    out.addTerm(t, -1).addSum(x, k).addSum(modConst(an, x, c), -k);
  }
  return out && out.build();
}

/** Whether some atom of `s` mentions one of `vars`. */
export function mentions(an: Analyzer, s: Sum, vars: ReadonlySet<Var>): boolean {
  if (vars.size === 0) return false;
  for (const t of s.terms) {
    for (const a of t.atoms) {
      for (const v of an.atomVars(a, exprKey(a))) if (vars.has(v)) return true;
    }
  }
  return false;
}
