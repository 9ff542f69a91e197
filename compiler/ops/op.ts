/**
 * How an op is defined: once, with every part — attribute schema, type inference, the
 * compute rule as a tensor expression (its meaning; the interpreter and every backend
 * derive from it), its fusion kind (TVM's OpPatternKind) and its vector-Jacobian product
 * written with other graph ops. `defineOp` takes no partial definitions, so an op cannot
 * be registered without all of them.
 */
import type { Tensor as TeTensor } from "../te/tensor.ts";
import type { Var } from "../te/expr.ts";
import type { Attrs, AttrValue, Node, Value } from "../graph/graph.ts";
import type { TensorType } from "../graph/types.ts";
import type { GraphEmitter } from "../graph/graph.ts";

/** TVM's pattern kinds: injective chains fuse; reductions absorb injective inputs; outEWiseFusable ops absorb elementwise consumers; opaque never fuses. */
export type FusionKind = "elemwise" | "broadcast" | "injective" | "reduce" | "outEWiseFusable" | "opaque";

export type AttrKind = "int" | "float" | "bool" | "string" | "ints" | "floats" | "strings";
export interface AttrSpec {
  readonly kind: AttrKind;
  /** Absent: the attribute is required. */
  readonly default?: AttrValue;
}

export interface ComputeContext {
  /** The node's name (for tensor names and errors). */
  readonly name: string;
  /** Output types inferred for this node. */
  readonly outputs: readonly TensorType[];
  /** Symbolic dimensions as TE size variables, shared across a graph. */
  readonly sizes: ReadonlyMap<string, Var>;
}

export interface VjpContext {
  readonly node: Node;
  /** The builder the backward graph is being written into. */
  readonly b: GraphEmitter;
}

export interface OpDef<A extends Attrs = Attrs> {
  readonly name: string;
  readonly fusion: FusionKind;
  readonly attrs: Readonly<Record<string, AttrSpec>>;
  /** Output types from input types; throws ShapeError naming `node` on a mismatch. */
  readonly infer: (inputs: readonly TensorType[], attrs: A, node: string) => readonly TensorType[];
  /** The outputs as tensor expressions over the inputs. */
  readonly compute: (inputs: readonly TeTensor[], attrs: A, ctx: ComputeContext) => readonly TeTensor[];
  /**
   * Gradients of the inputs given the gradients of the outputs (null: no gradient flows,
   * e.g. an unused output or an integer input).
   */
  readonly vjp: (ctx: VjpContext, outGrads: readonly (Value | null)[]) => readonly (Value | null)[];
}

export const defineOp = <A extends Attrs>(def: OpDef<A>): OpDef<A> => def;
