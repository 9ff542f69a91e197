/** Unrolling: an `unrolled` loop of small constant extent becomes its body repeated. */
import { add, int, substitute } from "../../te/expr.ts";
import type { Pass } from "../pass.ts";
import type { Stmt } from "../stmt.ts";
import { mapStmt, mapStmtExprs, seq } from "../stmt.ts";

/** Above this many iterations the loop stays a loop and the C compiler is asked to unroll it. */
export const MAX_UNROLL = 64;

function unrollLoops(s: Stmt): Stmt {
  const x = mapStmt(s, unrollLoops, (e) => e);
  if (x.kind !== "for" || x.forKind !== "unrolled" || x.extent.kind !== "const" || x.extent.value > MAX_UNROLL) return x;
  const copies: Stmt[] = [];
  for (let k = 0; k < x.extent.value; k++) {
    const m = new Map([[x.loopVar, add(x.min, int(k))]]);
    copies.push(mapStmtExprs(x.body, (e) => substitute(e, m)));
  }
  return seq(...copies);
}

export const unroll: Pass = { name: "unroll", run: (f) => ({ ...f, body: unrollLoops(f.body) }) };
