/**
 * Tuning one task end to end: the explorer proposes configs, the measurer builds and times
 * them in a child process, each result is appended to the tuning log before the next
 * measurement starts, and the cost model is refit after every batch. A run killed at any
 * moment resumes from the log: measured configs (failures included) are never measured
 * again, and `trials` counts what the log already holds for the task.
 *
 * Every record carries the target's fingerprint (TuningTarget.fingerprint). Only records of
 * the current fingerprint are resumed; the task's records of another compiler or host (and
 * those written before fingerprints existed) stay in the log untouched but count for nothing:
 * neither toward `trials` nor as measured, so their configs may be measured again. A warning
 * says how many were set aside.
 */
import { Rng } from "../../runtime/random.ts";
import { LatheError } from "../../core/errors.ts";
import { NearestModel, RandomModel, XGBModel, tune, type CostModel, type Measured } from "./explore.ts";
import { appendRecord, describeStale, makeRecord, readLog, recordCost, splitByFingerprint, type Config, type TuneRecord } from "./log.ts";
import type { MeasureFn } from "./measure.ts";
import type { ConfigSpace } from "./space.ts";
import { taskSpec, type TaskSpec } from "./task.ts";
import type { TransferModel } from "./transfer.ts";

export type SearchKind = "xgb" | "sa" | "random";
export const SEARCH_KINDS: readonly SearchKind[] = ["xgb", "sa", "random"];

export interface TuneTaskOptions {
  /** Measurements the log should hold for this task when done (earlier runs' included). */
  readonly trials: number;
  /** Builds and times configs (a Measurer; tests pass a synthetic one). */
  readonly measurer: MeasureFn;
  /** The tuning log (JSON lines); absent: nothing is written or resumed. */
  readonly log?: string;
  /** Cost model guiding the search (default "xgb"). */
  readonly model?: SearchKind;
  readonly seed?: number;
  /** Configs per batch (default 64). */
  readonly batch?: number;
  /** XGBoost threads (default 1). */
  readonly nthread?: number;
  /** The space (default: the task's template's). */
  readonly space?: ConfigSpace;
  /** Operations per run, for GFLOP/s (default: the template's count). */
  readonly flops?: number;
  /**
   * A config measured first (the template's `defaultConfig`: the default schedule), so the
   * tuned result is never worse than not tuning. Taken from the task's own template when
   * `space` is not given.
   */
  readonly defaultConfig?: Config;
  /** A model trained on other tasks' logs: picks the first batch when the task has no records. */
  readonly transfer?: TransferModel;
  /** Annealing steps per batch (default: the explorer's). */
  readonly steps?: number;
  /** After every measurement. */
  readonly onMeasured?: (progress: TuneProgress) => void;
  readonly onWarning?: (message: string) => void;
}

export interface TuneProgress {
  readonly task: string;
  /** Measurements of this task so far (resumed ones included). */
  readonly done: number;
  readonly trials: number;
  /** Best GFLOP/s so far, or null when nothing has succeeded. */
  readonly bestGflops: number | null;
  readonly last: { readonly config: Config; readonly gflops: number | null; readonly error: string | null };
}

export interface TuneTaskResult {
  readonly best: { readonly config: Config; readonly gflops: number } | null;
  /** Every measurement of the task in order (resumed ones first); scores are GFLOP/s, -Infinity for failures. */
  readonly history: readonly Measured[];
  /** How many this run measured (the rest came from the log). */
  readonly measuredNow: number;
}

/** GFLOP/s of a record (median cost), -Infinity for a failure. */
export function recordGflops(r: TuneRecord, flops: number): number {
  const c = recordCost(r);
  return c === null || c <= 0 ? -Infinity : flops / c / 1e9;
}

export function makeModel(kind: SearchKind, space: ConfigSpace, seed: number, nthread = 1): CostModel {
  if (kind === "xgb") return new XGBModel(space, { seed, params: { nthread } });
  if (kind === "sa") return new NearestModel(space, new Rng(seed ^ 0x5a));
  if (kind === "random") return new RandomModel(new Rng(seed ^ 0x7e));
  throw new LatheError(`unknown search model "${String(kind)}" (known: ${SEARCH_KINDS.join(", ")})`);
}

export async function tuneTask(task: TaskSpec, opts: TuneTaskOptions): Promise<TuneTaskResult> {
  const spec = taskSpec(task);
  const template = opts.space === undefined || opts.flops === undefined ? opts.measurer.target.template(spec) : null;
  const space = opts.space ?? template?.space;
  const flops = opts.flops ?? template?.flops;
  if (space === undefined || flops === undefined) throw new LatheError(`task ${spec.key} has no schedule template to tune`);
  if (!(Number.isInteger(opts.trials) && opts.trials >= 0)) throw new LatheError(`tuneTask: trials must be an integer >= 0, got ${opts.trials}`);
  const seed = opts.seed ?? 0;
  const fingerprint = opts.measurer.target.fingerprint?.();
  const ofTask = opts.log ? readLog(opts.log, { onWarning: opts.onWarning }).filter((r) => r.task === spec.key) : [];
  // A task's spec does not depend on the compiler: a stale record's spec serves transfer too.
  let withSpec = ofTask.some((r) => r.spec !== undefined);
  const { current: earlier, staleCounts } = splitByFingerprint(ofTask, fingerprint);
  if (staleCounts.size > 0) {
    opts.onWarning?.(`task ${spec.key}: ${describeStale(staleCounts)} not resumed (this one is ${fingerprint}): they stay in the log, and their configs may be measured again`);
  }
  // Records from before a knob existed mean its default value.
  const initial: Measured[] = earlier.map((r) => ({ config: space.complete(r.config), score: recordGflops(r, flops) })).filter((m) => space.contains(m.config));
  const trials = Math.min(opts.trials, space.size);
  let best = initial.reduce<number | null>((b, m) => (Number.isFinite(m.score) && (b === null || m.score > b) ? m.score : b), null);
  let done = new Set(initial.map((m) => space.key(m.config))).size;
  let measuredNow = 0;

  const model = makeModel(opts.model ?? "xgb", space, seed, opts.nthread ?? 1);
  const measure = async (config: Config): Promise<number> => {
    const r = await opts.measurer.measure(spec, config);
    const made = makeRecord(spec.key, config, r.costs, r.error, r.fingerprint ?? fingerprint);
    const rec: TuneRecord = r.origin ? { ...made, ...r.origin } : made;
    // The first record of a task in a log carries its spec (for transfer from this log later).
    const line: TuneRecord = withSpec ? rec : { ...rec, spec };
    if (opts.log) appendRecord(opts.log, line);
    withSpec = true;
    measuredNow++;
    done++;
    const g = recordGflops(line, flops);
    if (Number.isFinite(g) && (best === null || g > best)) best = g;
    opts.onMeasured?.({ task: spec.key, done, trials, bestGflops: best, last: { config, gflops: Number.isFinite(g) ? g : null, error: r.error } });
    return g;
  };
  const rng = new Rng(seed);
  // The first batch starts with the default schedule's config (when the template has one), so a
  // tuned result is never worse than not tuning; a transfer model picks the rest.
  const wanted = opts.defaultConfig ?? template?.defaultConfig;
  const def = wanted && space.contains(wanted) ? wanted : undefined;
  const picks = opts.transfer ? (n: number) => opts.transfer!.pick(spec, space, n, new Rng(seed ^ 0x3c)) : undefined;
  const firstBatch = def || picks ? (n: number) => [...(def ? [def] : []), ...(picks ? picks(def ? n - 1 : n) : [])] : undefined;
  try {
    // A resumed task whose log lacks the default config (a log from before it was seeded, or
    // another search's) measures it now, even past `trials`: the never-worse promise holds.
    if (def && initial.length > 0 && !initial.some((m) => space.key(m.config) === space.key(def))) {
      initial.push({ config: def, score: await measure(def) });
    }
    const r = await tune(space, measure, model, {
      trials, initial, rng, batchSize: opts.batch ?? 64, firstBatch, ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
      ...(opts.measurer.prefetch ? { beforeBatch: (batch: readonly Config[]) => opts.measurer.prefetch!(spec, batch) } : {}),
    });
    return { best: r.best ? { config: r.best.config, gflops: r.best.score } : null, history: r.history, measuredNow };
  } finally {
    if (model instanceof XGBModel) model.dispose();
  }
}


/**
 * Splits `total` trials across tasks in proportion to their estimated share of run time
 * (`weight`: FLOPs × how many kernels share the task), never more than a task's space holds
 * (`cap`); what a capped task cannot use goes to the others. Largest remainders round, ties to
 * the earlier task, so the split is deterministic and sums to min(total, Σ caps).
 */
export function allocateTrials(total: number, tasks: readonly { readonly weight: number; readonly cap: number }[]): number[] {
  if (!(Number.isInteger(total) && total >= 0)) throw new LatheError(`allocateTrials: total must be an integer >= 0, got ${total}`);
  const out = tasks.map(() => 0);
  let left = Math.min(total, tasks.reduce((s, t) => s + t.cap, 0));
  let open = tasks.map((_, i) => i).filter((i) => tasks[i]!.cap > 0);
  while (left > 0 && open.length > 0) {
    const w = open.reduce((s, i) => s + Math.max(tasks[i]!.weight, 0), 0);
    const share = open.map((i) => (w > 0 ? (left * Math.max(tasks[i]!.weight, 0)) / w : left / open.length));
    const give = share.map((s, k) => Math.min(Math.floor(s), tasks[open[k]!]!.cap - out[open[k]!]!));
    let rest = left - give.reduce((a, b) => a + b, 0);
    const byRemainder = open.map((_, k) => k).sort((a, b) => (share[b]! - Math.floor(share[b]!)) - (share[a]! - Math.floor(share[a]!)) || a - b);
    for (const k of byRemainder) {
      if (rest === 0) break;
      if (out[open[k]!]! + give[k]! < tasks[open[k]!]!.cap) { give[k]!++; rest--; }
    }
    open.forEach((i, k) => { out[i]! += give[k]!; });
    left -= give.reduce((a, b) => a + b, 0);
    if (give.every((g) => g === 0)) break;
    open = open.filter((i) => out[i]! < tasks[i]!.cap);
  }
  return out;
}
