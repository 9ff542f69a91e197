/** Schedule axes and the relations between them (how leaf loops map back to the compute's axes). */
import type { Var } from "../te/expr.ts";
import { variable } from "../te/expr.ts";

/** How a loop runs: the annotation a schedule puts on an axis, which lowering copies onto its `for`. */
export type ForKind = "serial" | "parallel" | "vectorized" | "unrolled" | "thread" | "vthread";

/**
 * An iteration axis of a stage. The compute's own axes (te IterVars) are axes too;
 * split and fuse derive new ones.
 */
export interface Axis { readonly var: Var; readonly kind: "data" | "reduce" }

export const deriveAxis = (name: string, kind: Axis["kind"]): Axis => ({ var: variable(name), kind });

export type Relation =
  | { readonly kind: "split"; readonly parent: Axis; readonly outer: Axis; readonly inner: Axis; readonly factor: number | null; readonly nparts: number | null }
  | { readonly kind: "fuse"; readonly outer: Axis; readonly inner: Axis; readonly fused: Axis };

/** How a leaf loop is run (TVM's IterVar annotation). */
export interface Annotation {
  readonly forKind: ForKind;
  /** GPU thread tag for `bind`, e.g. "blockIdx.x". */
  readonly thread?: string;
}

/** A hardware intrinsic that replaces a loop nest (see Stage.tensorize). */
export interface TensorIntrin {
  readonly name: string;
  /** Free-form description the target's lowering uses to match and emit the call. */
  readonly params?: Readonly<Record<string, number | string>>;
}

export type Attach =
  | { readonly kind: "root" }
  | { readonly kind: "inline" }
  | { readonly kind: "at"; readonly stage: StageRef; readonly axis: Axis };

/** Forward reference to a stage without an import cycle. */
export interface StageRef { readonly name: string }
