/**
 * How ONNX ops become Lathe graph ops: one converter per ONNX op type, registered by the
 * files in ./ops. A converter sees its node through a ConvertContext (inputs as graph
 * values, operands that must be known at compile time as tensors, typed attributes, the
 * model's opset) and returns the node's outputs as graph values.
 */
import type { Attrs, Graph, Value } from "../../graph/graph.ts";
import type { GraphBuilder } from "../../graph/builder.ts";
import type { TensorType } from "../../graph/types.ts";
import type { DType } from "../../../core/dtype.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import { OnnxError } from "./errors.ts";

/** An attribute as decoded from the model. */
export type OnnxAttr =
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "floats"; readonly value: readonly number[] }
  | { readonly kind: "ints"; readonly value: readonly number[] }
  | { readonly kind: "strings"; readonly value: readonly string[] }
  | { readonly kind: "tensor"; readonly value: Tensor }
  /** A subgraph (Scan's and Loop's body), imported through ConvertContext.body. */
  | { readonly kind: "graph" }
  | { readonly kind: "other"; readonly type: string };

/** One input of a body graph: its type (a value given per step), or the value it has in every step that runs. */
export type BodyInput = { readonly type: TensorType } | { readonly constant: Tensor };

/** A graph attribute imported as a loop body (import.ts). */
export interface ImportedBody {
  /**
   * The body: an input for each BodyInput given as a type, in order, then one per captured
   * value; outputs as the attribute's graph lists them.
   */
  readonly graph: Graph;
  /** Values of the enclosing graph the body reads (outer-scope names), in the order of their body inputs. */
  readonly captured: readonly Value[];
  /** Each body output's value where it is known at compile time. */
  readonly constants: readonly (Tensor | undefined)[];
}

/** The node was understood but this variant of it is not supported (collected, not fatal at once). */
export class UnsupportedVariant extends OnnxError {
  override name = "UnsupportedVariant";
}

/**
 * An ONNX sequence inside a graph, held at import time as its list of tensors (positions,
 * lengths and split sizes must be static, so every element is an ordinary graph value).
 */
export interface ValueSequence {
  readonly kind: "sequence";
  readonly items: readonly Value[];
}

export const isSequence = (v: Value | ValueSequence | undefined): v is ValueSequence =>
  v !== undefined && "kind" in v && v.kind === "sequence";

export interface ConvertContext {
  /** The node's name (or a generated one) for errors and graph node names. */
  readonly name: string;
  readonly opType: string;
  /** Version of the default ONNX domain the model imports. */
  readonly opset: number;
  readonly b: GraphBuilder;
  /** Number of input slots, empty optional ones included. */
  readonly numInputs: number;
  readonly numOutputs: number;
  /** Whether input slot i is given (not absent, not ""). */
  has(i: number): boolean;
  input(i: number): Value;
  /** Input i, which must be a sequence (from SequenceConstruct, SplitToSequence, …). */
  sequence(i: number): readonly Value[];
  optional(i: number): Value | undefined;
  /** Whether input i's value is known at compile time. */
  isStatic(i: number): boolean;
  /** Input i's value, which must be known at compile time; `operand` names it in errors. */
  staticInput(i: number, operand: string): Tensor;
  /** A static input as numbers (int64 converted; exact below 2^53). */
  staticNumbers(i: number, operand: string): number[];
  attrs: {
    has(name: string): boolean;
    int(name: string, def?: number): number;
    float(name: string, def?: number): number;
    string(name: string, def?: string): string;
    ints(name: string, def?: readonly number[]): number[];
    floats(name: string, def?: readonly number[]): number[];
    strings(name: string, def?: readonly string[]): string[];
    tensor(name: string): Tensor;
    /** Names of all attributes given on the node. */
    names(): string[];
  };
  /**
   * Imports graph attribute `name` as a body whose inputs are `inputs`; the body may read
   * values of the enclosing graphs by name (they become `captured`).
   */
  body(name: string, inputs: readonly BodyInput[]): ImportedBody;
  /** Applies a graph op named after this node; single output. */
  op(opName: string, inputs: readonly Value[], attrs?: Attrs): Value;
  /** Applies a graph op with several outputs. */
  ops(opName: string, inputs: readonly Value[], attrs?: Attrs): Value[];
  /** A compile-time constant (shape as given). */
  constant(t: Tensor): Value;
  /** A scalar constant broadcastable against anything. */
  scalar(v: number, dtype: DType): Value;
  /** Rejects an unsupported variant of the op (collected with the model's other unsupported ops). */
  unsupported(reason: string): never;
}

/** Returns the node's outputs in order; `undefined` for an optional output it does not produce. */
export type Converter = (ctx: ConvertContext) => readonly (Value | ValueSequence | undefined)[];

const converters = new Map<string, Converter>();

/** The registry key of an op type in a domain ("" and "ai.onnx" are the default domain). */
const key = (op: string, domain = ""): string => (domain === "" || domain === "ai.onnx" ? op : `${domain}.${op}`);

/** Registers converters by ONNX op type in `domain` (default: the default domain); each op type once. */
export function registerConverters(table: Readonly<Record<string, Converter>>, domain = ""): void {
  for (const [op, c] of Object.entries(table)) {
    const k = key(op, domain);
    if (converters.has(k)) throw new Error(`ONNX converter for ${k} registered twice`);
    converters.set(k, c);
  }
}

export const converterFor = (op: string, domain = ""): Converter | undefined => converters.get(key(op, domain));
export const supportedOps = (): string[] => [...converters.keys()].sort();

/** Tensor from plain numbers (for converters building small constants). */
export function tensorOf(values: readonly number[], shape: readonly number[], dtype: DType): Tensor {
  return Tensor.fromArray(values, shape, dtype);
}
