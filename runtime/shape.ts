/** Shape checks and arithmetic shared by runtime tensors and kernel calls. */
import { ShapeError } from "../core/errors.ts";

/** Throws a ShapeError unless every entry is a non-negative safe integer. */
export function checkShape(shape: readonly number[], what = "shape"): void {
  if (!Array.isArray(shape)) throw new ShapeError(`${what} must be an array of integers, got ${String(shape)}`);
  shape.forEach((d, i) => {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new ShapeError(`${what}[${i}] must be a non-negative integer, got ${String(d)} in [${shape.join(", ")}]`);
    }
  });
}

/** Number of elements; 1 for a scalar (empty shape). */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major strides in elements. */
export function compactStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}
