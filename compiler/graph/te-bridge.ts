/** Graph types as tensor-expression shapes: numbers become constants, symbolic dims size variables. */
import type { Expr, Var } from "../te/expr.ts";
import { int } from "../te/expr.ts";
import type { Tensor as TeTensor } from "../te/tensor.ts";
import { placeholder, sizeVar } from "../te/tensor.ts";
import type { Value } from "./graph.ts";
import type { Dim } from "./types.ts";

/** One size variable per symbolic dimension name, shared by every tensor of a graph. */
export class SizeVars {
  readonly map = new Map<string, Var>();
  get(name: string): Var {
    let v = this.map.get(name);
    if (!v) { v = sizeVar(name); this.map.set(name, v); }
    return v;
  }
  dim(d: Dim): Expr { return typeof d === "number" ? int(d) : this.get(d); }
}

export const placeholderOf = (v: Value, sizes: SizeVars): TeTensor =>
  placeholder(v.type.shape.map((d) => sizes.dim(d)), v.type.dtype, v.name);
