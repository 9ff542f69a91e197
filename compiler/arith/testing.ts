/**
 * Test helpers for the arithmetic analyzer, independent of the code under test: a seeded
 * PRNG, an exact reference evaluator for integer/bool expressions, a printer for failure
 * messages, and a random expression generator shaped like what loop lowering produces.
 */
import type { Expr, Var } from "../te/expr.ts";
import {
  add, and, eq, floordiv, floormod, ge, gt, int, le, lt, max, min, mul, ne, not, or, select, sub, variable,
} from "../te/expr.ts";

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export const randInt = (rng: () => number, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
export const pick = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

export class EvalFailure extends Error {}

const fdiv = (a: number, b: number): number => {
  if (b === 0) throw new EvalFailure("division by zero");
  return Math.floor(a / b); // exact for the small values the tests use
};
const tdiv = (a: number, b: number): number => {
  if (b === 0) throw new EvalFailure("division by zero");
  return Math.trunc(a / b);
};

/** Exact evaluation over the integers (no wrap-around: test values stay small). */
export function evalInt(e: Expr, env: ReadonlyMap<Var, number>): number {
  const go = (x: Expr): number => evalInt(x, env);
  switch (e.kind) {
    case "const": return e.value;
    case "var": {
      const v = env.get(e);
      if (v === undefined) throw new EvalFailure(`unbound ${e.name}`);
      return v;
    }
    case "bin": {
      const a = go(e.a), b = go(e.b);
      switch (e.op) {
        case "add": return a + b;
        case "sub": return a - b;
        case "mul": return a * b;
        case "div": case "floordiv": return fdiv(a, b);
        case "floormod": return a - b * fdiv(a, b);
        case "truncdiv": return tdiv(a, b);
        case "truncmod": return a - b * tdiv(a, b);
        case "min": return Math.min(a, b);
        case "max": return Math.max(a, b);
      }
      break;
    }
    case "cmp": {
      const a = go(e.a), b = go(e.b);
      const r = { eq: a === b, ne: a !== b, lt: a < b, le: a <= b, gt: a > b, ge: a >= b }[e.op];
      return r ? 1 : 0;
    }
    case "and": return go(e.a) !== 0 && go(e.b) !== 0 ? 1 : 0;
    case "or": return go(e.a) !== 0 || go(e.b) !== 0 ? 1 : 0;
    case "not": return go(e.a) !== 0 ? 0 : 1;
    case "select": return go(e.cond) !== 0 ? go(e.t) : go(e.f);
    case "cast": {
      const v = go(e.value);
      return e.dtype === "bool" ? (v !== 0 ? 1 : 0) : Math.trunc(v);
    }
    default: break;
  }
  throw new EvalFailure(`cannot evaluate ${e.kind}`);
}

const OPS: Record<string, string> = { add: "+", sub: "-", mul: "*", floordiv: "//", floormod: "%", div: "/",
  eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };
/** A compact printer for failure messages. */
export function show(e: Expr): string {
  switch (e.kind) {
    case "const": return e.dtype === "bool" ? (e.value ? "true" : "false") : String(e.value);
    case "var": return e.name;
    case "bin":
      return OPS[e.op] ? `(${show(e.a)} ${OPS[e.op]} ${show(e.b)})` : `${e.op}(${show(e.a)}, ${show(e.b)})`;
    case "cmp": return `(${show(e.a)} ${OPS[e.op]} ${show(e.b)})`;
    case "and": return `(${show(e.a)} && ${show(e.b)})`;
    case "or": return `(${show(e.a)} || ${show(e.b)})`;
    case "not": return `!${show(e.a)}`;
    case "select": return `select(${show(e.cond)}, ${show(e.t)}, ${show(e.f)})`;
    case "cast": return `${e.dtype}(${show(e.value)})`;
    case "call": return `${e.fn}(${e.args.map(show).join(", ")})`;
    default: return `<${e.kind}>`;
  }
}

/** Variables and their domains for one random case; some ranges depend on other variables. */
export interface Scope {
  readonly ranges: Map<Var, { min: Expr; extent: Expr }>;
  /** Vars in sampling order (a var's range only mentions earlier ones). */
  readonly ordered: Var[];
  /** Vars known to be ≥ 1 (usable as divisors). */
  readonly positive: Var[];
  /** Vars with no range: sampled from a small window but unknown to the analyzer. */
  readonly free: Var[];
}

export function makeScope(rng: () => number): Scope {
  const ranges = new Map<Var, { min: Expr; extent: Expr }>();
  const ordered: Var[] = [], positive: Var[] = [], free: Var[] = [];
  const nFree = randInt(rng, 0, 2);
  for (let i = 0; i < nFree; i++) { const v = variable(`f${i}`); free.push(v); ordered.push(v); }
  const nPos = randInt(rng, 1, 2);
  for (let i = 0; i < nPos; i++) {
    const v = variable(`n${i}`);
    ranges.set(v, { min: int(randInt(rng, 1, 3)), extent: int(randInt(rng, 1, 6)) });
    ordered.push(v); positive.push(v);
  }
  const nVars = randInt(rng, 1, 4);
  for (let i = 0; i < nVars; i++) {
    const v = variable(`x${i}`);
    const kind = rng();
    if (kind < 0.6 || ordered.length === 0) {
      ranges.set(v, { min: int(randInt(rng, -6, 6)), extent: int(randInt(rng, 1, 10)) });
    } else if (kind < 0.8 && positive.length > 0) {
      // extent given by another ranged var, as a loop over [0, n)
      ranges.set(v, { min: int(randInt(rng, -2, 2)), extent: pick(rng, positive) });
    } else {
      // min relative to an earlier var (free or ranged), as in split loops io*f + ii
      const w = pick(rng, ordered);
      ranges.set(v, { min: add(mul(w, randInt(rng, 1, 4)), randInt(rng, -3, 3)), extent: int(randInt(rng, 1, 8)) });
    }
    ordered.push(v);
  }
  return { ranges, ordered, positive, free };
}

/** Draws an assignment within the ranges (free vars from a small window). */
export function sample(rng: () => number, s: Scope): Map<Var, number> {
  const env = new Map<Var, number>();
  for (const v of s.ordered) {
    const r = s.ranges.get(v);
    if (!r) { env.set(v, randInt(rng, -12, 12)); continue; }
    const lo = evalInt(r.min, env), ext = evalInt(r.extent, env);
    env.set(v, lo + randInt(rng, 0, ext - 1));
  }
  return env;
}

export function genInt(rng: () => number, s: Scope, depth: number): Expr {
  const leaf = depth <= 0 || rng() < 0.25;
  if (leaf) return rng() < 0.7 ? pick(rng, s.ordered) : int(randInt(rng, -9, 9));
  const sub1 = () => genInt(rng, s, depth - 1);
  const r = rng();
  if (r < 0.18) return add(sub1(), sub1());
  if (r < 0.32) return sub(sub1(), sub1());
  if (r < 0.44) return rng() < 0.7 ? mul(sub1(), randInt(rng, -4, 8)) : mul(sub1(), sub1());
  if (r < 0.56) return floordiv(sub1(), divisor(rng, s));
  if (r < 0.68) return floormod(sub1(), divisor(rng, s));
  if (r < 0.74) return { kind: "bin", op: "truncdiv", a: sub1(), b: int(randInt(rng, 1, 6)), dtype: "i32" };
  if (r < 0.78) return { kind: "bin", op: "truncmod", a: sub1(), b: int(randInt(rng, 1, 6)), dtype: "i32" };
  if (r < 0.85) return min(sub1(), sub1());
  if (r < 0.91) return max(sub1(), sub1());
  if (r < 0.96) return splitPattern(rng, s, depth);
  return select(genBool(rng, s, depth - 1), sub1(), sub1());
}

/** k·M·(a//d·d + a%d (+ perturbation)): what reconstructing a fused or split index looks like. */
function splitPattern(rng: () => number, s: Scope, depth: number): Expr {
  const a = genInt(rng, s, depth - 2), d = divisor(rng, s);
  const k = randInt(rng, -2, 3), m = rng() < 0.5 ? int(1) : pick(rng, s.ordered);
  // Sometimes the remainder's dividend differs by a multiple of d (still congruent), or not at all.
  const a2 = rng() < 0.3 ? add(a, mul(d, randInt(rng, -2, 2))) : rng() < 0.1 ? add(a, 1) : a;
  const hi = mul(mul(floordiv(a, d), d), k), lo = mul(floormod(a2, d), k);
  const parts = [mul(hi, m), mul(lo, m)];
  if (rng() < 0.5) parts.push(genInt(rng, s, 1));
  return parts.reduce((x, y) => (rng() < 0.5 ? add(x, y) : add(y, x)));
}

function divisor(rng: () => number, s: Scope): Expr {
  const r = rng();
  if (r < 0.65 || s.positive.length === 0) return int(pick(rng, [1, 2, 3, 4, 8, 16, 5, 6]));
  if (r < 0.8) return int(pick(rng, [-2, -4, -3]));
  const v = pick(rng, s.positive);
  return rng() < 0.7 ? v : mul(v, randInt(rng, 1, 3));
}

export function genBool(rng: () => number, s: Scope, depth: number): Expr {
  const r = rng();
  if (depth > 1 && r < 0.15) return and(genBool(rng, s, depth - 1), genBool(rng, s, depth - 1));
  if (depth > 1 && r < 0.25) return or(genBool(rng, s, depth - 1), genBool(rng, s, depth - 1));
  if (depth > 1 && r < 0.3) return not(genBool(rng, s, depth - 1));
  const a = genInt(rng, s, Math.max(0, depth - 1)), b = genInt(rng, s, Math.max(0, depth - 2));
  return pick(rng, [lt, le, gt, ge, eq, ne])(a, b);
}
