/** Storage flattening: multi-dimensional loads and stores become one row-major index. */
import type { Expr } from "../../te/expr.ts";
import { add, mapChildren, mul } from "../../te/expr.ts";
import type { Buffer } from "../../te/buffer.ts";
import type { Pass } from "../pass.ts";
import type { Stmt } from "../stmt.ts";
import { mapStmt } from "../stmt.ts";

export function flatIndex(buffer: Buffer, indices: readonly Expr[]): Expr {
  if (indices.length !== buffer.shape.length) {
    throw new Error(`internal: ${buffer.name} has ${buffer.shape.length} dims, accessed with ${indices.length}`);
  }
  return indices.reduce((acc, ix, d) => (d === 0 ? ix : add(mul(acc, buffer.shape[d]!), ix)), indices[0] ?? ({ kind: "const", value: 0, dtype: "i32" } as Expr));
}

const flatExpr = (e: Expr): Expr => {
  const x = mapChildren(e, flatExpr);
  return x.kind === "load" && x.buffer.shape.length !== 1 ? { ...x, indices: [flatIndex(x.buffer, x.indices)] } : x;
};

const flatStmt = (s: Stmt): Stmt => {
  const x = mapStmt(s, flatStmt, flatExpr);
  return x.kind === "store" && x.buffer.shape.length !== 1 ? { ...x, indices: [flatIndex(x.buffer, x.indices)] } : x;
};

/** After this pass every load and store has exactly one index; buffers keep their logical shape. */
export const flattenStorage: Pass = { name: "flatten", run: (f) => ({ ...f, body: flatStmt(f.body) }) };
