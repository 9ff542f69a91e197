/**
 * Clustering metrics shared by the clustering and learning-to-cluster systems (facts:
 * ../shared/design/LEARNING.md, "Common ground"):
 * - ACC: accuracy after the best one-to-one matching of clusters to classes (a linear
 *   sum assignment on the contingency table, by the `linear-sum-assignment` package, which
 *   takes rectangular tables); points of a cluster left without a class are errors.
 * - MR: 1 − ACC.
 * - NMI: mutual information over the arithmetic mean of the two entropies (scikit-learn's
 *   normalized_mutual_info_score, average_method="arithmetic"): two one-cluster
 *   partitions → 1, exactly one of them one cluster → 0.
 * - ARI: the adjusted Rand index, from the pair-confusion counts as scikit-learn computes it.
 * - Silhouette (needs the points): the mean over points of (b − a) / max(a, b), a the mean
 *   Euclidean distance to the rest of its cluster, b the smallest mean distance to another
 *   cluster; a point alone in its cluster scores 0 (scikit-learn's silhouette_score).
 *
 * Labels are any integers (cluster ids need not be 0…k−1). The work is counting O(n) and
 * arithmetic on the [clusters × classes] table, so this is plain TypeScript, not a graph.
 */
import { linearSumAssignment } from "linear-sum-assignment";
import { LatheError } from "../../core/errors.ts";

/** Counts of points per (cluster, class): rows are the predicted clusters, columns the true classes. */
export interface Contingency {
  /** The distinct predicted labels, ascending (row r is cluster `clusters[r]`). */
  readonly clusters: readonly number[];
  /** The distinct true labels, ascending (column c is class `classes[c]`). */
  readonly classes: readonly number[];
  /** Row-major [clusters.length × classes.length]. */
  readonly counts: Float64Array;
  readonly n: number;
}

const distinct = (xs: ArrayLike<number>): number[] => [...new Set(Array.from(xs))].sort((a, b) => a - b);

function checkPair(pred: ArrayLike<number>, truth: ArrayLike<number>, what: string): void {
  if (pred.length !== truth.length) throw new LatheError(`${what}: ${pred.length} predicted labels but ${truth.length} true labels`);
  for (const [name, xs] of [["predicted", pred], ["true", truth]] as const) {
    for (let i = 0; i < xs.length; i++) {
      if (!Number.isInteger(xs[i])) throw new LatheError(`${what}: ${name} label ${i} is ${xs[i]}, not an integer`);
    }
  }
}

/** The contingency (confusion) table of predicted clusters against true classes. */
export function contingency(pred: ArrayLike<number>, truth: ArrayLike<number>): Contingency {
  checkPair(pred, truth, "contingency");
  const clusters = distinct(pred), classes = distinct(truth);
  const row = new Map(clusters.map((c, r) => [c, r])), col = new Map(classes.map((c, k) => [c, k]));
  const counts = new Float64Array(clusters.length * classes.length);
  for (let i = 0; i < pred.length; i++) counts[row.get(pred[i]!)! * classes.length + col.get(truth[i]!)!]! += 1;
  return { clusters, classes, counts, n: pred.length };
}

/**
 * The one-to-one matching of clusters to classes that maximises the points on matched
 * pairs: for each row of `c`, the column it is matched to, or −1 when there are more
 * clusters than classes and this one is left out.
 */
export function matchClusters(c: Contingency): Int32Array {
  const rows = c.clusters.length, cols = c.classes.length;
  const out = new Int32Array(rows).fill(-1);
  if (rows === 0 || cols === 0) return out;
  const table = Array.from({ length: rows }, (_, r) => Array.from(c.counts.subarray(r * cols, (r + 1) * cols)));
  const { rowAssignments, gain } = linearSumAssignment(table, { maximaze: true });
  if (gain === -1 && c.n > 0) throw new LatheError("matchClusters: the assignment found no complete matching");
  for (let r = 0; r < rows; r++) out[r] = rowAssignments[r]!;
  return out;
}

/** The points on matched (cluster, class) pairs. */
function matchedCount(c: Contingency): number {
  const m = matchClusters(c), cols = c.classes.length;
  let hit = 0;
  m.forEach((k, r) => { if (k >= 0) hit += c.counts[r * cols + k]!; });
  return hit;
}

/** ACC: the fraction of points whose cluster is matched to their class (1 for no points). */
export function clusterAccuracy(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  const c = contingency(pred, truth);
  return c.n === 0 ? 1 : matchedCount(c) / c.n;
}

/** MR: 1 − ACC, points in unmatched clusters counted as errors. */
export const misclassificationRate = (pred: ArrayLike<number>, truth: ArrayLike<number>): number => 1 - clusterAccuracy(pred, truth);

/** Entropy (nats) of a distribution given by counts summing to n. */
function entropyOf(counts: readonly number[], n: number): number {
  let h = 0;
  for (const a of counts) if (a > 0) h -= (a / n) * Math.log(a / n);
  return h;
}

function marginals(c: Contingency): { rows: number[]; cols: number[] } {
  const R = c.clusters.length, C = c.classes.length;
  const rows = new Array<number>(R).fill(0), cols = new Array<number>(C).fill(0);
  for (let r = 0; r < R; r++) for (let k = 0; k < C; k++) { rows[r] += c.counts[r * C + k]!; cols[k] += c.counts[r * C + k]!; }
  return { rows, cols };
}

/** Mutual information (nats) of the two partitions, clipped at 0 as scikit-learn does. */
export function mutualInformation(c: Contingency): number {
  const { rows, cols } = marginals(c), C = c.classes.length, n = c.n;
  let mi = 0;
  for (let r = 0; r < rows.length; r++) {
    for (let k = 0; k < C; k++) {
      const nij = c.counts[r * C + k]!;
      if (nij > 0) mi += (nij / n) * (Math.log(nij) + Math.log(n) - Math.log(rows[r]!) - Math.log(cols[k]!));
    }
  }
  return Math.max(mi, 0);
}

/** NMI with the arithmetic mean of the entropies, and the one-cluster conventions. */
export function normalizedMutualInfo(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  const c = contingency(pred, truth);
  const R = c.clusters.length, C = c.classes.length;
  if (R === C && R <= 1) return 1; // neither splits the data: a perfect match
  const mi = mutualInformation(c);
  if (mi === 0) return 0; // includes exactly one partition being one cluster
  const { rows, cols } = marginals(c);
  return mi / ((entropyOf(rows, c.n) + entropyOf(cols, c.n)) / 2);
}

/**
 * ARI from the pair-confusion counts (scikit-learn's adjusted_rand_score): exact integer
 * pair counts (BigInt, since n² overflows 2^53 from n ≈ 95 000), one division at the end.
 */
export function adjustedRandIndex(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  const c = contingency(pred, truth);
  const { rows, cols } = marginals(c);
  const big = (x: number) => BigInt(Math.round(x));
  const n = big(c.n);
  let sumSq = 0n, rowSq = 0n, colSq = 0n;
  for (const x of c.counts) sumSq += big(x) * big(x);
  for (const a of rows) rowSq += big(a) * big(a);
  for (const b of cols) colSq += big(b) * big(b);
  const tp = sumSq - n, fp = rowSq - sumSq, fn = colSq - sumSq, tn = n * n - fp - fn - sumSq;
  if (fn === 0n && fp === 0n) return 1; // full agreement, or no points
  const num = 2n * (tp * tn - fn * fp), den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return Number(num) / Number(den);
}

export interface ClusterScores {
  readonly acc: number;
  readonly mr: number;
  readonly nmi: number;
  readonly ari: number;
}

/** ACC, MR, NMI and ARI of one labelling. */
export function clusterScores(pred: ArrayLike<number>, truth: ArrayLike<number>): ClusterScores {
  const acc = clusterAccuracy(pred, truth);
  return { acc, mr: 1 - acc, nmi: normalizedMutualInfo(pred, truth), ari: adjustedRandIndex(pred, truth) };
}

/**
 * The mean silhouette of a labelling of n points of dimension d (row-major `x`), as
 * scikit-learn's silhouette_score with the Euclidean metric. Needs 2 ≤ clusters ≤ n − 1.
 */
export function silhouetteScore(x: ArrayLike<number>, n: number, d: number, labels: ArrayLike<number>): number {
  if (labels.length !== n || x.length !== n * d) throw new LatheError(`silhouette: ${labels.length} labels and ${x.length} numbers for ${n} points of dimension ${d}`);
  const ids = new Map<number, number>();
  const cluster = Int32Array.from({ length: n }, (_, i) => {
    const l = labels[i]!;
    if (!Number.isInteger(l)) throw new LatheError(`silhouette: label ${i} is ${l}, not an integer`);
    if (!ids.has(l)) ids.set(l, ids.size);
    return ids.get(l)!;
  });
  const k = ids.size;
  if (k < 2 || k > n - 1) throw new LatheError(`silhouette: needs 2 to n − 1 = ${n - 1} clusters, got ${k}`);
  const size = new Float64Array(k);
  for (let i = 0; i < n; i++) size[cluster[i]!]!++;
  let total = 0;
  const sums = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    for (let j = 0; j < n; j++) {
      let q = 0;
      for (let t = 0; t < d; t++) { const diff = x[i * d + t]! - x[j * d + t]!; q += diff * diff; }
      sums[cluster[j]!]! += Math.sqrt(q);
    }
    const own = cluster[i]!;
    if (size[own]! < 2) continue; // alone in its cluster: 0
    const a = sums[own]! / (size[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own) b = Math.min(b, sums[c]! / size[c]!);
    const m = Math.max(a, b);
    total += m > 0 ? (b - a) / m : 0;
  }
  return total / n;
}
