/**
 * Loop partitioning of split tails and padding: a loop whose body holds a guard
 * `lin(v, inner) < n` (v this loop's variable, inner the loops below it) runs in two parts:
 * the iterations where the guard holds for every inner iteration, without the guard, then
 * the rest with it. A serial or unrolled loop whose stores select on `lin(v, inner) ≥ n` or `< n` (a
 * padded copy's border test) is cut where each such test changes, so the interior runs
 * without the select: branch-free, and vectorizable below. A loop with a symbolic trip
 * count (a dynamic batch: `for i.o in [0, (batch + 5) // 6)`) is cut the same way at a
 * symbolic point for guards `lin(v, inner) < N` with N invariant; its first part drops
 * those guards outright, since the cut is where they stop holding. Anything else keeps its
 * guard, which stays correct.
 */
import type { Expr, Var } from "../../te/expr.ts";
import { add, and, floordiv, int, max, min, sub, substitute, usesVar, visitExpr } from "../../te/expr.ts";
import { exprEqual } from "../../arith/key.ts";
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
  if (s.forKind === "vectorized" || s.forKind === "thread" || s.forKind === "vthread") return loop;
  if (s.min.kind !== "const" || s.extent.kind !== "const") return partitionSymbolic(loop, outer);
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

/**
 * The symbolic k such that `cond` (lhs < N or lhs ≤ N, N free of loop variables, lhs = a·v +
 * rest with rest's range over the loops known) holds for every inner iteration whenever v < k.
 */
function symbolicUpperBound(cond: Expr, v: Var, ranges: VarRanges): Expr | null {
  if (cond.kind !== "cmp" || (cond.op !== "lt" && cond.op !== "le")) return null;
  if (usesVar(cond.b, (x) => x === v || ranges.has(x))) return null;
  const lhs = simplify(cond.a);
  const at0 = simplify(substitute(lhs, new Map([[v, int(0)]])));
  const a = simplify(sub(substitute(lhs, new Map([[v, int(1)]])), at0));
  if (a.kind !== "const" || a.value <= 0 || !linearIn(lhs, v, a.value, at0)) return null;
  const rest = constIntervalOf(at0, ranges);
  if (!rest || !Number.isFinite(rest.max)) return null;
  // a·v + restMax < N ⟺ v ≤ (N − restMax − 1) // a (lhs ≤ N: one more).
  const slack = cond.op === "lt" ? rest.max + 1 : rest.max;
  return simplify(add(floordiv(sub(cond.b, int(slack)), int(a.value)), int(1)));
}

/**
 * Each inner loop variable's range, covering every loop that binds it (split tails reuse a
 * variable: `for i.i in [0, 4)` then `for i.i in [4, 6)`): guards are dropped on the strength
 * of these ranges, so one loop's range must not stand for another's. Null when a variable
 * bound twice has a symbolic bound.
 */
function coveringRanges(s: Stmt): Map<Var, { min: Expr; extent: Expr }> | null {
  const seen = new Map<Var, { lo: number; hi: number }>();
  const symbolic = new Map<Var, { min: Expr; extent: Expr }>();
  let ok = true;
  visitStmt(s, (x) => {
    if (x.kind !== "for") return;
    const lo = x.min.kind === "const" ? x.min.value : null, n = x.extent.kind === "const" ? x.extent.value : null;
    const twice = seen.has(x.loopVar) || symbolic.has(x.loopVar);
    if (lo === null || n === null) {
      if (twice) ok = false;
      symbolic.set(x.loopVar, { min: x.min, extent: x.extent });
      return;
    }
    const prev = seen.get(x.loopVar);
    if (symbolic.has(x.loopVar)) ok = false;
    seen.set(x.loopVar, prev ? { lo: Math.min(prev.lo, lo), hi: Math.max(prev.hi, lo + n) } : { lo, hi: lo + n });
  });
  if (!ok) return null;
  const out = new Map(symbolic);
  for (const [v, r] of seen) out.set(v, { min: int(r.lo), extent: int(r.hi - r.lo) });
  return out;
}

/** The conjuncts of a condition (`a && b && c` → [a, b, c]). */
function conjuncts(c: Expr): Expr[] {
  return c.kind === "and" ? [...conjuncts(c.a), ...conjuncts(c.b)] : [c];
}

/**
 * A guard-free first part [min, cut) and the guarded rest [cut, min + extent), for a loop with
 * a symbolic bound. Only loops that start at a constant are cut: the rest starts at the cut,
 * so a second run of the pass leaves it alone instead of splitting off an empty copy.
 */
function partitionSymbolic(loop: Extract<Stmt, { kind: "for" }>, outer: Map<Var, { min: Expr; extent: Expr }>): Stmt {
  if (loop.min.kind !== "const") return loop;
  const inner = coveringRanges(loop.body);
  if (!inner) return loop;
  const ranges = new Map([...outer, ...inner]);
  // A bound read from a value bound inside the loop (a let) may change every iteration.
  const bound = new Set<Var>();
  visitStmt(loop.body, (x) => { if (x.kind === "let") bound.add(x.v); });
  const dropped: Expr[] = [];
  let cut: Expr | null = null;
  for (const g of guardsOf(loop.body).flatMap(conjuncts)) {
    if (!usesVar(g, (x) => x === loop.loopVar) || dropped.includes(g)) continue;
    if (g.kind === "cmp" && usesVar(g.b, (x) => bound.has(x))) continue;
    const k = symbolicUpperBound(g, loop.loopVar, ranges);
    if (k === null) continue;
    dropped.push(g);
    cut = cut === null || exprEqual(cut, k) ? k : simplify(min(cut, k));
  }
  if (cut === null) return loop;
  const lo = loop.min, hi = simplify(add(loop.min, loop.extent));
  // Clamped to the loop's own range, so the parts never run an iteration the loop did not.
  const at = simplify(max(lo, min(cut, hi)));
  const isDropped = (c: Expr): boolean => dropped.some((g) => g === c || exprEqual(g, c));
  const unguard = (x: Stmt): Stmt => {
    if (x.kind === "if" && x.else === null) {
      const kept = conjuncts(x.cond).filter((c) => !isDropped(c));
      if (kept.length === 0) return unguard(x.then);
      if (kept.length < conjuncts(x.cond).length) return { ...x, cond: kept.reduce((a, b) => and(a, b)), then: unguard(x.then) };
    }
    return mapStmt(x, unguard, (e) => e);
  };
  const first: Stmt = { ...loop, body: unguard(loop.body), extent: simplify(sub(at, lo)) };
  const rest: Stmt = { ...loop, min: at, extent: simplify(sub(hi, at)) };
  return seq(first, rest);
}

/** More cut points than this leave the loop whole (the code would grow with little gain). */
const MAX_CUTS = 4;

export const loopPartition: Pass = { name: "loop-partition", run: (f) => ({ ...f, body: partition(f.body, new Map()) }) };
