/**
 * LSTM over a fixed sequence length, unrolled into one `lstm_cell` per time step.
 * Input [batch, steps, inputSize] → every hidden state [batch, steps, hidden].
 * Weights as PyTorch: w_ih [4·hidden, inputSize], w_hh [4·hidden, hidden], one bias
 * [4·hidden]; the initial hidden and cell states are zero.
 */
import { ShapeError } from "../../core/errors.ts";
import type { Rng } from "../../runtime/random.ts";
import { typedArrayFor } from "../../core/dtype.ts";
import type { Tracer } from "../lt.ts";
import { lt } from "../lt.ts";
import type { Parameter } from "../parameter.ts";
import { Module, rngOr, uniformParam } from "./module.ts";

export interface LstmOptions {
  readonly rng?: Rng;
  readonly name?: string;
}

export class LSTM extends Module {
  readonly wIh: Parameter;
  readonly wHh: Parameter;
  readonly bias: Parameter;
  constructor(readonly inputSize: number, readonly hidden: number, opts: LstmOptions = {}) {
    super();
    const rng = rngOr(opts.rng), name = opts.name ?? "lstm", bound = 1 / Math.sqrt(hidden);
    this.wIh = uniformParam(`${name}.w_ih`, [4 * hidden, inputSize], bound, rng);
    this.wHh = uniformParam(`${name}.w_hh`, [4 * hidden, hidden], bound, rng);
    this.bias = uniformParam(`${name}.bias`, [4 * hidden], bound, rng);
  }

  forward(x: Tracer): Tracer {
    const steps = x.shape[1];
    if (x.rank !== 3 || typeof steps !== "number" || x.shape[2] !== this.inputSize) {
      throw new ShapeError(`LSTM: input ${x.value.name} must be [batch, steps, ${this.inputSize}] with a known number of steps, got [${x.shape.join(", ")}]`);
    }
    const wIh = lt.param(this.wIh), wHh = lt.param(this.wHh), bias = lt.param(this.bias);
    const xs = Array.from({ length: steps }, (_, t) => x.slice([t], [t + 1], [1]).squeeze([1]));
    // Zero state of shape [batch, hidden] for a possibly symbolic batch: [batch, 1] zeros broadcast against [hidden].
    const zeros = xs[0]!.sum([1], true).mul(0).add(lt.constant(typedArrayFor(x.dtype, this.hidden), [this.hidden], x.dtype));
    let h = zeros, c = zeros;
    const hs: Tracer[] = [];
    for (const xt of xs) {
      [h, c] = lt.op("lstm_cell", [xt, h, c, wIh, wHh, bias]) as [Tracer, Tracer];
      hs.push(h.unsqueeze([1]));
    }
    return hs.length === 1 ? hs[0]! : lt.concat(hs, 1);
  }
}
