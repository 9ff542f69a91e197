/** Embedding: rows of a [count, dim] table picked by i32 indices (`gather` on axis 0). */
import type { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../lt.ts";
import { lt } from "../lt.ts";
import { Parameter } from "../parameter.ts";
import { Module, rngOr } from "./module.ts";

export interface EmbeddingOptions {
  readonly rng?: Rng;
  readonly name?: string;
}

export class Embedding extends Module {
  readonly weight: Parameter;
  constructor(readonly count: number, readonly dim: number, opts: EmbeddingOptions = {}) {
    super();
    const rng = rngOr(opts.rng);
    // N(0, 1) as PyTorch initialises embeddings.
    const init = Array.from({ length: count * dim }, () => rng.normal());
    this.weight = new Parameter(`${opts.name ?? "embedding"}.weight`, Tensor.fromArray(init, [count, dim], "f32"));
  }
  /** indices: i32 of any shape → [...indices.shape, dim]. */
  forward(indices: Tracer): Tracer { return lt.param(this.weight).gather(indices, 0); }
}
