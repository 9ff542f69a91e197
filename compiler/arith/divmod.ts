/**
 * Canonical rules for floordiv/floormod (and truncdiv/truncmod) of sums: pull out
 * multiples of the divisor, decide the remainder from bounds, split by common factors,
 * merge nested divisions, and recombine ⌊x/d⌋·d + x mod d into x.
 */
import type { Expr } from "../te/expr.ts";
import type { Analyzer } from "./analyzer.ts";
import { canon, mulOrAtom } from "./canonical.ts";
import { floorDiv, floorMod, foldBin } from "./const-fold.ts";
import { exprKey } from "./key.ts";
import type { Sum, Term } from "./linear.ts";
import {
  SumBuilder, addConst, addSums, asAtom, atomSum, constSum, gcd, imul, isConstSum, isZeroSum, makeTerm, mkBin,
  negSum, scaleSum, subSums, sumKey, sumToExpr,
} from "./linear.ts";
import { tightBound } from "./prove.ts";

// ---- proofs used by the rules ----

const proveNonNeg = (an: Analyzer, a: Sum): boolean => tightBound(an, a).lo >= 0;
const finite = (x: number): boolean => Number.isFinite(x);

// ---- division ----

export function divide(an: Analyzer, p: Sum, d: Sum, op: "floordiv" | "floormod"): Sum {
  if (isConstSum(d)) {
    const c = d.constant;
    if (c === 0) return atomSum(mkBin(op, sumToExpr(p), sumToExpr(d))); // undefined: leave it
    if (isConstSum(p)) return constSum(p.dtype, foldBin(op, p.constant, c, p.dtype)!);
    return op === "floordiv" ? divConst(an, p, c) : modConst(an, p, c);
  }
  return divSym(an, p, d, op);
}

/** ⌊p / c⌋ for a nonzero constant c. */
export function divConst(an: Analyzer, p: Sum, c: number): Sum {
  if (c < 0) return divConst(an, negSum(p), -c); // ⌊p/c⌋ = ⌊-p/-c⌋
  if (c === 1) return p;
  if (isConstSum(p)) return constSum(p.dtype, floorDiv(p.constant, c));
  // p = c·q + r: ⌊p/c⌋ = q + ⌊r/c⌋
  const q = new SumBuilder(p.dtype), r = new SumBuilder(p.dtype);
  for (const t of p.terms) {
    if (t.coef % c === 0) q.addTerm({ ...t, coef: t.coef / c });
    else r.addTerm(t);
  }
  q.addConst(floorDiv(p.constant, c));
  r.addConst(floorMod(p.constant, c));
  return addSums(q.build(), divRest(an, r.build(), c));
}

function divRest(an: Analyzer, r: Sum, c: number): Sum {
  const t = r.dtype;
  if (isConstSum(r)) return constSum(t, floorDiv(r.constant, c));
  const b = tightBound(an, r);
  if (finite(b.lo) && finite(b.hi) && floorDiv(b.lo, c) === floorDiv(b.hi, c)) return constSum(t, floorDiv(b.lo, c));
  const split = factorSplit(an, r, c);
  if (split) return divConst(an, split.high, c / split.g); // ⌊(g·h + l)/c⌋ = ⌊h/(c/g)⌋ when 0 ≤ l < g
  const n = nestedDivMod(r, "floordiv");
  // ⌊(⌊x/c1⌋ + k)/c⌋ = ⌊(x + k·c1)/(c1·c)⌋
  if (n) return divConst(an, addConst(canon(an, n.x), imul(t, n.k, n.c1)), imul(t, n.c1, c));
  return atomSum(mkBin("floordiv", sumToExpr(r), { kind: "const", value: c, dtype: t }));
}

/** floormod(p, c) for a nonzero constant c. */
export function modConst(an: Analyzer, p: Sum, c: number): Sum {
  if (c < 0) return negSum(modConst(an, negSum(p), -c)); // floormod(p, c) = -floormod(-p, -c)
  const t = p.dtype;
  if (c === 1) return constSum(t, 0);
  const rb = new SumBuilder(t);
  for (const term of p.terms) if (term.coef % c !== 0) rb.addTerm(term);
  rb.addConst(floorMod(p.constant, c));
  const r0 = rb.build();
  if (isConstSum(r0)) return r0;
  const within = withinPeriod(an, r0, c);
  if (within) return within;
  // Coefficients only matter modulo c: take the residue nearest zero (3x % 2 → x % 2, 7y % 8 → −y % 8).
  const r = reduceCoefs(r0, c);
  if (r !== r0) {
    if (isConstSum(r)) return r;
    const w = withinPeriod(an, r, c);
    if (w) return w;
  }
  const split = factorSplit(an, r, c);
  // floormod(g·h + l, c) = g·floormod(h, c/g) + l when 0 ≤ l < g
  if (split) return addSums(scaleSum(modConst(an, split.high, c / split.g), split.g), split.low);
  const n = nestedDivMod(r, "floormod");
  // floormod(floormod(x, c1) + k, c) = floormod(x + k, c) when c divides c1
  if (n && n.c1 % c === 0) return modConst(an, addConst(canon(an, n.x), n.k), c);
  return atomSum(mkBin("floormod", sumToExpr(r), { kind: "const", value: c, dtype: t }));
}

/** r − c·k when r provably lies in one period [c·k, c·k + c). */
function withinPeriod(an: Analyzer, r: Sum, c: number): Sum | null {
  const b = tightBound(an, r);
  if (!finite(b.lo) || !finite(b.hi) || floorDiv(b.lo, c) !== floorDiv(b.hi, c)) return null;
  return addConst(r, imul(r.dtype, -c, floorDiv(b.lo, c)));
}

function reduceCoefs(r: Sum, c: number): Sum {
  const near = (k: number): number => { const m = floorMod(k, c); return 2 * m > c ? m - c : m; };
  if (r.terms.every((t) => near(t.coef) === t.coef)) return r;
  const b = new SumBuilder(r.dtype);
  for (const t of r.terms) b.addTerm({ ...t, coef: near(t.coef) });
  return b.addConst(r.constant).build();
}

/**
 * Writes r = g·high + low with g a proper factor of c and 0 ≤ low < g provable, trying the
 * largest g first. The constant is shared out so that low's lower bound lands in [0, g).
 */
function factorSplit(an: Analyzer, r: Sum, c: number): { g: number; high: Sum; low: Sum } | null {
  const cands = new Set<number>();
  let all = c;
  for (const t of r.terms) {
    const g = gcd(t.coef, c);
    all = gcd(all, t.coef);
    if (g > 1 && g < c) cands.add(g);
  }
  if (all > 1 && all < c) cands.add(all);
  for (const g of [...cands].sort((x, y) => y - x)) {
    const hi = new SumBuilder(r.dtype), lo = new SumBuilder(r.dtype);
    for (const t of r.terms) {
      if (t.coef % g === 0) hi.addTerm({ ...t, coef: t.coef / g });
      else lo.addTerm(t);
    }
    const low = lo.build();
    const b = isConstSum(low) ? { lo: 0, hi: 0 } : tightBound(an, low);
    if (!finite(b.lo) || !finite(b.hi)) continue;
    const s = floorMod(b.lo + r.constant, g) - b.lo;
    if (b.hi + s > g - 1) continue;
    return { g, high: addConst(hi.build(), (r.constant - s) / g), low: addConst(low, s) };
  }
  return null;
}

/** r = 1·op(x, c1) + k for a positive constant c1. */
function nestedDivMod(r: Sum, op: "floordiv" | "floormod"): { x: Expr; c1: number; k: number } | null {
  if (r.terms.length !== 1 || r.terms[0]!.coef !== 1 || r.terms[0]!.atoms.length !== 1) return null;
  const a = r.terms[0]!.atoms[0]!;
  if (a.kind !== "bin" || a.op !== op || a.b.kind !== "const" || a.b.value <= 0) return null;
  return { x: a.a, c1: a.b.value, k: r.constant };
}

/** Division by a non-constant: pull out multiples of the divisor, then try 0 ≤ r < d. */
function divSym(an: Analyzer, p: Sum, d: Sum, op: "floordiv" | "floormod"): Sum {
  const t = p.dtype;
  let q = constSum(t, 0), r = p;
  if (d.terms.length === 1 && d.constant === 0) {
    const dt = d.terms[0]!;
    const qb = new SumBuilder(t), rb = new SumBuilder(t);
    for (const term of p.terms) {
      const rest = removeAtoms(term.atoms, dt.atoms);
      if (rest !== null && term.coef % dt.coef === 0) {
        // ⌊(q·d + r)/d⌋ = q + ⌊r/d⌋ for any d ≠ 0
        if (rest.length === 0) qb.addConst(term.coef / dt.coef);
        else qb.addTerm(makeTerm(rest, term.coef / dt.coef));
      } else {
        rb.addTerm(term);
      }
    }
    rb.addConst(p.constant);
    q = qb.build(); r = rb.build();
  }
  const zero = constSum(t, 0);
  if (isZeroSum(r)) return op === "floordiv" ? q : zero;
  const rd = subSums(r, d);
  const inFirstPeriod =
    (proveNonNeg(an, r) && tightBound(an, rd).hi <= -1) || (tightBound(an, r).hi <= 0 && tightBound(an, rd).lo >= 1);
  if (inFirstPeriod) return op === "floordiv" ? q : r;
  const atom = atomSum(mkBin(op, sumToExpr(r), sumToExpr(d)));
  return op === "floordiv" ? addSums(q, atom) : atom;
}

/** The atoms of `atoms` left after removing one occurrence of each of `sub`, or null if some is missing. */
function removeAtoms(atoms: readonly Expr[], sub: readonly Expr[]): Expr[] | null {
  const rest = [...atoms];
  for (const s of sub) {
    const k = exprKey(s);
    const i = rest.findIndex((a) => exprKey(a) === k);
    if (i < 0) return null;
    rest.splice(i, 1);
  }
  return rest;
}

/** Atoms that are a floordiv/floormod, by key. */
function divAtomKeys(s: Sum): Set<string> {
  const out = new Set<string>();
  for (const t of s.terms) {
    for (const a of t.atoms) if (a.kind === "bin" && (a.op === "floordiv" || a.op === "floormod")) out.add(exprKey(a));
  }
  return out;
}

/**
 * truncdiv/truncmod (C's operators) stay as they are unless they fold away: a later loop-IR
 * pass chose them over floordiv on purpose, so never turn them back into floor atoms.
 */
export function truncDivide(an: Analyzer, a: Sum, b: Sum, op: "truncdiv" | "truncmod"): Sum {
  const t = a.dtype;
  if (isConstSum(b) && b.constant !== 0) {
    const c = b.constant;
    if (isConstSum(a)) return constSum(t, foldBin(op, a.constant, c, t)!);
    if (c === 1 || c === -1) return op === "truncmod" ? constSum(t, 0) : scaleSum(a, c);
    const ba = tightBound(an, a);
    const m = Math.abs(c);
    if (ba.lo > -m && ba.hi < m) return op === "truncdiv" ? constSum(t, 0) : a;
    if (c > 0 && ba.lo >= 0) {
      // Nonnegative dividend: equal to the floor form; accept it only when no new division atom appears.
      const r = op === "truncdiv" ? divConst(an, a, c) : modConst(an, a, c);
      const before = divAtomKeys(a);
      if ([...divAtomKeys(r)].every((k) => before.has(k))) return r;
    }
  }
  return atomSum(mkBin(op, sumToExpr(a), sumToExpr(b)));
}

// ---- recombining floordiv/floormod pairs ----

const isDivAtom = (a: Expr): boolean => a.kind === "bin" && (a.op === "floordiv" || a.op === "floormod");

/**
 * k·floormod(x, d) + k·d·floordiv(x, d) → k·x, and k·x − k·c·floordiv(x, c) → k·floormod(x, c)
 * (TVM's rules for undoing a fuse followed by a split, and for spelled-out remainders).
 */
export function normalizeDivMod(an: Analyzer, s: Sum): Sum {
  if (!s.terms.some((t) => t.atoms.some(isDivAtom))) return s;
  let cur = s;
  // Each rewrite removes a division atom from the sum; the bound only guards against surprises.
  for (let round = 0; round < 64; round++) {
    const next = recombine(an, cur) ?? spellMod(an, cur);
    if (next === null) return cur;
    cur = next;
  }
  return cur;
}

function recombine(an: Analyzer, s: Sum): Sum | null {
  const t0 = s.dtype;
  for (const t of s.terms) {
    for (let i = 0; i < t.atoms.length; i++) {
      const fm = t.atoms[i]!;
      if (fm.kind !== "bin" || fm.op !== "floormod") continue;
      // t = k·floormod(y, d)·M; look for k·d·⌊y/d⌋·M among the other terms.
      const rest = t.atoms.filter((_, j) => j !== i);
      const m = rest.length > 0 ? termSumOf(t0, rest) : constSum(t0, 1);
      const y = canon(an, fm.a), d = canon(an, fm.b);
      if (isZeroSum(d)) continue;
      const k = t.coef;
      const ky = scaleSum(mulOrAtom(y, m), k);
      const partner = mulOrAtom(mulOrAtom(divide(an, y, d, "floordiv"), d), m);
      const scaled = scaleSum(partner, k);
      if (scaled.terms.length > 0 && scaled.terms.every((u) => s.terms.some((v) => v.key === u.key && v.coef === u.coef))) {
        return new SumBuilder(t0).addSum(s).addTerm(t, -1).addSum(scaled, -1).addSum(ky).build();
      }
      // Constant divisor: the floormod's dividend may have been reduced modulo c, so also
      // match a floordiv whose dividend is only congruent to it.
      if (!isConstSum(d) || d.constant <= 0) continue;
      const c = d.constant;
      const want = modKey(an, y, c);
      const restKey = rest.length > 0 ? makeTerm(rest, 1).key : "";
      for (const u of s.terms) {
        if (u.coef !== imul(t0, k, c)) continue;
        for (let j = 0; j < u.atoms.length; j++) {
          const fd = u.atoms[j]!;
          if (fd.kind !== "bin" || fd.op !== "floordiv" || fd.b.kind !== "const" || fd.b.value !== c) continue;
          const others = u.atoms.filter((_, q) => q !== j);
          if ((others.length > 0 ? makeTerm(others, 1).key : "") !== restKey) continue;
          const x = canon(an, fd.a);
          if (modKey(an, x, c) !== want) continue;
          return new SumBuilder(t0).addSum(s).addTerm(t, -1).addTerm(u, -1).addSum(scaleSum(mulOrAtom(x, m), k)).build();
        }
      }
    }
  }
  return null;
}

const termSumOf = (dtype: Sum["dtype"], atoms: readonly Expr[]): Sum => ({ dtype, terms: [makeTerm(atoms, 1)], constant: 0 });

/** Identifies a sum modulo c: multiples of c dropped, other coefficients reduced. */
function modKey(an: Analyzer, x: Sum, c: number): string {
  const a = asAtom(x);
  // floormod(y, c1) ≡ y (mod c) when c divides c1
  if (a && a.kind === "bin" && a.op === "floormod" && a.b.kind === "const" && a.b.value > 0 && a.b.value % c === 0) {
    return modKey(an, canon(an, a.a), c);
  }
  const b = new SumBuilder(x.dtype);
  for (const t of x.terms) if (t.coef % c !== 0) b.addTerm(t);
  b.addConst(floorMod(x.constant, c));
  return sumKey(reduceCoefs(b.build(), c));
}

function spellMod(an: Analyzer, s: Sum): Sum | null {
  for (const t of s.terms) {
    const fd = t.atoms.length === 1 ? t.atoms[0]! : null;
    if (fd === null || fd.kind !== "bin" || fd.op !== "floordiv" || fd.b.kind !== "const" || fd.b.value <= 0) continue;
    const c = fd.b.value;
    if (t.coef % c !== 0) continue;
    const k = -t.coef / c;
    const x = canon(an, fd.a);
    if (x.terms.length === 0) continue;
    const has = (u: Term): boolean => s.terms.some((v) => v.key === u.key && v.coef === imul(s.dtype, k, u.coef));
    if (!x.terms.every(has)) continue;
    return new SumBuilder(s.dtype).addSum(s).addSum(x, -k).addTerm(t, -1).addSum(modConst(an, x, c), k).build();
  }
  return null;
}
