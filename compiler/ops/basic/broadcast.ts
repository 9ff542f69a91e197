/**
 * NumPy broadcasting, shared by the binary ops, comparisons, `where`, `expand` and the
 * gradient helpers. Shapes are aligned at the right; per dimension, equal sizes (or equal
 * symbolic names) match and a literal 1 stretches. Anything else — including a symbolic
 * dimension against a different size — is a ShapeError naming the node and every shape.
 */
import { ShapeError } from "../../../core/errors.ts";
import type { Dim, TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { Expr, Var } from "../../te/expr.ts";
import { int, isConst } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { at } from "./common.ts";

/** The broadcast shape of `shapes`, or null when they do not broadcast. */
export function tryBroadcast(shapes: readonly (readonly Dim[])[]): Dim[] | null {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + k];
      if (e === undefined || e === 1) continue;
      if (d === 1) d = e;
      else if (d !== e) return null;
    }
    out.push(d);
  }
  return out;
}

/** The broadcast shape of the inputs' shapes; a mismatch names the node and every input type. */
export function broadcastTypes(types: readonly TensorType[], node: string, op: string): Dim[] {
  const out = tryBroadcast(types.map((t) => t.shape));
  if (!out) throw new ShapeError(`${at(node, op)}: cannot broadcast ${types.map(showType).join(" with ")}`);
  return out;
}

/** The indices to read `t` at for output indices `idx` (`t` aligned at the right; its size-1 dimensions read index 0). */
export function broadcastIndex(t: TeTensor, idx: readonly Expr[]): Expr[] {
  const off = idx.length - t.shape.length;
  return t.shape.map((d, k) => (isConst(d, 1) ? int(0) : idx[k + off]!));
}

/** `t` read at output indices `idx` under broadcasting. */
export const readBroadcast = (t: TeTensor, idx: readonly Var[]): Expr => t.at(...broadcastIndex(t, idx));
