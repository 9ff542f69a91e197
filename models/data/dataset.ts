/** A labelled data set: inputs `x` ([n, ...]) and labels `y` ([n], i32 class indices or f32 targets). */
import { ShapeError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";

// A type alias, not an interface, so a Dataset is assignable to a step's Record<string, Tensor> batch.
export type Dataset = {
  readonly x: Tensor;
  readonly y: Tensor;
};

/** Rows `indices` of a tensor (along axis 0), as a new tensor. */
export function takeRows(t: Tensor, indices: readonly number[]): Tensor {
  const n = t.shape[0] ?? 0, row = t.size / Math.max(n, 1);
  const out = Tensor.zeros([indices.length, ...t.shape.slice(1)], t.dtype);
  indices.forEach((i, k) => {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new ShapeError(`row ${i} is out of range for ${n} rows`);
    // Same typed-array class on both sides (the dtype decides it), so copying rows is exact.
    (out.data as Float32Array).set((t.data as Float32Array).subarray(i * row, (i + 1) * row), k * row);
  });
  return out;
}

/** The examples at `indices`, in that order. */
export function subset(d: Dataset, indices: readonly number[]): Dataset {
  checkDataset(d);
  return { x: takeRows(d.x, indices), y: takeRows(d.y, indices) };
}

export function checkDataset(d: Dataset): void {
  if (d.x.ndim === 0 || d.y.ndim === 0 || d.x.shape[0] !== d.y.shape[0]) {
    throw new ShapeError(`data set: x [${d.x.shape.join(", ")}] and y [${d.y.shape.join(", ")}] must have the same number of rows`);
  }
}

export const sizeOf = (d: Dataset): number => d.x.shape[0]!;
