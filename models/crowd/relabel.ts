/**
 * Expert relabelling with a budget: pick the items an expert (an oracle standing in for
 * one, returning the true class) relabels, set their posteriors to the one-hot truth, and
 * count the label errors that fixed. Used once after aggregation (pick from every item) or
 * online (pick a share of each arriving batch: `candidates` = the batch's items,
 * `budgetFor(share, batch size)`); the classifier is then retrained on the new labels.
 *
 * Strategies (each returns `budget` distinct items; scores tie to the lowest item index):
 * - "random": a seeded uniform sample of the candidates.
 * - "entropy": the highest posterior entropy H(q_i) = −Σ_c q_ic log q_ic (nats).
 * - "cent": CENT-style disagreement, the classifier's cross-entropy against the aggregated
 *   posterior plus the posterior's entropy:
 *       score_i = CE(q_i, p_i) + H(q_i) = −Σ_c q_ic log p_ic − Σ_c q_ic log q_ic,
 *   with p_i the classifier's predicted distribution (clamped at `eps` before the log) and
 *   q_i the posterior. CE(q, p) = H(q) + KL(q ‖ p), so an item scores high when the crowd
 *   is unsure (H) or the classifier disagrees with it (KL). The classifier's predictions
 *   should be out-of-fold (cross-validated): a model that has fitted an item's noisy label
 *   agrees with it.
 */
import { LatheError, ShapeError } from "../../core/errors.ts";
import { Rng, permutation } from "../../runtime/random.ts";
import type { CrowdResult } from "./aggregators.ts";
import { argmaxRows } from "./graphs.ts";

export type RelabelStrategy = "random" | "entropy" | "cent";
export const RELABEL_STRATEGIES: readonly RelabelStrategy[] = ["random", "entropy", "cent"];

/** Posteriors over classes: what every aggregator returns. */
export type Posteriors = Pick<CrowdResult, "numItems" | "numClasses" | "posteriors">;

/** The expert: the true class of an item. */
export type Oracle = (item: number) => number;

/** An oracle that answers from known true classes (simulated crowds). */
export const truthOracle = (truth: ArrayLike<number>): Oracle => (i) => {
  if (!(i >= 0 && i < truth.length)) throw new LatheError(`oracle: item ${i} is out of range for ${truth.length} items`);
  return truth[i]!;
};

function checkPosteriors(r: Posteriors, who: string): void {
  if (r.posteriors.length !== r.numItems * r.numClasses) {
    throw new ShapeError(`${who}: ${r.posteriors.length} posteriors for ${r.numItems} items × ${r.numClasses} classes`);
  }
}

/** Entropy (nats) of each posterior row. */
export function entropyScores(r: Posteriors): Float64Array {
  checkPosteriors(r, "entropyScores");
  const { numItems: I, numClasses: K, posteriors: q } = r;
  return Float64Array.from({ length: I }, (_, i) => {
    let h = 0;
    for (let c = 0; c < K; c++) { const v = q[i * K + c]!; if (v > 0) h -= v * Math.log(v); }
    return h;
  });
}

/** CE(q_i, p_i) + H(q_i) per item, for classifier probabilities `proba` (items × classes). */
export function centScores(r: Posteriors, proba: ArrayLike<number>, eps = 1e-12): Float64Array {
  checkPosteriors(r, "centScores");
  const { numItems: I, numClasses: K, posteriors: q } = r;
  if (proba.length !== I * K) throw new ShapeError(`centScores: ${proba.length} classifier probabilities for ${I} items × ${K} classes`);
  const h = entropyScores(r);
  return Float64Array.from({ length: I }, (_, i) => {
    let ce = 0;
    for (let c = 0; c < K; c++) ce -= q[i * K + c]! * Math.log(Math.max(proba[i * K + c]!, eps));
    return ce + h[i]!;
  });
}

/** round(share · count), at least 0 and at most count. */
export function budgetFor(share: number, count: number): number {
  if (!(share >= 0 && share <= 1)) throw new LatheError(`budgetFor: share must be in [0, 1], got ${share}`);
  return Math.min(count, Math.max(0, Math.round(share * count)));
}

export interface PickOptions {
  readonly strategy: RelabelStrategy;
  /** How many items to pick (at most the number of candidates). */
  readonly budget: number;
  /** Items to pick from (default: all); online, the items of the arriving batch. */
  readonly candidates?: ArrayLike<number>;
  /** Items never to pick, e.g. those relabelled already. */
  readonly exclude?: Iterable<number>;
  /** The classifier's predicted distribution per item (items × classes): needed by "cent". */
  readonly proba?: ArrayLike<number>;
  /** Seeds "random" (default 0). */
  readonly seed?: number;
}

/** The items to relabel, in the order picked (highest score first; random: sample order). */
export function pickItems(r: Posteriors, opts: PickOptions): Int32Array {
  checkPosteriors(r, "pickItems");
  const excluded = new Set(opts.exclude ?? []);
  const all = opts.candidates ? Array.from(opts.candidates) : Array.from({ length: r.numItems }, (_, i) => i);
  for (const i of all) if (!Number.isInteger(i) || i < 0 || i >= r.numItems) throw new LatheError(`pickItems: candidate ${i} is not an item in [0, ${r.numItems})`);
  const pool = [...new Set(all)].filter((i) => !excluded.has(i));
  const { budget } = opts;
  if (!Number.isInteger(budget) || budget < 0) throw new LatheError(`pickItems: budget must be a non-negative integer, got ${budget}`);
  if (budget > pool.length) throw new LatheError(`pickItems: budget ${budget} exceeds the ${pool.length} candidate items`);
  switch (opts.strategy) {
    case "random": {
      const order = permutation(pool.length, new Rng(opts.seed ?? 0));
      return Int32Array.from(order.slice(0, budget), (k) => pool[k]!);
    }
    case "entropy":
    case "cent": {
      let scores: Float64Array;
      if (opts.strategy === "entropy") scores = entropyScores(r);
      else {
        if (!opts.proba) throw new LatheError('pickItems: strategy "cent" needs the classifier\'s predictions (proba)');
        scores = centScores(r, opts.proba);
      }
      pool.sort((a, b) => scores[b]! - scores[a]! || a - b);
      return Int32Array.from(pool.slice(0, budget));
    }
    default: throw new LatheError(`pickItems: unknown strategy ${String(opts.strategy)} (${RELABEL_STRATEGIES.join(", ")})`);
  }
}

/**
 * New posteriors with each picked item's row set to the one-hot class the oracle gives;
 * every other row is copied. Labels are the rows' argmax (ties: the lowest class).
 */
export function relabel(r: Posteriors, oracle: Oracle, picks: ArrayLike<number>): CrowdResult {
  checkPosteriors(r, "relabel");
  const { numItems: I, numClasses: K } = r;
  const post = Float64Array.from(r.posteriors);
  for (const i of Array.from(picks)) {
    if (!Number.isInteger(i) || i < 0 || i >= I) throw new LatheError(`relabel: picked item ${i} is not in [0, ${I})`);
    const c = oracle(i);
    if (!Number.isInteger(c) || c < 0 || c >= K) throw new LatheError(`relabel: the oracle gave class ${c} for item ${i}, not in [0, ${K})`);
    post.fill(0, i * K, (i + 1) * K);
    post[i * K + c] = 1;
  }
  return { numItems: I, numClasses: K, posteriors: post, labels: argmaxRows(post, I, K) };
}

/** Items whose hard label differs from the truth. */
export function labelErrors(labels: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (labels.length !== truth.length) throw new ShapeError(`labelErrors: ${labels.length} labels for ${truth.length} items`);
  let e = 0;
  for (let i = 0; i < truth.length; i++) if (labels[i] !== truth[i]) e++;
  return e;
}

/** Items wrong in `before` and right in `after` (hard labels against the truth). */
export function errorsFixed(before: ArrayLike<number>, after: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (before.length !== truth.length || after.length !== truth.length) throw new ShapeError(`errorsFixed: ${before.length} and ${after.length} labels for ${truth.length} items`);
  let n = 0;
  for (let i = 0; i < truth.length; i++) if (before[i] !== truth[i] && after[i] === truth[i]) n++;
  return n;
}
