/**
 * Optimizers are graphs: `update` appends one parameter's update to the step graph with
 * `Tracer` ops. Its state (momentum, moment estimates…) is a list of named slots per
 * parameter, each a tensor of the parameter's shape that starts at zero; the step graph
 * takes the slots as inputs and returns their new values, and the compiled step keeps
 * them in runtime tensors between steps.
 */
import type { Tracer } from "../lt.ts";

export interface UpdateContext {
  /** The learning rate, a scalar in the parameter's dtype (a graph input: changing `lr` needs no recompile). */
  readonly lr: Tracer;
  /** This update's 1-based number, a scalar in the parameter's dtype. */
  readonly t: Tracer;
}

export interface Updated {
  readonly param: Tracer;
  readonly state: readonly Tracer[];
}

export interface Optimizer {
  lr: number;
  /** Names of the per-parameter state tensors, in the order `update` takes and returns them. */
  readonly slots: readonly string[];
  update(ctx: UpdateContext, param: Tracer, grad: Tracer, state: readonly Tracer[]): Updated;
}
