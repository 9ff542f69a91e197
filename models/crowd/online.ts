/**
 * Online Dawid–Skene: labels arrive in batches; the model keeps streaming-EM sufficient
 * statistics (Cappé & Moulines, 2009) and blends each batch in with a decaying step.
 *
 * State: stats[w, c, l] (confusion mass per label seen) and mass[c] (class mass per item),
 * both running averages. Batch t (t = 0, 1, …) uses the step ρ_t = (t + τ)^−κ, with τ = 1
 * and κ = 0.7 by default (κ in (0.5, 1] makes Σρ diverge and Σρ² converge; τ = 1 makes
 * ρ_0 = 1, so the first batch replaces the empty statistics). For batch t:
 *
 *   touched items B = the items the batch labels; their posteriors read every label of them
 *   seen so far. Start from the soft majority vote (t = 0) or one E-step with the current
 *   model (t > 0), then iterate, as batch DS does:
 *     stats' = (1 − ρ_t) stats + ρ_t s_t / n_t      s_t[w, c, l] = Σ over the batch's labels (i, w, l) of post[i, c]
 *     mass'  = (1 − ρ_t) mass  + ρ_t Σ_{i∈B} post[i] / |B|
 *     e_w[c, ·] ∝ N·stats'[w, c, ·] + smoothing,  p ∝ mass'        (N: labels seen so far)
 *     post[B] = E(e, p) over the touched items' labels
 *   until no posterior of B changes by more than tol (or maxIter E-steps); then stats ←
 *   stats', mass ← mass'.
 *
 * Scaling the averaged statistics by N keeps the smoothing as strong as in batch DS on all
 * labels seen. With one batch (ρ_0 = 1, N = n_0) every step is batch DS's, so the
 * posteriors equal DawidSkene's on the same labels. Workers absent from a batch have their
 * statistics decay with everyone's (one global step size).
 *
 * After each batch, `posteriors` covers every item seen so far: the touched items keep the
 * inner loop's last E-step; the others get one E-step over their labels with the updated
 * model (`refresh: false` keeps their earlier posteriors instead). All E- and M-steps are
 * the compiled graphs of graphs.ts.
 */
import { LatheError } from "../../core/errors.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import type { EmOptions } from "./aggregators.ts";
import { checkSmoothing, emOptions } from "./aggregators.ts";
import { argmaxRows, eStep, f64Data, f64Tensor, labelTensors, mStep, runEm, votes } from "./graphs.ts";
import type { LabelTensors, MStepHistory, SegmentStrategy } from "./graphs.ts";
import type { LabelSet } from "./labels.ts";

export interface OnlineDawidSkeneOptions extends EmOptions {
  /** Confusion-count smoothing, as DawidSkene's (default 0.01). */
  readonly smoothing?: number;
  /** Step-size offset τ in ρ_t = (t + τ)^−κ (default 1; must be ≥ 1 so ρ ≤ 1). */
  readonly tau?: number;
  /** Step-size decay κ in ρ_t = (t + τ)^−κ (default 0.7; in (0.5, 1] for convergence, [0, 1] accepted). */
  readonly kappa?: number;
  /** Recompute the posteriors of items not in the batch with the updated model (default true). */
  readonly refresh?: boolean;
}

/**
 * Everything an OnlineDawidSkene holds, to continue the stream in another process
 * (`toState` / `OnlineDawidSkene.fromState`; models/crowd/state.ts stores it on disk). It
 * keeps every label seen (item, worker, label), because each batch's E-step reads all
 * labels of the items it touches and the refresh pass reads all labels.
 */
export interface OnlineDawidSkeneState {
  readonly options: { readonly maxIter: number; readonly tol: number; readonly smoothing: number; readonly tau: number; readonly kappa: number; readonly refresh: boolean };
  /** Batches seen. */
  readonly t: number;
  readonly items: readonly string[];
  readonly workers: readonly string[];
  /** null before the first batch. */
  readonly classes: readonly string[] | null;
  readonly item: Int32Array;
  readonly worker: Int32Array;
  readonly label: Int32Array;
  /** Per item: 1 once it has a label. */
  readonly seen: Uint8Array;
  /** Sufficient statistics: workers × classes × classes, and classes. */
  readonly stats: Float64Array;
  readonly mass: Float64Array;
  /** Posteriors, items × classes. */
  readonly post: Float64Array;
  /** The current model's log confusion (workers × classes × classes) and log prior; null before the first batch. */
  readonly logConf: Float64Array | null;
  readonly logPrior: Float64Array | null;
}

export interface OnlineBatchReport {
  /** The batch's index t and its step ρ_t. */
  readonly batch: number;
  readonly rho: number;
  /** Inner E-steps run on the batch, and whether they met tol. */
  readonly iterations: number;
  readonly converged: boolean;
  readonly touchedItems: number;
}

/** A growable Int32Array. */
class IntList {
  data = new Int32Array(64);
  length = 0;
  push(xs: ArrayLike<number>): void {
    if (this.length + xs.length > this.data.length) {
      const d = new Int32Array(Math.max(2 * this.data.length, this.length + xs.length));
      d.set(this.data.subarray(0, this.length));
      this.data = d;
    }
    this.data.set(xs, this.length);
    this.length += xs.length;
  }
  view(): Int32Array { return this.data.subarray(0, this.length); }
}

const sameNames = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, k) => b[k] === x);
const extendsNames = (a: readonly string[], b: readonly string[]) => b.length >= a.length && a.every((x, k) => b[k] === x);

export class OnlineDawidSkene {
  readonly maxIter: number;
  readonly tol: number;
  readonly smoothing: number;
  readonly tau: number;
  readonly kappa: number;
  readonly refresh: boolean;
  readonly segments: SegmentStrategy | undefined;

  private items: readonly string[] = [];
  private workers: readonly string[] = [];
  private classes: readonly string[] | null = null;
  private readonly item = new IntList();
  private readonly worker = new IntList();
  private readonly label = new IntList();
  /** Whether each item has a label yet. */
  private seen = new Uint8Array(0);
  private stats = new Float64Array(0);
  private mass = new Float64Array(0);
  private logConf: Tensor | null = null;
  private logPrior: Tensor | null = null;
  private post = new Float64Array(0);
  private t = 0;

  constructor(opts: OnlineDawidSkeneOptions = {}) {
    ({ maxIter: this.maxIter, tol: this.tol } = emOptions(opts, "OnlineDawidSkene"));
    this.smoothing = checkSmoothing(opts.smoothing ?? 0.01, "OnlineDawidSkene");
    this.tau = opts.tau ?? 1;
    this.kappa = opts.kappa ?? 0.7;
    this.refresh = opts.refresh ?? true;
    this.segments = opts.segments;
    if (!(this.tau >= 1) || !Number.isFinite(this.tau)) throw new LatheError(`OnlineDawidSkene: tau must be ≥ 1 (so every step is ≤ 1), got ${this.tau}`);
    if (!(this.kappa >= 0 && this.kappa <= 1)) throw new LatheError(`OnlineDawidSkene: kappa must be in [0, 1], got ${this.kappa}`);
  }

  /** The step size of batch t. */
  stepSize(t: number): number { return Math.pow(t + this.tau, -this.kappa); }

  get batchesSeen(): number { return this.t; }
  get numLabels(): number { return this.item.length; }
  get numItems(): number { return this.items.length; }
  get numClasses(): number { return this.classes?.length ?? 0; }

  /**
   * Posteriors of every item in the latest batch's item table (numItems × numClasses,
   * row-major); an item without labels yet has the class prior (uniform before any batch).
   */
  posteriors(): Float64Array { return Float64Array.from(this.post); }
  /** Hard labels of every item (argmax of posteriors; ties to the lowest class). */
  labels(): Int32Array { return argmaxRows(this.post, this.numItems, this.numClasses); }
  /** Indices of the items labelled so far. */
  seenItems(): Int32Array {
    const out: number[] = [];
    this.seen.forEach((s, i) => { if (s) out.push(i); });
    return Int32Array.from(out);
  }
  /** The current confusion matrices (workers × classes × classes) and class prior. */
  model(): { confusion: Float64Array; prior: Float64Array } | null {
    if (!this.logConf || !this.logPrior) return null;
    return { confusion: f64Data(this.logConf).map(Math.exp), prior: f64Data(this.logPrior).map(Math.exp) };
  }

  /** A copy of everything this model holds (see OnlineDawidSkeneState). */
  toState(): OnlineDawidSkeneState {
    return {
      options: { maxIter: this.maxIter, tol: this.tol, smoothing: this.smoothing, tau: this.tau, kappa: this.kappa, refresh: this.refresh },
      t: this.t, items: [...this.items], workers: [...this.workers], classes: this.classes ? [...this.classes] : null,
      item: Int32Array.from(this.item.view()), worker: Int32Array.from(this.worker.view()), label: Int32Array.from(this.label.view()),
      seen: Uint8Array.from(this.seen), stats: Float64Array.from(this.stats), mass: Float64Array.from(this.mass), post: Float64Array.from(this.post),
      logConf: this.logConf ? f64Data(this.logConf) : null, logPrior: this.logPrior ? f64Data(this.logPrior) : null,
    };
  }

  /**
   * A model that continues from `state` exactly as the one that wrote it would. `overrides`
   * may change how later batches iterate (maxIter, tol, segments), not the model itself.
   */
  static fromState(state: OnlineDawidSkeneState, overrides: Pick<OnlineDawidSkeneOptions, "maxIter" | "tol" | "segments"> = {}): OnlineDawidSkene {
    const o = state.options;
    const m = new OnlineDawidSkene({ ...o, ...overrides });
    const I = state.items.length, W = state.workers.length, K = state.classes?.length ?? 0, N = state.item.length;
    const bad = (what: string) => { throw new LatheError(`OnlineDawidSkene.fromState: ${what}`); };
    if (!Number.isInteger(state.t) || state.t < 0) bad(`t must be a non-negative integer, got ${state.t}`);
    if (state.worker.length !== N || state.label.length !== N) bad(`item, worker and label have lengths ${N}, ${state.worker.length}, ${state.label.length}`);
    if (state.seen.length !== I) bad(`seen has ${state.seen.length} entries for ${I} items`);
    if (state.post.length !== I * K) bad(`post has ${state.post.length} entries for ${I} items × ${K} classes`);
    if (state.classes !== null && state.mass.length !== K) bad(`mass has ${state.mass.length} entries for ${K} classes`);
    if (state.stats.length !== W * K * K) bad(`stats has ${state.stats.length} entries for ${W} workers × ${K}² classes`);
    if ((state.logConf === null) !== (state.logPrior === null)) bad(`logConf and logPrior must both be present or both absent`);
    if (state.logConf && state.logConf.length !== W * K * K) bad(`logConf has ${state.logConf.length} entries for ${W} workers × ${K}² classes`);
    if (state.logPrior && state.logPrior.length !== K) bad(`logPrior has ${state.logPrior.length} entries for ${K} classes`);
    for (let k = 0; k < N; k++) {
      const i = state.item[k]!, w = state.worker[k]!, l = state.label[k]!;
      if (i < 0 || i >= I || w < 0 || w >= W || l < 0 || l >= K) bad(`label ${k} (${i}, ${w}, ${l}) is outside ${I} items × ${W} workers × ${K} classes`);
    }
    m.t = state.t;
    m.items = [...state.items]; m.workers = [...state.workers]; m.classes = state.classes ? [...state.classes] : null;
    m.item.push(state.item); m.worker.push(state.worker); m.label.push(state.label);
    m.seen = Uint8Array.from(state.seen);
    m.stats = Float64Array.from(state.stats); m.mass = Float64Array.from(state.mass); m.post = Float64Array.from(state.post);
    m.logConf = state.logConf ? f64Tensor(state.logConf, [W, K, K]) : null;
    m.logPrior = state.logPrior ? f64Tensor(state.logPrior, [K]) : null;
    return m;
  }

  /**
   * Adds a batch. Its name tables must extend the previous batch's (as LabelSet.fromTriples
   * with `extend`, or simulateCrowd's batches, make them); its classes must be the same.
   */
  async partialFit(batch: LabelSet): Promise<OnlineBatchReport> {
    this.adopt(batch);
    const K = this.numClasses, W = this.workers.length, I = this.items.length;
    if (batch.numLabels === 0) return { batch: this.t, rho: 0, iterations: 0, converged: true, touchedItems: 0 };
    this.item.push(batch.item); this.worker.push(batch.worker); this.label.push(batch.label);
    for (const i of batch.item) this.seen[i] = 1;

    // The touched items, numbered locally in first-seen order, and every label of them so far.
    const local = new Int32Array(I).fill(-1);
    const touched: number[] = [];
    for (const i of batch.item) if (local[i] === -1) { local[i] = touched.length; touched.push(i); }
    const all = { item: this.item.view(), worker: this.worker.view(), label: this.label.view() };
    const rows: number[] = [];
    for (let k = 0; k < all.item.length; k++) if (local[all.item[k]!] !== -1) rows.push(k);
    const pick = (a: Int32Array, f: (x: number) => number = (x) => x) => Int32Array.from(rows, (k) => f(a[k]!));
    const localOf = (i: number) => local[i]!;
    const B = touched.length;
    const eT = labelTensors({ item: pick(all.item, localOf), worker: pick(all.worker), label: pick(all.label) }, B, W, K, this.segments);
    const mT = labelTensors({ item: batch.item.map(localOf), worker: batch.worker, label: batch.label }, B, W, K, this.segments);

    const rho = this.stepSize(this.t);
    // The first batch with ρ = 1 keeps raw counts (scales 1): exactly batch DS's arithmetic.
    // Later the statistics are per-label averages, scaled back by the labels seen.
    const raw = this.t === 0 && rho === 1;
    const history: MStepHistory = {
      prevStats: f64Tensor(this.stats, [W, K, K]), prevMass: f64Tensor(this.mass, [K]), rho,
      labelScale: raw ? 1 : 1 / batch.numLabels, itemScale: raw ? 1 : 1 / B, countScale: raw ? 1 : this.numLabels,
    };
    const start = this.logConf && this.logPrior ? await eStep(eT, this.logConf, this.logPrior) : await votes(eT);
    const { m, post: batchPost, iterations, converged } = await runEm(eT, start, (p) => mStep(mT, p, this.smoothing, history), this.maxIter, this.tol);
    // Commit. On the first batch the raw counts are stored as per-label averages.
    this.stats = f64Data(m.stats);
    this.mass = f64Data(m.mass);
    if (raw) {
      this.stats = this.stats.map((x) => x / batch.numLabels);
      this.mass = this.mass.map((x) => x / B);
    }
    this.logConf = m.logConf;
    this.logPrior = m.logPrior;

    // Items not labelled yet get the prior; seen items outside the batch are refreshed (or kept).
    if (this.refresh && B < this.seenCount()) this.post = f64Data(await eStep(this.allTensors(), m.logConf, m.logPrior));
    else this.fillUnseen(I, K);
    touched.forEach((i, b) => this.post.set(batchPost.subarray(b * K, b * K + K), i * K));
    this.t++;
    return { batch: this.t - 1, rho, iterations, converged, touchedItems: B };
  }

  private seenCount(): number { let s = 0; for (const x of this.seen) s += x; return s; }

  private allTensors(): LabelTensors {
    return labelTensors({ item: this.item.view(), worker: this.worker.view(), label: this.label.view() }, this.items.length, this.workers.length, this.numClasses, this.segments);
  }

  /** Rows of the current prior (uniform before any model) for I items. */
  private priorRows(I: number, K: number): Float64Array {
    const p = this.logPrior ? f64Data(this.logPrior).map(Math.exp) : new Float64Array(K).fill(1 / K);
    const out = new Float64Array(I * K);
    for (let i = 0; i < I; i++) out.set(p, i * K);
    return out;
  }

  /** Gives the items without labels the current prior's row. */
  private fillUnseen(I: number, K: number): void {
    const p = this.priorRows(1, K);
    for (let i = 0; i < I; i++) if (!this.seen[i]) this.post.set(p, i * K);
  }

  /** Takes the batch's name tables (which must extend the current ones) and grows the state. */
  private adopt(batch: LabelSet): void {
    if (this.classes === null) {
      if (batch.numClasses < 1) throw new LatheError(`OnlineDawidSkene: the first batch has no classes`);
      this.classes = batch.classes;
      const K = batch.numClasses;
      this.mass = new Float64Array(K);
    } else if (!sameNames(this.classes, batch.classes)) {
      throw new LatheError(`OnlineDawidSkene: batch ${this.t} has classes [${batch.classes.join(", ")}], not [${this.classes.join(", ")}]`);
    }
    if (!extendsNames(this.items, batch.items)) throw new LatheError(`OnlineDawidSkene: batch ${this.t}'s items do not extend the earlier batches' (build it with LabelSet.fromTriples(…, { extend }))`);
    if (!extendsNames(this.workers, batch.workers)) throw new LatheError(`OnlineDawidSkene: batch ${this.t}'s workers do not extend the earlier batches' (build it with LabelSet.fromTriples(…, { extend }))`);
    const K = this.numClasses;
    const I0 = this.items.length, I = batch.numItems, W0 = this.workers.length, W = batch.numWorkers;
    if (W > W0) {
      const s = new Float64Array(W * K * K);
      s.set(this.stats);
      this.stats = s;
      // A new worker has no statistics; its rows start at the smoothing alone (uniform).
      if (this.logConf) this.logConf = f64Tensor(padLogConf(f64Data(this.logConf), W0, W, K), [W, K, K]);
    }
    if (I > I0) {
      const seen = new Uint8Array(I); seen.set(this.seen); this.seen = seen;
      const post = new Float64Array(I * K); post.set(this.post);
      const p = this.priorRows(1, K);
      for (let i = I0; i < I; i++) post.set(p, i * K);
      this.post = post;
    }
    this.items = batch.items;
    this.workers = batch.workers;
  }
}

/** Log confusion matrices for W workers: the first W0 kept, the new ones uniform. */
function padLogConf(lc: Float64Array, W0: number, W: number, K: number): Float64Array {
  const out = new Float64Array(W * K * K).fill(-Math.log(K));
  out.set(lc.subarray(0, W0 * K * K));
  return out;
}
