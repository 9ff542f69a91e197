/** Builds small ONNX models in memory for tests and fuzzing. */
import type { Tensor } from "../../../runtime/tensor.ts";
import type { AttributeProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from "./proto.ts";
import { encodeModel } from "./proto.ts";
import { onnxTypeOf } from "./tensor.ts";
import type { DType } from "../../../core/dtype.ts";

export type AttrInput = number | string | readonly number[] | Tensor | { floats: readonly number[] } | { float: number };

const enc = new TextEncoder();

/** An attribute from a JS value: integer → INT, non-integer → FLOAT, arrays of ints → INTS. */
function attr(name: string, v: AttrInput): AttributeProto {
  if (typeof v === "string") return { name, type: 3, s: enc.encode(v) };
  if (typeof v === "number") return Number.isInteger(v) ? { name, type: 2, i: v } : { name, type: 1, f: v };
  if (Array.isArray(v)) return { name, type: 7, ints: [...(v as number[])] };
  if ("floats" in v) return { name, type: 6, floats: [...v.floats] };
  if ("float" in v) return { name, type: 1, f: v.float };
  return { name, type: 4, t: tensorProto(name, v as Tensor) };
}

export function tensorProto(name: string, t: Tensor): TensorProto {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: [...t.shape], data_type: onnxTypeOf(t.dtype), raw_data: new Uint8Array(bytes) };
}

export const valueInfo = (name: string, dtype: DType, shape: readonly (number | string)[]): ValueInfoProto => ({
  name,
  type: { tensor_type: { elem_type: onnxTypeOf(dtype), shape: { dim: shape.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) } } },
});

export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attrs?: Readonly<Record<string, AttrInput>>;
  readonly domain?: string;
}

export interface ModelSpec {
  readonly inputs: readonly ValueInfoProto[];
  readonly outputs: readonly ValueInfoProto[];
  readonly nodes: readonly NodeSpec[];
  readonly initializers?: Readonly<Record<string, Tensor>>;
  readonly opset?: number;
}

export function modelProto(spec: ModelSpec): ModelProto {
  const node: NodeProto[] = spec.nodes.map((n) => ({
    op_type: n.op, input: [...n.inputs], output: [...n.outputs], name: n.name ?? "", domain: n.domain ?? "",
    attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)),
  }));
  return {
    ir_version: 8, producer_name: "lathe-test", opset_import: [{ domain: "", version: spec.opset ?? 13 }],
    graph: {
      name: "test", node, input: [...spec.inputs], output: [...spec.outputs],
      initializer: Object.entries(spec.initializers ?? {}).map(([k, t]) => tensorProto(k, t)),
    },
  };
}

export const modelBytes = (spec: ModelSpec): Uint8Array => encodeModel(modelProto(spec));
