/**
 * The scalar expression language shared by tensor expressions (compiler/te) and the
 * loop IR (compiler/tir), as TVM's PrimExpr is. TE-only nodes (`access`, `reduce`)
 * disappear during lowering; loop-IR-only nodes (`load`, `ramp`, `broadcast`) appear then.
 *
 * Integer `floordiv`/`floormod` round toward −∞ (index arithmetic); `truncdiv`/`truncmod`
 * are C's operators and only appear after the loop-IR pass that proves them equivalent.
 */
import type { DType } from "../../core/dtype.ts";
import { isFloat, promote } from "../../core/dtype.ts";
import type { Tensor, IterVar } from "./tensor.ts";
import type { Buffer } from "./buffer.ts";

export type BinOp =
  | "add" | "sub" | "mul" | "div" | "floordiv" | "floormod" | "truncdiv" | "truncmod" | "min" | "max";
export type CmpOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";
export type Intrinsic =
  | "exp" | "log" | "sqrt" | "rsqrt" | "tanh" | "sigmoid" | "pow" | "abs" | "floor" | "ceil"
  | "sin" | "cos" | "erf"
  | "tan" | "asin" | "acos" | "atan" | "sinh" | "cosh" | "asinh" | "acosh" | "atanh" | "round"
  | "fmod" | "shl" | "shr" | "bitand" | "bitor" | "bitxor" | "bitnot";
export type Combiner = "sum" | "prod" | "max" | "min";

export const INTRINSIC_ARITY: Record<Intrinsic, number> = {
  exp: 1, log: 1, sqrt: 1, rsqrt: 1, tanh: 1, sigmoid: 1, pow: 2, abs: 1, floor: 1, ceil: 1,
  sin: 1, cos: 1, erf: 1,
  tan: 1, asin: 1, acos: 1, atan: 1, sinh: 1, cosh: 1, asinh: 1, acosh: 1, atanh: 1, round: 1,
  fmod: 2, shl: 2, shr: 2, bitand: 2, bitor: 2, bitxor: 2, bitnot: 1,
};

/**
 * Which argument dtypes an intrinsic takes: "float" (most), "number" (any non-bool: abs,
 * and fmod — C's `fmod` for floats, `%` for integers, the remainder with the dividend's
 * sign), "int" (the bit operations). `round` rounds halves to even; `shl`/`shr` shift by a
 * count outside [0, bits) as if shifting one bit at a time (a negative count shifts by 0),
 * and `shr` of a signed value is arithmetic.
 */
export const INTRINSIC_DOMAIN: Record<Intrinsic, "float" | "number" | "int"> = {
  exp: "float", log: "float", sqrt: "float", rsqrt: "float", tanh: "float", sigmoid: "float", pow: "float",
  abs: "number", floor: "float", ceil: "float", sin: "float", cos: "float", erf: "float",
  tan: "float", asin: "float", acos: "float", atan: "float", sinh: "float", cosh: "float", asinh: "float",
  acosh: "float", atanh: "float", round: "float",
  fmod: "number", shl: "int", shr: "int", bitand: "int", bitor: "int", bitxor: "int", bitnot: "int",
};

/** Whether `fn` accepts arguments of dtype `t` (see INTRINSIC_DOMAIN). */
export function intrinsicAccepts(fn: Intrinsic, t: DType): boolean {
  switch (INTRINSIC_DOMAIN[fn]) {
    case "float": return isFloat(t);
    case "number": return t !== "bool";
    case "int": return !isFloat(t) && t !== "bool";
  }
}

/** A variable is identified by object identity; `name` is only for printing. */
export interface Var { readonly kind: "var"; readonly name: string; readonly dtype: DType; readonly id: number; readonly lanes?: 1 }

export type Expr =
  | { readonly kind: "const"; readonly value: number; readonly dtype: DType; readonly lanes?: number }
  | Var
  | { readonly kind: "bin"; readonly op: BinOp; readonly a: Expr; readonly b: Expr; readonly dtype: DType; readonly lanes?: number }
  | { readonly kind: "cmp"; readonly op: CmpOp; readonly a: Expr; readonly b: Expr; readonly dtype: "bool"; readonly lanes?: number }
  | { readonly kind: "and" | "or"; readonly a: Expr; readonly b: Expr; readonly dtype: "bool"; readonly lanes?: number }
  | { readonly kind: "not"; readonly a: Expr; readonly dtype: "bool"; readonly lanes?: number }
  | { readonly kind: "call"; readonly fn: Intrinsic; readonly args: readonly Expr[]; readonly dtype: DType; readonly lanes?: number }
  | { readonly kind: "select"; readonly cond: Expr; readonly t: Expr; readonly f: Expr; readonly dtype: DType; readonly lanes?: number }
  | { readonly kind: "cast"; readonly value: Expr; readonly dtype: DType; readonly lanes?: number }
  /** TE: read of a tensor element (TVM's ProducerLoad). */
  | { readonly kind: "access"; readonly tensor: Tensor; readonly indices: readonly Expr[]; readonly dtype: DType; readonly lanes?: 1 }
  /** TE: a commutative reduction over reduce axes; only allowed at the top of a compute body. */
  | { readonly kind: "reduce"; readonly combiner: Combiner; readonly source: Expr; readonly axes: readonly IterVar[]; readonly init: Expr | null; readonly cond: Expr | null; readonly dtype: DType; readonly lanes?: 1 }
  /** Loop IR: read of a buffer element; `indices` may be vectors (ramps) after vectorization. */
  | { readonly kind: "load"; readonly buffer: Buffer; readonly indices: readonly Expr[]; readonly dtype: DType; readonly lanes?: number }
  | { readonly kind: "ramp"; readonly base: Expr; readonly stride: Expr; readonly lanes: number; readonly dtype: DType }
  | { readonly kind: "broadcast"; readonly value: Expr; readonly lanes: number; readonly dtype: DType };

export type ExprKind = Expr["kind"];
export const lanesOf = (e: Expr): number => e.lanes ?? 1;

let nextVarId = 0;
export function variable(name: string, dtype: DType = "i32"): Var {
  return { kind: "var", name, dtype, id: nextVarId++ };
}

// ---- constructors (all type-checked; errors are thrown as TypeError with the operator) ----

export const int = (v: number, dtype: DType = "i32"): Expr => ({ kind: "const", value: v, dtype });
export const float = (v: number, dtype: DType = "f32"): Expr => ({ kind: "const", value: v, dtype });
export const bool = (v: boolean): Expr => ({ kind: "const", value: v ? 1 : 0, dtype: "bool" });

export type ExprLike = Expr | number;
/** Numbers become i32 constants when integral and the other side is an int, else take the other side's type. */
export function lift(x: ExprLike, like?: DType): Expr {
  if (typeof x !== "number") return x;
  if (like !== undefined) return { kind: "const", value: x, dtype: like };
  return Number.isInteger(x) ? int(x) : float(x);
}
function pair(a: ExprLike, b: ExprLike): [Expr, Expr] {
  if (typeof a === "number" && typeof b === "number") return [lift(a), lift(b)];
  if (typeof a === "number") return [lift(a, (b as Expr).dtype === "bool" ? "i32" : (b as Expr).dtype), b as Expr];
  if (typeof b === "number") return [a, lift(b, a.dtype === "bool" ? "i32" : a.dtype)];
  return [a, b];
}

function binary(op: BinOp, x: ExprLike, y: ExprLike): Expr {
  let [a, b] = pair(x, y);
  if (a.dtype !== b.dtype) {
    const t = promote(a.dtype, b.dtype);
    a = a.dtype === t ? a : cast(t, a);
    b = b.dtype === t ? b : cast(t, b);
  }
  if (op === "div" && !isFloat(a.dtype)) op = "floordiv";
  const lanes = Math.max(lanesOf(a), lanesOf(b));
  return lanes > 1 ? { kind: "bin", op, a, b, dtype: a.dtype, lanes } : { kind: "bin", op, a, b, dtype: a.dtype };
}
export const add = (a: ExprLike, b: ExprLike) => binary("add", a, b);
export const sub = (a: ExprLike, b: ExprLike) => binary("sub", a, b);
export const mul = (a: ExprLike, b: ExprLike) => binary("mul", a, b);
/** True division for floats; floor division for integers. */
export const div = (a: ExprLike, b: ExprLike) => binary("div", a, b);
export const floordiv = (a: ExprLike, b: ExprLike) => binary("floordiv", a, b);
export const floormod = (a: ExprLike, b: ExprLike) => binary("floormod", a, b);
export const min = (a: ExprLike, b: ExprLike) => binary("min", a, b);
export const max = (a: ExprLike, b: ExprLike) => binary("max", a, b);
export const neg = (a: Expr) => binary("sub", lift(0, a.dtype), a);

function compare(op: CmpOp, x: ExprLike, y: ExprLike): Expr {
  let [a, b] = pair(x, y);
  if (a.dtype !== b.dtype) {
    const t = promote(a.dtype, b.dtype);
    a = a.dtype === t ? a : cast(t, a);
    b = b.dtype === t ? b : cast(t, b);
  }
  const lanes = Math.max(lanesOf(a), lanesOf(b));
  return lanes > 1 ? { kind: "cmp", op, a, b, dtype: "bool", lanes } : { kind: "cmp", op, a, b, dtype: "bool" };
}
export const eq = (a: ExprLike, b: ExprLike) => compare("eq", a, b);
export const ne = (a: ExprLike, b: ExprLike) => compare("ne", a, b);
export const lt = (a: ExprLike, b: ExprLike) => compare("lt", a, b);
export const le = (a: ExprLike, b: ExprLike) => compare("le", a, b);
export const gt = (a: ExprLike, b: ExprLike) => compare("gt", a, b);
export const ge = (a: ExprLike, b: ExprLike) => compare("ge", a, b);

function asBool(e: Expr, what: string): Expr {
  if (e.dtype !== "bool") throw new TypeError(`${what} expects a bool operand, got ${e.dtype}`);
  return e;
}
export const and = (a: Expr, b: Expr): Expr => ({ kind: "and", a: asBool(a, "and"), b: asBool(b, "and"), dtype: "bool" });
export const or = (a: Expr, b: Expr): Expr => ({ kind: "or", a: asBool(a, "or"), b: asBool(b, "or"), dtype: "bool" });
export const not = (a: Expr): Expr => ({ kind: "not", a: asBool(a, "not"), dtype: "bool" });

export function call(fn: Intrinsic, ...xs: ExprLike[]): Expr {
  if (xs.length !== INTRINSIC_ARITY[fn]) {
    throw new TypeError(`${fn} takes ${INTRINSIC_ARITY[fn]} argument(s), got ${xs.length}`);
  }
  const first = xs.find((x): x is Expr => typeof x !== "number");
  let args = xs.map((x) => lift(x, first?.dtype));
  const t = args.map((a) => a.dtype).reduce(promote);
  args = args.map((a) => (a.dtype === t ? a : cast(t, a)));
  if (!intrinsicAccepts(fn, t)) {
    throw new TypeError(`${fn} needs ${INTRINSIC_DOMAIN[fn] === "int" ? "an integer" : INTRINSIC_DOMAIN[fn] === "number" ? "a numeric" : "a float"} argument, got ${t}`);
  }
  return { kind: "call", fn, args, dtype: t };
}

export function select(c: Expr, t: ExprLike, f: ExprLike): Expr {
  asBool(c, "select");
  let [a, b] = pair(t, f);
  if (a.dtype !== b.dtype) {
    const p = promote(a.dtype, b.dtype);
    a = a.dtype === p ? a : cast(p, a);
    b = b.dtype === p ? b : cast(p, b);
  }
  return { kind: "select", cond: c, t: a, f: b, dtype: a.dtype };
}

export function cast(dtype: DType, value: ExprLike): Expr {
  const v = lift(value);
  if (v.dtype === dtype) return v;
  return { kind: "cast", value: v, dtype };
}

// ---- traversal ----

/** The direct sub-expressions of an expression (not the indices' tensors, not reduce axes). */
export function children(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case "const": case "var": return [];
    case "bin": case "cmp": case "and": case "or": return [e.a, e.b];
    case "not": return [e.a];
    case "call": return e.args;
    case "select": return [e.cond, e.t, e.f];
    case "cast": return [e.value];
    case "access": case "load": return e.indices;
    case "reduce": return [e.source, ...(e.init ? [e.init] : []), ...(e.cond ? [e.cond] : [])];
    case "ramp": return [e.base, e.stride];
    case "broadcast": return [e.value];
  }
}

/**
 * Rebuilds `e` with each child replaced by `f(child)`. Returns `e` itself when nothing
 * changed, so passes can detect "(unchanged)" cheaply.
 */
export function mapChildren(e: Expr, f: (c: Expr) => Expr): Expr {
  switch (e.kind) {
    case "const": case "var": return e;
    case "bin": case "cmp": case "and": case "or": {
      const a = f(e.a), b = f(e.b);
      return a === e.a && b === e.b ? e : { ...e, a, b } as Expr;
    }
    case "not": { const a = f(e.a); return a === e.a ? e : { ...e, a }; }
    case "call": { const args = mapList(e.args, f); return args === e.args ? e : { ...e, args }; }
    case "select": {
      const cond = f(e.cond), t = f(e.t), fl = f(e.f);
      return cond === e.cond && t === e.t && fl === e.f ? e : { ...e, cond, t, f: fl };
    }
    case "cast": { const value = f(e.value); return value === e.value ? e : { ...e, value }; }
    case "access": { const indices = mapList(e.indices, f); return indices === e.indices ? e : { ...e, indices }; }
    case "load": { const indices = mapList(e.indices, f); return indices === e.indices ? e : { ...e, indices }; }
    case "reduce": {
      const source = f(e.source), init = e.init && f(e.init), cond = e.cond && f(e.cond);
      return source === e.source && init === e.init && cond === e.cond ? e : { ...e, source, init, cond };
    }
    case "ramp": {
      const base = f(e.base), stride = f(e.stride);
      return base === e.base && stride === e.stride ? e : { ...e, base, stride };
    }
    case "broadcast": { const value = f(e.value); return value === e.value ? e : { ...e, value }; }
  }
}

export function mapList<T>(xs: readonly T[], f: (x: T) => T): readonly T[] {
  let out: T[] | null = null;
  for (let i = 0; i < xs.length; i++) {
    const y = f(xs[i]!);
    if (y !== xs[i] && out === null) out = xs.slice(0, i);
    if (out !== null) out.push(y);
  }
  return out ?? xs;
}

/** Post-order rewrite: children first, then `f` on the rebuilt node. */
export function rewriteExpr(e: Expr, f: (e: Expr) => Expr): Expr {
  return f(mapChildren(e, (c) => rewriteExpr(c, f)));
}

export function visitExpr(e: Expr, f: (e: Expr) => void): void {
  f(e);
  for (const c of children(e)) visitExpr(c, f);
}

/** Replaces variables by expressions (by identity). */
export function substitute(e: Expr, map: ReadonlyMap<Var, Expr>): Expr {
  if (map.size === 0) return e;
  const go = (x: Expr): Expr => (x.kind === "var" ? map.get(x) ?? x : mapChildren(x, go));
  return go(e);
}

export function usesVar(e: Expr, pred: (v: Var) => boolean): boolean {
  let found = false;
  visitExpr(e, (x) => { if (x.kind === "var" && pred(x)) found = true; });
  return found;
}

export function freeVars(e: Expr): Set<Var> {
  const s = new Set<Var>();
  visitExpr(e, (x) => { if (x.kind === "var") s.add(x); });
  return s;
}

export const isConst = (e: Expr, v?: number): e is Extract<Expr, { kind: "const" }> =>
  e.kind === "const" && (v === undefined || e.value === v);

/** The constant integer value of `e`, or null. */
export const constInt = (e: Expr): number | null => (e.kind === "const" ? e.value : null);
