/**
 * Adadelta (Zeiler 2012), as torch.optim.Adadelta:
 *   g ← g + wd·p;  v ← ρ·v + (1−ρ)·g²;  d ← √(u + ε) / √(v + ε) · g
 *   u ← ρ·u + (1−ρ)·d²;  p ← p − lr·d
 */
import type { Tracer } from "../lt.ts";
import type { Optimizer, UpdateContext, Updated } from "./optimizer.ts";

export interface AdadeltaOptions {
  readonly lr?: number;
  readonly rho?: number;
  readonly epsilon?: number;
  readonly weightDecay?: number;
}

export class Adadelta implements Optimizer {
  lr: number;
  readonly rho: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly slots: readonly string[] = ["square_avg", "acc_delta"];
  constructor(opts: AdadeltaOptions = {}) {
    this.lr = opts.lr ?? 1;
    this.rho = opts.rho ?? 0.9;
    this.epsilon = opts.epsilon ?? 1e-6;
    this.weightDecay = opts.weightDecay ?? 0;
  }
  update({ lr }: UpdateContext, p: Tracer, g0: Tracer, [v0, u0]: readonly Tracer[]): Updated {
    const { rho, epsilon: eps } = this;
    const g = this.weightDecay !== 0 ? g0.add(p.mul(this.weightDecay)) : g0;
    const v = v0!.mul(rho).add(g.mul(g).mul(1 - rho));
    const d = u0!.add(eps).sqrt().div(v.add(eps).sqrt()).mul(g);
    const u = u0!.mul(rho).add(d.mul(d).mul(1 - rho));
    return { param: p.sub(d.mul(lr)), state: [v, u] };
  }
}
