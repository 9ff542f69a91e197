/**
 * What bench/tune and bench/tune-replay share: the two tuning cases and how a set of
 * best-so-far curves is scored against issue 5's bar.
 */
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { median } from "../../compiler/autotune/log.ts";
import type { SearchKind } from "../../compiler/autotune/tuner.ts";

export const SEARCHES: readonly SearchKind[] = ["xgb", "sa", "random"];

export interface TuneCase {
  readonly name: string;
  readonly g: Graph;
  /** The task whose log seeds bench/tune's xgb+transfer search. */
  readonly source?: { readonly name: string; readonly g: Graph };
}

function gemmGraph(n: number): Graph {
  const b = new GraphBuilder();
  return b.build([b.op1("matmul", [b.input("A", [n, n]), b.input("B", [n, n])])]);
}

/** ResNet-18's 3×3 convolution (stride 1, pad 1) with bias and ReLU, as the network fuses it. */
function convGraph(c: number, hw: number): Graph {
  const b = new GraphBuilder();
  const y = b.op1("conv2d", [b.input("x", [1, c, hw, hw]), b.input("w", [c, c, 3, 3])], { pads: [1, 1, 1, 1] });
  return b.build([b.op1("relu", [b.op1("add", [y, b.input("b", [c, 1, 1])])])]);
}

/** GEMM 1024 and a ResNet-18 3×3 conv layer (smaller ones with `quick`), filtered by LATHE_TUNE_CASES. */
export function tuneCases(quick: boolean): TuneCase[] {
  const all: TuneCase[] = quick
    ? [{ name: "gemm-256", g: gemmGraph(256) }, { name: "resnet18-conv3x3-c64-14", g: convGraph(64, 14), source: { name: "conv3x3-c32-28", g: convGraph(32, 28) } }]
    : [{ name: "gemm-1024", g: gemmGraph(1024) }, { name: "resnet18-conv3x3-c128-28", g: convGraph(128, 28), source: { name: "resnet18-conv3x3-c64-56", g: convGraph(64, 56) } }];
  const only = process.env.LATHE_TUNE_CASES?.split(",");
  return only ? all.filter((c) => only.some((o) => c.name.includes(o))) : all;
}

/** The first trial (1-based) whose best-so-far reaches `target`, or trials + 1 when none does. */
export function trialsToReach(curve: readonly number[], target: number): number {
  const i = curve.findIndex((g) => g >= target);
  return i < 0 ? curve.length + 1 : i + 1;
}

/** Best-so-far of a search's scores (failures count as 0). */
export function bestCurve(history: readonly { readonly score: number }[]): number[] {
  let best = 0;
  return history.map((h) => (best = Math.max(best, Number.isFinite(h.score) ? h.score : 0)));
}

/**
 * How many times the trial budget random search may run to reach a seed's target: the bar
 * asks for the trials random search *needs*, and "not within the budget" only bounds that
 * from below (recorded as budget + 1, it made "half of random's trials" a stricter bar).
 */
export const RANDOM_CAP = 4;

/**
 * Random search's best-so-far curve, continued past `trials` (a budget more each step, up to
 * `cap` trials) until its best reaches `target`. `run(n)` tunes to n trials on one tuning log,
 * resuming it, so each step measures only new configs — still uniformly random ones.
 */
export async function randomUntil(run: (n: number) => Promise<readonly { readonly score: number }[]>, trials: number, cap: number, target: number): Promise<number[]> {
  let n = trials;
  let curve = bestCurve(await run(n));
  while ((curve.at(-1) ?? 0) < target && n < cap && curve.length === n) {
    n = Math.min(cap, n + trials);
    curve = bestCurve(await run(n));
  }
  return curve;
}

/** Best-so-far curves of one search, one per seed (seeds in the same order for every search). */
export type SeedCurves = readonly (readonly number[])[];

/**
 * Per seed, the trials `search` needs to reach 95% of `target`'s final best on that seed
 * (the bar's measure: random search against the XGBoost search's final best).
 */
export function trialsPerSeed(search: SeedCurves, target: SeedCurves): number[] {
  return search.map((curve, i) => trialsToReach(curve, 0.95 * (target[i]!.at(-1) ?? 0)));
}

/** The bar: the guided search needs at most half the trials random search needs (medians over seeds). */
export function barMet(guided: readonly number[], random: readonly number[]): boolean {
  return median(guided) <= median(random) / 2;
}
