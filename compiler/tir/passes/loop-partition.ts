/**
 * Loop partitioning of split tails and padding: a loop whose body holds a guard
 * `lin(v, inner) < n` (v this loop's variable, inner the loops below it) runs in two parts:
 * the iterations where the guard holds for every inner iteration, without the guard, then
 * the rest with it. A serial or unrolled loop whose stores select on `lin(v, inner) ≥ n` or `< n` (a
 * padded copy's border test) is cut where each such test changes, so the interior runs
 * without the select: branch-free, and vectorizable below. Only constant bounds are
 * partitioned; anything else keeps its guard, which stays correct.
 */
import type { Expr, Var } from "../../te/expr.ts";
import { add, int, sub, substitute, usesVar, visitExpr } from "../../te/expr.ts";
import type { VarRanges } from "../../arith/index.ts";
import { constIntervalOf, simplify } from "../../arith/index.ts";
import type { Pass } from "../pass.ts";
import type { Stmt } from "../stmt.ts";
import { mapStmt, mapStmtExprs, seq, visitStmt } from "../stmt.ts";
import { simplifyStmt } from "./simplify.ts";

/**
 * A comparison `lhs op n` (n constant) with lhs = a·v + rest, a a positive constant and rest
 * ranging over [restMin, restMax] for the inner loops; null when it is not of that form.
 */
function linearTest(cond: Expr, v: Var, inner: VarRanges): { op: "lt" | "le" | "ge" | "gt"; n: number; a: number; restMin: number; restMax: number } | null {
  if (cond.kind !== "cmp" || !(cond.op === "lt" || cond.op === "le" || cond.op === "ge" || cond.op === "gt")) return null;
  const n = constIntervalOf(cond.b, inner);
  if (!n || n.min !== n.max) return null;
  const lhs = simplify(cond.a);
  // a and rest by evaluating at v = 0 and v = 1, then checked symbolically.
  const at0 = simplify(substitute(lhs, new Map([[v, int(0)]])));
  const a = simplify(sub(substitute(lhs, new Map([[v, int(1)]])), at0));
  if (a.kind !== "const" || a.value <= 0) return null;
  if (!linearIn(lhs, v, a.value, at0)) return null;
  const rest = constIntervalOf(at0, inner);
  if (!rest) return null;
  return { op: cond.op, n: n.min, a: a.value, restMin: rest.min, restMax: rest.max };
}

/** The largest k such that `cond` (lhs < n or lhs ≤ n) holds for every inner iteration whenever v < k; null if unknown. */
function safeUpperBound(cond: Expr, v: Var, inner: VarRanges): number | null {
  const t = linearTest(cond, v, inner);
  if (!t || (t.op !== "lt" && t.op !== "le")) return null;
  const bound = t.op === "lt" ? t.n : t.n + 1; // lhs < bound
  return Math.floor((bound - t.restMax - 1) / t.a) + 1;
}

/** The smallest k such that `cond` (lhs ≥ n or lhs > n) holds for every inner iteration whenever v ≥ k; null if unknown. */
function safeLowerBound(cond: Expr, v: Var, inner: VarRanges): number | null {
  const t = linearTest(cond, v, inner);
  if (!t || (t.op !== "ge" && t.op !== "gt")) return null;
  const bound = t.op === "ge" ? t.n : t.n + 1; // lhs ≥ bound
  return Math.ceil((bound - t.restMin) / t.a);
}

/** The comparisons (conjuncts) that select between values in the statement's expressions. */
function selectTests(s: Stmt): Expr[] {
  const out: Expr[] = [];
  const atoms = (c: Expr): void => {
    if (c.kind === "and") { atoms(c.a); atoms(c.b); } else if (c.kind === "cmp") out.push(c);
  };
  mapStmtExprs(s, (e) => {
    visitExpr(e, (x) => { if (x.kind === "select") atoms(x.cond); });
    return e;
  });
  return out;
}

/** Checks lhs == a*v + at0 symbolically. */
function linearIn(lhs: Expr, v: Var, a: number, at0: Expr): boolean {
  const diff = simplify(sub(lhs, add({ kind: "bin", op: "mul", a: v, b: int(a), dtype: "i32" }, at0)));
  return diff.kind === "const" && diff.value === 0;
}

function guardsOf(s: Stmt): Expr[] {
  const out: Expr[] = [];
  visitStmt(s, (x) => { if (x.kind === "if" && x.else === null) out.push(x.cond); });
  return out;
}

function innerRanges(s: Stmt): Map<Var, { min: Expr; extent: Expr }> {
  const out = new Map<Var, { min: Expr; extent: Expr }>();
  visitStmt(s, (x) => { if (x.kind === "for") out.set(x.loopVar, { min: x.min, extent: x.extent }); });
  return out;
}

function partition(s: Stmt, outer: Map<Var, { min: Expr; extent: Expr }>): Stmt {
  if (s.kind !== "for") return mapStmt(s, (x) => partition(x, outer), (e) => e);
  outer.set(s.loopVar, { min: s.min, extent: s.extent });
  const body = partition(s.body, outer);
  outer.delete(s.loopVar);
  const loop = body === s.body ? s : { ...s, body };
  if (s.min.kind !== "const" || s.extent.kind !== "const" || s.forKind === "vectorized" || s.forKind === "thread" || s.forKind === "vthread") return loop;
  const ranges = new Map([...outer, ...innerRanges(loop.body)]);
  const lo = s.min.value, hi = s.min.value + s.extent.value;
  let cut = hi;
  for (const g of guardsOf(loop.body)) {
    if (!usesVar(g, (x) => x === s.loopVar)) continue;
    const k = safeUpperBound(g, s.loopVar, ranges);
    if (k !== null && k > lo && k < cut) cut = k;
  }
  let cuts = new Set<number>(cut < hi ? [cut] : []);
  // Border tests of selects, in serial loops only (a parallel loop stays one region).
  if (s.forKind === "serial" || s.forKind === "unrolled") {
    const withTests = new Set(cuts);
    for (const t of selectTests(loop.body)) {
      if (!usesVar(t, (x) => x === s.loopVar)) continue;
      const k = safeUpperBound(t, s.loopVar, ranges) ?? safeLowerBound(t, s.loopVar, ranges);
      if (k !== null && k > lo && k < hi) withTests.add(k);
    }
    if (withTests.size <= MAX_CUTS) cuts = withTests;
  }
  if (cuts.size === 0) return loop;
  const points = [lo, ...[...cuts].sort((a, b) => a - b), hi];
  // Simplifying each part with its own range proves its guards and tests and removes them.
  const parts = points.slice(0, -1).map((from, i): Stmt => simplifyStmt({ ...loop, min: int(from), extent: int(points[i + 1]! - from) }, new Map(outer)));
  return seq(...parts);
}

/** More cut points than this leave the loop whole (the code would grow with little gain). */
const MAX_CUTS = 4;

export const loopPartition: Pass = { name: "loop-partition", run: (f) => ({ ...f, body: partition(f.body, new Map()) }) };
