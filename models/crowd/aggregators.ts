/**
 * Batch aggregators with crowd-kit's names: MajorityVote, Wawa, DawidSkene and
 * OneCoinDawidSkene. Each `fit(labels)` runs compiled graphs (graphs.ts) over the label
 * triples and resolves to posteriors over classes per item plus hard labels (argmax, ties
 * to the lowest class index).
 */
import { LatheError } from "../../core/errors.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import { agreement, argmaxRows, f64Data, f64Tensor, mStep, oneCoinMStep, runEm, tensorsOf, votes } from "./graphs.ts";
import type { SegmentStrategy } from "./graphs.ts";
import type { LabelSet } from "./labels.ts";

export interface CrowdResult {
  readonly numItems: number;
  readonly numClasses: number;
  /** numItems × numClasses, row-major: P(truth of item i = c). */
  readonly posteriors: Float64Array;
  /** Hard labels: each row's argmax (ties: the lowest class). */
  readonly labels: Int32Array;
}

export interface EmResult extends CrowdResult {
  /** numWorkers × numClasses × numClasses: confusion[w, c, l] = P(w says l | truth c). */
  readonly confusion: Float64Array;
  /** Class prior p_c. */
  readonly prior: Float64Array;
  /** E-steps run. */
  readonly iterations: number;
  /** Whether the tolerance was met before maxIter. */
  readonly converged: boolean;
}

const result = (post: Float64Array, I: number, K: number): CrowdResult =>
  ({ numItems: I, numClasses: K, posteriors: post, labels: argmaxRows(post, I, K) });

const exp = (t: Tensor): Float64Array => f64Data(t).map(Math.exp);

function checkLabels(ls: LabelSet, who: string, minClasses = 1): void {
  if (ls.numClasses < minClasses) throw new LatheError(`${who}: needs at least ${minClasses} class(es), the label set has ${ls.numClasses}`);
  if (ls.numLabels === 0) throw new LatheError(`${who}: the label set has no labels`);
}

export interface GraphOptions {
  /**
   * How the graphs sum label rows by item and by worker (graphs.ts): the segment_sum op
   * ("masked", the default; a one-pass kernel on cpu) or "padded" gathers (any target).
   */
  readonly segments?: SegmentStrategy;
}

/** Soft majority vote: P(c | item) = the fraction of the item's labels saying c (uniform for an item without labels). */
export class MajorityVote {
  constructor(readonly opts: GraphOptions = {}) {}
  async fit(ls: LabelSet): Promise<CrowdResult> {
    checkLabels(ls, "MajorityVote");
    return result(f64Data(await votes(tensorsOf(ls, this.opts.segments))), ls.numItems, ls.numClasses);
  }
}

export interface WawaResult extends CrowdResult {
  /** Per worker: the fraction of its labels agreeing with the majority vote (0 without labels). */
  readonly skills: Float64Array;
}

/**
 * Worker Agreement With Aggregate: each worker's skill is its agreement with the (hard)
 * majority vote; the result is the vote weighted by skill (an item whose voters all have
 * skill 0 is uniform).
 */
export class Wawa {
  constructor(readonly opts: GraphOptions = {}) {}
  async fit(ls: LabelSet): Promise<WawaResult> {
    checkLabels(ls, "Wawa");
    const t = tensorsOf(ls, this.opts.segments);
    const s = f64Data(await agreement(t, await votes(t)));
    const weight = f64Tensor(Float64Array.from(ls.worker, (w) => s[w]!), [ls.numLabels]);
    return { ...result(f64Data(await votes(t, weight)), ls.numItems, ls.numClasses), skills: s };
  }
}

export interface EmOptions extends GraphOptions {
  /** Most E-steps (default 100). */
  readonly maxIter?: number;
  /** Stop once no posterior changes by more than this between E-steps (default 1e-6). */
  readonly tol?: number;
}

export interface DawidSkeneOptions extends EmOptions {
  /** Added to every confusion count before its row is normalised (default 0.01). The class prior is not smoothed. */
  readonly smoothing?: number;
}

/** Checks the EM options; returns them with defaults. */
export function emOptions(o: EmOptions, who: string): { maxIter: number; tol: number } {
  const maxIter = o.maxIter ?? 100, tol = o.tol ?? 1e-6;
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new LatheError(`${who}: maxIter must be a positive integer, got ${maxIter}`);
  if (!(tol >= 0)) throw new LatheError(`${who}: tol must be ≥ 0, got ${tol}`);
  return { maxIter, tol };
}

export function checkSmoothing(s: number, who: string): number {
  if (!(s >= 0) || !Number.isFinite(s)) throw new LatheError(`${who}: smoothing must be a finite number ≥ 0, got ${s}`);
  return s;
}

/**
 * Dawid–Skene (1979) by batch EM. Each worker w has a confusion matrix e_w[c, l] = P(w says
 * l | truth c); the class prior is p.
 *
 *   post⁰ = soft majority vote;  (e, p) = M(post⁰)
 *   repeat t = 1..maxIter:  postᵗ = E(e, p);  (e, p) = M(postᵗ);  stop when max |postᵗ − postᵗ⁻¹| ≤ tol
 *
 * E: post[i, c] ∝ p_c Π over labels (i, w, l) of e_w[c, l].  M: e_w[c, l] ∝ smoothing +
 * Σ over labels (i, w, l) of post[i, c] (each row normalised), p_c = mean over items of
 * post[i, c]. Returns the last E-step's posteriors and the M-step made from them.
 */
export class DawidSkene {
  readonly maxIter: number;
  readonly tol: number;
  readonly smoothing: number;
  readonly segments: SegmentStrategy | undefined;
  constructor(opts: DawidSkeneOptions = {}) {
    ({ maxIter: this.maxIter, tol: this.tol } = emOptions(opts, "DawidSkene"));
    this.smoothing = checkSmoothing(opts.smoothing ?? 0.01, "DawidSkene");
    this.segments = opts.segments;
  }

  async fit(ls: LabelSet): Promise<EmResult> {
    checkLabels(ls, "DawidSkene");
    const t = tensorsOf(ls, this.segments), I = ls.numItems, K = ls.numClasses;
    const { m, post, iterations, converged } = await runEm(t, await votes(t), (p) => mStep(t, p, this.smoothing), this.maxIter, this.tol);
    return { ...result(post, I, K), confusion: exp(m.logConf), prior: exp(m.logPrior), iterations, converged };
  }
}

export interface OneCoinOptions extends EmOptions {
  /** Confusion entries are clipped to [eps, 1 − eps] (default Number.EPSILON, as crowd-kit). */
  readonly eps?: number;
}

/**
 * One-coin Dawid–Skene: each worker has one skill s_w (P(correct)); a wrong label is
 * uniform over the other classes: e_w[c, l] = s_w if l = c else (1 − s_w)/(K − 1). The
 * M-step sets s_w to the mean posterior mass of w's labels; EM as DawidSkene (same
 * initialisation, order and stopping rule).
 */
export class OneCoinDawidSkene {
  readonly maxIter: number;
  readonly tol: number;
  readonly eps: number;
  readonly segments: SegmentStrategy | undefined;
  constructor(opts: OneCoinOptions = {}) {
    this.segments = opts.segments;
    ({ maxIter: this.maxIter, tol: this.tol } = emOptions(opts, "OneCoinDawidSkene"));
    this.eps = opts.eps ?? Number.EPSILON;
    if (!(this.eps >= 0 && this.eps < 0.5)) throw new LatheError(`OneCoinDawidSkene: eps must be in [0, 0.5), got ${this.eps}`);
  }

  async fit(ls: LabelSet): Promise<EmResult & { readonly skills: Float64Array }> {
    checkLabels(ls, "OneCoinDawidSkene", 2);
    const t = tensorsOf(ls, this.segments), I = ls.numItems, K = ls.numClasses;
    const { m, post, iterations, converged } = await runEm(t, await votes(t), (p) => oneCoinMStep(t, p, this.eps), this.maxIter, this.tol);
    return { ...result(post, I, K), confusion: exp(m.logConf), prior: exp(m.logPrior), iterations, converged, skills: f64Data(m.skill) };
  }
}
