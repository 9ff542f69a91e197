/** Walks statements keeping the ranges of the enclosing loop variables, for passes that need them. */
import type { Expr, Var } from "../../te/expr.ts";
import type { VarRanges } from "../../arith/index.ts";
import type { Stmt } from "../stmt.ts";
import { mapStmt } from "../stmt.ts";

export type ScopedRanges = Map<Var, { min: Expr; extent: Expr }>;

/**
 * Rebuilds `s` bottom-up; `fs` sees each statement after its children were rebuilt and
 * `fe` each top-level expression, both with the ranges of the loops around them.
 */
export function mapWithRanges(
  s: Stmt,
  fs: (s: Stmt, ranges: VarRanges) => Stmt,
  fe: (e: Expr, ranges: VarRanges) => Expr,
  ranges: ScopedRanges = new Map(),
): Stmt {
  const go = (x: Stmt): Stmt => {
    if (x.kind === "for") {
      const had = ranges.get(x.loopVar);
      ranges.set(x.loopVar, { min: x.min, extent: x.extent });
      const body = go(x.body);
      if (had) ranges.set(x.loopVar, had); else ranges.delete(x.loopVar);
      const min = fe(x.min, ranges), extent = fe(x.extent, ranges);
      const y = body === x.body && min === x.min && extent === x.extent ? x : { ...x, body, min, extent };
      return fs(y, ranges);
    }
    return fs(mapStmt(x, go, (e) => fe(e, ranges)), ranges);
  };
  return go(s);
}
