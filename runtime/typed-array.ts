/** Which typed array class holds each dtype, and the check that an array fits. */
import { ShapeError } from "../compiler/errors.ts";
import type { DType, TypedArray } from "../compiler/te/dtype.ts";

type ArrayClass = new (length: number) => TypedArray;

/** Mirrors typedArrayFor in compiler/te/dtype.ts (f16 keeps raw bits, bool one byte). */
export const ARRAY_CLASS: Record<DType, ArrayClass> = {
  f16: Uint16Array, f32: Float32Array, f64: Float64Array, i8: Int8Array,
  u8: Uint8Array, i32: Int32Array, i64: BigInt64Array, bool: Uint8Array,
};

/** Throws a ShapeError unless `data` is the typed array that stores `dtype`. */
export function checkArrayFor(dtype: DType, data: unknown, what: string): asserts data is TypedArray {
  const cls = ARRAY_CLASS[dtype];
  if (cls === undefined) throw new ShapeError(`${what}: unknown dtype ${String(dtype)}`);
  if (!(data instanceof cls)) {
    const got = (data as { constructor?: { name?: string } } | null | undefined)?.constructor?.name ?? String(data);
    throw new ShapeError(`${what}: a ${dtype} tensor needs a ${cls.name}, got ${got}`);
  }
}
