/**
 * Dropout: in training, the `dropout` op zeroes elements with probability `rate` from a
 * counter-based random stream of (seed, step, element), so a step is reproducible and
 * each step draws a fresh mask; in inference it is the identity.
 */
import type { Tracer } from "../lt.ts";
import { lt } from "../lt.ts";
import { Module } from "./module.ts";

export class Dropout extends Module {
  constructor(readonly rate: number, readonly seed = 0) {
    super();
  }
  forward(x: Tracer): Tracer {
    if (!lt.training() || this.rate === 0) return x;
    return lt.op("dropout", [x, lt.step()], { rate: this.rate, seed: this.seed })[0]!;
  }
}
