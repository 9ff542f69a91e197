/**
 * Short names for writing VJPs as graph ops: `const o = graphOps(ctx.b)` then
 * `o.mul(g, o.exp(x))`. Every helper appends a node through the builder, so a VJP is
 * itself an ordinary graph that every pass and backend understands.
 */
import type { GraphEmitter } from "../../graph/graph.ts";
import type { Attrs, Value } from "../../graph/graph.ts";
import type { DType } from "../../../core/dtype.ts";
import { isFloat } from "../../../core/dtype.ts";
import { sameShape } from "./common.ts";

export interface GraphOps {
  readonly b: GraphEmitter;
  op(name: string, inputs: readonly Value[], attrs?: Attrs): Value;
  add(x: Value, y: Value): Value;
  sub(x: Value, y: Value): Value;
  mul(x: Value, y: Value): Value;
  div(x: Value, y: Value): Value;
  neg(x: Value): Value;
  /** A shape-[] constant of `dtype` (broadcasts against anything). */
  scalar(v: number, dtype: DType): Value;
  /** `g` summed down to `like`'s shape, or `g` itself when the shapes already agree. */
  sumTo(g: Value, like: Value): Value;
  /** `g` where `cond` holds, else 0 (the result has the broadcast shape). */
  maskKeep(cond: Value, g: Value): Value;
  /** 0 where `cond` holds, else `g`. */
  maskDrop(cond: Value, g: Value): Value;
}

export function graphOps(b: GraphEmitter): GraphOps {
  const op = (name: string, inputs: readonly Value[], attrs: Attrs = {}): Value => b.op1(name, inputs, attrs);
  const scalar = (v: number, dtype: DType): Value => {
    switch (dtype) {
      case "f64": return b.constant("c", Float64Array.of(v), [], "f64");
      case "f32": return b.constant("c", Float32Array.of(v), [], "f32");
      case "i32": return b.constant("c", Int32Array.of(v), [], "i32");
      // Other dtypes have no plain JS array the interpreter reads as numbers (f16 is stored as raw bits): cast a constant.
      default: return op("cast", [isFloat(dtype) ? scalar(v, "f32") : scalar(v, "i32")], { dtype });
    }
  };
  const zero = (v: Value): Value => scalar(0, v.type.dtype);
  return {
    b, op, scalar,
    add: (x, y) => op("add", [x, y]),
    sub: (x, y) => op("sub", [x, y]),
    mul: (x, y) => op("mul", [x, y]),
    div: (x, y) => op("div", [x, y]),
    neg: (x) => op("neg", [x]),
    sumTo: (g, like) => (sameShape(g.type.shape, like.type.shape) ? g : op("sum_like", [g, like])),
    maskKeep: (cond, g) => op("where", [cond, g, zero(g)]),
    maskDrop: (cond, g) => op("where", [cond, zero(g), g]),
  };
}

/** Float inputs get gradients; integer and bool inputs never do. */
export const differentiable = (v: Value): boolean => isFloat(v.type.dtype);
