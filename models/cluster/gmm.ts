/**
 * Gaussian mixtures fitted by EM, following scikit-learn's GaussianMixture (1.2) step for
 * step, with the arithmetic in compiled graphs (gmm-graphs.ts):
 *
 * - Covariance "full" (d ≤ MAX_ORDER, the cholesky op's limit) or "diag".
 * - Initialisation: responsibilities from k-means labels (kmeans.ts, one k-means++ run
 *   per restart, as sklearn's n_init=1 KMeans), uniform random rows normalised to 1
 *   (sklearn's "random"), or given means (each point to its nearest mean). Then one
 *   M-step, whose weights, means and covariances are replaced by any given ones (as
 *   sklearn's weights_init, means_init and precisions_init = Σ⁻¹): with all three given,
 *   EM starts from exactly those parameters.
 * - EM: E-step (responsibilities by logsumexp, mean log-likelihood per point), M-step;
 *   the lower bound is the E-step's mean log-likelihood, and a run has converged when it
 *   changes by less than `tol` (default 1e-3); at most `maxIter` (100) EM steps. reg_covar
 *   (1e-6) is added to every covariance diagonal.
 * - `nInit` restarts (seeds seed, seed + 1, …); the run with the highest final lower bound
 *   is kept, and a final E-step with its parameters gives the labels (so fit labels equal
 *   model.predict on the same points) and `objective`, the mean log-likelihood per point
 *   of the kept model (sklearn's score(X)).
 * - Degenerate covariances. After each M-step the Cholesky pivots of every covariance are
 *   checked. A pivot² below 2·reg_covar means that in some direction the component's
 *   variance is mostly the regularisation (a constant feature, a cluster collapsed onto one
 *   point or onto fewer than d + 1 points): reg_covar already keeps it invertible. A pivot
 *   that is not positive (the factorisation failed in floating point), or whose square is
 *   below 1e-10 of the data's mean per-feature variance (numerically singular, e.g. with
 *   reg_covar 0), gets that component an extra ridge: 10·reg_covar or 1e-9 of the mean
 *   variance, whichever is larger, growing 100× until the pivots pass. Where sklearn
 *   raises, this fit goes on, and writes one warning line to stderr for the kept run.
 */
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { MAX_ORDER } from "../../compiler/ops/basic/linalg.ts";
import type { CovarianceType, GmmGraphs } from "./gmm-graphs.ts";
import { gmmGraphs } from "./gmm-graphs.ts";
import { kmeans } from "./kmeans.ts";
import { readModelArray, readModelManifest, writeModelDir } from "./model-dir.ts";
import { checkPoints } from "./points.ts";
import type { ClusterFit, ClusterModel, FitProgress, Points } from "./types.ts";

export type { CovarianceType } from "./gmm-graphs.ts";
export const COVARIANCE_TYPES: readonly CovarianceType[] = ["full", "diag"];

/** Given parameters, row-major: means k × d, weights k (positive, summing to 1), covariances k × d × d (full) or k × d (diag). */
export interface GmmStart {
  readonly means: ArrayLike<number>;
  readonly weights?: ArrayLike<number>;
  readonly covariances?: ArrayLike<number>;
}

export type GmmInit = "kmeans" | "random" | GmmStart;

export interface GmmOptions {
  readonly k: number;
  /** Default "full". */
  readonly covarianceType?: CovarianceType;
  readonly seed?: number;
  /** Restarts; the best lower bound is kept. Default 1. */
  readonly nInit?: number;
  /** EM steps per restart. Default 100. */
  readonly maxIter?: number;
  /** Convergence threshold on the change of the mean log-likelihood lower bound. Default 1e-3. */
  readonly tol?: number;
  /** Added to the covariance diagonals. Default 1e-6. */
  readonly regCovar?: number;
  /** Default "kmeans". */
  readonly init?: GmmInit;
  readonly onProgress?: FitProgress;
  /** Where the degenerate-covariance warning goes (default: one line on stderr). */
  readonly warn?: (line: string) => void;
}

/** The parameters of a mixture, as f64 tensors: weights [k], means [k, d], covariances [k, d, d] or [k, d]. */
export interface GmmParams {
  readonly weights: Tensor;
  readonly means: Tensor;
  readonly covariances: Tensor;
}

/** Parameters with their precision factors, ready for an E-step. */
interface Prepared extends GmmParams {
  readonly precChol: Tensor;
  readonly logDet: Tensor;
  readonly logWeights: Tensor;
}

/** What the degeneracy check found in one run: components regularised, and the largest extra ridge. */
interface Degeneracy { readonly components: Set<number>; maxExtra: number }

const f64 = (data: ArrayLike<number>, shape: readonly number[]): Tensor =>
  Tensor.fromArray(data instanceof Float64Array ? data : Float64Array.from(data), shape, "f64");
const f64Of = (t: Tensor): Float64Array => t.data as Float64Array;
const numOf = (t: Tensor): number => (t.data as ArrayLike<number>)[0]!;


const positiveInt = (x: number): boolean => Number.isSafeInteger(x) && x > 0;

interface Resolved {
  readonly k: number; readonly type: CovarianceType; readonly seed: number; readonly nInit: number; readonly maxIter: number;
  readonly tol: number; readonly regCovar: number; readonly init: GmmInit;
}

function resolve(points: Points, o: GmmOptions): Resolved {
  const r: Resolved = {
    k: o.k, type: o.covarianceType ?? "full", seed: o.seed ?? 0, nInit: o.nInit ?? 1, maxIter: o.maxIter ?? 100,
    tol: o.tol ?? 1e-3, regCovar: o.regCovar ?? 1e-6, init: o.init ?? "kmeans",
  };
  if (!positiveInt(r.k)) throw new LatheError(`gmm: k must be a positive integer, got ${r.k}`);
  if (r.k > points.n) throw new LatheError(`gmm: k = ${r.k} is more than the ${points.n} points`);
  if (!COVARIANCE_TYPES.includes(r.type)) throw new LatheError(`gmm: covarianceType must be one of ${COVARIANCE_TYPES.join(", ")}, got ${JSON.stringify(r.type)}`);
  if (r.type === "full" && points.d > MAX_ORDER) {
    throw new LatheError(`gmm: full covariances need d ≤ ${MAX_ORDER} (the cholesky op's limit), got d = ${points.d}; reduce the dimension (PCA) or use covarianceType "diag"`);
  }
  if (!positiveInt(r.nInit)) throw new LatheError(`gmm: nInit must be a positive integer, got ${r.nInit}`);
  if (!positiveInt(r.maxIter)) throw new LatheError(`gmm: maxIter must be a positive integer, got ${r.maxIter}`);
  if (!(r.tol >= 0)) throw new LatheError(`gmm: tol must be a number ≥ 0, got ${r.tol}`);
  if (!(r.regCovar >= 0) || !Number.isFinite(r.regCovar)) throw new LatheError(`gmm: regCovar must be a finite number ≥ 0, got ${r.regCovar}`);
  if (!Number.isSafeInteger(r.seed)) throw new LatheError(`gmm: seed must be an integer, got ${r.seed}`);
  const init = r.init;
  if (typeof init === "object" && init !== null) {
    const { k } = r, d = points.d;
    const check = (name: keyof GmmStart, size: number, what: string) => {
      const a = init[name];
      if (a === undefined) return;
      if (a.length !== size) throw new LatheError(`gmm: init.${name} must hold ${what} = ${size} numbers, got ${a.length}`);
      for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new LatheError(`gmm: init.${name}[${i}] is ${a[i]}, not a finite number`);
    };
    if (init.means === undefined) throw new LatheError("gmm: init must be \"kmeans\", \"random\" or { means, weights?, covariances? }");
    check("means", k * d, "k·d");
    check("weights", k, "k");
    check("covariances", r.type === "full" ? k * d * d : k * d, r.type === "full" ? "k·d·d" : "k·d");
    if (init.weights) {
      const w = Array.from(init.weights);
      if (w.some((v) => v <= 0) || Math.abs(w.reduce((a, b) => a + b, 0) - 1) > 1e-6) throw new LatheError(`gmm: init.weights must be positive and sum to 1, got [${w.join(", ")}]`);
    }
  } else if (init !== "kmeans" && init !== "random") {
    throw new LatheError(`gmm: init must be "kmeans", "random" or { means, weights?, covariances? }, got ${JSON.stringify(init)}`);
  }
  return r;
}

/** The mean per-feature variance of the points (the scale of the extra ridge); 1 when every point is the same. */
function meanVariance(points: Points): number {
  const { n, d, data } = points;
  let total = 0;
  for (let j = 0; j < d; j++) {
    let s = 0, ss = 0;
    for (let i = 0; i < n; i++) { const v = data[i * d + j]!; s += v; ss += v * v; }
    total += Math.max(0, ss / n - (s / n) ** 2);
  }
  return total > 0 ? total / d : 1;
}

/**
 * The precision factors of `cov` (f64 [k, d, d] or [k, d], reg_covar already added), with an
 * extra ridge for components whose pivots show a degenerate covariance (see the header).
 */
async function prepare(g: GmmGraphs, p: GmmParams, k: number, reg: number, scale: number, seen: Degeneracy): Promise<Prepared> {
  const extra = new Float64Array(k);
  let out = await g.precision({ cov: p.covariances, extra: f64(extra, [k]) });
  const d = f64Of(out["pivots"]!).length / k;
  for (let attempt = 0; ; attempt++) {
    const piv = f64Of(out["pivots"]!);
    let failed = false;
    for (let c = 0; c < k; c++) {
      let min = Infinity;
      for (let i = 0; i < d; i++) { const v = piv[c * d + i]!; min = Number.isNaN(v) ? -Infinity : Math.min(min, v); }
      const sq = min > 0 ? min * min : -Infinity;
      if (sq >= 2 * reg && sq >= SINGULAR * scale) continue;
      seen.components.add(c);
      if (sq >= SINGULAR * scale) continue; // degenerate to within reg_covar, which keeps it invertible
      failed = true;
      extra[c] = extra[c] === 0 ? Math.max(10 * reg, 10 * SINGULAR * scale) : extra[c]! * 100;
      seen.maxExtra = Math.max(seen.maxExtra, extra[c]!);
    }
    if (!failed) break;
    if (attempt >= 40) throw new LatheError(`gmm: a covariance could not be regularised (its Cholesky factorisation failed with ${Math.max(...extra)} added to its diagonal); the data may be badly scaled`);
    out = await g.precision({ cov: p.covariances, extra: f64(extra, [k]) });
  }
  return {
    weights: p.weights, means: p.means, covariances: out["covariances"]!, precChol: out["precChol"]!, logDet: out["logDet"]!,
    logWeights: f64(f64Of(p.weights).map(Math.log), [k]),
  };
}

/** A pivot² below this fraction of the data's mean variance is numerically singular. */
const SINGULAR = 1e-10;

interface Run {
  readonly params: Prepared;
  readonly lowerBound: number;
  readonly iterations: number;
  readonly converged: boolean;
  readonly degeneracy: Degeneracy;
}

interface FitContext {
  readonly g: GmmGraphs;
  readonly points: Points;
  readonly x: Tensor;
  readonly o: Resolved;
  readonly scale: number;
  readonly reg: Tensor;
}

/** The initial responsibilities [n, k] of restart `r`. */
async function initialResp(ctx: FitContext, r: number): Promise<Float64Array> {
  const { points: { n, d }, o: { k, init, seed } } = ctx;
  const resp = new Float64Array(n * k);
  if (init === "random") {
    const rng = new Rng(seed + r);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += (resp[i * k + c] = rng.float());
      for (let c = 0; c < k; c++) resp[i * k + c]! /= s;
    }
    return resp;
  }
  let labels: Int32Array;
  if (init === "kmeans") {
    labels = (await kmeans(ctx.points, { k, seed: seed + r, nInit: 1 })).fit.labels;
  } else {
    // Nearest given mean: an E-step with unit covariances and equal weights.
    const unit = ctx.o.type === "full"
      ? f64(Float64Array.from({ length: k * d * d }, (_, i) => (i % (d * d)) % (d + 1) === 0 ? 1 : 0), [k, d, d])
      : f64(new Float64Array(k * d).fill(1), [k, d]);
    const zeros = f64(new Float64Array(k), [k]);
    const e = await ctx.g.eStep({ x: ctx.x, means: f64(init.means, [k, d]), precChol: unit, logDet: zeros, logWeights: zeros });
    labels = e["labels"]!.data as Int32Array;
  }
  for (let i = 0; i < n; i++) resp[i * k + labels[i]!] = 1;
  return resp;
}

async function mStep(ctx: FitContext, resp: Tensor): Promise<GmmParams> {
  const m = await ctx.g.mStep({ x: ctx.x, resp, reg: ctx.reg });
  return { weights: m["weights"]!, means: m["means"]!, covariances: m["covariances"]! };
}

/** One restart: initialise, then EM until the lower bound settles. */
async function emRun(ctx: FitContext, r: number, progress: (it: number, note: string) => void): Promise<Run> {
  const { o } = ctx;
  const degeneracy: Degeneracy = { components: new Set(), maxExtra: 0 };
  const { n, d } = ctx.points;
  let p = await mStep(ctx, f64(await initialResp(ctx, r), [n, o.k]));
  const given = o.init;
  if (typeof given === "object") {
    p = {
      weights: given.weights ? f64(given.weights, [o.k]) : p.weights,
      means: f64(given.means, [o.k, d]),
      covariances: given.covariances ? f64(given.covariances, o.type === "full" ? [o.k, d, d] : [o.k, d]) : p.covariances,
    };
  }
  let params = await prepare(ctx.g, p, o.k, o.regCovar, ctx.scale, degeneracy);
  let lowerBound = -Infinity, iterations = 0, converged = false;
  while (iterations < o.maxIter) {
    const e = await ctx.g.eStep({ x: ctx.x, means: params.means, precChol: params.precChol, logDet: params.logDet, logWeights: params.logWeights });
    iterations++;
    params = await prepare(ctx.g, await mStep(ctx, e["resp"]!), o.k, o.regCovar, ctx.scale, degeneracy);
    const prev = lowerBound;
    lowerBound = numOf(e["meanLogLik"]!);
    progress(iterations, `init ${r + 1}/${o.nInit}, iteration ${iterations}, mean log-likelihood ${lowerBound.toPrecision(6)}`);
    if (Math.abs(lowerBound - prev) < o.tol) { converged = true; break; }
  }
  return { params, lowerBound, iterations, converged, degeneracy };
}

/** Fits a Gaussian mixture to `points` (see the module comment). */
export async function gmm(points: Points, opts: GmmOptions): Promise<{ fit: ClusterFit; model: GmmModel }> {
  checkPoints(points, "gmm");
  const o = resolve(points, opts);
  const ctx: FitContext = {
    g: gmmGraphs(o.type, points.d, o.k), points, o, scale: meanVariance(points),
    x: f64(points.data, [points.n, points.d]), reg: f64([o.regCovar], []),
  };
  const total = o.nInit * o.maxIter;
  let best: Run | null = null;
  for (let r = 0; r < o.nInit; r++) {
    const run = await emRun(ctx, r, (it, note) => opts.onProgress?.(r * o.maxIter + it, total, note));
    opts.onProgress?.((r + 1) * o.maxIter, total, `init ${r + 1}/${o.nInit}: lower bound ${run.lowerBound.toPrecision(6)} after ${run.iterations} iterations`);
    // sklearn keeps the first run unless a later one is strictly better.
    if (best === null || run.lowerBound > best.lowerBound) best = run;
  }
  const b = best!;
  if (b.degeneracy.components.size > 0) {
    const list = [...b.degeneracy.components].sort((a, c) => a - c).join(", ");
    const ridge = b.degeneracy.maxExtra > 0 ? `, and up to ${b.degeneracy.maxExtra.toPrecision(3)} more where its Cholesky factorisation failed` : "";
    (opts.warn ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `gmm: warning: degenerate covariance in component(s) ${list} (a constant feature, or a cluster on too few points); regularised by reg_covar ${o.regCovar}${ridge}`,
    );
  }
  const model = new GmmModel(o.type, o.k, points.d, b.params);
  const e = await model.eStep(ctx.x);
  const fit: ClusterFit = { labels: e.labels, k: o.k, iterations: b.iterations, converged: b.converged, objective: e.meanLogLik };
  return { fit, model };
}

/** EM iterations one at a time, from given means: what `lathe bench cluster` times. */
export interface EmStepper {
  /** One EM iteration: E-step, M-step, and the new precision factors. */
  step(): Promise<void>;
  /** The current means, f64 [k, d]. */
  means(): Float64Array;
}

/**
 * Starts EM from `means` [k, d] as scikit-learn's `_initialize` does from hard
 * responsibilities (each point's nearest mean), so both libraries' iterations begin alike.
 */
export async function emStepper(points: Points, opts: Pick<GmmOptions, "k" | "covarianceType" | "regCovar">, means: ArrayLike<number>): Promise<EmStepper> {
  checkPoints(points, "gmm");
  const o = resolve(points, { ...opts, init: { means } });
  const ctx: FitContext = {
    g: gmmGraphs(o.type, points.d, o.k), points, o, scale: meanVariance(points),
    x: f64(points.data, [points.n, points.d]), reg: f64([o.regCovar], []),
  };
  const degeneracy: Degeneracy = { components: new Set(), maxExtra: 0 };
  let params = await prepare(ctx.g, await mStep(ctx, f64(await initialResp(ctx, 0), [points.n, o.k])), o.k, o.regCovar, ctx.scale, degeneracy);
  return {
    async step() {
      const e = await ctx.g.eStep({ x: ctx.x, means: params.means, precChol: params.precChol, logDet: params.logDet, logWeights: params.logWeights });
      params = await prepare(ctx.g, await mStep(ctx, e["resp"]!), o.k, o.regCovar, ctx.scale, degeneracy);
    },
    means: () => f64Of(params.means),
  };
}

/** A fitted mixture: labels points by their most likely component. */
export class GmmModel implements ClusterModel {
  readonly method = "gmm" as const;
  private prepared: Promise<Prepared> | null;

  constructor(readonly covarianceType: CovarianceType, readonly k: number, readonly d: number, readonly params: GmmParams) {
    const want = covarianceType === "full" ? [k, d, d] : [k, d];
    const check = (name: string, t: Tensor, shape: readonly number[]) => {
      if (t.dtype !== "f64" || t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
        throw new LatheError(`gmm model: ${name} must be f64 [${shape.join(", ")}], got ${t.dtype} [${t.shape.join(", ")}]`);
      }
    };
    check("weights", params.weights, [k]);
    check("means", params.means, [k, d]);
    check("covariances", params.covariances, want);
    this.prepared = "precChol" in params ? Promise.resolve(params as Prepared) : null;
  }

  private graphs(): GmmGraphs { return gmmGraphs(this.covarianceType, this.d, this.k); }

  /** The precision factors, computed once (a fitted model's covariances are already regularised: they factor as they are). */
  private precisions(): Promise<Prepared> {
    this.prepared ??= (async () => {
      const { k, params } = this;
      const out = await this.graphs().precision({ cov: params.covariances, extra: f64(new Float64Array(k), [k]) });
      const piv = f64Of(out["pivots"]!), d = piv.length / k;
      const bad = piv.findIndex((v) => !(v > 0));
      if (bad >= 0) throw new LatheError(`gmm model: the covariance of component ${Math.floor(bad / d)} is not positive definite`);
      return { ...params, precChol: out["precChol"]!, logDet: out["logDet"]!, logWeights: f64(f64Of(params.weights).map(Math.log), [k]) };
    })();
    return this.prepared;
  }

  /** Responsibilities [n, k], the mean log-likelihood per point and the labels of f64 points x [n, d]. */
  async eStep(x: Tensor): Promise<{ resp: Float64Array; meanLogLik: number; labels: Int32Array }> {
    const p = await this.precisions();
    const e = await this.graphs().eStep({ x, means: p.means, precChol: p.precChol, logDet: p.logDet, logWeights: p.logWeights });
    return { resp: f64Of(e["resp"]!).slice(), meanLogLik: numOf(e["meanLogLik"]!), labels: (e["labels"]!.data as Int32Array).slice() };
  }

  async predict(points: Points): Promise<Int32Array> {
    checkPoints(points, "gmm predict");
    if (points.d !== this.d) throw new LatheError(`gmm predict: the points have ${points.d} features, the model ${this.d}`);
    return (await this.eStep(f64(points.data, [points.n, points.d]))).labels;
  }

  save(dir: string): void {
    writeModelDir(dir, { method: "gmm", k: this.k, d: this.d, covarianceType: this.covarianceType }, {
      weights: this.params.weights, means: this.params.means, covariances: this.params.covariances,
    });
  }
}

/** Reads a mixture saved by `GmmModel.save`. */
export function loadGmm(dir: string): GmmModel {
  const m = readModelManifest(dir, "gmm");
  const type = m["covarianceType"] as CovarianceType;
  if (!COVARIANCE_TYPES.includes(type)) {
    throw new LatheError(`${dir}/model.json: field "covarianceType" is ${JSON.stringify(m["covarianceType"])}, expected one of ${COVARIANCE_TYPES.join(", ")}`);
  }
  if (type === "full" && m.d > MAX_ORDER) throw new LatheError(`${dir}/model.json: field "d" is ${m.d}, more than ${MAX_ORDER} for full covariances`);
  const weights = readModelArray(dir, "weights", "f64", [m.k]);
  const w = f64Of(weights);
  if (w.some((v) => v <= 0)) throw new LatheError(`${dir}/weights.npy: the weights must be positive`);
  return new GmmModel(type, m.k, m.d, {
    weights,
    means: readModelArray(dir, "means", "f64", [m.k, m.d]),
    covariances: readModelArray(dir, "covariances", "f64", type === "full" ? [m.k, m.d, m.d] : [m.k, m.d]),
  });
}
