/**
 * The explorer: parallel simulated annealing over a config space, guided by a cost model,
 * proposing batches of configs to measure (AutoTVM's ModelBasedTuner + SimulatedAnnealingOptimizer).
 *
 *   const explorer = new Explorer(space, new XGBModel({ seed: 1 }), { rng: new Rng(1) });
 *   const batch = explorer.nextBatch(measuredKeys);   // never a measured config, no duplicates
 *
 * `tune` is the whole loop: propose a batch, measure it, refit the model on everything
 * measured so far, repeat until `trials` configs are measured or the space is exhausted.
 */
import { LatheError } from "../../core/errors.ts";
import { Rng, permutation } from "../../runtime/random.ts";
import { Booster, DMatrix, type BoosterParams } from "./xgboost.ts";
import { configKey, type Config } from "./log.ts";
import type { ConfigSpace } from "./space.ts";
import { MeasurementError } from "./measure.ts";

/** Predicts a score per config, higher = better (only the order matters). */
export interface CostModel {
  /** Refits on every measurement so far (scores: higher is better; non-finite = failed). */
  fit(configs: readonly Config[], scores: readonly number[]): Promise<void>;
  predict(configs: readonly Config[]): Float32Array;
  /**
   * False while the model has learned nothing (its predictions are noise): the explorer then
   * spreads its picks over the space (Explorer.nextBatch). Absent: the model is always used.
   */
  readonly informed?: boolean;
}

/** Random scores: with it, the explorer's annealing is a random search (the baseline). */
export class RandomModel implements CostModel {
  readonly #rng: Rng;
  constructor(rng: Rng = new Rng(0)) {
    this.#rng = rng;
  }
  async fit(): Promise<void> {}
  predict(configs: readonly Config[]): Float32Array {
    return Float32Array.from(configs, () => this.#rng.float());
  }
}

/**
 * No learned model: a config scores as the best measured config within `radius` knob steps
 * of it (positions in each knob's list, summed), with random tie-breaking; unmeasured regions
 * score lowest. The explorer's annealing then walks out from the best measurements — plain
 * simulated annealing on measured costs (the "sa" search of `lathe tune`).
 */
export class NearestModel implements CostModel {
  readonly #space: ConfigSpace;
  readonly #rng: Rng;
  readonly #radius: number;
  #points: { pos: number[]; score: number }[] = [];

  get informed(): boolean {
    return this.#points.length > 0;
  }

  constructor(space: ConfigSpace, rng: Rng = new Rng(0), radius = 2) {
    this.#space = space;
    this.#rng = rng;
    this.#radius = radius;
  }

  async fit(configs: readonly Config[], scores: readonly number[]): Promise<void> {
    const finite = scores.filter((x) => Number.isFinite(x));
    const lo = finite.length ? Math.min(...finite) : 0, hi = finite.length ? Math.max(...finite) : 1;
    this.#points = configs.map((c, i) => ({
      pos: this.#space.positions(c),
      // Rescaled to [0, 1] so the tie-breaking noise below is small against real differences.
      score: Number.isFinite(scores[i]!) ? (hi > lo ? (scores[i]! - lo) / (hi - lo) : 1) : 0,
    }));
  }

  predict(configs: readonly Config[]): Float32Array {
    return Float32Array.from(configs, (c) => {
      const pos = this.#space.positions(c);
      let best = -1;
      for (const p of this.#points) {
        let d = 0;
        for (let k = 0; k < pos.length && d <= this.#radius; k++) d += Math.abs(pos[k]! - p.pos[k]!);
        if (d <= this.#radius) best = Math.max(best, p.score - 0.1 * d);
      }
      return best + 1e-3 * this.#rng.float();
    });
  }
}

export interface XGBModelOptions {
  /** Boosting rounds per fit (default 40). */
  readonly rounds?: number;
  /** Seed for XGBoost and for the random scores given before the first fit. */
  readonly seed?: number;
  /** Extra booster parameters (override the defaults below; nthread defaults to 1). */
  readonly params?: Readonly<Record<string, string | number>>;
}

/**
 * XGBoost with the `rank:pairwise` objective on the space's knobFeatures, one query group
 * holding every measurement; labels are the scores rescaled to [0, 1] (failed = 0).
 * Before its first fit it predicts random scores (and is not `informed`).
 */
export class XGBModel implements CostModel {
  readonly #space: ConfigSpace;
  readonly #rounds: number;
  readonly #params: BoosterParams;
  readonly #rng: Rng;
  #booster: Booster | undefined;

  constructor(space: ConfigSpace, opts: XGBModelOptions = {}) {
    this.#space = space;
    this.#rounds = opts.rounds ?? 40;
    const seed = opts.seed ?? 0;
    this.#rng = new Rng(seed);
    this.#params = {
      objective: "rank:pairwise",
      nthread: 1,
      max_depth: 3,
      eta: 0.3,
      gamma: 0.0001,
      min_child_weight: 1,
      subsample: 1,
      lambda: 1,
      alpha: 0,
      seed,
      ...opts.params,
    } as BoosterParams;
  }

  get fitted(): boolean {
    return this.#booster !== undefined;
  }

  get informed(): boolean {
    return this.fitted;
  }

  async fit(configs: readonly Config[], scores: readonly number[]): Promise<void> {
    if (configs.length !== scores.length) throw new LatheError(`XGBModel.fit: ${configs.length} configs but ${scores.length} scores`);
    if (configs.length < 2) return;
    const finite = scores.filter((s) => Number.isFinite(s));
    const lo = finite.length ? Math.min(...finite) : 0;
    const hi = finite.length ? Math.max(...finite) : 0;
    if (!(hi > lo)) return; // nothing to rank yet
    const labels = Float32Array.from(scores, (s) => (Number.isFinite(s) ? (s - lo) / (hi - lo) : 0));
    const d = DMatrix.fromArray(this.#space.featureMatrix(configs), configs.length, this.#space.names.length, {
      labels,
      groups: Uint32Array.of(configs.length),
    });
    const booster = new Booster(this.#params, [d]);
    try {
      await booster.train(d, this.#rounds);
    } catch (e) {
      booster.dispose();
      d.dispose();
      throw e;
    }
    d.dispose();
    this.#booster?.dispose();
    this.#booster = booster;
  }

  predict(configs: readonly Config[]): Float32Array {
    if (configs.length === 0) return new Float32Array(0);
    if (this.#booster === undefined) return Float32Array.from(configs, () => this.#rng.float());
    const d = DMatrix.fromArray(this.#space.featureMatrix(configs), configs.length, this.#space.names.length);
    try {
      return this.#booster.predict(d);
    } finally {
      d.dispose();
    }
  }

  dispose(): void {
    this.#booster?.dispose();
    this.#booster = undefined;
  }
}

export interface ExplorerOptions {
  /** Configs per batch (default 64). */
  readonly batchSize?: number;
  /** Share of each batch picked uniformly at random instead of by the model (default 0.05). */
  readonly epsilon?: number;
  /** Seeded randomness (default new Rng(0)). */
  readonly rng?: Rng;
  /** Number of annealing chains run side by side (default 8). */
  readonly parallel?: number;
  /** Annealing steps per batch (default 150). */
  readonly steps?: number;
  /** Starting temperature, in units of the spread of the chains' predicted scores (default 1). */
  readonly temperature?: number;
}

/** model: the annealing's best predictions; random: the ε share; spread: a space-filling batch. */
export type PickOrigin = "model" | "random" | "spread";

export class Explorer {
  readonly space: ConfigSpace;
  readonly model: CostModel;
  readonly batchSize: number;
  readonly epsilon: number;
  readonly parallel: number;
  readonly steps: number;
  readonly temperature: number;
  readonly #rng: Rng;
  /** Chain positions (indices), kept between batches. */
  #chains: number[] = [];
  /** Where each config of the last batch came from, parallel to it. */
  lastOrigins: PickOrigin[] = [];

  constructor(space: ConfigSpace, model: CostModel, opts: ExplorerOptions = {}) {
    this.space = space;
    this.model = model;
    this.batchSize = opts.batchSize ?? 64;
    this.epsilon = opts.epsilon ?? 0.05;
    this.parallel = opts.parallel ?? 8;
    this.steps = opts.steps ?? 150;
    this.temperature = opts.temperature ?? 1;
    this.#rng = opts.rng ?? new Rng(0);
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1)) throw new LatheError(`Explorer: batchSize must be an integer >= 1, got ${this.batchSize}`);
    if (!(this.epsilon >= 0 && this.epsilon <= 1)) throw new LatheError(`Explorer: epsilon must be in [0, 1], got ${this.epsilon}`);
    if (!(Number.isInteger(this.parallel) && this.parallel >= 1)) throw new LatheError(`Explorer: parallel must be an integer >= 1, got ${this.parallel}`);
    if (!(Number.isInteger(this.steps) && this.steps >= 0)) throw new LatheError(`Explorer: steps must be an integer >= 0, got ${this.steps}`);
  }

  /**
   * Up to batchSize configs to measure next (fewer only when the space has fewer unmeasured
   * configs): round((1−ε)·batchSize) of the best the annealing found by predicted score,
   * the rest uniformly random; none in `measured` (configKey strings), no duplicates.
   * While the model is not `informed` the model's share is a space-filling batch instead
   * (see #spread).
   */
  nextBatch(measured: ReadonlySet<string>): Config[] {
    const space = this.space;
    const rng = this.#rng;
    const taken = new Set<number>(); // indices in this batch
    const isFree = (i: number): boolean => !taken.has(i) && !measured.has(configKey(space.get(i)));
    // Free configs, counted once; used when the space is nearly exhausted.
    let freeLeft = 0;
    if (measured.size >= space.size - this.batchSize) {
      for (let i = 0; i < space.size; i++) if (isFree(i)) freeLeft++;
    } else freeLeft = space.size - measured.size; // upper bound is exact when measured ⊆ space
    const want = Math.min(this.batchSize, freeLeft);
    const nRandom = Math.min(want, Math.round(this.epsilon * want));
    const nModel = want - nRandom;

    const batch: Config[] = [];
    const origins: PickOrigin[] = [];
    const push = (i: number, o: PickOrigin): void => {
      taken.add(i);
      batch.push(space.get(i));
      origins.push(o);
    };

    if (nModel > 0 && this.model.informed === false) for (const i of this.#spread(nModel, isFree)) push(i, "spread");
    else if (nModel > 0) for (const i of this.#anneal(nModel, isFree)) push(i, "model");
    // Model picks short (annealing visited too few free configs): fill with random ones.
    const randomPick = (): number => {
      for (let tries = 0; tries < 64; tries++) {
        const i = rng.int(0, space.size);
        if (isFree(i)) return i;
      }
      const start = rng.int(0, space.size); // dense space: scan from a random point
      for (let k = 0; k < space.size; k++) {
        const i = (start + k) % space.size;
        if (isFree(i)) return i;
      }
      return -1;
    };
    while (batch.length < want) {
      const i = randomPick();
      if (i < 0) break;
      push(i, "random");
    }
    this.lastOrigins = origins;
    return batch;
  }

  /**
   * Up to `k` free indices spread over the space, for a model's first fit (a Latin-hypercube
   * design over knob positions): each knob's values are dealt out in shuffled rounds, so
   * every value appears ⌊k/n⌋ or ⌈k/n⌉ times, and the knobs are paired at random. A model fit
   * on such a batch sees every value of every knob; on a uniformly random one, a knob's rare
   * good value is often missing. Replayed against bench/tune's conv space measured whole
   * (bench/tune-replay's table, 2 × 100 seeds), it cut the median trials XGBoost needed to
   * come within 5% of the table's 5th-best config from 76–78 to 50–61; on the GEMM space
   * (420 configs) nothing changed. Collisions with measured configs or each other are
   * dropped (the caller fills up at random).
   */
  #spread(k: number, isFree: (i: number) => boolean): number[] {
    const space = this.space;
    const columns = space.values.map((vs) => {
      const col: number[] = [];
      while (col.length < k) col.push(...permutation(vs.length, this.#rng));
      // The last round may be cut short: shuffle again so which values it drops is random too.
      return permutation(k, this.#rng).map((i) => col[i]!);
    });
    const out: number[] = [];
    const seen = new Set<number>();
    for (let r = 0; r < k; r++) {
      const i = space.indexAt(columns.map((col) => col[r]!));
      if (!seen.has(i) && isFree(i)) out.push(i);
      seen.add(i);
    }
    return out;
  }

  /** Runs the chains; returns up to `k` free indices with the best predicted scores seen. */
  #anneal(k: number, isFree: (i: number) => boolean): number[] {
    const space = this.space;
    const rng = this.#rng;
    const cache = new Map<number, number>(); // the model is fixed during one batch
    const score = (idx: readonly number[]): number[] => {
      const miss = [...new Set(idx.filter((i) => !cache.has(i)))];
      if (miss.length > 0) {
        const p = this.model.predict(miss.map((i) => space.get(i)));
        miss.forEach((i, j) => cache.set(i, p[j]!));
      }
      return idx.map((i) => cache.get(i)!);
    };
    while (this.#chains.length < this.parallel) this.#chains.push(rng.int(0, space.size));
    // Restart half the chains at random points so the search does not collapse on one region.
    for (let c = 0; c < this.parallel; c++) if (rng.float() < 0.5) this.#chains[c] = rng.int(0, space.size);
    let cur = this.#chains.slice();
    let curScore = score(cur);
    const mean = curScore.reduce((a, b) => a + b, 0) / curScore.length;
    const spread = Math.sqrt(curScore.reduce((a, b) => a + (b - mean) ** 2, 0) / curScore.length);
    const t0 = this.temperature * (spread > 0 ? spread : 1);
    for (let step = 0; step < this.steps; step++) {
      const t = t0 * (1 - step / this.steps);
      const next = cur.map((i) => space.randomNeighbor(i, rng));
      const nextScore = score(next);
      for (let c = 0; c < cur.length; c++) {
        const d = nextScore[c]! - curScore[c]!;
        if (d >= 0 || (t > 0 && rng.float() < Math.exp(d / t))) {
          cur[c] = next[c]!;
          curScore[c] = nextScore[c]!;
        }
      }
    }
    this.#chains = cur;
    // Best free configs among everything visited (ties: first visited).
    const visited = [...cache.entries()].filter(([i]) => isFree(i));
    visited.sort((a, b) => b[1] - a[1]);
    return visited.slice(0, k).map(([i]) => i);
  }
}

export interface TuneOptions extends ExplorerOptions {
  /** Configs measured in all, `initial` included (default 256; capped at the space's size). */
  readonly trials?: number;
  /** Earlier measurements (a resumed run's log): not measured again, counted in trials, fitted first. */
  readonly initial?: readonly Measured[];
  /** Picks the first batch when nothing is measured yet (a transfer model's seeds); the explorer otherwise. */
  readonly firstBatch?: (size: number) => Config[];
  /** Called with each batch before its first config is measured (a measurer that runs them side by side starts them). */
  readonly beforeBatch?: (batch: readonly Config[]) => void;
  /** Called after each batch is measured (e.g. a progress bar or appending to the tuning log). */
  readonly onBatch?: (batch: readonly Measured[], best: Measured) => void;
}

export interface Measured {
  readonly config: Config;
  /** Higher is better; -Infinity/NaN for a failed measurement (a MeasurementError thrown by `measure`). */
  readonly score: number;
}

export interface TuneResult {
  /** The best measurement (undefined only when nothing succeeded). */
  readonly best: Measured | undefined;
  /** Every measurement, in order. */
  readonly history: readonly Measured[];
}

/**
 * Measures batches proposed by the explorer, refitting the model after each, until `trials`.
 * `measure` throws MeasurementError (measure.ts) for a config that fails to build, crashes,
 * hangs or computes a wrong result: it scores -Infinity. Any other exception propagates.
 */
export async function tune(
  space: ConfigSpace,
  measure: (c: Config) => number | Promise<number>,
  model: CostModel,
  opts: TuneOptions = {},
): Promise<TuneResult> {
  const trials = Math.min(opts.trials ?? 256, space.size);
  const explorer = new Explorer(space, model, opts);
  const measured = new Set<string>();
  const history: Measured[] = [];
  let best: Measured | undefined;
  for (const m of opts.initial ?? []) {
    const key = configKey(m.config);
    if (measured.has(key)) continue;
    measured.add(key);
    history.push(m);
    if (Number.isFinite(m.score) && (best === undefined || m.score > best.score)) best = m;
  }
  if (history.length > 0 && history.length < trials) await model.fit(history.map((h) => h.config), history.map((h) => h.score));
  let first = history.length === 0 && opts.firstBatch !== undefined;
  while (history.length < trials) {
    let batch = first ? opts.firstBatch!(explorer.batchSize).filter((c) => !measured.has(configKey(c))) : [];
    if (batch.length === 0) batch = explorer.nextBatch(measured);
    first = false;
    if (batch.length === 0) break;
    batch = batch.slice(0, trials - history.length);
    opts.beforeBatch?.(batch);
    const done: Measured[] = [];
    for (const config of batch) {
      let score: number;
      try {
        score = await measure(config);
      } catch (e) {
        // Only a measurement failure is a failed config; anything else is a bug to surface.
        if (!(e instanceof MeasurementError)) throw e;
        score = -Infinity;
      }
      if (typeof score !== "number" || Number.isNaN(score)) score = -Infinity;
      const m = { config, score };
      done.push(m);
      history.push(m);
      measured.add(configKey(config));
      if (Number.isFinite(score) && (best === undefined || score > best.score)) best = m;
    }
    if (best !== undefined) opts.onBatch?.(done, best);
    if (history.length < trials) await model.fit(history.map((h) => h.config), history.map((h) => h.score));
  }
  return { best, history };
}
