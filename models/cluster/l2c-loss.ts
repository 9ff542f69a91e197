/**
 * L2C's loss as graph functions (Meier et al. 2018; ../shared/design/LEARNING.md "L2C"),
 * shared by the compiled training step (l2c.ts) and the tests.
 *
 * For a batch of B sets of n points the network gives count logits [B, K] (P(k) =
 * softmax, k = 1…K) and, per k, head logits [B, n, k] (P(l | x_i, k) = softmax over the k
 * labels). The probability that points i and j share a cluster is
 *     P_ij = Σ_k P(k) Σ_{l≤k} P(l | x_i, k) · P(l | x_j, k),
 * a batched product of each head's probabilities with their transpose. The loss is
 * L = L_cc + L_ca, means over the batch's sets:
 *     L_cc = −log P(k_true);
 *     L_ca = −2/(n(n−1)) Σ_{i<j} [φ1 y_ij log P_ij + φ2 (1 − y_ij) log(1 − P_ij)],
 * y_ij = 1 when i and j share a cluster, φ the mean of y_ij over the batch's pairs,
 * c = 2 / (√φ + √(1 − φ)), φ1 = c√(1 − φ), φ2 = c√φ (the rarer kind of pair weighs more).
 * P_ij is symmetric, so Σ_{i<j} is half the sum over i ≠ j (a mask off the diagonal).
 * P_ij is clamped to [ε, 1 − ε] before the logs: in f32 a confident network rounds P_ij to
 * exactly 0 or 1.
 */
import { LatheError, ShapeError } from "../../core/errors.ts";
import { typedArrayFor } from "../../core/dtype.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/lt.ts";

/** Softmax of each head's logits over its labels: heads[k−1] is [B, n, k]. */
export const headProbabilities = (heads: readonly Tracer[]): Tracer[] => heads.map((h) => h.softmax(-1));

/** P_ij [B, n, n] from count logits [B, K] and the K heads' logits. */
export function pairProbability(countLogits: Tracer, heads: readonly Tracer[]): Tracer {
  const K = heads.length;
  if (countLogits.rank !== 2 || countLogits.shape[1] !== K) {
    throw new ShapeError(`l2c: count logits ${countLogits.value.name} must be [batch, ${K}] for ${K} heads, got [${countLogits.shape.join(", ")}]`);
  }
  const pk = countLogits.softmax(-1);
  let total: Tracer | null = null;
  headProbabilities(heads).forEach((p, i) => {
    if (p.rank !== 3 || p.shape[2] !== i + 1) throw new ShapeError(`l2c: head ${i + 1} must be [batch, n, ${i + 1}], got [${p.shape.join(", ")}]`);
    const same = p.matmul(p.transpose([0, 2, 1])); // [B, n, n]: Σ_l p_il p_jl
    const term = same.mul(pk.slice([i], [i + 1], [1]).unsqueeze([2])); // P(k) [B, 1, 1]
    total = total ? total.add(term) : term;
  });
  if (!total) throw new LatheError("l2c: at least one head (k_max ≥ 1) is needed");
  return total;
}

/** y_ij [B, n, n] in `dtype`: 1 where labels (i32 [B, n], each < kMax) agree. */
export function sameCluster(labels: Tracer, kMax: number, dtype: Tracer["dtype"]): Tracer {
  const y = labels.oneHot(kMax).cast(dtype);
  return y.matmul(y.transpose([0, 2, 1]));
}

export interface L2cLossTerms {
  readonly loss: Tracer;
  /** Cross-entropy of P(k) against the true k. */
  readonly countLoss: Tracer;
  /** The φ-weighted pair loss. */
  readonly pairLoss: Tracer;
}

/**
 * L = L_cc + L_ca for count logits [B, K], heads (heads[k−1]: [B, n, k]), labels i32 [B, n]
 * (0…k−1) and the true k, i32 [B] (1…K). n must be static (the pair count normalises).
 */
export function l2cLoss(countLogits: Tracer, heads: readonly Tracer[], labels: Tracer, k: Tracer, eps = 1e-6): L2cLossTerms {
  const K = heads.length, dtype = countLogits.dtype;
  const n = labels.shape[1];
  if (labels.rank !== 2 || typeof n !== "number") throw new ShapeError(`l2c: labels ${labels.value.name} must be [batch, n] with a static n, got [${labels.shape.join(", ")}]`);
  if (n < 2) throw new ShapeError(`l2c: the pair loss needs sets of at least 2 points, got n = ${n}`);
  const P = pairProbability(countLogits, heads);
  const y = sameCluster(labels, K, dtype);
  // The mask off the diagonal: pairs i ≠ j.
  const off = typedArrayFor(dtype, n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) off[i * n + j] = i === j ? 0 : 1;
  const mask = lt.constant(off, [n, n], dtype, "l2c_offdiag");
  const yOff = y.mul(mask);
  // φ: the batch's fraction of same-cluster pairs; the weights depend on the labels only.
  const phi = yOff.mean().mul(n / (n - 1)).stopGradient();
  const c = phi.sqrt().add(phi.rsub(1).sqrt()).rdiv(2);
  const phi1 = c.mul(phi.rsub(1).sqrt()), phi2 = c.mul(phi.sqrt());
  const Pc = P.maximum(eps).minimum(1 - eps);
  const terms = yOff.mul(Pc.log()).mul(phi1).add(y.rsub(1).mul(mask).mul(Pc.rsub(1).log()).mul(phi2));
  // Σ_{i≠j} = 2 Σ_{i<j}, so −2/(n(n−1)) Σ_{i<j} is −1/(n(n−1)) Σ_{i≠j}; then the mean over sets.
  const pairLoss = terms.sum([1, 2]).mean().mul(-1 / (n * (n - 1)));
  const countLoss = countLogits.logSoftmax(-1).mul(k.sub(1).oneHot(K).cast(dtype)).sum([1]).mean().neg();
  return { loss: countLoss.add(pairLoss), countLoss, pairLoss };
}
