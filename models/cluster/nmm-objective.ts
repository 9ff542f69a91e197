/**
 * The neural mixture model's objective as graph functions (Tissera et al. 2021), shared by
 * the compiled training step (nmm.ts), the saved inference graph (nmm-artifact.ts) and the
 * gradient tests.
 *
 * A batch of B points gets network outputs z [B, K]. The equal-mass transformation turns
 * column k into the density of cluster k over the batch, p_k(x_n) = s_nk / Σ_m s_mk, so
 * every cluster's density sums to 1 over the batch and no cluster can raise its likelihood
 * by raising its outputs everywhere:
 *   "sigmoid" (the paper's): s = σ(z). An output saturates at 1, so a density is at most
 *     flat over the points its cluster claims: a cluster wins points by claiming a region,
 *     not by peaking on a few points.
 *   "softmax": s = exp(z), i.e. a softmax of each column over the batch. Nothing bounds one
 *     point's share, so a cluster's density may concentrate on a handful of points; it has
 *     no saturation, hence no vanishing gradient for confidently rejected points.
 * Both are computed in log space: log p = log s − logsumexp over the batch.
 *
 * Priors π = softmax(ρ), ρ a [K] parameter. E-step (forward, no gradient): responsibilities
 * γ_nk = π_k p_k(x_n) / Σ_j π_j p_j(x_n) from stop_gradient of log(π p). M-step (backward):
 * maximise the mean over the batch of Σ_k γ_nk log(π_k p_k(x_n)) over the network and ρ.
 * The posterior of a point, softmax_k of log(π p) with the gradient kept, is what the
 * consistency term compares across two augmented views.
 */
import type { Tracer } from "../../train/lt.ts";

export type NmmTransform = "sigmoid" | "softmax";
export const NMM_TRANSFORMS: readonly NmmTransform[] = ["sigmoid", "softmax"];

/** log s from the network outputs: log σ(z) = −softplus(−z), or z itself. */
export const logScores = (z: Tracer, transform: NmmTransform): Tracer =>
  (transform === "sigmoid" ? z.neg().softplus().neg() : z);

/** log p_k(x_n) = log s_nk − log Σ_m s_mk: each column normalised over the batch (axis 0). */
export const logDensities = (logS: Tracer): Tracer => logS.sub(logS.logsumexp([0], true));

export interface EmTerms {
  /** log(π_k p_k(x_n)), [B, K], differentiable. */
  readonly logJoint: Tracer;
  /** The responsibilities γ, [B, K], held fixed by stop_gradient. */
  readonly gamma: Tracer;
  /** The mean over the batch of Σ_k γ log(π p): the M-step maximises it. */
  readonly objective: Tracer;
}

/**
 * The E-step: responsibilities from log(π p) held fixed (stop_gradient). `temperature` T
 * sharpens them: γ = softmax(log(π p) / T); T = 1 is EM's posterior, T = 0 its hard limit
 * (one-hot at the most likely cluster, the first on ties: classification EM).
 */
export function responsibilities(logJoint: Tracer, temperature: number): Tracer {
  const held = logJoint.stopGradient();
  if (temperature === 0) return held.argmax(1).oneHot(logJoint.shape[1] as number).cast(logJoint.dtype);
  return (temperature === 1 ? held : held.div(temperature)).softmax(-1);
}

/** The M-step objective: mean_n Σ_k γ_nk log(π_k p_k(x_n)). */
export const mStepObjective = (gamma: Tracer, logJoint: Tracer): Tracer => gamma.mul(logJoint).sum([1]).mean();

/** log(π p), its responsibilities and the M-step objective for outputs z [B, K] and prior logits rho [K]. */
export function emTerms(z: Tracer, rho: Tracer, transform: NmmTransform, temperature = 1): EmTerms {
  const logJoint = logDensities(logScores(z, transform)).add(rho.logSoftmax(-1));
  const gamma = responsibilities(logJoint, temperature);
  return { logJoint, gamma, objective: mStepObjective(gamma, logJoint) };
}

/**
 * Symmetric KL divergence between the posteriors of two views, softmax of each view's
 * log(π p) (gradients flow into both), as a mean over the batch:
 *   ½ Σ_k (q1 − q2)(log q1 − log q2) = ½ (KL(q1‖q2) + KL(q2‖q1)).
 */
export function symmetricKl(logJoint1: Tracer, logJoint2: Tracer): Tracer {
  const lq1 = logJoint1.logSoftmax(-1), lq2 = logJoint2.logSoftmax(-1);
  return lq1.exp().sub(lq2.exp()).mul(lq1.sub(lq2)).sum([1]).mean().mul(0.5);
}
