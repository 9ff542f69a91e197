/** Simplifies every expression with the enclosing loops' ranges; drops decided `if`s and trivial loops. */
import { add, max, min, not, sub, substitute, usesVar } from "../../te/expr.ts";
import { canProve, simplify } from "../../arith/index.ts";
import type { Pass } from "../pass.ts";
import type { Stmt } from "../stmt.ts";
import { mapStmtExprs } from "../stmt.ts";
import type { ScopedRanges } from "./scope.ts";
import { mapWithRanges } from "./scope.ts";

const NOP: Stmt = { kind: "nop" };

export function simplifyStmt(s: Stmt, outer: ScopedRanges = new Map()): Stmt {
  return mapWithRanges(
    s,
    (x, ranges) => {
      if (x.kind === "if") {
        if (canProve(x.cond, ranges)) return x.then;
        if (canProve(not(x.cond), ranges)) return x.else ?? NOP;
        return x;
      }
      // `for v: if (v < c) body` runs only while v < c: shrink the loop instead (a partitioned
      // split tail then becomes a short loop that can still be vectorized).
      if (x.kind === "for" && x.body.kind === "if" && x.body.else === null && x.forKind !== "thread" && x.forKind !== "vthread") {
        const c = x.body.cond;
        if (c.kind === "cmp" && c.op === "lt" && c.a === x.loopVar && !usesVar(c.b, (v) => v === x.loopVar)) {
          const end = simplify(min(add(x.min, x.extent), c.b), ranges);
          return simplifyStmt({ ...x, extent: simplify(max(sub(end, x.min), 0), ranges), body: x.body.then }, new Map(ranges));
        }
      }
      if (x.kind === "for" && x.extent.kind === "const") {
        if (x.extent.value <= 0) return NOP;
        // A one-iteration loop is its body with the variable fixed (not for thread-bound loops).
        if (x.extent.value === 1 && x.forKind !== "thread" && x.forKind !== "vthread") {
          const m = new Map([[x.loopVar, x.min]]);
          return simplifyStmt(mapStmtExprs(x.body, (e) => substitute(e, m)), new Map(ranges));
        }
      }
      if (x.kind === "seq") {
        const body = x.body.filter((b) => b.kind !== "nop");
        if (body.length !== x.body.length) return body.length === 0 ? NOP : body.length === 1 ? body[0]! : { kind: "seq", body };
      }
      return x;
    },
    (e, ranges) => simplify(e, ranges),
    outer,
  );
}

export const simplifyPass: Pass = { name: "simplify", run: (f) => ({ ...f, body: simplifyStmt(f.body) }) };
