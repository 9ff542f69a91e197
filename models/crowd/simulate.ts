/**
 * Seeded simulated crowds: items with true classes drawn from a prior, annotators with
 * explicit confusion matrices (row c = P(says l | truth c)), a fixed number of labels per
 * item from distinct annotators drawn uniformly, and the items arriving in batches.
 *
 * Annotator kinds (K classes):
 * - good: accuracy a ~ U(goodAccuracy) on the diagonal, the rest spread evenly;
 * - biased: accuracy a ~ U(biasedAccuracy) on the diagonal, the rest on the next class
 *   (c → c+1 mod K): it confuses each class with the next;
 * - spammer: every row uniform (1/K);
 * - adversarial: diagonal adversarialAccuracy (0.3), the rest spread evenly (below chance
 *   for K = 2, barely above it for K ≥ 4: "adversarial-ish").
 */
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { LabelSet } from "./labels.ts";

export type AnnotatorKind = "good" | "biased" | "spammer" | "adversarial";

export interface Annotator {
  readonly kind: AnnotatorKind | "custom";
  /** K × K, row-major: confusion[c * K + l] = P(says l | truth c); rows sum to 1. */
  readonly confusion: Float64Array;
}

export interface AnnotatorOptions {
  /** Range of a good annotator's accuracy (default [0.7, 0.9]). */
  readonly goodAccuracy?: readonly [number, number];
  /** Range of a biased annotator's accuracy (default [0.5, 0.7]); the rest goes to the next class. */
  readonly biasedAccuracy?: readonly [number, number];
  /** An adversarial annotator's accuracy (default 0.3). */
  readonly adversarialAccuracy?: number;
}

export interface CrowdSpec extends AnnotatorOptions {
  readonly numItems: number;
  readonly numClasses: number;
  /** How many annotators of each kind (in this order: good, biased, spammer, adversarial). */
  readonly workers: Partial<Readonly<Record<AnnotatorKind, number>>>;
  /** Further annotators with given confusion matrices (after the kinds above). */
  readonly custom?: readonly Float64Array[];
  /** Distinct annotators labelling each item (at most the number of annotators). */
  readonly labelsPerItem: number;
  /** The items arrive in this many batches, in index order (default 1). */
  readonly batches?: number;
  /** Class prior of the true labels (default uniform). */
  readonly prior?: readonly number[];
  readonly seed: number;
}

export interface SimulatedCrowd {
  /** Every label, items in arrival order. */
  readonly labels: LabelSet;
  /** The true class of each item. */
  readonly truth: Int32Array;
  readonly annotators: readonly Annotator[];
  /**
   * The labels of each batch: batch b holds the labels of the items arriving in it; its
   * item table is the items arrived so far, so `LabelSet.concat` of the batches is `labels`.
   */
  readonly batches: readonly LabelSet[];
}

const KINDS: readonly AnnotatorKind[] = ["good", "biased", "spammer", "adversarial"];

/** One annotator of `kind` over K classes (accuracies drawn from `rng`). */
export function makeAnnotator(kind: AnnotatorKind, K: number, rng: Rng, opts: AnnotatorOptions = {}): Annotator {
  if (!Number.isInteger(K) || K < 2) throw new LatheError(`makeAnnotator: needs at least 2 classes, got ${K}`);
  const m = new Float64Array(K * K);
  const spread = (acc: number) => {
    for (let c = 0; c < K; c++) for (let l = 0; l < K; l++) m[c * K + l] = c === l ? acc : (1 - acc) / (K - 1);
  };
  switch (kind) {
    case "good": {
      const [lo, hi] = opts.goodAccuracy ?? [0.7, 0.9];
      spread(rng.uniform(lo, hi));
      break;
    }
    case "biased": {
      const [lo, hi] = opts.biasedAccuracy ?? [0.5, 0.7];
      const a = rng.uniform(lo, hi);
      for (let c = 0; c < K; c++) { m[c * K + c] = a; m[c * K + ((c + 1) % K)] = 1 - a; }
      break;
    }
    case "spammer": m.fill(1 / K); break;
    case "adversarial": spread(opts.adversarialAccuracy ?? 0.3); break;
  }
  return { kind, confusion: m };
}

/** Draws an index from the distribution p[off .. off+K). */
function draw(p: ArrayLike<number>, off: number, K: number, rng: Rng): number {
  let u = rng.float();
  for (let k = 0; k < K - 1; k++) {
    u -= p[off + k]!;
    if (u < 0) return k;
  }
  return K - 1;
}

export function simulateCrowd(spec: CrowdSpec): SimulatedCrowd {
  const { numItems: I, numClasses: K, labelsPerItem: R, seed } = spec;
  const nb = spec.batches ?? 1;
  if (!Number.isInteger(I) || I < 0) throw new LatheError(`simulateCrowd: numItems must be a non-negative integer, got ${I}`);
  if (!Number.isInteger(nb) || nb < 1) throw new LatheError(`simulateCrowd: batches must be a positive integer, got ${nb}`);
  const rng = new Rng(seed);
  const annotators: Annotator[] = [];
  for (const kind of KINDS) for (let k = 0; k < (spec.workers[kind] ?? 0); k++) annotators.push(makeAnnotator(kind, K, rng, spec));
  for (const m of spec.custom ?? []) {
    if (m.length !== K * K) throw new LatheError(`simulateCrowd: a custom confusion matrix has ${m.length} entries, not ${K}×${K}`);
    for (let c = 0; c < K; c++) {
      const s = m.subarray(c * K, c * K + K).reduce((a, b) => a + b, 0);
      if (Math.abs(s - 1) > 1e-9 || m.subarray(c * K, c * K + K).some((x) => x < 0)) throw new LatheError(`simulateCrowd: row ${c} of a custom confusion matrix is not a distribution`);
    }
    annotators.push({ kind: "custom", confusion: Float64Array.from(m) });
  }
  const W = annotators.length;
  if (!Number.isInteger(R) || R < 1 || R > W) throw new LatheError(`simulateCrowd: labelsPerItem must be in [1, ${W}] (the number of annotators), got ${R}`);
  const prior = spec.prior ?? Array.from({ length: K }, () => 1 / K);
  if (prior.length !== K || Math.abs(prior.reduce((a, b) => a + b, 0) - 1) > 1e-9) throw new LatheError(`simulateCrowd: prior must be ${K} probabilities summing to 1`);

  const truth = Int32Array.from({ length: I }, () => draw(prior, 0, K, rng));
  const item = new Int32Array(I * R), worker = new Int32Array(I * R), label = new Int32Array(I * R);
  const pool = Array.from({ length: W }, (_, w) => w);
  for (let i = 0; i < I; i++) {
    // R distinct annotators: a partial Fisher–Yates shuffle.
    for (let r = 0; r < R; r++) {
      const j = r + rng.int(0, W - r);
      [pool[r], pool[j]] = [pool[j]!, pool[r]!];
      const w = pool[r]!, n = i * R + r;
      item[n] = i; worker[n] = w;
      label[n] = draw(annotators[w]!.confusion, truth[i]! * K, K, rng);
    }
  }
  const names = (n: number) => Array.from({ length: n }, (_, k) => String(k));
  const sizes = { numWorkers: W, numClasses: K };
  const labels = LabelSet.fromIndices({ item, worker, label }, { ...sizes, numItems: I });
  const batches: LabelSet[] = [];
  // One batch is the whole set (same names): sharing it keeps a large crowd's arrays once.
  if (nb === 1) batches.push(labels);
  else for (let b = 0; b < nb; b++) {
    const lo = Math.floor((b * I) / nb), hi = Math.floor(((b + 1) * I) / nb);
    const rows = { from: lo * R, to: hi * R };
    batches.push(LabelSet.fromIndices(
      { item: item.subarray(rows.from, rows.to), worker: worker.subarray(rows.from, rows.to), label: label.subarray(rows.from, rows.to) },
      { ...sizes, numItems: hi, items: names(hi) },
    ));
  }
  return { labels, truth, annotators, batches };
}

/** The fraction of items whose label differs from the truth. */
export function labelError(labels: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (labels.length !== truth.length) throw new LatheError(`labelError: ${labels.length} labels for ${truth.length} items`);
  let e = 0;
  for (let i = 0; i < truth.length; i++) if (labels[i] !== truth[i]) e++;
  return truth.length === 0 ? 0 : e / truth.length;
}
