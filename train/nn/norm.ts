/**
 * Normalization layers. BatchNorm trains on batch statistics (`batch_norm_train`) and
 * keeps running mean and variance as state parameters, which the step graph updates
 * (running ← (1 − momentum)·running + momentum·batch, as PyTorch, whose running variance
 * is the unbiased batch variance: the op's biased one times n/(n − 1), with n the
 * elements per channel, computed in the graph so a symbolic batch works); in inference it
 * normalizes with the running statistics (`batch_norm`). The channel axis is 1
 * ([N, C] or [N, C, H, W]).
 */
import type { Tracer } from "../lt.ts";
import { lt } from "../lt.ts";
import type { Parameter } from "../parameter.ts";
import { Module, constParam } from "./module.ts";

export interface BatchNormOptions {
  readonly momentum?: number;
  readonly epsilon?: number;
  readonly name?: string;
}

export class BatchNorm extends Module {
  readonly scale: Parameter;
  readonly bias: Parameter;
  readonly runningMean: Parameter;
  readonly runningVar: Parameter;
  readonly momentum: number;
  readonly epsilon: number;
  constructor(readonly channels: number, opts: BatchNormOptions = {}) {
    super();
    const name = opts.name ?? "batch_norm";
    this.momentum = opts.momentum ?? 0.1;
    this.epsilon = opts.epsilon ?? 1e-5;
    this.scale = constParam(`${name}.scale`, [channels], 1);
    this.bias = constParam(`${name}.bias`, [channels], 0);
    this.runningMean = constParam(`${name}.running_mean`, [channels], 0, false);
    this.runningVar = constParam(`${name}.running_var`, [channels], 1, false);
  }
  forward(x: Tracer): Tracer {
    const scale = lt.param(this.scale), bias = lt.param(this.bias);
    if (!lt.training()) {
      return lt.op("batch_norm", [x, scale, bias, lt.param(this.runningMean), lt.param(this.runningVar)], { epsilon: this.epsilon })[0]!;
    }
    const [y, mean, variance] = lt.op("batch_norm_train", [x, scale, bias], { epsilon: this.epsilon, axis: 1 });
    const m = this.momentum;
    const n = lt.op("ones_like", [x])[0]!.sum().div(this.channels);
    const unbiased = variance!.mul(n.div(n.sub(1)));
    lt.assign(this.runningMean, lt.param(this.runningMean).mul(1 - m).add(mean!.mul(m)));
    lt.assign(this.runningVar, lt.param(this.runningVar).mul(1 - m).add(unbiased.mul(m)));
    return y!;
  }
}

export interface LayerNormOptions {
  readonly epsilon?: number;
  readonly name?: string;
}

/** Normalizes over the last axis (of size `features`), then scales and shifts per feature. */
export class LayerNorm extends Module {
  readonly scale: Parameter;
  readonly bias: Parameter;
  readonly epsilon: number;
  constructor(readonly features: number, opts: LayerNormOptions = {}) {
    super();
    const name = opts.name ?? "layer_norm";
    this.epsilon = opts.epsilon ?? 1e-5;
    this.scale = constParam(`${name}.scale`, [features], 1);
    this.bias = constParam(`${name}.bias`, [features], 0);
  }
  forward(x: Tracer): Tracer {
    return lt.op("layer_norm", [x, lt.param(this.scale), lt.param(this.bias)], { axis: -1, epsilon: this.epsilon })[0]!;
  }
}
