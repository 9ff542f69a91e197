/** Fully connected layer: y = x·W + b with W of shape [in, out]. */
import type { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../lt.ts";
import { lt } from "../lt.ts";
import type { Parameter } from "../parameter.ts";
import { Module, rngOr, uniformParam } from "./module.ts";

export interface LinearOptions {
  readonly bias?: boolean;
  readonly rng?: Rng;
  readonly name?: string;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    const rng = rngOr(opts.rng), name = opts.name ?? "linear", bound = 1 / Math.sqrt(inFeatures);
    this.weight = uniformParam(`${name}.weight`, [inFeatures, outFeatures], bound, rng);
    this.bias = opts.bias === false ? null : uniformParam(`${name}.bias`, [outFeatures], bound, rng);
  }
  forward(x: Tracer): Tracer {
    const y = x.matmul(lt.param(this.weight));
    return this.bias ? y.add(lt.param(this.bias)) : y;
  }
}
