/**
 * Structural keys for expressions: equal keys ⟺ structurally equal expressions (vars,
 * buffers and tensors by identity). Keys also give the deterministic order in which the
 * canonical form lists its terms, so they are built to sort vars (by id) first.
 */
import type { Expr, Var } from "../te/expr.ts";
import { children } from "../te/expr.ts";

const keyCache = new WeakMap<object, string>();
// Identity serials: two distinct objects never share a key even if their ids/names collide.
const serials = new WeakMap<object, number>();
let nextSerial = 0;
function serial(o: object): number {
  let s = serials.get(o);
  if (s === undefined) { s = nextSerial++; serials.set(o, s); }
  return s;
}

/**
 * Keys longer than this are replaced by an interned token, so a key stays short even for
 * an expression DAG whose tree form is exponentially large (children's keys are already
 * bounded, so building a key is O(1) per node). Interning is exact: equal keys, same token.
 */
const LONG_KEY = 240;
const interned = new Map<string, string>();

export function exprKey(e: Expr): string {
  const hit = keyCache.get(e);
  if (hit !== undefined) return hit;
  let k = computeKey(e);
  if (k.length > LONG_KEY) {
    let token = interned.get(k);
    if (token === undefined) { token = `@${interned.size}`; interned.set(k, token); }
    k = token;
  }
  keyCache.set(e, k);
  return k;
}

const varsCache = new WeakMap<object, ReadonlySet<Var>>();
const NO_VARS: ReadonlySet<Var> = new Set();
/** The free variables of e, cached per node (linear in the DAG, not the tree). */
export function varsOf(e: Expr): ReadonlySet<Var> {
  if (e.kind === "const") return NO_VARS;
  const hit = varsCache.get(e);
  if (hit) return hit;
  let out: ReadonlySet<Var>;
  if (e.kind === "var") {
    out = new Set([e]);
  } else {
    const cs = children(e);
    if (cs.length === 1) out = varsOf(cs[0]!);
    else {
      const u = new Set<Var>();
      for (const c of cs) for (const v of varsOf(c)) u.add(v);
      out = u;
    }
  }
  varsCache.set(e, out);
  return out;
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
