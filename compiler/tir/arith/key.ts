/**
 * Structural keys for expressions: equal keys ⟺ structurally equal expressions (vars,
 * buffers and tensors by identity). Keys also give the deterministic order in which the
 * canonical form lists its terms, so they are built to sort vars (by id) first.
 */
import type { Expr } from "../../te/expr.ts";

const keyCache = new WeakMap<object, string>();
// Identity serials: two distinct objects never share a key even if their ids/names collide.
const serials = new WeakMap<object, number>();
let nextSerial = 0;
function serial(o: object): number {
  let s = serials.get(o);
  if (s === undefined) { s = nextSerial++; serials.set(o, s); }
  return s;
}

export function exprKey(e: Expr): string {
  const hit = keyCache.get(e);
  if (hit !== undefined) return hit;
  const k = computeKey(e);
  keyCache.set(e, k);
  return k;
}

function computeKey(e: Expr): string {
  const l = e.lanes !== undefined && e.lanes > 1 ? `x${e.lanes}` : "";
  const ks = (xs: readonly Expr[]) => xs.map(exprKey).join(" ");
  switch (e.kind) {
    // '$' sorts before '(' and letters, so plain variables come first in canonical sums.
    case "var": return `$${String(e.id).padStart(9, "0")}.${serial(e)}`;
    case "const": return `#${e.dtype}${l}:${e.value}`;
    case "bin": return `(${e.op} ${e.dtype}${l} ${exprKey(e.a)} ${exprKey(e.b)})`;
    case "cmp": return `(${e.op}${l} ${exprKey(e.a)} ${exprKey(e.b)})`;
    case "and": case "or": return `(${e.kind}${l} ${exprKey(e.a)} ${exprKey(e.b)})`;
    case "not": return `(not${l} ${exprKey(e.a)})`;
    case "call": return `(${e.fn} ${e.dtype}${l} ${ks(e.args)})`;
    case "select": return `(select ${e.dtype}${l} ${exprKey(e.cond)} ${exprKey(e.t)} ${exprKey(e.f)})`;
    case "cast": return `(cast ${e.dtype}${l} ${exprKey(e.value)})`;
    case "access": return `(access ${serial(e.tensor)} ${e.dtype} ${ks(e.indices)})`;
    case "load": return `(load ${serial(e.buffer)} ${e.dtype}${l} ${ks(e.indices)})`;
    case "reduce":
      return `(reduce ${e.combiner} ${e.dtype} [${e.axes.map((a) => exprKey(a.var)).join(" ")}] ${exprKey(e.source)} ${
        e.init ? exprKey(e.init) : "_"} ${e.cond ? exprKey(e.cond) : "_"})`;
    case "ramp": return `(ramp ${e.dtype}${l} ${exprKey(e.base)} ${exprKey(e.stride)})`;
    case "broadcast": return `(broadcast ${e.dtype}${l} ${exprKey(e.value)})`;
  }
}

/** Structural equality of expressions (vars by identity). */
export function exprEqual(a: Expr, b: Expr): boolean {
  return a === b || exprKey(a) === exprKey(b);
}

export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
