/**
 * Floor division and modulo by a positive constant of a value proven non-negative equal
 * C's truncating `/` and `%`; rewrite those so the printers emit plain operators. What is
 * left stays floordiv/floormod, which printers call helpers for.
 */
import type { Expr } from "../../te/expr.ts";
import { mapChildren } from "../../te/expr.ts";
import type { VarRanges } from "../../arith/index.ts";
import { constIntervalOf } from "../../arith/index.ts";
import type { Pass } from "../pass.ts";
import { mapWithRanges } from "./scope.ts";

function lowerDiv(e: Expr, ranges: VarRanges): Expr {
  const x = mapChildren(e, (c) => lowerDiv(c, ranges));
  if (x.kind !== "bin" || (x.op !== "floordiv" && x.op !== "floormod") || (x.lanes ?? 1) > 1) return x;
  if (x.b.kind !== "const" || x.b.value <= 0) return x;
  const a = constIntervalOf(x.a, ranges);
  if (a === null || a.min < 0) return x;
  return { ...x, op: x.op === "floordiv" ? "truncdiv" : "truncmod" };
}

export const lowerIntDiv: Pass = {
  name: "lower-int-div",
  run: (f) => ({ ...f, body: mapWithRanges(f.body, (s) => s, lowerDiv) }),
};
