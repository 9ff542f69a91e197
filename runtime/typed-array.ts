/** Which typed array class holds each dtype, and the check that an array fits. */
import { ShapeError } from "../core/errors.ts";
import { ARRAY_CLASS, type DType, type TypedArray } from "../core/dtype.ts";

/** Throws a ShapeError unless `data` is the typed array that stores `dtype`. */
export function checkArrayFor(dtype: DType, data: unknown, what: string): asserts data is TypedArray {
  const cls = ARRAY_CLASS[dtype];
  if (cls === undefined) throw new ShapeError(`${what}: unknown dtype ${String(dtype)}`);
  if (!(data instanceof cls)) {
    const got = (data as { constructor?: { name?: string } } | null | undefined)?.constructor?.name ?? String(data);
    throw new ShapeError(`${what}: a ${dtype} tensor needs a ${cls.name}, got ${got}`);
  }
}
