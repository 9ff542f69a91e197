/**
 * LSTM as a loop: one `lstm_cell` traced once as the body of an `lt.scan` over the time
 * steps (compiler/graph/scan.ts), so the graph, the compiled library and its build time
 * do not grow with the sequence length, which may be symbolic.
 * Input [batch, steps, inputSize] → every hidden state [batch, steps, hidden], or with
 * `bidirectional` [batch, steps, 2·hidden]: the forward pass's states, then those of a
 * second LSTM run from the last step to the first (PyTorch's layout).
 * Weights as PyTorch: w_ih [4·hidden, inputSize], w_hh [4·hidden, hidden], one bias
 * [4·hidden] per direction (the reverse direction's names end in `_reverse`); the
 * initial hidden and cell states are zero.
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
  /** Also run the sequence backwards and concatenate both directions' states (default false). */
  readonly bidirectional?: boolean;
}

/** One direction's weights. */
export interface LstmWeights {
  readonly wIh: Parameter;
  readonly wHh: Parameter;
  readonly bias: Parameter;
}

export class LSTM extends Module {
  readonly wIh: Parameter;
  readonly wHh: Parameter;
  readonly bias: Parameter;
  /** The reverse direction's weights (bidirectional only; fields, so `parameters()` finds them). */
  readonly wIhReverse: Parameter | null = null;
  readonly wHhReverse: Parameter | null = null;
  readonly biasReverse: Parameter | null = null;
  constructor(readonly inputSize: number, readonly hidden: number, opts: LstmOptions = {}) {
    super();
    const rng = rngOr(opts.rng), name = opts.name ?? "lstm", bound = 1 / Math.sqrt(hidden);
    // The forward direction draws first, so a unidirectional LSTM's weights do not depend on the option.
    const weights = (suffix: string): LstmWeights => ({
      wIh: uniformParam(`${name}.w_ih${suffix}`, [4 * hidden, inputSize], bound, rng),
      wHh: uniformParam(`${name}.w_hh${suffix}`, [4 * hidden, hidden], bound, rng),
      bias: uniformParam(`${name}.bias${suffix}`, [4 * hidden], bound, rng),
    });
    ({ wIh: this.wIh, wHh: this.wHh, bias: this.bias } = weights(""));
    if (opts.bidirectional) ({ wIh: this.wIhReverse, wHh: this.wHhReverse, bias: this.biasReverse } = weights("_reverse"));
  }

  get bidirectional(): boolean { return this.wIhReverse !== null; }

  forward(x: Tracer): Tracer {
    if (x.rank !== 3 || x.shape[2] !== this.inputSize) {
      throw new ShapeError(`LSTM: input ${x.value.name} must be [batch, steps, ${this.inputSize}], got [${x.shape.join(", ")}]`);
    }
    const xs = x.transpose([1, 0, 2]); // [steps, batch, input]: the scan runs over axis 0
    // Zero state [batch, hidden] for a possibly symbolic batch: [batch, 1] zeros broadcast against [hidden].
    const batchZeros = lt.op("zeros_like", [x])[0]!.sum([1, 2]).unsqueeze([1]);
    const zeros = batchZeros.add(lt.constant(typedArrayFor(x.dtype, this.hidden), [this.hidden], x.dtype));
    const run = (w: LstmWeights, reverse: boolean): Tracer => {
      const wIh = lt.param(w.wIh), wHh = lt.param(w.wHh), bias = lt.param(w.bias);
      const [, [hs]] = lt.scan(([h, c], [xt]) => {
        const [h2, c2] = lt.op("lstm_cell", [xt!, h!, c!, wIh, wHh, bias]) as [Tracer, Tracer];
        return [[h2, c2], [h2]];
      }, [zeros, zeros], [xs], { reverse });
      return hs!.transpose([1, 0, 2]);
    };
    const fwd = run(this, false);
    if (!this.wIhReverse || !this.wHhReverse || !this.biasReverse) return fwd;
    return lt.concat([fwd, run({ wIh: this.wIhReverse, wHh: this.wHhReverse, bias: this.biasReverse }, true)], 2);
  }
}
