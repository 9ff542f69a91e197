/**
 * The demo page's sample inputs (no Node APIs): deterministic values for an input spec, so
 * a test can run `lathe run` on exactly what the page ran. Symbolic dimensions are bound
 * from `dims` (default 1).
 */
import type { TypedArray } from "../../core/dtype.ts";
import { typedArrayFor } from "../../core/dtype.ts";
import { LatheError } from "../../core/errors.ts";
import type { WebGpuTensorSpec } from "./format.ts";

export interface SampleTensor { readonly data: TypedArray; readonly shape: number[] }

/** Input `k` of a model: floats sin(0.7·i + 0.3·k)/2 (rounded to f32), integers (7i + k) mod 11, bools i mod 2. */
export function sampleInput(spec: WebGpuTensorSpec, k: number, dims: Readonly<Record<string, number>> = {}): SampleTensor {
  const shape = spec.shape.map((d) => (typeof d === "number" ? d : dims[d] ?? 1));
  const n = shape.reduce((a, b) => a * b, 1);
  const data = typedArrayFor(spec.dtype, n);
  for (let i = 0; i < n; i++) {
    switch (spec.dtype) {
      case "f32": case "f64": data[i] = Math.sin(0.7 * i + 0.3 * k) / 2; break;
      case "i64": (data as BigInt64Array)[i] = BigInt((7 * i + k) % 11); break;
      case "bool": data[i] = i % 2; break;
      case "f16": throw new LatheError(`input ${spec.name}: the demo makes no f16 samples`);
      default: data[i] = (7 * i + k) % 11;
    }
  }
  return { data, shape };
}
