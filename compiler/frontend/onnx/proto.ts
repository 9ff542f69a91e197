/**
 * ONNX's protobuf schema, loaded with protobufjs from `onnx.proto` (ONNX's own file, as
 * shipped by ONNX 1.12 in Debian's python3-onnx; Apache-2.0). Messages are decoded into
 * plain objects with snake_case field names as in the schema; int64 fields become JS numbers
 * (exact below 2^53), except a TensorProto's int64_data and uint64_data, which are tensor
 * values and come as exact bigints (tensor data in `raw_data` stays exact too).
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
  f?: number; i?: number; s?: Uint8Array; t?: TensorProto; g?: GraphProto;
  floats?: number[]; ints?: number[]; strings?: Uint8Array[]; tensors?: TensorProto[]; graphs?: GraphProto[];
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

function encode(message: string, obj: object): Uint8Array {
  const type = schema().lookupType(`onnx.${message}`);
  const problem = type.verify(obj);
  if (problem) throw new OnnxError(`cannot encode ${message}: ${problem}`);
  return type.encode(type.fromObject(obj)).finish();
}

/** Serializes a model (tests, fuzzing and tools that write ONNX). */
export const encodeModel = (m: ModelProto): Uint8Array => encode("ModelProto", m);
export const encodeTensor = (t: TensorProto): Uint8Array => encode("TensorProto", t);
