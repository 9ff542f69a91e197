/**
 * InfoNCE over a grid of patch vectors z [B, g, g, C] read row by row (Oord et al.; Löwe et
 * al.'s GIM loss). For prediction step k the context z_t at grid row r scores candidate z_j
 * bilinearly, s_k(z_j, z_t) = z_tᵀ W_k z_j (W_k a C×C matrix: a 1×1 convolution over the
 * grid); the positive is the vector k rows below (same column, same image), the negatives
 * n vectors drawn uniformly from the other positions and images of the batch. The loss of
 * step k is −mean over contexts of log softmax(s_pos, s_neg1 … s_negn)[pos]; the module's
 * loss is their sum over k = 1 … K.
 *
 * Negatives are row indices into z flattened to [B·g·g, C], drawn on the host from a seeded
 * stream and fed as i32 inputs [B·(g−k)·g, n] each step, so one traced graph serves every
 * batch (no re-trace) and a run is reproducible.
 */
import type { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/lt.ts";
import { uniformParam } from "../../train/nn/module.ts";
import type { Parameter } from "../../train/parameter.ts";

/** The InfoNCE loss Σ_k L_k for z [B, g, g, C], W_k [C, C] and negative indices [B·(g−k)·g, n] per k. */
export function infoNceLoss(z: Tracer, weights: readonly Tracer[], negatives: readonly Tracer[]): Tracer {
  const [b, g, , c] = z.shape as [number, number, number, number];
  const flat = z.reshape([b * g * g, c]);
  let total: Tracer | null = null;
  weights.forEach((w, i) => {
    const k = i + 1, q = b * (g - k) * g;
    const context = z.slice([0], [g - k], [1]).reshape([q, c]);
    const positive = z.slice([k], [g], [1]).reshape([q, c]);
    const pred = context.matmul(w); // [q, C]: z_tᵀ W_k, dotted with each candidate below
    const sPos = pred.mul(positive).sum([1], true);
    const sNeg = flat.gather(negatives[i]!).mul(pred.unsqueeze([1])).sum([2]);
    const logp = lt.concat([sPos, sNeg], 1).logSoftmax(1).slice([0], [1], [1]);
    const lk = logp.mean().neg();
    total = total ? total.add(lk) : lk;
  });
  return total!;
}

/** The bilinear maps W_1 … W_K of one module, initialised as PyTorch's 1×1 convolution (uniform ±1/√C). */
export function predictionWeights(channels: number, steps: number, rng: Rng, name: string): Parameter[] {
  return Array.from({ length: steps }, (_, i) => uniformParam(`${name}.W${i + 1}`, [channels, channels], 1 / Math.sqrt(channels), rng));
}

/**
 * Negative indices for every step: for each context (b, r, col) of step k, n draws uniform
 * over the B·g·g positions other than its positive (b, r + k, col).
 */
export function sampleNegatives(rng: Rng, batch: number, grid: number, steps: number, n: number): Tensor[] {
  const total = batch * grid * grid;
  return Array.from({ length: steps }, (_, i) => {
    const k = i + 1, rows = grid - k;
    const out = new Int32Array(batch * rows * grid * n);
    let o = 0;
    for (let b = 0; b < batch; b++) for (let r = 0; r < rows; r++) for (let col = 0; col < grid; col++) {
      const pos = (b * grid + r + k) * grid + col;
      for (let j = 0; j < n; j++) {
        const u = rng.int(0, total - 1);
        out[o++] = u >= pos ? u + 1 : u;
      }
    }
    return new Tensor(out, [batch * rows * grid, n], "i32");
  });
}

/** Names of the negative-index inputs of a step graph. */
export const negativeInputs = (steps: number): string[] => Array.from({ length: steps }, (_, i) => `neg${i + 1}`);
