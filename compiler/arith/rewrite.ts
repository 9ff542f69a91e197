/**
 * The simplifier's dispatcher and its rewrite rules for everything that is not an index
 * sum: comparisons (decided by bounds, else normalised), boolean logic, select, casts,
 * intrinsic calls and non-index arithmetic (floats: only constant operands and the
 * identities x+0, x−0, x*1, x/1 — never reassociated).
 */
import { isFloat } from "../../core/dtype.ts";
import type { CmpOp, Expr } from "../te/expr.ts";
import { bool, lanesOf, mapChildren } from "../te/expr.ts";
import type { Analyzer } from "./analyzer.ts";
import { canon } from "./canonical.ts";
import { floorDiv, foldBin, foldCall, foldCast, foldCmp } from "./const-fold.ts";
import { exprEqual } from "./key.ts";
import type { Sum } from "./linear.ts";
import {
  SumBuilder, addConst, coefGcd, constSum, dropConst, isIndexType, negSum, subSums, sumKey, sumToExpr,
} from "./linear.ts";
import { tightBound } from "./prove.ts";

export function simplifyExpr(an: Analyzer, e: Expr): Expr {
  const hit = an.simpMemo.get(an, e);
  if (hit) return hit;
  const r = compute(an, e);
  an.simpMemo.set(an, e, r);
  return r;
}

function compute(an: Analyzer, e: Expr): Expr {
  // Vectors keep their structure; only their scalar parts (ramp base/stride, broadcast value) are simplified.
  if (lanesOf(e) > 1) return mapChildren(e, (c) => simplifyExpr(an, c));
  if (isIndexType(e.dtype)) {
    const out = sumToExpr(canon(an, e));
    return exprEqual(out, e) ? e : out;
  }
  switch (e.kind) {
    case "const": case "var": return e;
    case "bin": return simplifyBin(an, e);
    case "cmp": return simplifyCmp(an, e.op, e.a, e.b, e);
    case "and": case "or": return simplifyLogic(an, e);
    case "not": return simplifyNot(an, e);
    case "select": return simplifySelect(an, e);
    default: return simplifyAtomNode(an, e);
  }
}

const isC = (x: Expr, v: number): boolean => x.kind === "const" && x.value === v;

/** Children simplified, then node-local folding (casts and calls of constants). */
export function simplifyAtomNode(an: Analyzer, e: Expr): Expr {
  const m = mapChildren(e, (c) => simplifyExpr(an, c));
  if (m.kind === "cast") {
    if (m.value.dtype === m.dtype && lanesOf(m.value) === lanesOf(m)) return m.value;
    if (m.value.kind === "const" && lanesOf(m) === 1) return { kind: "const", value: foldCast(m.dtype, m.value.value), dtype: m.dtype };
  }
  if (m.kind === "call" && lanesOf(m) === 1 && m.args.every((a) => a.kind === "const")) {
    const v = foldCall(m.fn, m.args.map((a) => (a.kind === "const" ? a.value : 0)), m.dtype);
    if (v !== null) return { kind: "const", value: v, dtype: m.dtype };
  }
  return m;
}

/** Arithmetic on floats and narrow ints (i8/u8 wrap, so no reassociation there either). */
function simplifyBin(an: Analyzer, e: Extract<Expr, { kind: "bin" }>): Expr {
  const a = simplifyExpr(an, e.a), b = simplifyExpr(an, e.b);
  if (a.kind === "const" && b.kind === "const") {
    const v = foldBin(e.op, a.value, b.value, e.dtype);
    if (v !== null) return { kind: "const", value: v, dtype: e.dtype };
  }
  const same = (x: Expr) => x.dtype === e.dtype;
  const fl = isFloat(e.dtype);
  switch (e.op) {
    case "add":
      if (isC(b, 0) && same(a)) return a; // ignores the sign of zero (−0 + 0)
      if (isC(a, 0) && same(b)) return b;
      break;
    case "sub": if (isC(b, 0) && same(a)) return a; break;
    case "mul":
      if (isC(b, 1) && same(a)) return a;
      if (isC(a, 1) && same(b)) return b;
      if (!fl && (isC(a, 0) || isC(b, 0))) return { kind: "const", value: 0, dtype: e.dtype };
      break;
    case "div": if (isC(b, 1) && same(a)) return a; break;
    case "floordiv": case "truncdiv": if (!fl && isC(b, 1) && same(a)) return a; break;
    case "floormod": case "truncmod": if (!fl && isC(b, 1)) return { kind: "const", value: 0, dtype: e.dtype }; break;
    case "min": case "max": if (exprEqual(a, b)) return a; break;
  }
  return a === e.a && b === e.b ? e : { ...e, a, b };
}

// ---- comparisons ----

const INVERT: Record<CmpOp, CmpOp> = { eq: "ne", ne: "eq", lt: "ge", ge: "lt", le: "gt", gt: "le" };
const cmpNode = (op: CmpOp, a: Expr, b: Expr): Expr => ({ kind: "cmp", op, a, b, dtype: "bool" });
const isIndexOperand = (a: Expr, b: Expr): boolean =>
  a.dtype === b.dtype && isIndexType(a.dtype) && lanesOf(a) === 1 && lanesOf(b) === 1;

function simplifyCmp(an: Analyzer, op: CmpOp, a0: Expr, b0: Expr, orig?: Expr): Expr {
  if (isIndexOperand(a0, b0)) return cmpIndex(an, op, a0, b0);
  const a = simplifyExpr(an, a0), b = simplifyExpr(an, b0);
  if (a.kind === "const" && b.kind === "const") return bool(foldCmp(op, a.value, b.value));
  if (!isFloat(a.dtype) && exprEqual(a, b)) return bool(op === "eq" || op === "le" || op === "ge"); // NaN ≠ NaN for floats
  if (orig && orig.kind === "cmp" && orig.op === op && a === orig.a && b === orig.b) return orig;
  return cmpNode(op, a, b);
}

/** Splits a sum without constant into (positive terms, negated negative terms). */
function splitSigns(v: Sum): [Sum, Sum] {
  const p = new SumBuilder(v.dtype), n = new SumBuilder(v.dtype);
  for (const t of v.terms) (t.coef > 0 ? p.addTerm(t) : n.addTerm(t, -1));
  return [p.build(), n.build()];
}
function divideCoefs(v: Sum, g: number): Sum {
  if (g <= 1) return v;
  const b = new SumBuilder(v.dtype);
  for (const t of v.terms) b.addTerm({ ...t, coef: t.coef / g });
  return b.build();
}

/**
 * Integer comparison: decided from the bounds of a − b when possible; otherwise normalised
 * to `P op N + c` with P, N sums of positive terms and the coefficients' gcd divided out.
 */
function cmpIndex(an: Analyzer, op: CmpOp, a: Expr, b: Expr): Expr {
  const A = canon(an, a), B = canon(an, b);
  if (op === "eq" || op === "ne") {
    const holds = op === "eq";
    const d = subSums(A, B);
    const bd = tightBound(an, d);
    if (bd.lo === 0 && bd.hi === 0) return bool(holds);
    if (bd.lo > 0 || bd.hi < 0) return bool(!holds);
    let v = dropConst(d), c = -d.constant; // v == c
    const g = coefGcd(v);
    if (c % g !== 0) return bool(!holds);
    v = divideCoefs(v, g); c /= g;
    if (v.terms[0]!.coef < 0) { v = negSum(v); c = -c; }
    const [p, n] = splitSigns(v);
    return cmpNode(op, sumToExpr(p), sumToExpr(addConst(n, c)));
  }
  const strict = op === "lt" || op === "gt";
  const d = op === "lt" || op === "le" ? subSums(A, B) : subSums(B, A);
  const l = strict ? addConst(d, 1) : d; // the comparison is l ≤ 0
  const bl = tightBound(an, l);
  if (bl.hi <= 0) return bool(true);
  if (bl.lo > 0) return bool(false);
  let v = dropConst(l), c = -l.constant; // v ≤ c
  const g = coefGcd(v);
  if (g > 1) { v = divideCoefs(v, g); c = floorDiv(c, g); }
  const [p, n] = splitSigns(v);
  if (p.terms.length === 0) {
    // 0 ≤ n + c, i.e. n ≥ −c, written with the constant on the right
    const k = constSum(n.dtype, strict ? -c - 1 : -c);
    return cmpNode(strict ? "gt" : "ge", sumToExpr(n), sumToExpr(k));
  }
  return strict ? cmpNode("lt", sumToExpr(p), sumToExpr(addConst(n, c + 1))) : cmpNode("le", sumToExpr(p), sumToExpr(addConst(n, c)));
}

/** For a simplified integer ordering comparison: (v, c) with the comparison ⟺ v ≤ c. */
function leForm(an: Analyzer, e: Expr): { v: Sum; c: number } | null {
  if (e.kind !== "cmp" || e.op === "eq" || e.op === "ne" || !isIndexOperand(e.a, e.b)) return null;
  const A = canon(an, e.a), B = canon(an, e.b);
  const d = e.op === "lt" || e.op === "le" ? subSums(A, B) : subSums(B, A);
  const l = e.op === "lt" || e.op === "gt" ? addConst(d, 1) : d;
  return { v: dropConst(l), c: -l.constant };
}

// ---- boolean logic ----

function simplifyNot(an: Analyzer, e: Extract<Expr, { kind: "not" }>): Expr {
  const inner = e.a;
  // !(a < b) → a >= b: exact for integers (floats have NaN).
  if (inner.kind === "cmp" && !isFloat(inner.a.dtype) && lanesOf(inner) === 1) {
    return simplifyCmp(an, INVERT[inner.op], inner.a, inner.b);
  }
  const x = simplifyExpr(an, inner);
  if (x.kind === "const") return bool(x.value === 0);
  if (x.kind === "not") return x.a;
  if (x.kind === "cmp" && !isFloat(x.a.dtype)) return simplifyCmp(an, INVERT[x.op], x.a, x.b);
  if (x.kind === "and" || x.kind === "or") {
    // De Morgan, so the negation lands on comparisons that can absorb it.
    const na = simplifyNot(an, { kind: "not", a: x.a, dtype: "bool" });
    const nb = simplifyNot(an, { kind: "not", a: x.b, dtype: "bool" });
    return simplifyLogic(an, { kind: x.kind === "and" ? "or" : "and", a: na, b: nb, dtype: "bool" });
  }
  return x === inner ? e : { ...e, a: x };
}

function simplifyLogic(an: Analyzer, e: Extract<Expr, { kind: "and" | "or" }>): Expr {
  const isAnd = e.kind === "and";
  const a = simplifyExpr(an, e.a), b = simplifyExpr(an, e.b);
  if (a.kind === "const") return isAnd ? (a.value !== 0 ? b : bool(false)) : (a.value !== 0 ? bool(true) : b);
  if (b.kind === "const") return isAnd ? (b.value !== 0 ? a : bool(false)) : (b.value !== 0 ? bool(true) : a);
  if (exprEqual(a, b)) return a;
  const complementary =
    (a.kind === "not" && exprEqual(a.a, b)) || (b.kind === "not" && exprEqual(b.a, a)) ||
    (a.kind === "cmp" && !isFloat(a.a.dtype) && exprEqual(simplifyCmp(an, INVERT[a.op], a.a, a.b), b));
  if (complementary) return bool(!isAnd);
  const merged = mergeRanges(an, isAnd, a, b);
  if (merged) return merged;
  return a === e.a && b === e.b ? e : { ...e, a, b };
}

/** and/or of two bounds on the same integer sum: keep the tighter/looser, or decide. */
function mergeRanges(an: Analyzer, isAnd: boolean, a: Expr, b: Expr): Expr | null {
  const fa = leForm(an, a), fb = leForm(an, b);
  if (!fa || !fb) return null;
  const ka = sumKey(fa.v), kb = sumKey(fb.v);
  if (ka === kb) return (fa.c <= fb.c) === isAnd ? a : b;
  if (ka === sumKey(negSum(fb.v))) {
    // a: v ≤ ca, b: v ≥ −cb
    const lo = -fb.c, hi = fa.c;
    if (isAnd && lo > hi) return bool(false);
    if (!isAnd && lo <= hi + 1) return bool(true);
  }
  return null;
}

function simplifySelect(an: Analyzer, e: Extract<Expr, { kind: "select" }>): Expr {
  const c = simplifyExpr(an, e.cond);
  if (c.kind === "const") return simplifyExpr(an, c.value !== 0 ? e.t : e.f);
  const t = simplifyExpr(an, e.t), f = simplifyExpr(an, e.f);
  if (exprEqual(t, f)) return t;
  if (c.kind === "not") return { ...e, cond: c.a, t: f, f: t };
  if (e.dtype === "bool" && t.kind === "const" && f.kind === "const") {
    return t.value !== 0 ? c : simplifyNot(an, { kind: "not", a: c, dtype: "bool" });
  }
  return c === e.cond && t === e.t && f === e.f ? e : { ...e, cond: c, t, f };
}
