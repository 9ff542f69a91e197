/**
 * Public entry points of the simplifier. See canonical.ts (index arithmetic), rewrite.ts
 * (comparisons, logic, select, floats) and prove.ts (bounds used for decisions).
 */
import type { Expr } from "../te/expr.ts";
import { Analyzer } from "./analyzer.ts";
import type { VarRanges } from "./interval.ts";
import { simplifyExpr } from "./rewrite.ts";

export { canProve } from "./prove.ts";
export { exprEqual } from "./key.ts";

/**
 * Canonical simplification: constant folding, collecting linear terms, floordiv/floormod of
 * sums with divisible coefficients or provable remainders, min/max of comparable terms,
 * select with constant condition, comparisons decided by bounds. Never changes the value for
 * any assignment of the vars within `ranges` (vars without ranges: all i32 values, ignoring
 * overflow). Idempotent.
 */
export function simplify(e: Expr, ranges?: VarRanges): Expr {
  return simplifyExpr(new Analyzer(ranges), e);
}
