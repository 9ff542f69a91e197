/**
 * The graph IR: values (typed edges) produced by nodes (an op applied to input values
 * with attributes), in topological order. Graphs are immutable; passes build new ones.
 */
import type { TypedArray } from "../../core/dtype.ts";
import type { Dim, TensorType } from "./types.ts";
import type { DType } from "../../core/dtype.ts";

export type AttrValue = number | string | boolean | readonly number[] | readonly string[];
export type Attrs = Readonly<Record<string, AttrValue>>;

export interface Value {
  /** Unique within a graph. */
  readonly id: number;
  /** For printing and error messages; unique within a graph. */
  readonly name: string;
  readonly type: TensorType;
}

export interface Node {
  readonly id: number;
  /** Unique within a graph; errors name it. */
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly Value[];
  readonly attrs: Attrs;
  readonly outputs: readonly Value[];
  /**
   * The loop body of a `scan` node (graph/scan.ts), a graph of its own; absent on every
   * other node. Passes copy nodes with `{ ...n }`, which keeps it.
   */
  readonly body?: Graph;
}

/** A constant tensor: a parameter's initial value or a folded result. */
export interface Constant {
  readonly value: Value;
  readonly data: TypedArray;
}

export interface Graph {
  /** Runtime inputs, in call order. */
  readonly inputs: readonly Value[];
  /** Values with data known at compile time (weights, folded constants). */
  readonly constants: readonly Constant[];
  readonly nodes: readonly Node[];
  readonly outputs: readonly Value[];
}

/**
 * What an op's gradient rule needs to append nodes. GraphBuilder implements it; ops see
 * only this interface, since the builder infers types through the op registry (ops below
 * the builder, not both ways).
 */
export interface GraphEmitter {
  constant(name: string, data: TypedArray, shape: readonly Dim[], dtype?: DType): Value;
  /** Applies an op; returns all its outputs. */
  op(opName: string, inputs: readonly Value[], attrs?: Attrs, name?: string): Value[];
  /** Applies a single-output op. */
  op1(opName: string, inputs: readonly Value[], attrs?: Attrs, name?: string): Value;
}
