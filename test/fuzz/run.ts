/**
 * A fuzz run: `graphs` recipes drawn from one seed, each compiled by one of the variants in
 * turn (round robin, batched into shared libraries per variant) and compared with the
 * interpreter, and each (in f64) checked for gradients against finite differences. Every
 * failure is shrunk by fast-check (replaying the failing draw by its path and shrinking the
 * recipe while it still fails at the same stage), bisected, and written as a repro.
 */
import os from "node:os";
import fc from "fast-check";
import type { Outcome, Variant } from "./differential.ts";
import { ATOL, RTOL, WEBGPU_TOLERANCE, bisect, runOne, runVariant } from "./differential.ts";
import type { FuzzCase, Recipe, StepKind } from "./graph-gen.ts";
import { buildCase, recipeArb } from "./graph-gen.ts";
import { GRAD_TOL, checkGradients, gradientCase } from "./gradients.ts";
import { writeRepro } from "./repro.ts";
import { hostCpuDesc } from "../../compiler/targets/cpu/host.ts";

export interface FuzzOptions {
  readonly graphs: number;
  readonly seed: number;
  readonly variants: readonly Variant[];
  /** Also check every graph's gradients against finite differences. */
  readonly gradients: boolean;
  /** Shrink failures (each shrink step recompiles: slow). Default true. */
  readonly shrink?: boolean;
  /** Time limit per shrink in seconds (the smallest failing recipe found by then is kept). Default 300. */
  readonly shrinkSeconds?: number;
  /** Where repros go (none written when absent). */
  readonly reproDir?: string;
  readonly log?: (line: string) => void;
  /**
   * Run only draws i with i % count === index (scripts/fuzz.ts --jobs: one shard per child
   * process). A draw keeps its index, its variant (round robin by index) and its recipe, so
   * the shards of one seed together are exactly the unsharded run.
   */
  readonly shard?: { readonly index: number; readonly count: number };
}

export interface Finding {
  readonly variant: string;
  /** The draw's index: `fc.sample(recipeArb, { seed, numRuns: index + 1 })[index]` rebuilds it. */
  readonly index: number;
  readonly outcome: Outcome;
  readonly shrunk: Recipe;
  readonly shrunkNodes: number;
  readonly bisection: string;
  readonly repro?: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly graphs: number;
  readonly host: string;
  readonly tolerance: string;
  readonly variants: readonly { readonly name: string; readonly cases: number; readonly failures: number; readonly unsupported: number; readonly unsupportedReasons: Readonly<Record<string, number>> }[];
  readonly gradients: { readonly cases: number; readonly elements: number; readonly nonSmooth: number; readonly failures: number } | null;
  /** Nodes per op over all generated graphs (what the run covered). */
  readonly ops: Readonly<Record<string, number>>;
  readonly skippedSteps: Readonly<Record<string, number>>;
  readonly findings: readonly Finding[];
  readonly seconds: number;
  /** Set on one shard's report (FuzzOptions.shard); absent on a whole or merged run. */
  readonly shard?: { readonly index: number; readonly count: number };
}

const GRADIENTS = "gradients";

export async function fuzz(o: FuzzOptions): Promise<FuzzReport> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const recipes = fc.sample(recipeArb, { seed: o.seed, numRuns: o.graphs });
  const mine = (i: number): boolean => !o.shard || i % o.shard.count === o.shard.index;
  const cases = recipes.map((r, i) => (mine(i) ? buildCase(r) : null));
  const ops: Record<string, number> = {}, skippedSteps: Record<string, number> = {};
  for (const c of cases) {
    if (!c) continue;
    for (const n of c.graph.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
    for (const k of c.skipped) skippedSteps[k] = (skippedSteps[k] ?? 0) + 1;
  }
  const failures: { variant: Variant | typeof GRADIENTS; index: number; outcome: Outcome }[] = [];
  const variants = o.variants.map((v, vi) => {
    const idx = cases.map((_, i) => i).filter((i) => i % o.variants.length === vi && mine(i));
    return { v, idx };
  });
  const summary: FuzzReport["variants"][number][] = [];
  for (const { v, idx } of variants) {
    const t = performance.now();
    const outcomes = await runVariant(idx.map((i) => cases[i]!), v);
    const bad = outcomes.map((out, k) => ({ out, index: idx[k]! })).filter((x) => !x.out.ok);
    for (const b of bad) failures.push({ variant: v, index: b.index, outcome: b.out });
    // Why a target refused a graph, by the op it named (e.g. "webgpu cannot compile 1 node: argmax …" → "argmax").
    const reasons: Record<string, number> = {};
    let unsupported = 0;
    for (const out of outcomes) {
      if (out.ok && out.unsupported !== undefined) {
        unsupported++;
        for (const m of out.unsupported.matchAll(/(?::|;) (\w+) \(node /g)) reasons[m[1]!] = (reasons[m[1]!] ?? 0) + 1;
      }
    }
    summary.push({ name: v.name, cases: idx.length, failures: bad.length, unsupported, unsupportedReasons: reasons });
    log(`${v.name}: ${idx.length} graphs, ${bad.length} failed${unsupported ? `, ${unsupported} not compiled (${Object.entries(reasons).map(([k, n]) => `${k} ${n}`).join(", ")})` : ""} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  let gradients: FuzzReport["gradients"] = null;
  if (o.gradients) {
    const t = performance.now();
    let n = 0, elements = 0, nonSmooth = 0, bad = 0;
    recipes.forEach((r, index) => {
      if (!mine(index)) return;
      const gc = gradientCase(r);
      if (!gc) return;
      n++;
      const out = checkGradients(gc);
      elements += out.checked;
      nonSmooth += out.nonSmooth;
      if (!out.ok) { bad++; failures.push({ variant: GRADIENTS, index, outcome: { ok: false, stage: "compare", detail: out.detail! } }); }
    });
    gradients = { cases: n, elements, nonSmooth, failures: bad };
    log(`gradients: ${n} graphs, ${elements} derivatives compared, ${nonSmooth} at kinks skipped, ${bad} failed (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  const findings: Finding[] = [];
  for (const f of failures) {
    const name = f.variant === GRADIENTS ? GRADIENTS : f.variant.name;
    const shrunk = o.shrink === false ? recipes[f.index]! : await shrink(o.seed, f.index, f.variant, f.outcome, o.shrinkSeconds ?? 300);
    let c: FuzzCase = buildCase(shrunk);
    let outcome = f.outcome, bisection = "";
    if (f.variant === GRADIENTS) {
      const gc = gradientCase(shrunk);
      if (gc) {
        c = { ...gc.fwd, graph: gc.grad };
        const out = checkGradients(gc);
        if (!out.ok) outcome = { ok: false, stage: "compare", detail: out.detail! };
      }
      bisection = "autodiff: a vector-Jacobian product differs from finite differences";
    } else {
      outcome = await runOne(c, f.variant);
      bisection = outcome.ok ? "the shrunk case passes alone (flaky?)" : outcome.stage === "compare" ? await bisect(c, f.variant) : `${outcome.stage} fails: ${outcome.detail}`;
    }
    const repro = o.reproDir ? writeRepro(o.reproDir, c, { variant: name, outcome, bisection }) : undefined;
    findings.push({ variant: name, index: f.index, outcome, shrunk, shrunkNodes: c.graph.nodes.length, bisection, ...(repro ? { repro } : {}) });
    log(`FAIL ${name} #${f.index}: ${outcome.ok ? "" : outcome.detail}\n  ${o.shrink === false ? "not shrunk" : "shrunk"}: ${c.graph.nodes.length} nodes; ${bisection}${repro ? `\n  repro: ${repro}` : ""}`);
  }
  return {
    seed: o.seed, graphs: o.graphs, host: `${os.cpus()[0]?.model ?? "unknown cpu"} (${os.availableParallelism()} threads, cpu code for ${hostCpuDesc().isa})`,
    tolerance: `f32: |got − want| ≤ ${RTOL}·|want| + ${ATOL}·max(1, max|want|) (webgpu: ${WEBGPU_TOLERANCE.atol.toExponential(2)}·max(1, max|want|), WGSL's accuracy); integers and booleans exact; gradients (f64): |autodiff − central difference| ≤ ${GRAD_TOL}·(1 + |fd|)`,
    variants: summary, gradients, ops, skippedSteps: skippedSteps as Record<StepKind, number>, findings, seconds: (performance.now() - t0) / 1000,
    ...(o.shard ? { shard: o.shard } : {}),
  };
}

/** fast-check replays draw `index` of the seed's stream and shrinks it while it fails at the same stage. */
async function shrink(seed: number, index: number, variant: Variant | typeof GRADIENTS, first: Outcome, seconds: number): Promise<Recipe> {
  const stage = first.ok ? null : first.stage;
  const stillFails = async (r: Recipe): Promise<boolean> => {
    if (variant === GRADIENTS) {
      const gc = gradientCase(r);
      return gc !== null && !checkGradients(gc).ok;
    }
    const out = await runOne(buildCase(r), variant);
    return !out.ok && out.stage === stage;
  };
  const result = await fc.check(fc.asyncProperty(recipeArb, async (r) => !(await stillFails(r))), { seed, path: String(index), numRuns: 1, interruptAfterTimeLimit: seconds * 1000 });
  return result.failed && result.counterexample ? result.counterexample[0] : fc.sample(recipeArb, { seed, numRuns: index + 1 })[index]!;
}
