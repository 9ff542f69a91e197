/** A named tensor a model owns across steps: a trainable weight, or state such as a running mean. */
import type { DType } from "../core/dtype.ts";
import type { Tensor } from "../runtime/tensor.ts";

export class Parameter {
  /**
   * `value` is the current runtime tensor; a compiled step replaces it after every update.
   * Non-trainable parameters (state) get no gradient; layers may update them with `lt.assign`.
   */
  constructor(readonly name: string, public value: Tensor, readonly trainable = true) {}

  get shape(): readonly number[] { return this.value.shape; }
  get dtype(): DType { return this.value.dtype; }
}
