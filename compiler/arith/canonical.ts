/**
 * The canonicaliser: converts an i32/i64 expression to its canonical `Sum` (linear.ts),
 * folding constants, collecting like terms, expanding products, simplifying min/max
 * (dropping provably dominated operands, pulling out common terms) and select; division
 * rules live in divmod.ts.
 */
import { wrapTo } from "../../core/dtype.ts";
import type { BinOp, Expr } from "../te/expr.ts";
import { visitExpr } from "../te/expr.ts";
import type { Analyzer } from "./analyzer.ts";
import { varBound } from "./const-bound.ts";
import { divide, normalizeDivMod, truncDivide } from "./divmod.ts";
import { compareKeys } from "./key.ts";
import type { Sum } from "./linear.ts";
import {
  SumBuilder, addSums, asAtom, atomSum, constSum, isConstSum, isIndexType, mkBin, mulSums, subSums, sumKey,
  sumEqual, sumToExpr,
} from "./linear.ts";
import { tightBound } from "./prove.ts";
import { simplifyAtomNode, simplifyExpr } from "./rewrite.ts";

export function canon(an: Analyzer, e: Expr): Sum {
  const hit = an.canonMemo.get(an, e);
  if (hit) return hit;
  const s = computeCanon(an, e);
  an.canonMemo.set(an, e, s);
  return s;
}

function computeCanon(an: Analyzer, e: Expr): Sum {
  const t = e.dtype;
  switch (e.kind) {
    case "const": return constSum(t, wrapTo(t, e.value));
    case "var": return canonVar(an, e);
    case "bin": {
      if (e.a.dtype !== t || e.b.dtype !== t) break; // malformed mix of types: keep as an atom
      switch (e.op) {
        case "add": return normalizeDivMod(an, addSums(canon(an, e.a), canon(an, e.b)));
        case "sub": return normalizeDivMod(an, subSums(canon(an, e.a), canon(an, e.b)));
        case "mul": return normalizeDivMod(an, mulOrAtom(canon(an, e.a), canon(an, e.b)));
        case "div": case "floordiv": return divide(an, canon(an, e.a), canon(an, e.b), "floordiv");
        case "floormod": return divide(an, canon(an, e.a), canon(an, e.b), "floormod");
        case "truncdiv": case "truncmod": return truncDivide(an, canon(an, e.a), canon(an, e.b), e.op);
        case "min": case "max": {
          const leaves: Expr[] = [];
          collectMinMax(e, e.op, leaves);
          return minMax(an, e.op, leaves.map((x) => canon(an, x)));
        }
      }
      break;
    }
    case "select": return canonSelect(an, e);
    default: break;
  }
  const s = simplifyAtomNode(an, e);
  if (s.kind === "const") return constSum(t, wrapTo(t, s.value));
  if (s.kind !== e.kind && isIndexType(s.dtype) && s.dtype === t) return canon(an, s); // e.g. a no-op cast
  return atomSum(s);
}

function canonVar(an: Analyzer, v: Extract<Expr, { kind: "var" }>): Sum {
  const r = an.ranges.get(v);
  if (r && !an.visitingVars.has(v)) {
    const b = varBound(an, v);
    if (b.lo === b.hi && Number.isFinite(b.lo)) return constSum(v.dtype, b.lo);
    // A var with a one-point range is its range's min (loops of extent 1).
    if (r.min.dtype === v.dtype) {
      an.visitingVars.add(v);
      try {
        const ext = canon(an, r.extent);
        if (isConstSum(ext) && ext.constant === 1) return canon(an, r.min);
      } finally {
        an.visitingVars.delete(v);
      }
    }
  }
  return atomSum(v);
}

/** Operands of a chain of the same min/max, structurally (so re-canonicalising a result regroups nothing). */
function collectMinMax(e: Expr, op: BinOp, out: Expr[]): void {
  if (e.kind === "bin" && e.op === op && e.a.dtype === e.dtype && e.b.dtype === e.dtype) {
    collectMinMax(e.a, op, out);
    collectMinMax(e.b, op, out);
  } else {
    out.push(e);
  }
}

export function mulOrAtom(a: Sum, b: Sum): Sum {
  const r = mulSums(a, b);
  if (r) return r;
  // Too large to expand: an opaque product, operands in key order so a*b and b*a agree.
  const [x, y] = compareKeys(sumKey(a), sumKey(b)) <= 0 ? [a, b] : [b, a];
  return atomSum(mkBin("mul", sumToExpr(x), sumToExpr(y)));
}

// ---- proofs used by the rules ----

const proveLE = (an: Analyzer, a: Sum, b: Sum): boolean => tightBound(an, subSums(a, b)).hi <= 0;

// ---- min / max ----

function hasLoad(e: Expr): boolean {
  let found = false;
  visitExpr(e, (x) => { if (x.kind === "load" || x.kind === "access") found = true; });
  return found;
}

/** min or max of the operands: drops dominated ones, pulls out terms common to all. */
export function minMax(an: Analyzer, op: "min" | "max", operands: readonly Sum[]): Sum {
  const flat: Sum[] = [];
  const push = (s: Sum): void => {
    const a = asAtom(s);
    if (a && a.kind === "bin" && a.op === op && a.dtype === s.dtype) {
      const leaves: Expr[] = [];
      collectMinMax(a, op, leaves);
      for (const x of leaves) flat.push(canon(an, x));
    } else {
      flat.push(s);
    }
  };
  operands.forEach(push);
  // Sorted and deduplicated first, so which of two provably equal operands survives is deterministic.
  const uniq = [...new Map(flat.map((s) => [sumKey(s), s])).entries()]
    .sort((x, y) => compareKeys(x[0], y[0]))
    .map((x) => x[1]);
  const alive = uniq.map(() => true);
  for (let i = 0; i < uniq.length; i++) {
    for (let j = 0; j < uniq.length; j++) {
      if (i === j || !alive[j]) continue;
      const dominated = op === "min" ? proveLE(an, uniq[j]!, uniq[i]!) : proveLE(an, uniq[i]!, uniq[j]!);
      if (dominated) { alive[i] = false; break; }
    }
  }
  const live = uniq.filter((_, i) => alive[i]);
  if (live.length === 1) return live[0]!;
  const t = live[0]!.dtype;
  // Terms present with the same coefficient in every operand, and the smallest constant.
  const common = new SumBuilder(t);
  for (const term of live[0]!.terms) {
    if (live.every((s) => s.terms.some((u) => u.key === term.key && u.coef === term.coef))) common.addTerm(term);
  }
  // Pulling out the smallest constant adds to the other operands (min(acc, y - 5000) →
  // min(acc + 5000, y) - 5000). For index arithmetic over bounded loop variables that is
  // harmless; an operand that reads memory may hold an extreme value (a reduction's
  // identity) and overflow, so there a constant comes out only when no operand with
  // terms changes.
  const readsMemory = live.some((x) => x.terms.some((t) => t.atoms.some(hasLoad)));
  const withTerms = live.filter((x) => x.terms.length > 0).map((x) => x.constant);
  if (!readsMemory) common.addConst(Math.min(...live.map((x) => x.constant)));
  else if (withTerms.length > 0 && withTerms.every((k) => k === withTerms[0])) common.addConst(withTerms[0]!);
  const c = common.build();
  // Key order, constants last: min(x, 5) rather than min(5, x).
  const rest = live.map((s) => subSums(s, c)).sort(compareSums);
  // Pulling out the common part can expose nested operands of the same op: flatten again.
  const sameOp = (x: Sum) => { const a = asAtom(x); return a !== null && a.kind === "bin" && a.op === op; };
  if (rest.some(sameOp)) return addSums(c, minMax(an, op, rest));
  const atom = rest.map(sumToExpr).reduce((acc, x) => mkBin(op, acc, x));
  return addSums(c, atomSum(atom));
}

/** A total order on sums for listing operands: by their terms' keys, constants last. */
function compareSums(x: Sum, y: Sum): number {
  const n = Math.min(x.terms.length, y.terms.length);
  for (let i = 0; i < n; i++) {
    const a = x.terms[i]!, b = y.terms[i]!;
    const k = compareKeys(a.key, b.key) || a.coef - b.coef;
    if (k !== 0) return k;
  }
  if (x.terms.length !== y.terms.length) return x.terms.length === n ? (n === 0 ? 1 : -1) : (n === 0 ? -1 : 1);
  return x.constant - y.constant;
}

// ---- select ----

function canonSelect(an: Analyzer, e: Extract<Expr, { kind: "select" }>): Sum {
  const cond = simplifyExpr(an, e.cond);
  if (cond.kind === "const") return canon(an, cond.value !== 0 ? e.t : e.f);
  let a = canon(an, e.t), b = canon(an, e.f);
  if (sumEqual(a, b)) return a;
  let c: Expr = cond;
  if (c.kind === "not") { c = c.a; [a, b] = [b, a]; }
  return atomSum({ kind: "select", cond: c, t: sumToExpr(a), f: sumToExpr(b), dtype: e.dtype });
}

