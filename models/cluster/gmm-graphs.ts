/**
 * The compiled graphs of a Gaussian mixture, in scikit-learn's parametrisation
 * (sklearn/mixture/_gaussian_mixture.py): a component keeps its covariance Σ and the
 * Cholesky factor P of its precision (Σ⁻¹ = P Pᵀ, P = L⁻ᵀ for Σ = L Lᵀ; diag: 1/√σ²), and
 * the log-density of x is −½ (d log 2π + ‖(x − μ) P‖²) + log det P.
 *
 * - `precision`: Σ (+ an extra ridge per component) → P, log det P and L's diagonal (the
 *   pivots the caller checks for degeneracy). Full: cholesky, then triangular_solve of L
 *   against the identity (compiler/ops/basic/linalg.ts); log det P = −Σ log diag L.
 * - `eStep`: weighted log-densities, responsibilities by logsumexp over the components,
 *   the mean log-likelihood per point and the most likely component of each point. Full:
 *   ‖x P − μ P‖² with one batched matmul x P_k ([k, n, d]), as sklearn; diag: the
 *   expansion Σ μ²/σ² − 2 x·(μ/σ²) + x²·(1/σ²) by two matmuls (sklearn's form).
 * - `mStep`: weights, means and covariances from responsibilities; nk gets 10·eps as in
 *   sklearn so an empty component divides by a tiny number, not 0; reg_covar is added to
 *   the covariance diagonals. Full: Σ_k = (r_k ⊙ (x − μ_k))ᵀ (x − μ_k) / nk; diag: sklearn's
 *   E[x²] − 2 μ E[x] + μ².
 *
 * All in f64. The number of points n is symbolic, so each graph is compiled once per
 * (covariance type, d, k) and serves every n (d and k static: the cholesky op needs a
 * static order, and matmuls with static inner sizes compile to faster kernels).
 */
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/index.ts";
import type { CompiledFunction, InputSpecs, TensorInputs } from "../../train/jit.ts";
import type { Tensor } from "../../runtime/tensor.ts";

export type CovarianceType = "full" | "diag";

const f64 = (shape: (string | number)[]) => ({ shape, dtype: "f64" as const });

/** The float64 machine epsilon (numpy.finfo(float).eps). */
const EPS = 2 ** -52;
const LOG_2PI = Math.log(2 * Math.PI);

type Outs = { readonly [name: string]: Tracer };

export interface GmmGraphs {
  /** { cov, extra [k] } → { covariances (cov + extra on the diagonal), precChol, logDet [k], pivots [k, d] } */
  readonly precision: (inputs: { cov: Tensor; extra: Tensor }) => Promise<Record<string, Tensor>>;
  /** { x [n, d], means, precChol, logDet [k], logWeights [k] } → { resp [n, k], meanLogLik [], labels i32 [n] } */
  readonly eStep: (inputs: { x: Tensor; means: Tensor; precChol: Tensor; logDet: Tensor; logWeights: Tensor }) => Promise<Record<string, Tensor>>;
  /** { x [n, d], resp [n, k], reg [] } → { weights [k], means [k, d], covariances } */
  readonly mStep: (inputs: { x: Tensor; resp: Tensor; reg: Tensor }) => Promise<Record<string, Tensor>>;
}

/** The identity [d, d] as an f64 constant of the trace. */
const eye = (d: number): Tracer => lt.constant(Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0)), [d, d], "f64", "eye");

function fullGraphs(d: number, k: number): GmmGraphs {
  const cov = [k, d, d];
  const precision = lt.compile(({ cov: c, extra }: Record<string, Tracer>) => {
    const I = eye(d);
    const covariances = c!.add(I.mul(extra!.unsqueeze([1, 2])));
    const L = lt.op("cholesky", [covariances])[0]!;
    const precChol = lt.op("triangular_solve", [L, lt.op("broadcast_like", [I, covariances])[0]!])[0]!.transpose([0, 2, 1]);
    const pivots = L.mul(I).sum([2]);
    return { covariances, precChol, logDet: pivots.log().sum([1]).neg(), pivots };
  }, { cov: f64(cov), extra: f64([k]) });

  const eStep = lt.compile(({ x, means, precChol, logDet, logWeights }: Record<string, Tracer>) => {
    const y = x!.matmul(precChol!); // [k, n, d]
    const mu = means!.unsqueeze([1]).matmul(precChol!); // [k, 1, d]
    const maha = y.sub(mu).square().sum([2]).transpose(); // [n, k]
    return responsibilities(maha, logDet!, logWeights!, d);
  }, { x: f64(["n", d]), means: f64([k, d]), precChol: f64(cov), logDet: f64([k]), logWeights: f64([k]) });

  const mStep = lt.compile(({ x, resp, reg }: Record<string, Tracer>) => {
    const { nk, means, weights } = weightsAndMeans(x!, resp!);
    const diff = x!.unsqueeze([0]).sub(means.unsqueeze([1])); // [k, n, d]
    const weighted = diff.mul(resp!.transpose().unsqueeze([2]));
    const covariances = weighted.transpose([0, 2, 1]).matmul(diff).div(nk.unsqueeze([1, 2])).add(eye(d).mul(reg!));
    return { weights, means, covariances };
  }, { x: f64(["n", d]), resp: f64(["n", k]), reg: f64([]) });

  return { precision: run(precision), eStep: run(eStep), mStep: run(mStep) };
}

function diagGraphs(d: number, k: number): GmmGraphs {
  const precision = lt.compile(({ cov, extra }: Record<string, Tracer>) => {
    const covariances = cov!.add(extra!.unsqueeze([1]));
    const pivots = covariances.sqrt();
    const precChol = pivots.rdiv(1);
    return { covariances, precChol, logDet: precChol.log().sum([1]), pivots };
  }, { cov: f64([k, d]), extra: f64([k]) });

  const eStep = lt.compile(({ x, means, precChol, logDet, logWeights }: Record<string, Tracer>) => {
    const prec = precChol!.square(); // [k, d]
    const maha = means!.square().mul(prec).sum([1]) // [k]
      .sub(x!.matmul(means!.mul(prec).transpose()).mul(2)) // [n, k]
      .add(x!.square().matmul(prec.transpose()));
    return responsibilities(maha, logDet!, logWeights!, d);
  }, { x: f64(["n", d]), means: f64([k, d]), precChol: f64([k, d]), logDet: f64([k]), logWeights: f64([k]) });

  const mStep = lt.compile(({ x, resp, reg }: Record<string, Tracer>) => {
    const { nk, means, weights } = weightsAndMeans(x!, resp!);
    const avgX2 = resp!.transpose().matmul(x!.square()).div(nk.unsqueeze([1]));
    const avgXMeans = means.mul(resp!.transpose().matmul(x!)).div(nk.unsqueeze([1]));
    const covariances = avgX2.sub(avgXMeans.mul(2)).add(means.square()).add(reg!);
    return { weights, means, covariances };
  }, { x: f64(["n", d]), resp: f64(["n", k]), reg: f64([]) });

  return { precision: run(precision), eStep: run(eStep), mStep: run(mStep) };
}

/** From squared Mahalanobis distances [n, k]: responsibilities, the mean log-likelihood and the labels. */
function responsibilities(maha: Tracer, logDet: Tracer, logWeights: Tracer, d: number): Outs {
  const weighted = maha.add(d * LOG_2PI).mul(-0.5).add(logDet).add(logWeights); // [n, k]
  const norm = weighted.logsumexp([1], true); // [n, 1]
  return { resp: weighted.sub(norm).exp(), meanLogLik: norm.mean(), labels: weighted.argmax(1) };
}

/** nk (+10·eps), the means respᵀ x / nk and the weights nk / Σ nk (sklearn's _m_step). */
function weightsAndMeans(x: Tracer, resp: Tracer): { nk: Tracer; means: Tracer; weights: Tracer } {
  const nk = resp.sum([0]).add(10 * EPS);
  return { nk, means: resp.transpose().matmul(x).div(nk.unsqueeze([1])), weights: nk.div(nk.sum()) };
}

const run = <S extends InputSpecs, O extends Outs>(g: CompiledFunction<S, O>) =>
  async (inputs: TensorInputs<S>): Promise<Record<string, Tensor>> => (await g(inputs)) as unknown as Record<string, Tensor>;

const cache = new Map<string, GmmGraphs>();

/** The graphs for one covariance type, dimension and number of components (traced once per process). */
export function gmmGraphs(type: CovarianceType, d: number, k: number): GmmGraphs {
  const key = `${type}:${d}:${k}`;
  let g = cache.get(key);
  if (!g) {
    g = type === "full" ? fullGraphs(d, k) : diagGraphs(d, k);
    cache.set(key, g);
  }
  return g;
}
