/** Constant data as numbers and back: f16 constants hold raw bits, i64 constants bigints. */
import type { DType, TypedArray } from "../../../core/dtype.ts";
import { typedArrayFor, wrapTo } from "../../../core/dtype.ts";
import { f16FromBits, f16ToBits } from "../../../core/f16.ts";

/** The element values of typed-array data of `dtype`, as f64. */
export function dataToNumbers(dtype: DType, data: TypedArray): Float64Array {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    out[i] = typeof x === "bigint" ? Number(x) : dtype === "f16" ? f16FromBits(x) : x;
  }
  return out;
}

/** Values (e.g. the interpreter's f64 results) stored as `dtype` data, rounded or wrapped as the dtype does. */
export function numbersToData(dtype: DType, values: ArrayLike<number>): TypedArray {
  const out = typedArrayFor(dtype, values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (out instanceof BigInt64Array) out[i] = BigInt(wrapTo("i64", v));
    else out[i] = dtype === "f16" ? f16ToBits(v) : wrapTo(dtype, v);
  }
  return out;
}
