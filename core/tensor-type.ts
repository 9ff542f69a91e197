/**
 * Tensor types as every layer sees them: a shape whose dimensions are numbers or symbolic
 * names, and a dtype. Below both the graph IR and the runtime, so an artifact's signature
 * and a graph's values share one definition.
 */
import type { DType } from "./dtype.ts";

/** A dimension: a known size, or a symbolic one ("batch") bound when the graph runs. */
export type Dim = number | string;

export interface TensorType {
  readonly shape: readonly Dim[];
  readonly dtype: DType;
}

/** A named tensor of a signature: a graph's input or output, or an artifact's. */
export interface ValueSpec {
  readonly name: string;
  readonly type: TensorType;
}
