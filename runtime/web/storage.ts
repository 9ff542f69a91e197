/**
 * Host typed arrays ↔ device storage bytes (no Node APIs). WGSL has no 8- or 64-bit types:
 * bool and u8 travel as u32, i8 and i64 as i32; f16 keeps its IEEE half bits. Also the
 * conversions compiler/targets/webgpu/device.ts uses, with the storage type given.
 */
import type { DType, TypedArray } from "../../core/dtype.ts";
import { typedArrayFor } from "../../core/dtype.ts";
import { RuntimeError } from "../../core/errors.ts";
import type { WebGpuStorage } from "./format.ts";

/** Host layout → device bytes, padded to a multiple of 4. */
export function toStorageBytes(dtype: DType, st: WebGpuStorage, data: TypedArray): Uint8Array {
  let bytes: Uint8Array;
  if (dtype === "i64") {
    const src = data as BigInt64Array, out = new Int32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (v > 2147483647n || v < -2147483648n) throw new RuntimeError(`webgpu: i64 value ${v} does not fit in the device's i32 storage`);
      out[i] = Number(v);
    }
    bytes = new Uint8Array(out.buffer);
  } else if (st === "u32" || (st === "i32" && dtype !== "i32")) {
    const out = st === "u32" ? new Uint32Array(data.length) : new Int32Array(data.length);
    out.set(data as ArrayLike<number>);
    bytes = new Uint8Array(out.buffer);
  } else {
    bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  if (bytes.byteLength % 4 === 0 && bytes.byteLength > 0) return bytes;
  const padded = new Uint8Array(Math.max(4, Math.ceil(bytes.byteLength / 4) * 4));
  padded.set(bytes);
  return padded;
}

/** Device bytes → a host array of Lathe's layout for `dtype`. */
export function fromStorageBytes(dtype: DType, st: WebGpuStorage, raw: ArrayBuffer, length: number, into?: TypedArray): TypedArray {
  const out = into ?? typedArrayFor(dtype, length);
  if (dtype === "i64") {
    const src = new Int32Array(raw, 0, length), dst = out as BigInt64Array;
    for (let i = 0; i < length; i++) dst[i] = BigInt(src[i]!);
    return out;
  }
  const src = st === "f32" ? new Float32Array(raw, 0, length) : st === "f16" ? new Uint16Array(raw, 0, length) : st === "u32" ? new Uint32Array(raw, 0, length) : new Int32Array(raw, 0, length);
  (out as Float32Array).set(src as ArrayLike<number> as Float32Array);
  return out;
}
