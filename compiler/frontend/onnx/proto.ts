/**
 * ONNX's protobuf schema, loaded with protobufjs from `onnx.proto` (ONNX's own file, as
 * shipped by ONNX 1.12 in Debian's python3-onnx; Apache-2.0). Messages are decoded into
 * plain objects with snake_case field names as in the schema; int64 fields become JS numbers
 * (exact below 2^53), except a TensorProto's int64_data and uint64_data, which are tensor
 * values, and an AttributeProto's `i` and `ints`, which ops read as axes, sizes and slice
 * bounds: those come as exact bigints (tensor data in `raw_data` stays exact too). Encoding
 * accepts bigints wherever the schema has a 64-bit integer.
 */
import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { OnnxError } from "./errors.ts";

const SCHEMA = new URL("./onnx.proto", import.meta.url);

let root: protobuf.Root | undefined;
function schema(): protobuf.Root {
  root ??= protobuf.parse(readFileSync(SCHEMA, "utf8"), { keepCase: true }).root;
  return root;
}

/** A decoded 64-bit field: a Long object when protobufjs has long.js (it has here), else a number. */
type LongLike = number | { readonly low: number; readonly high: number };
const exact64 = (v: LongLike, unsigned: boolean): bigint => {
  if (typeof v === "number") return BigInt(v);
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return unsigned ? bits : BigInt.asIntN(64, bits);
};

// `longs: Number` would round INT64_MAX to 2^63 (which a BigInt64Array then wraps to
// INT64_MIN), and the conversion options apply to every field: a wrapper for TensorProto
// (protobufjs calls it wherever the type occurs, nested ones too) re-reads just its data
// fields from the decoded message. Set before the schema is first used (schema() is lazy).
protobuf.wrappers[".onnx.TensorProto"] = {
  fromObject(object) { return this.fromObject(object); },
  toObject(message, options) {
    const out = this.toObject(message, options);
    const m = message as unknown as { int64_data?: LongLike[]; uint64_data?: LongLike[] };
    if (out.int64_data !== undefined && m.int64_data) out.int64_data = m.int64_data.map((v) => exact64(v, false));
    if (out.uint64_data !== undefined && m.uint64_data) out.uint64_data = m.uint64_data.map((v) => exact64(v, true));
    return out;
  },
};

// Attributes likewise: `i`/`ints` exact, so 2^53 + 1 is not silently read as 2^53 and the
// importer can tell INT64_MAX (a "to the end" sentinel) from a value it cannot represent.
protobuf.wrappers[".onnx.AttributeProto"] = {
  fromObject(object) { return this.fromObject(object); },
  toObject(message, options) {
    const out = this.toObject(message, options);
    const m = message as unknown as { i?: LongLike; ints?: LongLike[] };
    if (out.i !== undefined && m.i !== undefined) out.i = exact64(m.i, false);
    if (out.ints !== undefined && m.ints) out.ints = m.ints.map((v) => exact64(v, false));
    return out;
  },
};

const CONVERSION: protobuf.IConversionOptions = { longs: Number, enums: Number, bytes: Uint8Array as unknown as typeof Array, defaults: false, arrays: true };

function decode<T>(message: string, bytes: Uint8Array, what: string): T {
  const type = schema().lookupType(`onnx.${message}`);
  let msg: protobuf.Message;
  try {
    msg = type.decode(bytes);
  } catch (e) {
    throw new OnnxError(`${what}: not a valid ONNX ${message} (${(e as Error).message})`);
  }
  return type.toObject(msg, CONVERSION) as T;
}

// The subset of the schema Lathe reads, as decoded objects.
export interface TensorShapeDim { dim_value?: number; dim_param?: string }
export interface TypeProto { tensor_type?: { elem_type?: number; shape?: { dim?: TensorShapeDim[] } }; sequence_type?: unknown; optional_type?: unknown; map_type?: unknown; sparse_tensor_type?: unknown }
export interface ValueInfoProto { name?: string; type?: TypeProto }
export interface TensorProto {
  dims?: number[]; data_type?: number; name?: string;
  float_data?: number[]; int32_data?: number[]; double_data?: number[];
  /** Exact when decoded (bigint); numbers where a test or tool builds a proto by hand. */
  int64_data?: (number | bigint)[]; uint64_data?: (number | bigint)[];
  string_data?: Uint8Array[]; raw_data?: Uint8Array; data_location?: number; external_data?: { key?: string; value?: string }[];
  segment?: unknown;
}
export interface AttributeProto {
  name?: string; type?: number; ref_attr_name?: string;
  f?: number; s?: Uint8Array; t?: TensorProto; g?: GraphProto;
  /** Exact when decoded (bigint); numbers where a test or tool builds a proto by hand. */
  i?: number | bigint; ints?: (number | bigint)[];
  floats?: number[]; strings?: Uint8Array[]; tensors?: TensorProto[]; graphs?: GraphProto[];
}
export interface NodeProto { input?: string[]; output?: string[]; name?: string; op_type?: string; domain?: string; attribute?: AttributeProto[] }
export interface GraphProto {
  node?: NodeProto[]; name?: string; initializer?: TensorProto[]; sparse_initializer?: unknown[];
  input?: ValueInfoProto[]; output?: ValueInfoProto[]; value_info?: ValueInfoProto[];
}
export interface ModelProto {
  ir_version?: number; opset_import?: { domain?: string; version?: number }[];
  producer_name?: string; producer_version?: string; graph?: GraphProto; functions?: unknown[];
}

export const decodeModel = (bytes: Uint8Array, what = "model"): ModelProto => decode<ModelProto>("ModelProto", bytes, what);
export const decodeTensor = (bytes: Uint8Array, what = "tensor"): TensorProto => decode<TensorProto>("TensorProto", bytes, what);

/** Bigints (exact int64 values) as the {low, high} pairs protobufjs encodes; everything else as is. */
function bigintsAsLongs(x: unknown): unknown {
  if (typeof x === "bigint") return { low: Number(BigInt.asIntN(32, x)), high: Number(BigInt.asIntN(32, x >> 32n)), unsigned: false };
  if (Array.isArray(x)) return x.some((v) => typeof v !== "number") ? x.map(bigintsAsLongs) : x;
  if (x === null || typeof x !== "object" || ArrayBuffer.isView(x)) return x;
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, bigintsAsLongs(v)]));
}

function encode(message: string, obj: object): Uint8Array {
  const type = schema().lookupType(`onnx.${message}`);
  const plain = bigintsAsLongs(obj) as object;
  const problem = type.verify(plain);
  if (problem) throw new OnnxError(`cannot encode ${message}: ${problem}`);
  return type.encode(type.fromObject(plain)).finish();
}

/** Serializes a model (tests, fuzzing and tools that write ONNX). */
export const encodeModel = (m: ModelProto): Uint8Array => encode("ModelProto", m);
export const encodeTensor = (t: TensorProto): Uint8Array => encode("TensorProto", t);
