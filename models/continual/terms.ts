/**
 * The graph pieces strategies add to the training step: penalties, distillation terms,
 * gradient projections and trackers. Each is a pure function of traced values; the
 * strategies (strategies/*.ts) feed their inputs.
 */
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/lt.ts";
import type { ContinualMlp } from "./model.ts";
import type { GraphTerms, TermContext } from "./program.ts";
import { perWeightInputs, perWeightSpecs } from "./program.ts";

/**
 * λ Σ_k Σ_i Ω_ki (θ_ki − θ̄_ki)²: EWC (Ω the Fisher), online EWC, SI and MAS. Inputs
 * `${name}.omega.k`, `${name}.anchor.k` per weight and the scalar `${name}.lambda`.
 * Several experiences' penalties Σ_e Ω_e(θ − θ_e)² are one such term with Ω = Σ_e Ω_e and
 * θ̄ = Σ_e Ω_e θ_e / Ω (same gradient; the loss differs by a constant).
 */
export function quadraticPenalty(m: ContinualMlp, name: string): GraphTerms {
  const omega = (c: TermContext) => perWeightInputs(c, `${name}.omega`), anchor = (c: TermContext) => perWeightInputs(c, `${name}.anchor`);
  const lambda = (c: TermContext) => c.inputs[`${name}.lambda`]!;
  return {
    inputs: { ...perWeightSpecs(m, `${name}.omega`), ...perWeightSpecs(m, `${name}.anchor`), [`${name}.lambda`]: { shape: [] } },
    // The value only (θ through stopGradient: one fused reduction per weight) ...
    loss(c: TermContext): Tracer {
      const om = omega(c), an = anchor(c);
      const sum = c.weights.map((w, k) => om[k]!.mul(w.stopGradient().sub(an[k]!).square()).sum()).reduce((a, b) => a.add(b));
      return sum.mul(lambda(c));
    },
    // ... and its gradient 2λΩ(θ − θ̄) in closed form.
    addGrads(c: TermContext): Tracer[] {
      const om = omega(c), an = anchor(c), l2 = lambda(c).mul(2);
      return c.weights.map((w, k) => om[k]!.mul(w.sub(an[k]!)).mul(l2));
    },
  };
}

/**
 * LwF's distillation: α · mean over rows of KL(q ‖ p) at temperature T over the previous
 * model's classes: q = softmax((lwf.z + lwf.mask) / T) from the previous model's logits
 * `lwf.z` [n, K], p = softmax((z + lwf.mask) / T), `lwf.mask` [K] hiding the classes the
 * previous model never saw (−1e9). `lwf.alpha` is a scalar input (0 before any previous model).
 */
export function distillation(m: ContinualMlp, temperature: number): GraphTerms {
  return {
    inputs: { "lwf.z": { shape: ["n", m.classes] }, "lwf.mask": { shape: [m.classes] }, "lwf.alpha": { shape: [] } },
    loss(c) {
      const mask = c.inputs["lwf.mask"]!.unsqueeze([0]);
      const logq = c.inputs["lwf.z"]!.add(mask).div(temperature).logSoftmax(-1);
      const logp = c.logits.add(mask).div(temperature).logSoftmax(-1);
      // Hidden classes: q = 0 and both logs finite (≈ −1e9 / T), so they add 0.
      const kl = logq.exp().mul(logq.sub(logp)).sum([1]).mean();
      return kl.mul(c.inputs["lwf.alpha"]!);
    },
  };
}

/** DER: Σ_i der.w_i · mean_c (z_ic − der.z_ic)² — regressing replayed rows' logits onto the stored ones. */
export function logitRegression(m: ContinualMlp): GraphTerms {
  return {
    inputs: { "der.z": { shape: ["n", m.classes] }, "der.w": { shape: ["n"] } },
    loss: (c) => c.logits.sub(c.inputs["der.z"]!).square().mean([1]).mul(c.inputs["der.w"]!).sum(),
  };
}

/**
 * iCaRL's loss: mean over rows of Σ over seen classes (`icarl.seen` [K], 1 or 0) of the
 * binary cross-entropy of sigmoid(z) against targets that are sigmoid(`icarl.z` old
 * logits) on the old classes (`icarl.old` [K], 1 or 0) and one-hot(y) elsewhere.
 */
export function sigmoidDistillation(m: ContinualMlp): GraphTerms {
  return {
    inputs: { "icarl.z": { shape: ["n", m.classes] }, "icarl.old": { shape: [m.classes] }, "icarl.seen": { shape: [m.classes] } },
    loss(c) {
      const old = c.inputs["icarl.old"]!.unsqueeze([0]);
      const target = c.inputs["icarl.z"]!.sigmoid().mul(old).add(c.inputs.y!.oneHot(m.classes).cast("f32").mul(old.rsub(1)));
      return c.logits.softplus().sub(c.logits.mul(target)).mul(c.inputs["icarl.seen"]!.unsqueeze([0])).sum([1]).mean();
    },
  };
}

const dot = (a: readonly Tracer[], b: readonly Tracer[]): Tracer => a.map((x, k) => x.mul(b[k]!).sum()).reduce((p, q) => p.add(q));

/**
 * A-GEM: with g_ref the gradient on a memory batch (`agem.ref.k`), g ← g − (g·g_ref / g_ref·g_ref) g_ref
 * when g·g_ref < 0, else g unchanged (also when g_ref = 0, e.g. before any memory).
 */
export function agemProjection(m: ContinualMlp): GraphTerms {
  return {
    inputs: perWeightSpecs(m, "agem.ref"),
    grads(g, c) {
      const r = perWeightInputs(c, "agem.ref");
      const gr = dot(g, r), rr = dot(r, r);
      const violated = gr.less(0);
      const coef = lt.where(violated, gr.div(lt.where(violated, rr, lt.scalar(1))), lt.scalar(0));
      return g.map((x, k) => x.sub(r[k]!.mul(coef)));
    },
  };
}

/**
 * GEM: the past experiences' reference gradients are the rows of G (`gem.G.k` [t, …]); the
 * step's gradient g becomes the solution z of min ½‖z − g‖² s.t. G z ≥ 0, through the dual
 * min_{v ≥ 0} ½ vᵀ(G Gᵀ)v + vᵀ(G g) and z = g + Gᵀ v. The dual (t × t, t = experiences so
 * far) is solved in-graph by `iterations` steps of accelerated projected gradient (FISTA)
 * with step 1 / trace(G Gᵀ) (≤ 1 / λ_max, as G Gᵀ is positive semi-definite); GEM's memory strength γ adds γ to v after the
 * solve, as the reference implementation does. Projects only when some g_k·g < 0.
 */
export function gemProjection(m: ContinualMlp, opts: { iterations: number; memoryStrength: number }): GraphTerms {
  return {
    inputs: perWeightSpecs(m, "gem.G", ["t"]),
    grads(g, c) {
      const G = perWeightInputs(c, "gem.G");
      const flat = G.map((x) => x.reshape([0, -1]));                                 // [t, P_k]
      const M = flat.map((x) => x.matmul(x.transpose([1, 0]))).reduce((a, b) => a.add(b)); // [t, t]
      const Gg = flat.map((x, k) => x.matmul(g[k]!.reshape([-1, 1]))).reduce((a, b) => a.add(b)).reshape([-1]); // [t]
      const zero = Gg.mul(0);
      const tr = flat.map((x) => x.square().sum()).reduce((a, b) => a.add(b)); // trace(G Gᵀ) = ‖G‖²
      const eta = lt.where(tr.greater(0), lt.scalar(1).div(lt.where(tr.greater(0), tr, lt.scalar(1))), lt.scalar(0));
      let v = zero, yv = zero, tk = 1;
      for (let i = 0; i < opts.iterations; i++) {
        const grad = M.matmul(yv.reshape([-1, 1])).reshape([-1]).add(Gg);
        const vNext = yv.sub(grad.mul(eta)).maximum(0);
        const tNext = (1 + Math.sqrt(1 + 4 * tk * tk)) / 2;
        yv = vNext.add(vNext.sub(v).mul((tk - 1) / tNext));
        v = vNext;
        tk = tNext;
      }
      const violated = Gg.min().less(0);
      const vFinal = lt.where(violated, v.add(opts.memoryStrength), zero).reshape([1, -1]); // [1, t]
      return g.map((x, k) => x.add(vFinal.matmul(flat[k]!).reshape(x.shape as number[])));
    },
  };
}

/**
 * SI's path integral per weight: ω ← ω − g · (θ_after − θ_before), with g the gradient of
 * the step's loss (Zenke et al.'s running importance, accumulated over an experience).
 */
export const siTracker = { name: "si.omega", update: ({ before, after, grad, state }: { before: Tracer; after: Tracer; grad: Tracer; state: Tracer }) => state.sub(grad.mul(after.sub(before))) };
