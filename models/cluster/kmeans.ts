/**
 * k-means as compiled Lathe graphs, following scikit-learn's KMeans (algorithm="lloyd"):
 *
 * - Initialisation: greedy k-means++ (sklearn's `_kmeans_plusplus`): the first centre a
 *   uniformly drawn point; each next one the best of 2 + ⌊ln k⌋ candidates drawn with
 *   probability ∝ squared distance to the nearest centre so far, "best" being the
 *   candidate that leaves the smallest potential Σ min-distance². The candidates' distances
 *   are a graph; drawing them (a cumulative sum and a binary search) is host bookkeeping.
 * - `nInit` restarts (default 1, which is also sklearn's n_init="auto" for k-means++); the
 *   run with the lowest inertia is kept.
 * - Lloyd steps: squared distances ‖x‖² − 2 x·cᵀ + ‖c‖² by one matmul, labels by argmin,
 *   new centres as cluster sums (the segment_sum op) over counts. On cpu segment_sum is a
 *   one-pass scatter, O(n·d) (targets/cpu/extern-kernels.ts); the one-hot matmul used
 *   before did O(n·k·d). `lathe bench cluster --quick` (10 000 × 784, k = 10, 1 thread, a
 *   loaded 2-core host): a Lloyd iteration 0.51× scikit-learn's speed before, 0.86× after.
 * - An empty cluster is repaired as sklearn does: its centre moves to the point farthest
 *   from its own centre (the farthest points for several empty clusters, farthest first),
 *   and that point's weight leaves its old cluster's sum. A rare event, done on the host.
 * - Convergence as sklearn: labels unchanged (strict), or Σ‖Δcentre‖² ≤ tol × the mean
 *   per-feature variance of the data; at most maxIter (300) steps. The labels returned
 *   are then those of the final centres (sklearn recomputes them without strict
 *   convergence; here always, by the graph `predict` uses). Inertia is Σ ‖x − c_label‖²,
 *   summed in f64.
 *
 * The graphs take f32 points; n is symbolic and d, k are static (a matmul with symbolic
 * inner sizes ran about 4× slower here), so one compilation per (d, k) serves every n.
 */
import { LatheError } from "../../core/errors.ts";
import { hostVectorBytes } from "../../compiler/targets/cpu/host.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/index.ts";
import { readModelArray, readModelManifest, writeModelDir } from "./model-dir.ts";
import { checkPoints } from "./points.ts";
import type { ClusterFit, ClusterModel, FitProgress, Points } from "./types.ts";

const f32 = (shape: (string | number)[]) => ({ shape, dtype: "f32" as const });
const i32 = (shape: (string | number)[]) => ({ shape, dtype: "i32" as const });

/**
 * x·cᵀ [n, k]. With k not a whole number of the host's vectors (k = 10 on AVX2's 8 lanes),
 * the GEMM schedule splits the columns into a full panel and a mostly empty tail panel and
 * streams all of x once per panel; c padded with zero rows to whole vectors (16) makes it
 * one panel, one pass over x, and the padded columns are sliced off.
 */
function crossProducts(x: Tracer, c: Tracer, k: number | null): Tracer {
  const lanes = hostVectorBytes() / 4;
  const padded = k === null ? null : Math.ceil(k / lanes) * lanes;
  if (k === null || padded === k || k > 2 * lanes) return x.matmul(c.transpose([1, 0]));
  return x.matmul(c.pad([0, 0, padded! - k, 0]).transpose([1, 0])).slice([0], [k], [1]);
}

/** Squared distances [n, k] of rows x [n, d] (squared norms xx [n]) to centres c [k, d] (k null: symbolic), clamped at 0 against rounding. */
const sqDistances = (x: Tracer, xx: Tracer, c: Tracer, k: number | null): Tracer =>
  xx.unsqueeze([1]).sub(crossProducts(x, c, k).mul(2)).add(c.square().sum([1]).unsqueeze([0])).maximum(0);

/** The compiled graphs for one (d, k); n is symbolic. */
function makeGraphs(d: number, k: number) {
  const X = f32(["n", d]), XX = f32(["n"]), C = f32([k, d]);
  return {
    /** Row norms and the tolerance scale (mean per-feature variance, in f64). */
    prepare: lt.compile(({ x }) => {
      // E[x²] − E[x]² per feature: plain reductions. (x − mean(x) would have the compiler
      // fuse the mean into the subtraction and recompute it per element: O(n²·d).)
      const x64 = x.cast("f64");
      const mean = x64.mean([0]);
      return { xx: x.square().sum([1]), meanVar: x64.square().mean([0]).sub(mean.square()).mean() };
    }, { x: X }),
    /**
     * One Lloyd step from centres c: labels, each point's squared distance to its centre,
     * cluster sums and counts, the new centres (an empty cluster keeps its old centre here;
     * the host repairs it) and the squared shift Σ‖new − old‖².
     */
    lloyd: lt.compile(({ x, xx, c, ids }) => {
      const dist = sqDistances(x, xx, c, k);
      const labels = dist.argmin(1);
      const sums = lt.op("segment_sum", [x, labels], { num_segments: k })[0]!; // [k, d]
      const counts = lt.op("segment_sum", [xx.mul(0).add(1), labels], { num_segments: k })[0]!; // [k], exact to 2^24 points
      const filled = counts.greater(0).unsqueeze([1]);
      const centers = lt.where(filled, sums.div(counts.maximum(1).unsqueeze([1])), c);
      return { labels, minDist: dist.min([1]), sums, counts, centers, shift: centers.sub(c).cast("f64").square().sum() };
    }, { x: X, xx: XX, c: C, ids: i32([k]) }),
    /** Labels of points for fixed centres (‖x‖² is the same for every centre, so it is left out). */
    nearest: lt.compile(({ x, c }) => c.square().sum([1]).unsqueeze([0]).sub(crossProducts(x, c, k).mul(2)).argmin(1), { x: X, c: C }),
    /** Σ ‖x − c_label‖², directly (no expansion), summed in f64. */
    inertia: lt.compile(({ x, c, labels }) => x.sub(c.gather(labels)).cast("f64").square().sum(), { x: X, c: C, labels: i32(["n"]) }),
  };
}

/**
 * k-means++ candidates cand [t, d] (t static: the trials per centre, so the distance
 * product is a GEMM, padded to whole vectors like the Lloyd step's): each point's squared
 * distance to its nearest centre if the candidate joined (min with `closest` [n]) → dist
 * [n, t], and each candidate's potential Σ over points → pot [t] (f64). With t symbolic the
 * product ran the generic schedule, ~35 ms a round on 10k × 784.
 */
const makeCandidates = (d: number, t: number) => lt.compile(({ x, xx, cand, closest }) => {
  const dist = sqDistances(x, xx, cand, t).minimum(closest.unsqueeze([1]));
  return { dist, pot: dist.cast("f64").sum([0]) };
}, { x: f32(["n", d]), xx: f32(["n"]), cand: f32([t, d]), closest: f32(["n"]) });
/** `make(d, m)` compiled once per (d, m). */
function cachedBy<G>(make: (d: number, m: number) => G): (d: number, m: number) => G {
  const cache = new Map<string, G>();
  return (d, m) => {
    const key = `${d}x${m}`;
    let g = cache.get(key);
    if (!g) { g = make(d, m); cache.set(key, g); }
    return g;
  };
}
const candidatesFor = cachedBy(makeCandidates);
const graphsFor = cachedBy(makeGraphs);

const f32Of = (t: Tensor): Float32Array => t.data as Float32Array;
const i32Of = (t: Tensor): Int32Array => t.data as Int32Array;
const numOf = (t: Tensor): number => (t.data as ArrayLike<number>)[0]!;


/** The points as tensors, with their row norms and the tolerance scale, for a given k. */
export interface KmeansData {
  readonly points: Points;
  readonly k: number;
  readonly x: Tensor;
  readonly xx: Tensor;
  /** Mean per-feature variance of the points (sklearn's tolerance is tol × this). */
  readonly meanVariance: number;
}

export async function kmeansData(points: Points, k: number): Promise<KmeansData> {
  checkPoints(points, "kmeans");
  if (!Number.isSafeInteger(k) || k < 1) throw new LatheError(`kmeans: k must be a positive integer, got ${k}`);
  if (k > points.n) throw new LatheError(`kmeans: k = ${k} is more than the ${points.n} points`);
  const x = new Tensor(points.data, [points.n, points.d], "f32");
  const { xx, meanVar } = await graphsFor(points.d, k).prepare({ x });
  return { points, k, x, xx, meanVariance: numOf(meanVar) };
}

/** Greedy k-means++ (sklearn's variant with `trials` local candidates per centre, default 2 + ⌊ln k⌋): the centres [k, d]. */
export async function kmeansPlusPlus(data: KmeansData, rng: Rng, trials = 2 + Math.floor(Math.log(data.k))): Promise<Float32Array> {
  const { k, points: { n, d, data: xs } } = data;
  if (!Number.isSafeInteger(trials) || trials < 1) throw new LatheError(`kmeans++: trials must be a positive integer, got ${trials}`);
  const g = candidatesFor(d, trials);
  const centers = new Float32Array(k * d);
  const rows = (ids: readonly number[]) => {
    const out = new Float32Array(ids.length * d);
    ids.forEach((i, j) => out.set(xs.subarray(i * d, (i + 1) * d), j * d));
    return new Tensor(out, [ids.length, d], "f32");
  };
  const first = rng.int(0, n);
  centers.set(xs.subarray(first * d, (first + 1) * d), 0);
  // The first centre alone: every candidate row is that point (the graph takes `trials` rows), column 0 read.
  let r = await g({ x: data.x, xx: data.xx, cand: rows(Array<number>(trials).fill(first)), closest: new Tensor(new Float32Array(n).fill(3.4e38), [n], "f32") });
  const first0 = f32Of(r.dist);
  let closest = Float32Array.from({ length: n }, (_, i) => first0[i * trials]!), pot = numOf(r.pot);
  const cum = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    // Candidates with probability ∝ closest: the first index whose running sum reaches u·pot (numpy's searchsorted, side="left").
    let s = 0;
    for (let i = 0; i < n; i++) { s += closest[i]!; cum[i] = s; }
    const ids = Array.from({ length: trials }, () => {
      const u = rng.float() * pot;
      let lo = 0, hi = n - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (cum[mid]! < u) lo = mid + 1; else hi = mid; }
      return lo;
    });
    r = await g({ x: data.x, xx: data.xx, cand: rows(ids), closest: new Tensor(closest, [n], "f32") });
    const pots = r.pot.data as Float64Array;
    let best = 0;
    for (let t = 1; t < trials; t++) if (pots[t]! < pots[best]!) best = t;
    const dist = f32Of(r.dist);
    closest = Float32Array.from({ length: n }, (_, i) => dist[i * trials + best]!);
    pot = pots[best]!;
    centers.set(xs.subarray(ids[best]! * d, (ids[best]! + 1) * d), c * d);
  }
  return centers;
}

/** What one Lloyd iteration gives. */
export interface LloydIteration {
  /** Each point's nearest centre among the centres the step started from. */
  readonly labels: Int32Array;
  /** The new centres (empty clusters repaired). */
  readonly centers: Float32Array;
  /** Σ‖new − old‖² over the centres. */
  readonly shift: number;
  /** Clusters that were empty and got a far point. */
  readonly repaired: number;
}

/**
 * One Lloyd iteration from `centers` [k, d]: assignment, new means, empty-cluster repair.
 * (`lathe bench cluster` times this.)
 */
export async function lloydIteration(data: KmeansData, centers: Float32Array, ids = clusterIds(data.k)): Promise<LloydIteration> {
  const { k, points: { d, data: xs } } = data;
  if (centers.length !== k * d) throw new LatheError(`kmeans: ${centers.length} centre numbers, expected k·d = ${k * d}`);
  const c = new Tensor(centers, [k, d], "f32");
  const r = await graphsFor(d, k).lloyd({ x: data.x, xx: data.xx, c, ids });
  const labels = i32Of(r.labels), counts = f32Of(r.counts);
  const empty: number[] = [];
  for (let j = 0; j < k; j++) if (counts[j] === 0) empty.push(j);
  if (empty.length === 0) return { labels, centers: f32Of(r.centers), shift: numOf(r.shift), repaired: 0 };
  // sklearn's _relocate_empty_clusters: the points farthest from their centres, farthest first.
  const minDist = f32Of(r.minDist);
  const far = farthest(minDist, empty.length);
  const sums = Float64Array.from(f32Of(r.sums)), count = Float64Array.from(counts);
  empty.forEach((j, e) => {
    const p = far[e]!, from = labels[p]!;
    for (let f = 0; f < d; f++) { const v = xs[p * d + f]!; sums[from * d + f]! -= v; sums[j * d + f] = v; }
    count[from]! -= 1;
    count[j] = 1;
  });
  const next = new Float32Array(k * d);
  let shift = 0;
  for (let j = 0; j < k; j++) {
    for (let f = 0; f < d; f++) {
      const v = count[j]! > 0 ? sums[j * d + f]! / count[j]! : centers[j * d + f]!;
      next[j * d + f] = v;
      shift += (v - centers[j * d + f]!) ** 2;
    }
  }
  return { labels, centers: next, shift, repaired: empty.length };
}

/** Indices of the m largest values, largest first (ties: the lower index). */
function farthest(v: Float32Array, m: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (best.length === m && v[i]! <= v[best[m - 1]!]!) continue;
    let at = best.length < m ? best.length : m - 1;
    while (at > 0 && v[best[at - 1]!]! < v[i]!) at--;
    best.splice(at, 0, i);
    if (best.length > m) best.pop();
  }
  return best;
}

const clusterIds = (k: number): Tensor => new Tensor(Int32Array.from({ length: k }, (_, j) => j), [k], "i32");

export interface LloydOptions {
  readonly maxIter?: number;
  readonly tol?: number;
  /** Called after each iteration with its number (1-based) and the squared centre shift. */
  readonly onIteration?: (iteration: number, shift: number) => void;
}

export interface LloydRun {
  readonly labels: Int32Array;
  readonly centers: Float32Array;
  readonly inertia: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** Lloyd's algorithm from the centres `init` [k, d], with sklearn's stopping rules. */
export async function lloyd(data: KmeansData, init: Float32Array, opts: LloydOptions = {}): Promise<LloydRun> {
  const maxIter = opts.maxIter ?? 300, tol = opts.tol ?? 1e-4;
  if (!Number.isSafeInteger(maxIter) || maxIter < 1) throw new LatheError(`kmeans: maxIter must be a positive integer, got ${maxIter}`);
  if (!(tol >= 0)) throw new LatheError(`kmeans: tol must be ≥ 0, got ${tol}`);
  const { k, points: { n, d } } = data;
  const g = graphsFor(d, k), ids = clusterIds(k);
  const tolAbs = tol * data.meanVariance;
  let centers: Float32Array = init.slice(), labels: Int32Array = new Int32Array(n), prev: Int32Array | null = null;
  let iterations = 0, converged = false;
  while (iterations < maxIter) {
    const step = await lloydIteration(data, centers, ids);
    iterations++;
    centers = step.centers;
    labels = step.labels;
    opts.onIteration?.(iterations, step.shift);
    if (prev !== null && sameLabels(prev, labels)) { converged = true; break; } // strict convergence
    if (step.shift <= tolAbs) { converged = true; break; }
    prev = labels;
  }
  const c = new Tensor(centers, [k, d], "f32");
  // The labels of the final centres by the graph predict uses, so fit labels = predict's
  // (after strict convergence they are the last step's anyway, up to rounding at near-ties).
  labels = i32Of(await g.nearest({ x: data.x, c })).slice();
  const inertia = numOf(await g.inertia({ x: data.x, c, labels: new Tensor(labels, [n], "i32") }));
  return { labels, centers, inertia, iterations, converged };
}

function sameLabels(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface KmeansOptions {
  readonly k: number;
  readonly seed?: number;
  readonly nInit?: number;
  readonly maxIter?: number;
  readonly tol?: number;
  readonly onProgress?: FitProgress;
}

/** A fitted k-means model: labels points by their nearest centre. */
export class KmeansModel implements ClusterModel {
  readonly method = "kmeans" as const;
  readonly k: number;
  readonly d: number;

  constructor(readonly centers: Float32Array, k: number, d: number, readonly inertia?: number) {
    if (centers.length !== k * d) throw new LatheError(`kmeans model: ${centers.length} centre numbers, expected k·d = ${k * d}`);
    this.k = k;
    this.d = d;
  }

  async predict(points: Points): Promise<Int32Array> {
    checkPoints(points, "kmeans predict");
    if (points.d !== this.d) throw new LatheError(`kmeans predict: the points have ${points.d} features, the model ${this.d}`);
    const out = await graphsFor(this.d, this.k).nearest({ x: new Tensor(points.data, [points.n, points.d], "f32"), c: new Tensor(this.centers, [this.k, this.d], "f32") });
    return i32Of(out).slice();
  }

  save(dir: string): void {
    writeModelDir(dir, { method: "kmeans", k: this.k, d: this.d, ...(this.inertia !== undefined ? { inertia: this.inertia } : {}) }, {
      centers: new Tensor(this.centers, [this.k, this.d], "f32"),
    });
  }
}

/** k-means++ then Lloyd, `nInit` times; keeps the run with the lowest inertia. */
export async function kmeans(points: Points, opts: KmeansOptions): Promise<{ fit: ClusterFit; model: ClusterModel; centers: Float32Array }> {
  const nInit = opts.nInit ?? 1, maxIter = opts.maxIter ?? 300;
  if (!Number.isSafeInteger(nInit) || nInit < 1) throw new LatheError(`kmeans: nInit must be a positive integer, got ${nInit}`);
  const data = await kmeansData(points, opts.k);
  const rng = new Rng(opts.seed ?? 0);
  const total = nInit * maxIter;
  let best: LloydRun | null = null;
  for (let run = 0; run < nInit; run++) {
    const init = await kmeansPlusPlus(data, rng);
    const r = await lloyd(data, init, {
      maxIter, ...(opts.tol !== undefined ? { tol: opts.tol } : {}),
      onIteration: (it, shift) => opts.onProgress?.(run * maxIter + it, total, `init ${run + 1}/${nInit}, iteration ${it}, shift ${shift.toPrecision(3)}`),
    });
    opts.onProgress?.((run + 1) * maxIter, total, `init ${run + 1}/${nInit}: inertia ${r.inertia.toPrecision(6)} after ${r.iterations} iterations`);
    if (best === null || r.inertia < best.inertia) best = r;
  }
  const b = best!;
  const fit: ClusterFit = { labels: b.labels, k: opts.k, iterations: b.iterations, converged: b.converged, objective: b.inertia };
  return { fit, model: new KmeansModel(b.centers, opts.k, points.d, b.inertia), centers: b.centers };
}

/** Reads a k-means model saved by `KmeansModel.save`. */
export function loadKmeans(dir: string): ClusterModel {
  const m = readModelManifest(dir, "kmeans");
  const centers = readModelArray(dir, "centers", "f32", [m.k, m.d]);
  return new KmeansModel(centers.data as Float32Array, m.k, m.d, typeof m["inertia"] === "number" ? m["inertia"] : undefined);
}
