/**
 * The continual learner's network: an MLP (Linear → ReLU per hidden width → Linear to the
 * classes), written as a function of its weight tracers so one definition serves the
 * training step (weights read with lt.param) and the gradient graphs.
 *
 * Multi-head for task-incremental streams: one output layer whose columns are the
 * heads' units, and an additive logit mask per row (0 for the row's task's classes,
 * −1e9 elsewhere) — a head per task, since a masked softmax gives other tasks' columns
 * neither probability nor gradient.
 */
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import { uniformParam } from "../../train/nn/module.ts";
import type { Parameter } from "../../train/parameter.ts";

/** The additive mask value for a class a row may not answer. */
export const MASKED = -1e9;

export class ContinualMlp {
  readonly params: Parameter[];
  /** [features, ...hidden, classes]. */
  readonly sizes: readonly number[];

  constructor(features: number, hidden: readonly number[], classes: number, seed: number) {
    this.sizes = [features, ...hidden, classes];
    const rng = new Rng(seed);
    this.params = [];
    for (let k = 0; k + 1 < this.sizes.length; k++) {
      // PyTorch's nn.Linear default: U(±1/√fan_in) for weight and bias.
      const bound = 1 / Math.sqrt(this.sizes[k]!);
      this.params.push(uniformParam(`mlp.fc${k}.weight`, [this.sizes[k]!, this.sizes[k + 1]!], bound, rng));
      this.params.push(uniformParam(`mlp.fc${k}.bias`, [this.sizes[k + 1]!], bound, rng));
    }
  }

  get classes(): number { return this.sizes.at(-1)!; }
  get features(): number { return this.sizes[0]!; }

  /** The last hidden layer's activations (the input itself without hidden layers). */
  embed(x: Tracer, w: readonly Tracer[]): Tracer {
    let h = x;
    for (let k = 0; k + 2 < w.length; k += 2) h = h.matmul(w[k]!).add(w[k + 1]!).relu();
    return h;
  }

  logits(x: Tracer, w: readonly Tracer[]): Tracer {
    const h = this.embed(x, w);
    return h.matmul(w.at(-2)!).add(w.at(-1)!);
  }

  /** Copies of the current weights. */
  snapshot(): Tensor[] { return this.params.map((p) => new Tensor((p.value.data as Float32Array).slice(), p.shape, "f32")); }

  restore(ws: readonly Tensor[]): void { this.params.forEach((p, k) => (p.value = ws[k]!)); }

  /** Runs `fn` with the weights temporarily set to `ws` (e.g. the model of the previous experience). */
  async with<R>(ws: readonly Tensor[], fn: () => Promise<R>): Promise<R> {
    const keep = this.params.map((p) => p.value);
    this.restore(ws);
    try { return await fn(); } finally { this.restore(keep); }
  }

  /** Multiply-accumulates of one forward pass of one row. */
  get macs(): number {
    let s = 0;
    for (let k = 0; k + 1 < this.sizes.length; k++) s += this.sizes[k]! * this.sizes[k + 1]!;
    return s;
  }
}
