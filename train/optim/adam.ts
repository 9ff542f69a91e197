/**
 * Adam (Kingma & Ba) with bias correction, as torch.optim.Adam:
 *   g ← g + wd·p (L2, Adam only);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)
 * AdamW decouples the weight decay (Loshchilov & Hutter): p ← p·(1 − lr·wd) before the
 * Adam step, with the gradient left alone.
 */
import type { Tracer } from "../lt.ts";
import type { Optimizer, UpdateContext, Updated } from "./optimizer.ts";

export interface AdamOptions {
  readonly lr?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  readonly weightDecay?: number;
}

export class Adam implements Optimizer {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly slots: readonly string[] = ["exp_avg", "exp_avg_sq"];
  /** Whether weight decay is decoupled from the gradient (AdamW). */
  protected readonly decoupled: boolean = false;
  constructor(opts: AdamOptions = {}, defaultDecay = 0) {
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? defaultDecay;
  }
  update({ lr, t }: UpdateContext, p0: Tracer, g0: Tracer, [m0, v0]: readonly Tracer[]): Updated {
    const { beta1: b1, beta2: b2, weightDecay: wd } = this;
    const decay = wd !== 0 && this.decoupled;
    const p = decay ? p0.sub(p0.mul(lr).mul(wd)) : p0;
    const g = wd !== 0 && !this.decoupled ? g0.add(p0.mul(wd)) : g0;
    const m = m0!.mul(b1).add(g.mul(1 - b1));
    const v = v0!.mul(b2).add(g.mul(g).mul(1 - b2));
    // β^t = exp(t·ln β): t is a graph value, β a number.
    const c1 = t.mul(Math.log(b1)).exp().rsub(1), c2 = t.mul(Math.log(b2)).exp().rsub(1);
    const step = m.div(c1).div(v.div(c2).sqrt().add(this.epsilon)).mul(lr);
    return { param: p.sub(step), state: [m, v] };
  }
}

export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  constructor(opts: AdamOptions = {}) {
    super(opts, 0.01);
  }
}
