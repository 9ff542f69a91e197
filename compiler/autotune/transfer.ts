/**
 * Transfer between tasks: an XGBoost model on the curve features of lowered kernels
 * (features.ts — they do not depend on how many loops a kernel has, so one model serves
 * tasks of any shape) trained on earlier tuning logs, used to pick the first batch of a
 * task that has no measurements of its own. After that batch the task's own knob-feature
 * model takes over (explore.ts XGBModel).
 *
 *   const tm = await TransferModel.train(readLog("old.jsonl"));
 *   tuneTask(task, { ..., transfer: tm });
 */
import { Rng } from "../../runtime/random.ts";
import { LatheError } from "../../core/errors.ts";
import { curveFeatures, CURVE_LENGTH } from "./features.ts";
import { configKey, recordCost, type Config, type TuneRecord } from "./log.ts";
import type { ConfigSpace } from "./space.ts";
import type { TaskSpec } from "./task.ts";
import type { TuningTarget } from "./tuning-target.ts";
import { Booster, DMatrix, type BoosterParams } from "./xgboost.ts";

export interface TransferOptions {
  /** The target whose kernels give the curve features (its tuning templates). */
  readonly target: TuningTarget;
  readonly seed?: number;
  readonly rounds?: number;
  /** Candidates of the new task scored per pick (default 4 × the batch, at most the space). */
  readonly sample?: number;
}

/** Curve features of one config's kernel. */
export function configCurve(target: TuningTarget, task: TaskSpec, config: Config): Float32Array {
  return curveFeatures(target.lower(task, config, "candidate"));
}

/**
 * Each feature minus its mean over one task's configs. Curve features carry the task's size
 * (the reuse plateau at large footprints is the whole problem's), which differs between
 * tasks; centred, what remains is how configs of a task differ from each other — the part
 * that transfers.
 */
function centre(rows: readonly Float32Array[]): Float32Array[] {
  const mean = new Float64Array(CURVE_LENGTH);
  for (const r of rows) for (let j = 0; j < CURVE_LENGTH; j++) mean[j]! += r[j]! / rows.length;
  return rows.map((r) => Float32Array.from(r, (x, j) => x - mean[j]!));
}

export class TransferModel {
  readonly #booster: Booster;
  readonly #sample: number | undefined;
  /** Tasks and measurements it was trained on. */
  readonly tasks: number;
  readonly records: number;

  private constructor(private readonly target: TuningTarget, booster: Booster, tasks: number, records: number, sample: number | undefined) {
    this.#booster = booster;
    this.tasks = tasks;
    this.records = records;
    this.#sample = sample;
  }

  /**
   * Trains on every successful record whose task's spec appears in the log (tuner.ts writes it
   * with a task's first record). Labels are each task's speeds relative to its best (a
   * `rank:pairwise` query group per task), so fast and slow tasks weigh the same.
   * Returns null when the records hold fewer than two distinct speeds.
   */
  static async train(records: readonly TuneRecord[], opts: TransferOptions): Promise<TransferModel | null> {
    const specs = new Map<string, TaskSpec>();
    for (const r of records) if (r.spec !== undefined && !specs.has(r.task)) specs.set(r.task, r.spec as TaskSpec);
    const rows: Float32Array[] = [], labels: number[] = [], groups: number[] = [];
    for (const [key, spec] of specs) {
      const seen = new Set<string>();
      const mine: { f: Float32Array; speed: number }[] = [];
      for (const r of records) {
        const cost = r.task === key ? recordCost(r) : null;
        if (cost === null || cost <= 0 || seen.has(configKey(r.config))) continue;
        seen.add(configKey(r.config));
        try {
          mine.push({ f: configCurve(opts.target, spec, r.config), speed: 1 / cost });
        } catch {
          // A config this build's template no longer accepts: skip it.
        }
      }
      if (mine.length < 2) continue;
      const top = Math.max(...mine.map((m) => m.speed));
      const centred = centre(mine.map((m) => m.f));
      mine.forEach((m, i) => { rows.push(centred[i]!); labels.push(m.speed / top); });
      groups.push(mine.length);
    }
    if (rows.length < 2 || new Set(labels).size < 2) return null;
    const X = new Float32Array(rows.length * CURVE_LENGTH);
    rows.forEach((r, i) => X.set(r, i * CURVE_LENGTH));
    const d = DMatrix.fromArray(X, rows.length, CURVE_LENGTH, { labels: Float32Array.from(labels), groups: Uint32Array.from(groups) });
    const seed = opts.seed ?? 0;
    const params: BoosterParams = { objective: "rank:pairwise", nthread: 1, max_depth: 4, eta: 0.3, min_child_weight: 1, seed };
    const booster = new Booster(params, [d]);
    try {
      await booster.train(d, opts.rounds ?? 60);
    } finally {
      d.dispose();
    }
    return new TransferModel(opts.target, booster, groups.length, rows.length, opts.sample);
  }

  /**
   * Predicted scores (higher = faster) for configs of a task, relative to each other: the
   * features are centred over `configs`, as they were over each task's records in training.
   */
  predict(task: TaskSpec, configs: readonly Config[]): Float32Array {
    if (configs.length === 0) return new Float32Array(0);
    const X = new Float32Array(configs.length * CURVE_LENGTH);
    centre(configs.map((c) => configCurve(this.target, task, c))).forEach((f, i) => X.set(f, i * CURVE_LENGTH));
    const d = DMatrix.fromArray(X, configs.length, CURVE_LENGTH);
    try {
      return this.#booster.predict(d);
    } finally {
      d.dispose();
    }
  }

  /** The `n` best-predicted of a seeded random sample of distinct configs. */
  pick(task: TaskSpec, space: ConfigSpace, n: number, rng: Rng = new Rng(0)): Config[] {
    if (!(Number.isInteger(n) && n >= 0)) throw new LatheError(`TransferModel.pick: n must be an integer >= 0, got ${n}`);
    const want = Math.min(space.size, this.#sample ?? 4 * n);
    const idx = new Set<number>();
    if (want >= space.size) for (let i = 0; i < space.size; i++) idx.add(i);
    while (idx.size < want) idx.add(rng.int(0, space.size));
    const cands = [...idx].map((i) => space.get(i));
    const p = this.predict(task, cands);
    const order = cands.map((_, i) => i).sort((a, b) => p[b]! - p[a]! || a - b);
    return order.slice(0, n).map((i) => cands[i]!);
  }

  dispose(): void {
    this.#booster.dispose();
  }
}
