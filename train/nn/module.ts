/**
 * Layers: a `Module` owns `Parameter`s (and sub-modules) and traces its computation in
 * `forward`. Parameters are found by walking the module's own fields, so a layer only
 * has to store them; a compiled step feeds the ones a trace reads.
 */
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../lt.ts";
import { Parameter } from "../parameter.ts";

export abstract class Module {
  abstract forward(x: Tracer): Tracer;

  /** Every parameter of this module and its sub-modules (fields, arrays of them), each once. */
  parameters(): Parameter[] {
    const out = new Set<Parameter>();
    const visit = (x: unknown): void => {
      if (x instanceof Parameter) out.add(x);
      else if (x instanceof Module) for (const v of Object.values(x)) visit(v);
      else if (Array.isArray(x)) x.forEach(visit);
    };
    for (const v of Object.values(this)) visit(v);
    return [...out];
  }
}

/** A layer or a plain function of one traced value. */
export type Layer = Module | ((x: Tracer) => Tracer);

export const applyLayer = (l: Layer, x: Tracer): Tracer => (l instanceof Module ? l.forward(x) : l(x));

export class Sequential extends Module {
  readonly layers: Layer[];
  constructor(...layers: Layer[]) {
    super();
    this.layers = layers;
  }
  forward(x: Tracer): Tracer { return this.layers.reduce((h, l) => applyLayer(l, h), x); }
}

let defaultRng = new Rng(0);

/** Reseeds the stream layers draw their initial weights from when given no `rng`. */
export function manualSeed(seed: number): void { defaultRng = new Rng(seed); }

export const rngOr = (rng: Rng | undefined): Rng => rng ?? defaultRng;

/** Uniform in [-bound, bound): PyTorch's default for linear, convolution and recurrent layers (bound = 1/√fan_in). */
export function uniformParam(name: string, shape: readonly number[], bound: number, rng: Rng): Parameter {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Parameter(name, Tensor.fromArray(Array.from({ length: n }, () => rng.uniform(-bound, bound)), shape, "f32"));
}

export const constParam = (name: string, shape: readonly number[], v: number, trainable = true): Parameter =>
  new Parameter(name, Tensor.fromArray(new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(v), shape, "f32"), trainable);
