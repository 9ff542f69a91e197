/** ONNX tensors (initializers, Constant values, test-data files) as Lathe tensors. */
import { readFileSync } from "node:fs";
import type { DType, TypedArray } from "../../../core/dtype.ts";
import { bytesOf, typedArrayFor } from "../../../core/dtype.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import { OnnxError, UnsupportedFeatureError } from "./errors.ts";
import { decodeTensor } from "./proto.ts";
import type { TensorProto } from "./proto.ts";

/** TensorProto.DataType numbers → names (for messages) and the Lathe dtype, where there is one. */
const ONNX_TYPES: Record<number, [string, DType | null]> = {
  1: ["float", "f32"], 2: ["uint8", "u8"], 3: ["int8", "i8"], 4: ["uint16", null], 5: ["int16", null],
  6: ["int32", "i32"], 7: ["int64", "i64"], 8: ["string", null], 9: ["bool", "bool"], 10: ["float16", "f16"],
  11: ["double", "f64"], 12: ["uint32", null], 13: ["uint64", null], 14: ["complex64", null], 15: ["complex128", null],
  16: ["bfloat16", null],
};

export const onnxTypeName = (t: number): string => ONNX_TYPES[t]?.[0] ?? `type ${t}`;

/** The Lathe dtype of an ONNX element type; `what` names the value for the error. */
export function dtypeOf(elemType: number | undefined, what: string): DType {
  const entry = ONNX_TYPES[elemType ?? 0];
  if (!entry?.[1]) throw new UnsupportedFeatureError(`${what}: element type ${onnxTypeName(elemType ?? 0)} is not supported by Lathe`);
  return entry[1];
}

/** The ONNX element type number of a Lathe dtype. */
export function onnxTypeOf(dtype: DType): number {
  for (const [k, v] of Object.entries(ONNX_TYPES)) if (v[1] === dtype) return Number(k);
  throw new OnnxError(`no ONNX element type for ${dtype}`);
}

function fromRaw(dtype: DType, raw: Uint8Array, n: number, what: string): TypedArray {
  // Checked before allocating: the dims of a corrupt file may claim billions of elements.
  if (raw.length !== n * bytesOf(dtype)) throw new OnnxError(`${what}: raw_data has ${raw.length} bytes, expected ${n * bytesOf(dtype)} for ${n} ${dtype} elements`);
  const out = typedArrayFor(dtype, n);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(raw); // little-endian on every platform Lathe supports
  return out;
}

/**
 * The integers each dtype's typed array holds exactly (int32_data carries every type narrower
 * than 32 bits; f16 as its bit pattern, which is what Lathe's f16 array holds). A value
 * outside is an error, not a silent wrap.
 */
const INT_FIELD_RANGE: Partial<Record<DType, readonly [number, number]>> = {
  i32: [-(2 ** 31), 2 ** 31 - 1], i8: [-128, 127], u8: [0, 255], bool: [0, 1], f16: [0, 0xffff],
};
const INT64_MIN = -(2n ** 63n), INT64_MAX = 2n ** 63n - 1n;

function fromFields(dtype: DType, t: TensorProto, n: number, what: string): TypedArray {
  const field = dtype === "f32" ? "float_data" : dtype === "f64" ? "double_data" : dtype === "i64" ? "int64_data" : "int32_data";
  const vals: ArrayLike<number | bigint> = t[field] ?? [];
  if (vals.length !== n) throw new OnnxError(`${what}: has ${vals.length} values, expected ${n} for shape [${(t.dims ?? []).join(", ")}]`);
  const out = typedArrayFor(dtype, n);
  const bad = (i: number, why: string): never => { throw new OnnxError(`${what}: ${field}[${i}] = ${String(vals[i])} ${why}`); };
  if (dtype === "i64") {
    // Decoded protos hold exact bigints; a number (a proto built by hand) must be exact too.
    for (let i = 0; i < n; i++) {
      const v = vals[i]!;
      const b = typeof v === "bigint" ? v : Number.isSafeInteger(v) ? BigInt(v) : bad(i, "is not an exact integer (pass int64 values beyond 2^53 as bigint)");
      if (b < INT64_MIN || b > INT64_MAX) bad(i, "does not fit in int64");
      (out as BigInt64Array)[i] = b;
    }
    return out;
  }
  const range = INT_FIELD_RANGE[dtype];
  for (let i = 0; i < n; i++) {
    const v = Number(vals[i]!);
    if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) bad(i, `does not fit in ${dtype}${dtype === "f16" ? " (its 16-bit pattern)" : ""}`);
    out[i] = v;
  }
  return out;
}

/** Decodes a TensorProto; `what` names it in errors (initializer name, file). */
export function tensorFromProto(t: TensorProto, what = t.name ? `tensor ${t.name}` : "tensor"): Tensor {
  if (t.data_location === 1 || (t.external_data?.length ?? 0) > 0) throw new UnsupportedFeatureError(`${what}: external data is not supported (save the model with its weights inside)`);
  if (t.segment) throw new UnsupportedFeatureError(`${what}: segmented tensors are not supported`);
  const dtype = dtypeOf(t.data_type, what);
  const shape = (t.dims ?? []).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new OnnxError(`${what}: invalid dims [${shape.join(", ")}]`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n >= 2 ** 31) throw new OnnxError(`${what}: ${n} elements is too large`);
  const data = t.raw_data && t.raw_data.length > 0 ? fromRaw(dtype, t.raw_data, n, what) : fromFields(dtype, t, n, what);
  return new Tensor(data, shape, dtype);
}

/** Reads a serialized TensorProto file (as in ONNX's test data: input_0.pb, output_0.pb). */
export function readTensorFile(path: string): Tensor {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new OnnxError(`${path}: ${(e as Error).message}`);
  }
  return tensorFromProto(decodeTensor(bytes, path), path);
}
