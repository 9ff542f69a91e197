/**
 * Auto-tuning search quality: best-so-far GFLOP/s against trials for XGBoost-guided search
 * (xgb), simulated annealing on measurements without a model (sa) and random search, on a
 * GEMM and a ResNet-18 3×3 conv layer, several seeds each. The conv layer is tuned as NCHW
 * conv2d with the reduce template (tiles, reduction split, unrolling, vectorizing: 3,600
 * configs), where search quality shows; the blocked direct convolution compileGraph builds
 * for ResNet has a far smaller space (about a hundred configs, a few batches of any search).
 * Every trial is a real measurement in the tuner's child process (1 kernel thread, to keep
 * the shared machine's noise down); the three searches alternate seed by seed.
 *
 * Rows: per case and search, the median over seeds of the trials needed to reach 95% of the
 * XGBoost search's final best (fewer is better; random search is the baseline), and each
 * search's best GFLOP/s against the default schedule's. Random search runs last in each seed
 * and goes on past the trial budget (up to RANDOM_CAP times it) until it reaches that seed's
 * targets: the bar asks for the trials it needs, of which "not within the budget" would only
 * be a lower bound. Curves go to
 * bench/results/tune-curves.json and bench/results/tune.svg.
 * The bar (issue 5): XGBoost reaches 95% of its final best in at most half the trials random
 * search needs (median over seeds).
 *
 * The conv case also runs "xgb+transfer": the XGBoost search whose first batch a transfer
 * model picks (transfer.ts), trained on a tuning log of another ResNet-18 layer (3×3, 64
 * channels at 56×56) made here first, as `lathe tune --transfer old.jsonl` would use it. Its
 * row counts trials to 95% of its own final best, against random search's trials to that
 * same target; the source task's trials are not counted (they are an earlier log).
 *
 * LATHE_TUNE_TRIALS sets the trials per search and seed (default 96), LATHE_TUNE_BATCH the
 * batch (default 16: the model is refit after each), LATHE_TUNE_SEEDS the number of seeds
 * (default 10, 3 with --quick); LATHE_TUNE_CASES (comma-separated name parts, e.g. "conv") runs only the
 * matching cases.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envCount } from "../lib/env.ts";
import { Measurer } from "../../compiler/autotune/measure.ts";
import { extractTasks, taskSpec, type TaskSpec } from "../../compiler/autotune/task.ts";
import { lowerTask, taskTemplate } from "../../compiler/targets/cpu/task-template.ts";
import { tuneTask, type SearchKind } from "../../compiler/autotune/tuner.ts";
import { RANDOM_CAP, barMet, bestCurve, randomUntil, trialsPerSeed, tuneCases, type TuneCase } from "../lib/tune-cases.ts";
import { median, readLog } from "../../compiler/autotune/log.ts";
import { TransferModel } from "../../compiler/autotune/transfer.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, RESULTS_DIR } from "../lib/report.ts";
import { cpuTarget } from "../../compiler/targets/cpu/index.ts";
import { typedArrayFor } from "../../core/dtype.ts";
import { cpuTuning } from "../../compiler/targets/cpu/task-template.ts";

/** A search of this benchmark: the tuner's kinds, and XGBoost seeded by a transfer model. */
type Search = SearchKind | "xgb+transfer";

/** GFLOP/s of the default schedule, timed in this process (it is the trusted kernel: no crash to contain). */
async function defaultGflops(task: TaskSpec, flops: number, repeats: number): Promise<number> {
  const f = lowerTask(task, null, "default_kernel");
  const mod = await cpuTarget.build([f]);
  mod.setNumThreads(1);
  const args = [...task.inputs, ...task.outputs.map((i) => task.types[i]!)].map((t) => {
    const shape = t.shape as number[];
    return { data: typedArrayFor(t.dtype, shape.reduce((a, b) => a * b, 1)), shape, dtype: t.dtype };
  });
  mod.run(f.name, args);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    mod.run(f.name, args);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return flops / median(times) / 1e9;
}

/** `bestSoFar` over the trial budget; random search's `extended` goes on until the seed's targets (RANDOM_CAP). */
interface Curves { case: string; search: Search; seed: number; bestSoFar: number[]; extended?: number[] }

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("tune");
  const trials = envCount("LATHE_TUNE_TRIALS", opts.quick ? 12 : 96);
  const batch = envCount("LATHE_TUNE_BATCH", opts.quick ? 4 : 16);
  // LATHE_TUNE_SEEDS = n runs seeds 1 … n.
  // Ten seeds by default: 7 of the conv space's 3,600 configs are within 5% of its best and
  // 27 within 10%, so a few lucky random picks decide a five-seed median (replayed, a
  // five-seed verdict said "met" about 70% of the time for a search that met the bar over a
  // hundred seeds, before random search ran on past the budget).
  const seeds = Array.from({ length: envCount("LATHE_TUNE_SEEDS", opts.quick ? 3 : 10) }, (_, i) => i + 1);
  const repeats = opts.quick ? 2 : 3;
  const cases = tuneCases(opts.quick);
  const beyond = (n: number): string => (n > RANDOM_CAP * trials ? ` = not within ${RANDOM_CAP * trials} trials` : n > trials ? ` (past the budget of ${trials}: random search ran on to reach it)` : "");
  report.note(`${trials} trials per search and seed, batches of ${batch}, ${repeats} timed runs per trial (median), 1 kernel thread; seeds ${seeds.join(", ")}`);
  const curves: Curves[] = [];
  const measurer = new Measurer({ target: cpuTuning, repeats, threads: 1 });
  try {
    for (const c of cases) {
      const task = taskSpec(extractTasks(c.g)[0]!);
      const tpl = taskTemplate(task)!;
      report.note(`${c.name}: ${tpl.kind} template, ${tpl.space.size} configs (${tpl.space.names.join(", ")})`);
      const base = await defaultGflops(task, tpl.flops, repeats);
      const transfer = c.source ? await sourceModel(c.source, trials, batch, measurer) : null;
      if (c.source) report.note(`${c.name}: xgb+transfer seeded by a transfer model on ${trials} xgb trials of ${c.source.name}${transfer ? "" : " (too few distinct measurements: not run)"}`);
      // Random search last in each seed: it runs on until it reaches that seed's targets.
      const searches: Search[] = ["xgb", "sa", ...(transfer ? ["xgb+transfer" as const] : []), "random"];
      const bySearch = new Map<Search, Curves[]>();
      const scratch = mkdtempSync(join(tmpdir(), "lathe-bench-tune-"));
      // Seeds outside, searches inside: the searches alternate, so a change in the shared
      // machine's load over the run does not favour whichever search ran first.
      try {
        for (const seed of seeds) {
          for (const search of searches) {
            const kind: SearchKind = search === "xgb+transfer" ? "xgb" : search;
            const tuneTo = async (n: number, log?: string) =>
              (await tuneTask(task, { trials: n, batch, measurer, model: kind, seed, space: tpl.space, flops: tpl.flops, ...(log ? { log } : {}), ...(search === "xgb+transfer" ? { transfer: transfer! } : {}) })).history;
            let extended: number[] | undefined;
            if (search === "random") {
              // The targets random search is measured against: 95% of this seed's xgb and xgb+transfer finals.
              const target = 0.95 * Math.max(...searches.filter((s) => s === "xgb" || s === "xgb+transfer").map((s) => bySearch.get(s)!.at(-1)!.bestSoFar.at(-1) ?? 0));
              const log = join(scratch, `random-${c.name}-${seed}.jsonl`);
              extended = await randomUntil((n) => tuneTo(n, log), trials, RANDOM_CAP * trials, target);
            }
            const bestSoFar = extended ? extended.slice(0, trials) : bestCurve(await tuneTo(trials));
            const cv: Curves = { case: c.name, search, seed, bestSoFar, ...(extended ? { extended } : {}) };
            curves.push(cv);
            bySearch.set(search, [...(bySearch.get(search) ?? []), cv]);
            process.stderr.write(`${c.name} ${search} seed ${seed}: best ${(bestSoFar.at(-1) ?? 0).toFixed(2)} GFLOP/s${extended && extended.length > trials ? ` (${extended.length} trials to reach the others' 95%: ${(extended.at(-1) ?? 0).toFixed(2)})` : ""}\n`);
          }
        }
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
      // Trials to 95% of the XGBoost run's final best, per seed, then the median over seeds.
      const curvesOf = (s: Search) => bySearch.get(s)!.map((cv) => cv.extended ?? cv.bestSoFar);
      const per = (s: Search, target: Search = "xgb") => trialsPerSeed(curvesOf(s), curvesOf(target));
      const nXgb = median(per("xgb")), nRandom = median(per("random")), nSa = median(per("sa"));
      for (const [search, n] of [["xgb", nXgb], ["sa", nSa]] as const) {
        report.row({ case: `${c.name} ${search}`, threads: 1, metric: "trials to 95% of xgb best", better: "lower", lathe: n, baseline: "random search", baselineValue: nRandom });
      }
      for (const search of searches) {
        const finals = bySearch.get(search)!.map((cv) => cv.bestSoFar.at(-1) ?? 0);
        report.row({ case: `${c.name} ${search} best`, threads: 1, metric: "GFLOP/s", better: "higher", lathe: Number(median(finals).toPrecision(4)), baseline: "default schedule", baselineValue: Number(base.toPrecision(4)) });
      }
      transfer?.dispose();
      const met = barMet(per("xgb"), per("random"));
      report.note(`${c.name}: bar "xgb reaches 95% of its final best in at most half the trials random search needs (median over seeds)": ${met ? "met" : "NOT met"} (xgb ${nXgb}, random ${nRandom}${beyond(nRandom)})`);
      if (bySearch.has("xgb+transfer")) {
        // Its own final best is the target, for it and for random search.
        const nT = median(per("xgb+transfer", "xgb+transfer")), nRandomT = median(per("random", "xgb+transfer"));
        report.row({ case: `${c.name} xgb+transfer`, threads: 1, metric: "trials to 95% of own best", better: "lower", lathe: nT, baseline: "random search", baselineValue: nRandomT });
        report.note(`${c.name}: the same bar for xgb+transfer: ${barMet(per("xgb+transfer", "xgb+transfer"), per("random", "xgb+transfer")) ? "met" : "NOT met"} (xgb+transfer ${nT}, random ${nRandomT}${beyond(nRandomT)})`);
      }
    }
  } finally {
    measurer.close();
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, "tune-curves.json"), JSON.stringify({ date: report.date, trials, curves }, null, 1) + "\n");
  writeFileSync(join(RESULTS_DIR, "tune.svg"), plot(curves, cases.map((c) => c.name)));
  report.note("curves: bench/results/tune-curves.json; plot: bench/results/tune.svg");
  return report;
}

/** A transfer model trained on `trials` XGBoost-guided measurements of another task (an earlier log). */
async function sourceModel(source: NonNullable<TuneCase["source"]>, trials: number, batch: number, measurer: Measurer): Promise<TransferModel | null> {
  const dir = mkdtempSync(join(tmpdir(), "lathe-bench-tune-"));
  try {
    const log = join(dir, "source.jsonl");
    const task = taskSpec(extractTasks(source.g)[0]!);
    const r = await tuneTask(task, { trials, batch, measurer, model: "xgb", seed: 0, log });
    process.stderr.write(`${source.name} (transfer source): best ${r.best?.gflops.toFixed(2) ?? "-"} GFLOP/s\n`);
    return await TransferModel.train(readLog(log), { target: cpuTuning, seed: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const COLORS: Record<Search, string> = { xgb: "#1f77b4", sa: "#2ca02c", random: "#d62728", "xgb+transfer": "#9467bd" };

/** One panel per case: best-so-far GFLOP/s against trials, a line per search and seed. */
export function plot(curves: readonly Curves[], cases: readonly string[]): string {
  const W = 420, H = 280, M = { l: 56, r: 12, t: 28, b: 40 };
  const panels = cases.map((name, k) => {
    const mine = curves.filter((c) => c.case === name);
    const n = Math.max(1, ...mine.map((c) => c.bestSoFar.length));
    const top = Math.max(1e-9, ...mine.flatMap((c) => c.bestSoFar)) * 1.05;
    const x = (i: number) => M.l + ((W - M.l - M.r) * i) / Math.max(1, n - 1);
    const y = (g: number) => H - M.b - ((H - M.t - M.b) * g) / top;
    const lines = mine.map((c) =>
      `<polyline fill="none" stroke="${COLORS[c.search]}" stroke-opacity="0.8" stroke-width="1.5" points="${c.bestSoFar.map((g, i) => `${x(i).toFixed(1)},${y(g).toFixed(1)}`).join(" ")}"/>`);
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
      const g = top * f / 1.05;
      return `<text x="${M.l - 6}" y="${y(g) + 4}" text-anchor="end" font-size="10">${g.toFixed(1)}</text><line x1="${M.l}" x2="${W - M.r}" y1="${y(g)}" y2="${y(g)}" stroke="#ddd"/>`;
    });
    return `<g transform="translate(${k * W},0)"><text x="${W / 2}" y="16" text-anchor="middle" font-size="13">${name}</text>${ticks.join("")}` +
      `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#000"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#000"/>` +
      `<text x="${(W + M.l) / 2}" y="${H - 8}" text-anchor="middle" font-size="11">trials (1…${n})</text>` +
      `<text transform="translate(14,${H / 2}) rotate(-90)" text-anchor="middle" font-size="11">best GFLOP/s so far</text>${lines.join("")}</g>`;
  });
  const legend = (Object.keys(COLORS) as Search[]).map((s, i) => `<g transform="translate(${60 + i * 90},${H + 6})"><rect width="14" height="4" y="4" fill="${COLORS[s]}"/><text x="18" y="11" font-size="11">${s}</text></g>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * cases.length}" height="${H + 24}" font-family="sans-serif">${panels.join("")}${legend.join("")}</svg>\n`;
}

