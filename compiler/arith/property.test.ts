/**
 * Property tests: on thousands of random integer expressions (shaped like lowered index
 * arithmetic), simplification preserves the value at random points within the ranges,
 * intervals contain every sampled value, proofs are never contradicted by a sample, and
 * simplification is idempotent. The reference is the exact evaluator in testing.ts.
 */
import { describe, expect, test } from "vitest";
import type { Expr } from "../te/expr.ts";
import { canProve, exprEqual, simplify } from "./simplify.ts";
import { constIntervalOf, intervalOf } from "./interval.ts";
import { EvalFailure, evalInt, genBool, genInt, makeScope, mulberry32, randInt, sample, show } from "./testing.ts";
import type { Scope } from "./testing.ts";

const CASES = 2500;
const SAMPLES = 24;

interface Case { scope: Scope; e: Expr; envs: Map<import("../te/expr.ts").Var, number>[] }

function makeCases(seed: number, kind: "int" | "bool"): Case[] {
  const rng = mulberry32(seed);
  const out: Case[] = [];
  while (out.length < CASES) {
    const scope = makeScope(rng);
    const depth = randInt(rng, 1, 5);
    const e = kind === "int" ? genInt(rng, scope, depth) : genBool(rng, scope, depth);
    const envs = Array.from({ length: SAMPLES }, () => sample(rng, scope));
    // Skip expressions the reference cannot evaluate at a sample (division by a zero sub-result).
    try { envs.forEach((env) => evalInt(e, env)); } catch (err) { if (err instanceof EvalFailure) continue; throw err; }
    out.push({ scope, e, envs });
  }
  return out;
}

const describeRanges = (s: Scope): string =>
  [...s.ranges].map(([v, r]) => `${v.name} ∈ [${show(r.min)}, +${show(r.extent)})`).join(", ") +
  (s.free.length ? `; free ${s.free.map((v) => v.name).join(", ")}` : "");

describe("random integer expressions", () => {
  const cases = makeCases(1234, "int");

  test("simplify preserves the value and is idempotent", () => {
    for (const { scope, e, envs } of cases) {
      const s = simplify(e, scope.ranges);
      for (const env of envs) {
        const want = evalInt(e, env);
        let got: number;
        try { got = evalInt(s, env); } catch (err) { throw new Error(`${show(e)} → ${show(s)} failed: ${err}; ${describeRanges(scope)}`); }
        if (got !== want) {
          const at = [...env].map(([v, x]) => `${v.name}=${x}`).join(" ");
          throw new Error(`${show(e)}\n  → ${show(s)}\n  at ${at}: ${got} ≠ ${want}\n  ranges ${describeRanges(scope)}`);
        }
      }
      const s2 = simplify(s, scope.ranges);
      if (!exprEqual(s, s2)) throw new Error(`not idempotent: ${show(e)}\n  → ${show(s)}\n  → ${show(s2)}\n  ${describeRanges(scope)}`);
    }
  });

  test("intervalOf and constIntervalOf contain every sampled value", () => {
    let bounded = 0;
    for (const { scope, e, envs } of cases) {
      const iv = intervalOf(e, scope.ranges);
      const ci = constIntervalOf(e, scope.ranges);
      if (iv.min && iv.max) bounded++;
      for (const env of envs) {
        const v = evalInt(e, env);
        const lo = iv.min && evalInt(iv.min, env), hi = iv.max && evalInt(iv.max, env);
        const msg = () => `${show(e)} = ${v} at ${[...env].map(([k, x]) => `${k.name}=${x}`).join(" ")}; ` +
          `interval [${iv.min ? show(iv.min) : "-∞"}, ${iv.max ? show(iv.max) : "∞"}] const ${JSON.stringify(ci)}; ${describeRanges(scope)}`;
        if ((lo !== null && v < lo) || (hi !== null && v > hi)) throw new Error(msg());
        if (ci && (v < ci.min || v > ci.max)) throw new Error(msg());
      }
    }
    expect(bounded).toBeGreaterThan(CASES / 2); // the analysis is not vacuous
  });
});

describe("random conditions", () => {
  const cases = makeCases(99, "bool");

  test("simplify preserves truth values and is idempotent", () => {
    for (const { scope, e, envs } of cases) {
      const s = simplify(e, scope.ranges);
      for (const env of envs) {
        if (evalInt(s, env) !== evalInt(e, env)) {
          throw new Error(`${show(e)} → ${show(s)} differs at ${[...env].map(([k, x]) => `${k.name}=${x}`).join(" ")}; ${describeRanges(scope)}`);
        }
      }
      const s2 = simplify(s, scope.ranges);
      if (!exprEqual(s, s2)) throw new Error(`not idempotent: ${show(e)}\n  → ${show(s)}\n  → ${show(s2)}`);
    }
  });

  test("canProve is never contradicted by a sample", () => {
    let proved = 0;
    for (const { scope, e, envs } of cases) {
      if (!canProve(e, scope.ranges)) continue;
      proved++;
      for (const env of envs) {
        if (evalInt(e, env) === 0) throw new Error(`canProve(${show(e)}) but false at ${[...env].map(([k, x]) => `${k.name}=${x}`).join(" ")}; ${describeRanges(scope)}`);
      }
    }
    expect(proved).toBeGreaterThan(50);
  });
});
