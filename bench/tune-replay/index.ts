/**
 * Search quality without the timing noise of live runs: every config of bench/tune's two
 * spaces is measured once into a table, then the searches are replayed against it, many
 * seeds in a minute where a live bench/tune run needs most of an hour for ten.
 *
 * The table is a tuning log (`tune-table-<case>.jsonl` under LATHE_BENCH_TUNING_DIR, else
 * the bench tuning folder, bench/lib/tuned.ts): random search over the whole space, 3 timed runs per config,
 * 1 kernel thread. The first run measures it (about 20 minutes for the conv case's 3,600
 * configs, 7 for GEMM's 420; --quick's smaller cases also take about 20 minutes the first
 * time, g++ being most of each measurement); a killed run resumes, later runs reuse it. The best 2% of
 * configs are then measured twice more and a config's cost is the median of its records:
 * a table's top values are the luckiest of thousands of noisy measurements, and a replay
 * that kept them would credit a search that dwells near the top with that luck every
 * time (live, a re-measured config regresses to its mean). In a replay a trial looks its
 * config up and multiplies the cost by lognormal noise (σ = 3%, LATHE_TUNE_NOISE in
 * percent), so re-measuring a config does not repeat its value exactly.
 * The searches go through tuneTask as in bench/tune, with the same trials and batch
 * (LATHE_TUNE_TRIALS, LATHE_TUNE_BATCH) and LATHE_TUNE_SEEDS seeds (default 40); random
 * search runs on past the budget until it reaches 95% of the seed's xgb best, as there.
 *
 * Rows: bench/tune's (median over seeds of the trials to 95% of the xgb search's final best;
 * random search the baseline) and the trials to 95% of the table's 5th-best config (a target
 * that does not depend on the search's own luck). Notes: the share of 5- and 10-seed subsets
 * of the replayed seeds that meet the bar, i.e. the chance that a live verdict says "met".
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envCount } from "../lib/env.ts";
import { BenchReport, type BenchOptions } from "../lib/report.ts";
import { tuningLogPath } from "../lib/tuned.ts";
import { RANDOM_CAP, SEARCHES, barMet, bestCurve, randomUntil, trialsPerSeed, trialsToReach, tuneCases } from "../lib/tune-cases.ts";
import { Measurer, type MeasureFn, type MeasureResult } from "../../compiler/autotune/measure.ts";
import { appendRecord, configKey, makeRecord, median, readLog, recordCost, type Config, type TuneRecord } from "../../compiler/autotune/log.ts";
import { extractTasks, taskSpec } from "../../compiler/autotune/task.ts";
import { taskTemplate } from "../../compiler/targets/cpu/task-template.ts";
import { tuneTask } from "../../compiler/autotune/tuner.ts";
import { Rng } from "../../runtime/random.ts";
import { cpuTuning } from "../../compiler/targets/cpu/task-template.ts";

/** Replays measurements from a table: seconds per run by config key (null: it failed). */
export class TableMeasurer implements MeasureFn {
  readonly target = cpuTuning;
  readonly #rng: Rng;
  constructor(private readonly table: ReadonlyMap<string, number | null>, private readonly noise: number, seed: number) {
    this.#rng = new Rng(seed);
  }
  async measure(_task: unknown, config: Config): Promise<MeasureResult> {
    const cost = this.table.get(configKey(config));
    if (cost === undefined) return { costs: null, error: `config ${configKey(config)} is not in the table` };
    if (cost === null) return { costs: null, error: "failed when the table was measured" };
    return { costs: [cost * Math.exp(this.noise * this.#rng.normal())], error: null };
  }
  close(): void {}
}

/** Config key → median cost of its records (null when every record of it failed). */
export function tableOf(records: readonly TuneRecord[], key: (c: Config) => string): Map<string, number | null> {
  const costs = new Map<string, number[]>();
  for (const r of records) {
    const k = key(r.config);
    const c = recordCost(r);
    const l = costs.get(k) ?? [];
    if (c !== null) l.push(c);
    costs.set(k, l);
  }
  return new Map([...costs].map(([k, l]) => [k, l.length > 0 ? median(l) : null]));
}

/** The share of `k`-seed subsets (sampled) whose medians meet the bar. */
export function chanceMet(guided: readonly number[], random: readonly number[], k: number, samples = 4000, rng = new Rng(99)): number {
  if (guided.length < k) return barMet(guided, random) ? 1 : 0;
  let met = 0;
  for (let s = 0; s < samples; s++) {
    const pick = new Set<number>();
    while (pick.size < k) pick.add(rng.int(0, guided.length));
    const ix = [...pick];
    if (barMet(ix.map((i) => guided[i]!), ix.map((i) => random[i]!))) met++;
  }
  return met / samples;
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("tune-replay");
  const trials = envCount("LATHE_TUNE_TRIALS", opts.quick ? 12 : 96);
  const batch = envCount("LATHE_TUNE_BATCH", opts.quick ? 4 : 16);
  const nSeeds = envCount("LATHE_TUNE_SEEDS", opts.quick ? 10 : 40);
  const noise = (process.env.LATHE_TUNE_NOISE === undefined ? 3 : envCount("LATHE_TUNE_NOISE", 3)) / 100;
  report.note(`${trials} trials per search and seed, batches of ${batch}, seeds 1…${nSeeds}; replayed costs × lognormal noise σ = ${(noise * 100).toFixed(0)}%`);
  for (const c of tuneCases(opts.quick)) {
    const task = taskSpec(extractTasks(c.g)[0]!);
    const tpl = taskTemplate(task)!;
    const log = tuningLogPath(`tune-table-${c.name}`);
    const key = (cfg: Config) => configKey(tpl.space.complete(cfg));
    const records = () => readLog(log).filter((r) => r.task === task.key);
    const measurer = new Measurer({ target: cpuTuning, repeats: 3, threads: 1 });
    try {
      // Random search over the whole space (resumes a partial table).
      await tuneTask(task, { trials: tpl.space.size, measurer, log, model: "random", seed: 0, batch: 64, space: tpl.space, flops: tpl.flops });
      // The top 2%, to three records each (resumes too: counts what the log holds).
      const recs = records();
      const top = [...tableOf(recs, key)].filter(([, c]) => c !== null).sort((a, b) => a[1]! - b[1]!).slice(0, Math.ceil(0.02 * tpl.space.size));
      const count = new Map<string, { config: Config; n: number }>();
      for (const r of recs) {
        const seen = count.get(key(r.config));
        if (seen) seen.n++;
        else count.set(key(r.config), { config: tpl.space.complete(r.config), n: 1 });
      }
      for (const [k] of top) {
        const { config, n: had } = count.get(k)!;
        for (let n = had; n < 3; n++) {
          const m = await measurer.measure(task, config);
          appendRecord(log, makeRecord(task.key, config, m.costs, m.error));
        }
      }
    } finally {
      measurer.close();
    }
    const table = tableOf(records(), key);
    const gflops = [...table.values()].filter((x): x is number => x !== null && x > 0).map((x) => tpl.flops / x / 1e9).sort((a, b) => b - a);
    const fifth = gflops[Math.min(4, gflops.length - 1)]!;
    report.note(`${c.name}: table ${log}: ${table.size} of ${tpl.space.size} configs, ${gflops.length} ran; best ${gflops[0]!.toFixed(1)} GFLOP/s, 5th ${fifth.toFixed(1)}, ${gflops.filter((g) => g >= 0.95 * fifth).length} configs within 95% of the 5th`);

    const curves = new Map<string, number[][]>();
    const scratch = mkdtempSync(join(tmpdir(), "lathe-bench-tune-replay-"));
    try {
      for (const search of SEARCHES) { // random last: it runs on until it reaches xgb's 95% (as in bench/tune)
        const mine: number[][] = [];
        for (let seed = 1; seed <= nSeeds; seed++) {
          const replayer = new TableMeasurer(table, noise, seed * 7919);
          const tuneTo = async (n: number, log?: string) =>
            (await tuneTask(task, { trials: n, batch, measurer: replayer, model: search, seed, space: tpl.space, flops: tpl.flops, ...(log ? { log } : {}) })).history;
          if (search !== "random") mine.push(bestCurve(await tuneTo(trials)));
          else {
            const target = 0.95 * (curves.get("xgb")![seed - 1]!.at(-1) ?? 0);
            mine.push(await randomUntil((n) => tuneTo(n, join(scratch, `random-${seed}.jsonl`)), trials, RANDOM_CAP * trials, target));
          }
        }
        curves.set(search, mine);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const per = (s: string) => trialsPerSeed(curves.get(s)!, curves.get("xgb")!);
    // Within the trial budget, for every search (random search's extension is for the bar's rows).
    const toFifth = (s: string) => median(curves.get(s)!.map((cv) => trialsToReach(cv.slice(0, trials), 0.95 * fifth)));
    for (const search of ["xgb", "sa"]) {
      report.row({ case: `${c.name} ${search}`, threads: 1, metric: "trials to 95% of xgb best", better: "lower", lathe: median(per(search)), baseline: "random search", baselineValue: median(per("random")) });
      report.row({ case: `${c.name} ${search}`, threads: 1, metric: "trials to 95% of the table's 5th best", better: "lower", lathe: toFifth(search), baseline: "random search", baselineValue: toFifth("random") });
    }
    const met = barMet(per("xgb"), per("random"));
    const chance = [5, 10].map((k) => `${k} seeds ${chanceMet(per("xgb"), per("random"), k).toFixed(2)}`).join(", ");
    report.note(`${c.name}: bar over all ${nSeeds} seeds: ${met ? "met" : "NOT met"}; share of seed subsets meeting it (a live run's chance of saying "met"; bench/tune runs 10): ${chance}`);
  }
  return report;
}
