/**
 * SGD with optional momentum, Nesterov momentum and L2 weight decay, as PyTorch's
 * torch.optim.SGD (dampening 0):
 *   g ← g + wd·p;  b ← μ·b + g;  d ← nesterov ? g + μ·b : b;  p ← p − lr·d
 * (without momentum d = g and there is no state).
 */
import { LatheError } from "../../core/errors.ts";
import type { Tracer } from "../lt.ts";
import type { Optimizer, UpdateContext, Updated } from "./optimizer.ts";

export interface SgdOptions {
  readonly lr: number;
  readonly momentum?: number;
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
}

export class SGD implements Optimizer {
  lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly slots: readonly string[];
  constructor(opts: SgdOptions) {
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (this.nesterov && this.momentum <= 0) throw new LatheError("SGD: Nesterov momentum needs momentum > 0");
    this.slots = this.momentum !== 0 ? ["momentum"] : [];
  }
  update({ lr }: UpdateContext, p: Tracer, g: Tracer, state: readonly Tracer[]): Updated {
    const grad = this.weightDecay !== 0 ? g.add(p.mul(this.weightDecay)) : g;
    if (this.momentum === 0) return { param: p.sub(grad.mul(lr)), state: [] };
    const buf = state[0]!.mul(this.momentum).add(grad);
    const d = this.nesterov ? grad.add(buf.mul(this.momentum)) : buf;
    return { param: p.sub(d.mul(lr)), state: [buf] };
  }
}
