/**
 * L2C's synthetic 2-D sets (Meier et al. 2018; ../shared/design/LEARNING.md "L2C"): k
 * uniform in 1…k_max, k isotropic Gaussian clusters with centres uniform in the unit square
 * and standard deviations uniform in [0.01, 0.1], n points clipped to the square. Every
 * cluster gets at least `minPerCluster` points (LEARNING.md: "≥ 2 points each", so every
 * set has same-cluster pairs); the rest go to clusters drawn uniformly; the points are
 * shuffled. Labels are 0…k−1 in the order the clusters were drawn.
 */
import { LatheError } from "../../core/errors.ts";
import { Rng, permutation } from "../../runtime/random.ts";

export interface Set2dOptions {
  /** Points per set (default 72, the paper's). */
  readonly n?: number;
  /** Largest number of clusters (default 5). */
  readonly kMax?: number;
  /** Smallest cluster (default 2). */
  readonly minPerCluster?: number;
  /** Range of the clusters' standard deviations (default [0.01, 0.1]). */
  readonly std?: readonly [number, number];
}

/** One set: points [n, 2] row-major, each point's cluster and the number of clusters. */
export interface PointSet {
  readonly points: Float32Array;
  readonly labels: Int32Array;
  readonly n: number;
  readonly k: number;
}

export interface ResolvedSet2d { readonly n: number; readonly kMax: number; readonly minPerCluster: number; readonly std: readonly [number, number] }

export function resolveSet2d(o: Set2dOptions = {}): ResolvedSet2d {
  const n = o.n ?? 72, kMax = o.kMax ?? 5, minPerCluster = o.minPerCluster ?? 2, std = o.std ?? [0.01, 0.1];
  for (const [v, what] of [[n, "n"], [kMax, "kMax"], [minPerCluster, "minPerCluster"]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new LatheError(`l2c sets: ${what} must be a positive integer, got ${v}`);
  }
  if (kMax * minPerCluster > n) throw new LatheError(`l2c sets: ${n} points cannot hold ${kMax} clusters of at least ${minPerCluster}`);
  if (!(std[0] >= 0 && std[1] >= std[0] && Number.isFinite(std[1]))) throw new LatheError(`l2c sets: std must be a range 0 ≤ lo ≤ hi, got [${std.join(", ")}]`);
  return { n, kMax, minPerCluster, std: [std[0], std[1]] };
}

const clip01 = (v: number): number => Math.min(1, Math.max(0, v));

/** Draws one set from `rng`. */
export function drawSet2d(rng: Rng, opts: Set2dOptions = {}): PointSet {
  const { n, kMax, minPerCluster, std } = resolveSet2d(opts);
  const k = rng.int(1, kMax + 1);
  const centres = Array.from({ length: k }, () => [rng.float(), rng.float()] as const);
  const stds = Array.from({ length: k }, () => rng.uniform(std[0], std[1]));
  const assigned = Array.from({ length: n }, (_, i) => (i < k * minPerCluster ? Math.floor(i / minPerCluster) : rng.int(0, k)));
  const order = permutation(n, rng);
  const points = new Float32Array(n * 2), labels = new Int32Array(n);
  order.forEach((src, i) => {
    const c = assigned[src]!, [cx, cy] = centres[c]!, s = stds[c]!;
    labels[i] = c;
    points[2 * i] = clip01(cx + s * rng.normal());
    points[2 * i + 1] = clip01(cy + s * rng.normal());
  });
  return { points, labels, n, k };
}

/** A batch of `count` sets as the network takes it: x [count, n, 2], labels [count, n], k [count]. */
export interface SetBatch {
  readonly x: Float32Array;
  readonly labels: Int32Array;
  readonly k: Int32Array;
  readonly count: number;
  readonly n: number;
}

export function drawBatch2d(rng: Rng, count: number, opts: Set2dOptions = {}): SetBatch {
  const { n } = resolveSet2d(opts);
  const x = new Float32Array(count * n * 2), labels = new Int32Array(count * n), k = new Int32Array(count);
  for (let b = 0; b < count; b++) {
    const s = drawSet2d(rng, opts);
    x.set(s.points, b * n * 2);
    labels.set(s.labels, b * n);
    k[b] = s.k;
  }
  return { x, labels, k, count, n };
}
