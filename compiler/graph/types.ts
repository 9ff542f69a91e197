/** Graph-level tensor types: a shape whose dimensions are numbers or symbolic names, and a dtype. */
import type { Dim, TensorType } from "../../core/tensor-type.ts";

export type { Dim, TensorType } from "../../core/tensor-type.ts";

export const showType = (t: TensorType): string => `${t.dtype}[${t.shape.join(", ")}]`;

export const sameDim = (a: Dim, b: Dim): boolean => a === b;

export const sameType = (a: TensorType, b: TensorType): boolean =>
  a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => sameDim(d, b.shape[i]!));

/** Number of elements when every dimension is known, else null. */
export function staticSize(t: TensorType): number | null {
  let n = 1;
  for (const d of t.shape) {
    if (typeof d !== "number") return null;
    n *= d;
  }
  return n;
}
