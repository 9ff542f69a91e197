/**
 * PCA as compiled Lathe graphs: the top q principal components of points [n, d].
 *
 * - Mean and covariance C = (x − μ)ᵀ(x − μ)/(n − 1) by one matmul, in f64.
 * - Eigen-solver: subspace iteration with Rayleigh–Ritz on s = q + oversample columns
 *   (the block form of power iteration; Saad, "Numerical Methods for Large Eigenvalue
 *   Problems", alg. 5.2), on C + σI with σ = 10⁻³·trace(C)/d (same eigenvectors; keeps
 *   the iterated block of full rank where C's rank is below s). Each iteration: Z = C Q,
 *   its columns scaled to unit norm; Q = Z (ZᵀZ)^(−1/2) by coupled Newton–Schulz steps
 *   (matmuls only; the host repeats a 6-step graph until W·Y = I to 1e-11, which after the
 *   first iteration takes one call, since Z's columns are then nearly orthogonal); the
 *   projected T = Qᵀ C Q diagonalised by cyclic Jacobi rotations in round-robin order (a
 *   round rotates s/2 disjoint pairs at once, as O(s²) row and column gathers, one graph
 *   call per round); Q ← Q·W, the Ritz vectors by descending Ritz value. The top q
 *   converge at the rate (λ_{s+1} + σ)/(λ_q + σ) per iteration, and Ritz vectors need no
 *   gaps between λ_1…λ_q. Stops when every top-q residual ‖C u − θ u‖ ≤ tol · θ_1, or
 *   after maxIter iterations.
 * - Components are unit rows [q, d], each signed so that its largest-magnitude entry is
 *   positive; explained variance = the Ritz values less σ (sklearn's explained_variance_,
 *   n − 1 denominator), its ratio to the total variance trace(C).
 *
 * All in f64; n is symbolic and d, s static (one compilation per shape). The host only
 * orders: the Jacobi pair schedule and the sort of s Ritz values.
 */
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/index.ts";
import type { Points } from "./types.ts";

export const PCA_DEFAULTS = { oversample: 10, maxIter: 300, tol: 1e-8, seed: 0, jacobiSweeps: 30 } as const;

export interface PcaOptions {
  /** Components to keep, 1 ≤ q ≤ min(n − 1, d). */
  readonly q: number;
  /** Extra columns of the iterated subspace (default 10, capped at d − q). */
  readonly oversample?: number;
  readonly maxIter?: number;
  /** Residual ‖C u − θ u‖ ≤ tol · θ_1 for every kept component (default 1e-8). */
  readonly tol?: number;
  readonly seed?: number;
}

export interface PcaResult {
  readonly q: number;
  readonly d: number;
  /** Mean of the points [d]. */
  readonly mean: Float64Array;
  /** Unit components as rows [q, d] (sklearn's components_ layout). */
  readonly components: Float64Array;
  /** Variance along each component (eigenvalues of the covariance, n − 1 denominator), descending. */
  readonly explainedVariance: Float64Array;
  readonly explainedVarianceRatio: Float64Array;
  readonly iterations: number;
  readonly converged: boolean;
  /** Largest relative residual ‖C u − θ u‖ / θ_1 of the kept components at the end. */
  readonly residual: number;
}

const f64 = (shape: (string | number)[]) => ({ shape, dtype: "f64" as const });
const f32 = (shape: (string | number)[]) => ({ shape, dtype: "f32" as const });
const i32 = (shape: (string | number)[]) => ({ shape, dtype: "i32" as const });

/** Newton–Schulz steps per graph call; the host repeats the call until W·Y = I to NS_TOL. */
const NS_STEPS = 6, NS_TOL = 1e-11, NS_MAX_CALLS = 40;

function makeGraphs(d: number, s: number) {
  const eyeOf = (ids: Tracer) => ids.unsqueeze([1]).equal(ids.unsqueeze([0])).cast("f64");
  return {
    /** Mean [d] of f32 points, in f64. */
    mean: lt.compile(({ x }) => x.cast("f64").mean([0]), { x: f32(["n", d]) }),
    /**
     * Covariance [d, d] of f32 points around a given mean, in f64. (The mean is an input: a
     * mean computed in the same graph is fused into the subtraction and recomputed per element.)
     */
    covariance: lt.compile(({ x, mean }) => {
      const xc = x.cast("f64").sub(mean.unsqueeze([0]));
      return xc.transpose([1, 0]).matmul(xc).div(rowsOf(xc).sub(1));
    }, { x: f32(["n", d]), mean: f64([d]) }),
    /**
     * Z = C Q with unit-norm columns (zn), G = znᵀ zn and its scale ‖G‖_F ≥ λ_max(G), so
     * that the eigenvalues of y = G/‖G‖_F lie in (0, 1], where Newton–Schulz converges.
     */
    project: lt.compile(({ c, q }) => {
      const z = c.matmul(q);
      const zn = z.div(z.square().sum([0], true).sqrt().maximum(1e-300));
      const g = zn.transpose([1, 0]).matmul(zn);
      const scale = g.square().sum().sqrt();
      return { zn, y: g.div(scale), scale };
    }, { c: f64([d, d]), q: f64([d, s]) }),
    /**
     * Coupled Newton–Schulz for y^(−1/2): Y ← Y T, W ← T W with T = (3I − W Y)/2 (Higham,
     * "Functions of Matrices", eq. 6.35); W → y^(−1/2). err = ‖W Y − I‖_F after the steps.
     */
    newtonSchulz: lt.compile(({ y, w, ids }) => {
      const eye = eyeOf(ids);
      for (let k = 0; k < NS_STEPS; k++) {
        const t = eye.mul(3).sub(w.matmul(y)).mul(0.5);
        y = y.matmul(t);
        w = t.matmul(w);
      }
      return { y, w, err: w.matmul(y).sub(eye).square().sum().sqrt() };
    }, { y: f64([s, s]), w: f64([s, s]), ids: i32([s]) }),
    /** Q = zn G^(−1/2) (orthonormal columns) and T = Qᵀ C Q, symmetrised against rounding. */
    rayleigh: lt.compile(({ c, zn, w, scale }) => {
      const q = zn.matmul(w).div(scale.sqrt());
      const t = q.transpose([1, 0]).matmul(c.matmul(q));
      return { q, t: t.add(t.transpose([1, 0])).mul(0.5) };
    }, { c: f64([d, d]), zn: f64([d, s]), w: f64([s, s]), scale: f64([]) }),
    /** Ritz vectors U = Q W [d, s] and each column's residual ‖C u − θ u‖. */
    ritz: lt.compile(({ c, q, w, theta }) => {
      const u = q.matmul(w);
      const res = c.matmul(u).sub(u.mul(theta.unsqueeze([0]))).square().sum([0]).sqrt();
      return { u, res };
    }, { c: f64([d, d]), q: f64([d, s]), w: f64([s, s]), theta: f64([s]) }),
  };
}

/** The number of rows of x as an f64 scalar (a sum of ones over axis 0 of the first column). */
const rowsOf = (x: Tracer): Tracer => x.slice([0], [1], [1]).mul(0).add(1).sum();

/**
 * One Jacobi round on symmetric a [s, s] with eigenvector accumulator v: every index k is
 * paired with partner[k] (itself when it sits the round out), and all pairs rotate at once,
 * each zeroing a[p, r] (p < r; Golub & Van Loan, alg. 8.4.1, symSchur2). The rotation J
 * touches only rows and columns p, r, so Jᵀ a J and v J are row and column gathers by
 * partner with per-index cos/sin: O(s²), no s³ matmuls. Returns a, v and a's off-diagonal
 * sum of squares.
 */
const makeJacobiRound = () => lt.compile(({ a, v, partner, ids }) => {
  const eye = ids.unsqueeze([1]).equal(ids.unsqueeze([0])).cast("f64");
  const diag = a.mul(eye).sum([1]);
  const akk = diag, app = diag.gather(partner);
  const akp = lt.op("gather_elements", [a, partner.unsqueeze([1])], { axis: 1 })[0]!.squeeze([1]); // a[k, partner[k]]
  const isP = ids.less(partner);
  // τ = (a_rr − a_pp) / (2 a_pr) of k's pair, seen from either end.
  const zero = lt.op("logical_or", [akp.equal(0), ids.equal(partner)])[0]!; // nothing to rotate
  const safe = lt.where(zero, lt.op("ones_like", [akp])[0]!, akp);
  const tau = lt.where(isP, app.sub(akk), akk.sub(app)).div(safe.mul(2));
  const root = tau.square().add(1).sqrt();
  const t = lt.where(zero, akp.mul(0), lt.where(tau.greaterEqual(0), root.add(tau).rdiv(1), root.sub(tau).rdiv(-1)));
  const c = t.square().add(1).rsqrt(), sn = t.mul(c);
  const sg = lt.where(isP, sn.neg(), sn); // row p gets −s·row r, row r gets +s·row p
  const rows = a.mul(c.unsqueeze([1])).add(a.gather(partner, 0).mul(sg.unsqueeze([1]))); // Jᵀ a
  const next = rows.mul(c.unsqueeze([0])).add(rows.gather(partner, 1).mul(sg.unsqueeze([0]))); // (Jᵀ a) J
  const sym = next.add(next.transpose([1, 0])).mul(0.5);
  return {
    a: sym,
    v: v.mul(c.unsqueeze([0])).add(v.gather(partner, 1).mul(sg.unsqueeze([0]))),
    off: sym.square().sum().sub(sym.mul(eye).square().sum()),
  };
}, { a: f64(["s", "s"]), v: f64(["s", "s"]), partner: i32(["s"]), ids: i32(["s"]) });
let jacobiRoundGraph: ReturnType<typeof makeJacobiRound> | null = null;
const jacobiRound = (...args: Parameters<ReturnType<typeof makeJacobiRound>>) => (jacobiRoundGraph ??= makeJacobiRound())(...args);

/** Round-robin pairings of 0…s−1 (the circle method): s − 1 rounds (s even) or s rounds (odd) of disjoint pairs covering every pair once. */
export function jacobiSchedule(s: number): { p: Int32Array; r: Int32Array }[] {
  const players = s % 2 === 0 ? s : s + 1; // an odd s gets a bye (the player s)
  const ring = Array.from({ length: players }, (_, i) => i);
  const rounds: { p: Int32Array; r: Int32Array }[] = [];
  for (let round = 0; round < players - 1; round++) {
    const ps: number[] = [], rs: number[] = [];
    for (let i = 0; i < players / 2; i++) {
      const a = ring[i]!, b = ring[players - 1 - i]!;
      if (a < s && b < s) { ps.push(Math.min(a, b)); rs.push(Math.max(a, b)); }
    }
    rounds.push({ p: Int32Array.from(ps), r: Int32Array.from(rs) });
    ring.splice(1, 0, ring.pop()!); // rotate all but the first
  }
  return rounds;
}

/** Eigen-decomposition of a symmetric s × s matrix (row-major f64) by cyclic Jacobi rounds: values ascending-unsorted, vectors as columns of v. */
export async function symmetricEigen(a: Float64Array, s: number, opts: { tol?: number; maxSweeps?: number } = {}): Promise<{ values: Float64Array; vectors: Float64Array; sweeps: number }> {
  if (a.length !== s * s) throw new LatheError(`symmetricEigen: ${a.length} numbers for a ${s} × ${s} matrix`);
  const tol = opts.tol ?? 1e-26, maxSweeps = opts.maxSweeps ?? PCA_DEFAULTS.jacobiSweeps;
  const ids = new Tensor(Int32Array.from({ length: s }, (_, i) => i), [s], "i32");
  let A = new Tensor(a, [s, s], "f64");
  let V = new Tensor(Float64Array.from({ length: s * s }, (_, k) => (Math.floor(k / s) === k % s ? 1 : 0)), [s, s], "f64");
  let total = 0;
  for (let k = 0; k < a.length; k++) total += a[k]! * a[k]!;
  const schedule = jacobiSchedule(s).filter((r) => r.p.length > 0).map((r) => {
    const partner = Int32Array.from({ length: s }, (_, k) => k);
    r.p.forEach((p, i) => { partner[p] = r.r[i]!; partner[r.r[i]!] = p; });
    return new Tensor(partner, [s], "i32");
  });
  let off = 0;
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) if (i !== j) off += a[i * s + j]! ** 2;
  let sweeps = 0;
  while (off > tol * total && sweeps < maxSweeps) {
    for (const partner of schedule) {
      const out = await jacobiRound({ a: A, v: V, partner, ids });
      A = out.a; V = out.v; off = (out.off.data as Float64Array)[0]!;
    }
    sweeps++;
  }
  const ad = A.data as Float64Array;
  return { values: Float64Array.from({ length: s }, (_, i) => ad[i * s + i]!), vectors: (V.data as Float64Array).slice(), sweeps };
}

const graphCache = new Map<string, ReturnType<typeof makeGraphs>>();
function graphsFor(d: number, s: number) {
  const key = `${d}x${s}`;
  let g = graphCache.get(key);
  if (!g) { g = makeGraphs(d, s); graphCache.set(key, g); }
  return g;
}

/** The top q principal components of the points (see the module comment). */
export async function pca(points: Points, opts: PcaOptions): Promise<PcaResult> {
  const { n, d } = points, q = opts.q;
  if (!(points.data instanceof Float32Array) || points.data.length !== n * d || n < 2 || d < 1) throw new LatheError(`pca: points must be n ≥ 2 rows of d ≥ 1 f32 features, got n = ${n}, d = ${d}`);
  if (!Number.isSafeInteger(q) || q < 1 || q > Math.min(n - 1, d)) throw new LatheError(`pca: q must be an integer in 1…min(n − 1, d) = ${Math.min(n - 1, d)}, got ${q}`);
  const s = Math.min(d, q + (opts.oversample ?? PCA_DEFAULTS.oversample));
  const maxIter = opts.maxIter ?? PCA_DEFAULTS.maxIter, tol = opts.tol ?? PCA_DEFAULTS.tol;
  const g = graphsFor(d, s);
  const ids = new Tensor(Int32Array.from({ length: s }, (_, i) => i), [s], "i32");

  const x = new Tensor(points.data, [n, d], "f32");
  const mean = await g.mean({ x });
  const cov = await g.covariance({ x, mean });
  const covData = cov.data as Float64Array;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += covData[i * d + i]!;
  if (!(trace > 0)) throw new LatheError(`pca: the points have no variance (all ${n} are the same point)`);
  // Iterate on C + σI (same eigenvectors): Z = (C + σI)Q then has full column rank even
  // where C's rank is below s, with condition ≤ (λ_1 + σ)/σ ≤ 1000·d + 1.
  const sigma = (1e-3 * trace) / d;
  const shiftedData = covData.slice();
  for (let i = 0; i < d; i++) shiftedData[i * d + i]! += sigma;
  const shifted = new Tensor(shiftedData, [d, d], "f64");

  const rng = new Rng(opts.seed ?? PCA_DEFAULTS.seed);
  // Subspace iteration needs no orthonormal start: the first step orthonormalises C·Q0.
  let Q = new Tensor(Float64Array.from({ length: d * s }, () => rng.normal()), [d, s], "f64");
  const eye = new Tensor(Float64Array.from({ length: s * s }, (_, k) => (Math.floor(k / s) === k % s ? 1 : 0)), [s, s], "f64");
  let iterations = 0, converged = false, residual = Infinity;
  let U: Float64Array = new Float64Array(d * s), theta = new Float64Array(s);
  while (iterations < maxIter) {
    const pr = await g.project({ c: shifted, q: Q });
    let y = pr.y, w = eye, calls = 0, err = Infinity;
    while (err > NS_TOL && calls < NS_MAX_CALLS) {
      const ns = await g.newtonSchulz({ y, w, ids });
      y = ns.y; w = ns.w; err = (ns.err.data as Float64Array)[0]!; calls++;
    }
    if (!(err <= NS_TOL)) {
      throw new LatheError(`pca: could not orthonormalise the iterated subspace (‖W·Y − I‖ = ${err} after ${calls * NS_STEPS} Newton–Schulz steps)`);
    }
    const st = await g.rayleigh({ c: shifted, zn: pr.zn, w, scale: pr.scale });
    iterations++;
    const eig = await symmetricEigen(st.t.data as Float64Array, s);
    // Ritz pairs by descending value.
    const order = Array.from({ length: s }, (_, i) => i).sort((a, b) => eig.values[b]! - eig.values[a]!);
    theta = Float64Array.from(order, (i) => eig.values[i]!);
    const rot = Float64Array.from({ length: s * s }, (_, k) => eig.vectors[Math.floor(k / s) * s + order[k % s]!]!);
    const rz = await g.ritz({ c: shifted, q: st.q, w: new Tensor(rot, [s, s], "f64"), theta: new Tensor(theta, [s], "f64") });
    U = rz.u.data as Float64Array;
    Q = rz.u;
    const res = rz.res.data as Float64Array, scale = Math.max(Math.abs(theta[0]!), 1e-300);
    residual = 0;
    for (let i = 0; i < q; i++) residual = Math.max(residual, res[i]! / scale);
    if (residual <= tol) { converged = true; break; }
  }
  const components = new Float64Array(q * d);
  for (let i = 0; i < q; i++) {
    let big = 0;
    for (let f = 0; f < d; f++) if (Math.abs(U[f * s + i]!) > Math.abs(U[big * s + i]!)) big = f;
    const sign = U[big * s + i]! < 0 ? -1 : 1;
    for (let f = 0; f < d; f++) components[i * d + f] = sign * U[f * s + i]!;
  }
  const explainedVariance = theta.slice(0, q).map((v) => Math.max(v - sigma, 0));
  return {
    q, d, mean: (mean.data as Float64Array).slice(), components, explainedVariance,
    explainedVarianceRatio: explainedVariance.map((v) => (trace > 0 ? v / trace : 0)),
    iterations, converged, residual,
  };
}

const transformGraphs = new Map<string, ReturnType<typeof makeTransform>>();
const makeTransform = (d: number, q: number) =>
  lt.compile(({ x, mean, comps }) => x.cast("f64").sub(mean.unsqueeze([0])).matmul(comps.transpose([1, 0])).cast("f32"), { x: f32(["n", d]), mean: f64([d]), comps: f64([q, d]) });

/** Points projected on the components: (x − mean) · componentsᵀ, f32 [n, q]. */
export async function pcaTransform(p: PcaResult, points: Points): Promise<Points> {
  if (points.d !== p.d) throw new LatheError(`pca transform: the points have ${points.d} features, the PCA ${p.d}`);
  const key = `${p.d}x${p.q}`;
  let t = transformGraphs.get(key);
  if (!t) { t = makeTransform(p.d, p.q); transformGraphs.set(key, t); }
  const out = await t({ x: new Tensor(points.data, [points.n, points.d], "f32"), mean: new Tensor(p.mean, [p.d], "f64"), comps: new Tensor(p.components, [p.q, p.d], "f64") });
  return { data: (out.data as Float32Array).slice(), n: points.n, d: p.q };
}
