/**
 * The reference evaluator: the source of truth every backend is tested against.
 *
 * Each compute body is compiled once into a tree of JS closures over a slot array of
 * variable values, then run for every output element (producers first, row-major flat
 * storage). Semantics:
 * - floats are computed in f64 and every *stored* element is rounded to its dtype
 *   (`wrapTo`); reductions of f16/f32 accumulate in f64, so the reference is slightly
 *   more exact than a kernel and tests compare kernels with a tolerance;
 * - integer arithmetic wraps to its dtype after every operation (C semantics); i64 is held
 *   in a JS number, so it is exact only within ±2^53;
 * - integer `floordiv`/`floormod` round toward −∞, `truncdiv`/`truncmod` toward zero, and an
 *   integer division by zero throws; float division is IEEE;
 * - `select` evaluates only the chosen branch, so guarded out-of-bounds reads are fine;
 * - an out-of-bounds `access` throws, naming the tensor, the index and the shape.
 *
 * Storage is always a Float64Array (holding values already rounded to the tensor's dtype),
 * which represents every dtype exactly except i64 beyond 2^53.
 */
import { LatheError, ShapeError } from "../../core/errors.ts";
import type { DType } from "../../core/dtype.ts";
import { isFloat, wrapTo } from "../../core/dtype.ts";
import type { Combiner, Expr, Intrinsic, Var } from "./expr.ts";
import { INTRINSIC_ARITY, visitExpr } from "./expr.ts";
import type { Tensor } from "./tensor.ts";
import { identityOf, postOrder } from "./tensor.ts";

export class EvalError extends LatheError {
  override name = "EvalError";
}

/** Input data: keyed by placeholder tensor, or by placeholder name. */
export type EvalInputs =
  | ReadonlyMap<Tensor, ArrayLike<number | bigint>>
  | Readonly<Record<string, ArrayLike<number | bigint>>>;
/** Values of symbolic size variables: keyed by the variable, or by its name. */
export type EvalSizes = ReadonlyMap<Var, number> | Readonly<Record<string, number>>;

/** A compiled expression: evaluates it for the current variable values. */
export type Fn = () => number;

/**
 * Evaluates every tensor reachable from `outputs`. Returns the flat row-major values of
 * every tensor evaluated (placeholders included, rounded to their dtype).
 *
 * Size variables that `sizes` does not give are inferred from an input's length when the
 * variable is the only unknown dimension of that input.
 */
export function evaluate(
  outputs: readonly Tensor[],
  inputs: EvalInputs,
  sizes: EvalSizes = {},
): Map<Tensor, Float64Array> {
  const order = postOrder(outputs);
  const byTensor = inputs instanceof Map ? (inputs as ReadonlyMap<Tensor, ArrayLike<number | bigint>>) : null;
  const byName = byTensor ? null : (inputs as Readonly<Record<string, ArrayLike<number | bigint>>>);

  const placeholderNames = new Map<string, Tensor>();
  for (const t of order) {
    if (t.op.kind !== "placeholder" || byName === null) continue;
    const other = placeholderNames.get(t.name);
    if (other && other !== t) {
      throw new EvalError(`two different placeholders are named ${t.name}; pass inputs as a Map keyed by tensor`);
    }
    placeholderNames.set(t.name, t);
  }
  const inputOf = (t: Tensor): ArrayLike<number | bigint> => {
    const data = byTensor ? byTensor.get(t) : Object.hasOwn(byName!, t.name) ? byName![t.name] : undefined;
    if (data === undefined) throw new EvalError(`no input given for placeholder ${t.name}`);
    return data;
  };

  const comp = new Compiler();
  const sizeValues = resolveSizes(order, sizes, inputOf);
  for (const [v, n] of sizeValues) comp.bind(v, n);

  const shapes = new Map<Tensor, number[]>();
  for (const t of order) {
    shapes.set(t, t.shape.map((d, k) => {
      const n = comp.compile(d, `shape of ${t.name}`)();
      if (!Number.isInteger(n) || n < 0) throw new ShapeError(`dimension ${k} of ${t.name} evaluates to ${n}`);
      return n;
    }));
  }

  const result = new Map<Tensor, Float64Array>();
  for (const t of order) {
    const shape = shapes.get(t)!;
    const size = shape.reduce((a, b) => a * b, 1);
    let out: Float64Array;
    if (t.op.kind === "placeholder") {
      const data = inputOf(t);
      if (data.length !== size) {
        throw new ShapeError(`input ${t.name} has ${data.length} element(s), but its shape [${shape.join(", ")}] needs ${size}`);
      }
      out = new Float64Array(size);
      for (let f = 0; f < size; f++) out[f] = wrapTo(t.dtype, Number(data[f]));
    } else {
      out = comp.runCompute(t, shape, size);
    }
    comp.storage.set(t, { data: out, shape });
    result.set(t, out);
  }
  return result;
}

/**
 * Evaluates a scalar expression (no tensor reads) with the given variable values. The result
 * is not rounded to the expression's dtype (integer operations wrap as they go).
 */
export function evalExpr(e: Expr, env: ReadonlyMap<Var, number>): number {
  const comp = new Compiler();
  for (const [v, n] of env) comp.bind(v, n);
  return comp.compile(e, "expression")();
}

// ---- sizes -------------------------------------------------------------------------

/** Variables a computation reads that no compute or reduce axis binds: the symbolic sizes, in first-use order. */
export function freeSizeVars(order: readonly Tensor[]): Var[] {
  const bound = new Set<Var>();
  const found: Var[] = [];
  const scan = (e: Expr): void => visitExpr(e, (x) => {
    if (x.kind === "reduce") {
      for (const a of x.axes) { bound.add(a.var); scan(a.dom.min); scan(a.dom.extent); }
    } else if (x.kind === "var" && !found.includes(x)) {
      found.push(x);
    }
  });
  for (const t of order) {
    t.shape.forEach(scan);
    if (t.op.kind === "compute") {
      for (const a of t.op.axes) { bound.add(a.var); scan(a.dom.min); scan(a.dom.extent); }
      scan(t.op.body);
    }
  }
  return found.filter((v) => !bound.has(v));
}

function resolveSizes(
  order: readonly Tensor[],
  sizes: EvalSizes,
  inputOf: (t: Tensor) => ArrayLike<number | bigint>,
): Map<Var, number> {
  const byVar = sizes instanceof Map ? (sizes as ReadonlyMap<Var, number>) : null;
  const byName = byVar ? null : (sizes as Readonly<Record<string, number>>);
  const values = new Map<Var, number>();
  const free = freeSizeVars(order);
  for (const v of free) {
    const n = byVar ? byVar.get(v) : Object.hasOwn(byName!, v.name) ? byName![v.name] : undefined;
    if (n !== undefined) values.set(v, n);
  }
  if (byVar) for (const [v, n] of byVar) values.set(v, n); // sizes may also bind variables used elsewhere

  // Infer a size from an input whose only unknown dimension is exactly that variable.
  for (let progress = true; progress;) {
    progress = false;
    for (const t of order) {
      if (t.op.kind !== "placeholder") continue;
      let unknown: Var | null = null, known = 1, ok = true;
      for (const d of t.shape) {
        if (d.kind === "var" && !values.has(d)) {
          if (unknown !== null) { ok = false; break; }
          unknown = d;
          continue;
        }
        const fs = [...freeOf(d)];
        if (fs.some((v) => !values.has(v))) { ok = false; break; }
        const c = new Compiler();
        for (const v of fs) c.bind(v, values.get(v)!);
        known *= c.compile(d, `shape of ${t.name}`)();
      }
      if (!ok || unknown === null) continue;
      let data: ArrayLike<number | bigint>;
      try { data = inputOf(t); } catch { continue; } // a missing input is reported later, by name
      if (known === 0 || data.length % known !== 0) {
        throw new ShapeError(`input ${t.name} has ${data.length} element(s), which is not a multiple of its known dimensions (${known}) to infer ${unknown.name}`);
      }
      values.set(unknown, data.length / known);
      progress = true;
    }
  }
  for (const v of free) {
    if (!values.has(v)) throw new EvalError(`size variable ${v.name} has no value: pass it in sizes`);
  }
  return values;
}

function freeOf(e: Expr): Set<Var> {
  const s = new Set<Var>();
  visitExpr(e, (x) => { if (x.kind === "var") s.add(x); });
  return s;
}

// ---- the closure compiler ----------------------------------------------------------------

interface Stored { readonly data: Float64Array; readonly shape: readonly number[] }

/** Fast rounding of a computed value to a dtype (equal to `wrapTo`). */
export function wrapper(t: DType): (v: number) => number {
  switch (t) {
    case "f64": return (v) => v;
    case "i64": return (v) => (Number.isFinite(v) ? Math.trunc(v) + 0 : 0); // + 0 turns −0 into 0
    case "f32": return Math.fround;
    case "i32": return (v) => v | 0; // ToInt32: truncation with wrap-around, NaN/±Inf → 0, as wrapTo
    default: return (v) => wrapTo(t, v);
  }
}

/** A binary op's closure over its operands' closures, with the reference's rounding and wrap rules (shared with tir/evaluate.ts). */
export function binaryFn(op: Extract<Expr, { kind: "bin" }>["op"], t: DType, a: Fn, b: Fn, where: string): Fn {
  if (isFloat(t)) {
    switch (op) {
      case "add": return () => a() + b();
      case "sub": return () => a() - b();
      case "mul": return () => a() * b();
      case "div": return () => a() / b();
      case "floordiv": return () => Math.floor(a() / b());
      case "floormod": return () => { const x = a(), y = b(); return x - y * Math.floor(x / y); };
      case "truncdiv": return () => Math.trunc(a() / b());
      case "truncmod": return () => a() % b();
      case "min": return () => Math.min(a(), b());
      case "max": return () => Math.max(a(), b());
    }
  }
  const divisor = (): number => {
    const y = b();
    if (y === 0) throw new EvalError(`${where}: integer division by zero (${op})`);
    return y;
  };
  if (t === "i32") {
    // |0 and Math.imul are exactly C's wrapping i32 arithmetic.
    switch (op) {
      case "add": return () => (a() + b()) | 0;
      case "sub": return () => (a() - b()) | 0;
      case "mul": return () => Math.imul(a(), b());
      default: break;
    }
  }
  const wrap = wrapper(t);
  switch (op) {
    case "add": return () => wrap(a() + b());
    case "sub": return () => wrap(a() - b());
    case "mul": return () => wrap(a() * b());
    // For ints `div` means floor division (see expr.ts `div`).
    case "div": case "floordiv": return () => { const x = a(); return wrap(Math.floor(x / divisor())); };
    case "floormod": return () => { const x = a(), y = divisor(); return wrap(x - y * Math.floor(x / y)); };
    case "truncdiv": return () => { const x = a(); return wrap(Math.trunc(x / divisor())); };
    case "truncmod": return () => { const x = a(); return wrap(x % divisor()); };
    case "min": return () => Math.min(a(), b());
    case "max": return () => Math.max(a(), b());
  }
}

/** An intrinsic's closure over its arguments' closures (shared with tir/evaluate.ts). */
export function intrinsicFn(fn: Intrinsic, t: DType, args: Fn[], where: string): Fn {
  const [a, b] = args;
  if (!a || (args.length < INTRINSIC_ARITY[fn])) throw new EvalError(`${where}: ${fn} is missing arguments`);
  switch (fn) {
    case "exp": return () => Math.exp(a());
    case "log": return () => Math.log(a());
    case "sqrt": return () => Math.sqrt(a());
    case "rsqrt": return () => 1 / Math.sqrt(a());
    case "tanh": return () => Math.tanh(a());
    case "sigmoid": return () => 1 / (1 + Math.exp(-a()));
    case "pow": return () => Math.pow(a(), b!());
    case "abs": {
      if (isFloat(t)) return () => Math.abs(a());
      const wrap = wrapper(t);
      return () => wrap(Math.abs(a()));
    }
    case "floor": return () => Math.floor(a());
    case "ceil": return () => Math.ceil(a());
    case "sin": return () => Math.sin(a());
    case "cos": return () => Math.cos(a());
    case "erf": return () => erf(a());
    case "tan": return () => Math.tan(a());
    case "asin": return () => Math.asin(a());
    case "acos": return () => Math.acos(a());
    case "atan": return () => Math.atan(a());
    case "sinh": return () => Math.sinh(a());
    case "cosh": return () => Math.cosh(a());
    case "asinh": return () => Math.asinh(a());
    case "acosh": return () => Math.acosh(a());
    case "atanh": return () => Math.atanh(a());
    case "round": return () => roundHalfEven(a());
    case "fmod": {
      // JS % is C's fmod on doubles and C's % on integers (the dividend's sign).
      if (isFloat(t)) return () => a() % b!();
      const wrap = wrapper(t);
      return () => {
        const x = a(), y = b!();
        if (y === 0) throw new EvalError(`${where}: integer division by zero (fmod)`);
        return wrap(x % y);
      };
    }
    case "shl": case "shr": case "bitand": case "bitor": case "bitxor": case "bitnot": {
      const op = bitOp(fn, t);
      return b ? () => op(a(), b()) : () => op(a(), 0);
    }
  }
}

/** A comparison's closure: 1 or 0 (shared with tir/evaluate.ts). */
export function compareFn(op: Extract<Expr, { kind: "cmp" }>["op"], a: Fn, b: Fn): Fn {
  switch (op) {
    case "eq": return () => (a() === b() ? 1 : 0);
    case "ne": return () => (a() !== b() ? 1 : 0);
    case "lt": return () => (a() < b() ? 1 : 0);
    case "le": return () => (a() <= b() ? 1 : 0);
    case "gt": return () => (a() > b() ? 1 : 0);
    case "ge": return () => (a() >= b() ? 1 : 0);
  }
}

/** `and` / `or` on truth values (non-zero is true): 1 or 0. */
export const logicalFn = (kind: "and" | "or", a: Fn, b: Fn): Fn =>
  kind === "and" ? () => (a() !== 0 && b() !== 0 ? 1 : 0) : () => (a() !== 0 || b() !== 0 ? 1 : 0);

export const notFn = (a: Fn): Fn => () => (a() !== 0 ? 0 : 1);

class Compiler {
  /** Variable values, indexed by slot. A plain array of doubles is fast in V8. */
  readonly env: number[] = [];
  /** The variables in scope: bound ones (sizes) plus, while compiling a compute, its axes. */
  private slots = new Map<Var, number>();
  private readonly bound = new Map<Var, number>();
  readonly storage = new Map<Tensor, Stored>();

  bind(v: Var, value: number): void {
    const s = this.slot(v);
    this.bound.set(v, s);
    this.env[s] = value;
  }

  private slot(v: Var): number {
    let s = this.slots.get(v);
    if (s === undefined) {
      s = this.env.length;
      this.slots.set(v, s);
      this.env.push(0);
    }
    return s;
  }

  runCompute(t: Tensor, shape: readonly number[], size: number): Float64Array {
    if (t.op.kind !== "compute") throw new EvalError(`${t.name} is not a compute`);
    const where = `compute ${t.name}`;
    // A fresh scope, so that a body using another compute's axis variable is an error.
    this.slots = new Map(this.bound);
    const axes = t.op.axes;
    const slots = axes.map((a) => this.slot(a.var));
    const mins = axes.map((a) => this.compile(a.dom.min, where)());
    const body = this.compile(t.op.body, where);
    const wrap = wrapper(t.dtype);
    const out = new Float64Array(size);
    if (size === 0) return out;
    const env = this.env;
    const rank = shape.length;
    const counter = new Array<number>(rank).fill(0);
    for (let d = 0; d < rank; d++) env[slots[d]!] = mins[d]!;
    for (let f = 0; f < size; f++) {
      out[f] = wrap(body());
      // Row-major odometer: bump the last axis, carry into earlier ones.
      for (let d = rank - 1; d >= 0; d--) {
        if (++counter[d]! < shape[d]!) { env[slots[d]!] = mins[d]! + counter[d]!; break; }
        counter[d] = 0;
        env[slots[d]!] = mins[d]!;
      }
    }
    return out;
  }

  /** Compiles `e` to a closure; `where` names the computation for error messages. */
  compile(e: Expr, where: string): Fn {
    const env = this.env;
    if (e.dtype === "i32" && (e.kind === "bin" || e.kind === "var")) {
      const lin = this.affine(e);
      if (lin) return affineFn(env, lin);
    }
    switch (e.kind) {
      case "const": {
        const v = wrapTo(e.dtype, e.value); // a typed literal holds its dtype's value
        return () => v;
      }
      case "var": {
        const s = this.slots.get(e);
        if (s === undefined) throw new EvalError(`${where}: variable ${e.name} is not bound`);
        return () => env[s]!;
      }
      case "bin": return binaryFn(e.op, e.dtype, this.compile(e.a, where), this.compile(e.b, where), where);
      case "cmp": return compareFn(e.op, this.compile(e.a, where), this.compile(e.b, where));
      case "and": case "or": return logicalFn(e.kind, this.compile(e.a, where), this.compile(e.b, where));
      case "not": return notFn(this.compile(e.a, where));
      case "call": return intrinsicFn(e.fn, e.dtype, e.args.map((x) => this.compile(x, where)), where);
      case "select": {
        const c = this.compile(e.cond, where), t = this.compile(e.t, where), f = this.compile(e.f, where);
        return () => (c() !== 0 ? t() : f());
      }
      case "cast": {
        const v = this.compile(e.value, where), wrap = wrapper(e.dtype);
        return () => wrap(v());
      }
      case "access": return this.access(e.tensor, e.indices.map((x) => this.compile(x, where)), where);
      case "reduce": return this.reduce(e, where);
      case "load": case "ramp": case "broadcast":
        throw new EvalError(`${where}: '${e.kind}' is a loop-IR node; the tensor-expression evaluator cannot evaluate it`);
    }
    throw new EvalError(`${where}: unknown expression kind ${(e as { kind: string }).kind}`);
  }

  /**
   * `e` as Σ coef·var + c when it is built from bound i32 variables, constants, +, − and
   * multiplication by constants; null otherwise. Index expressions almost always are, and
   * one flat closure for them is several times faster than a closure per node. Wrapping the
   * sum once with |0 equals wrapping every step, since the terms stay far below 2^53.
   */
  private affine(e: Expr): Affine | null {
    const LIMIT = 2 ** 20;
    switch (e.kind) {
      case "const":
        return Math.abs(e.value) < 2 ** 31 && Number.isInteger(e.value) ? { terms: new Map(), c: e.value } : null;
      case "var": {
        const s = this.slots.get(e);
        return s === undefined ? null : { terms: new Map([[s, 1]]), c: 0 };
      }
      case "bin": {
        if (e.dtype !== "i32" || e.a.dtype !== "i32" || e.b.dtype !== "i32") return null;
        if (e.op !== "add" && e.op !== "sub" && e.op !== "mul") return null;
        const a = this.affine(e.a), b = a && this.affine(e.b);
        if (!a || !b) return null;
        let out: Affine;
        if (e.op === "mul") {
          const [k, x] = a.terms.size === 0 ? [a.c, b] : b.terms.size === 0 ? [b.c, a] : [null, null];
          if (k === null || x === null) return null;
          out = { terms: new Map([...x.terms].map(([s, m]) => [s, m * k])), c: x.c * k };
        } else {
          const sign = e.op === "add" ? 1 : -1;
          const terms = new Map(a.terms);
          for (const [s, m] of b.terms) terms.set(s, (terms.get(s) ?? 0) + sign * m);
          out = { terms, c: a.c + sign * b.c };
        }
        if (Math.abs(out.c) >= 2 ** 31 || [...out.terms.values()].some((m) => Math.abs(m) >= LIMIT)) return null;
        return out;
      }
      default: return null;
    }
  }

  private access(t: Tensor, idx: Fn[], where: string): Fn {
    const stored = this.storage.get(t);
    if (!stored) {
      throw new EvalError(`${where}: reads ${t.name}, which has not been evaluated (evalExpr cannot read tensors)`);
    }
    const { data, shape } = stored;
    if (idx.length !== shape.length) {
      throw new EvalError(`${where}: ${t.name} has ${shape.length} dimension(s) but is read with ${idx.length} index(es)`);
    }
    const oob = (values: number[]): never => {
      throw new EvalError(`${where}: out-of-bounds read ${t.name}[${values.join(", ")}] (shape [${shape.join(", ")}])`);
    };
    // Specialised for the common ranks: no allocation per element.
    switch (idx.length) {
      case 0: return () => data[0]!;
      case 1: {
        const [i0] = idx as [Fn], s0 = shape[0]!;
        return () => {
          const x0 = i0();
          if (!(x0 >= 0 && x0 < s0)) oob([x0]);
          return data[x0]!;
        };
      }
      case 2: {
        const [i0, i1] = idx as [Fn, Fn], s0 = shape[0]!, s1 = shape[1]!;
        return () => {
          const x0 = i0(), x1 = i1();
          if (!(x0 >= 0 && x0 < s0 && x1 >= 0 && x1 < s1)) oob([x0, x1]);
          return data[x0 * s1 + x1]!;
        };
      }
      case 4: {
        const [i0, i1, i2, i3] = idx as [Fn, Fn, Fn, Fn];
        const [s0, s1, s2, s3] = shape as [number, number, number, number];
        return () => {
          const x0 = i0(), x1 = i1(), x2 = i2(), x3 = i3();
          if (!(x0 >= 0 && x0 < s0 && x1 >= 0 && x1 < s1 && x2 >= 0 && x2 < s2 && x3 >= 0 && x3 < s3)) oob([x0, x1, x2, x3]);
          return data[((x0 * s1 + x1) * s2 + x2) * s3 + x3]!;
        };
      }
      default: {
        const rank = idx.length;
        return () => {
          let flat = 0;
          for (let d = 0; d < rank; d++) {
            const x = idx[d]!(), s = shape[d]!;
            if (!(x >= 0 && x < s)) oob(idx.map((f) => f()));
            flat = flat * s + x;
          }
          return data[flat]!;
        };
      }
    }
  }

  private reduce(e: Extract<Expr, { kind: "reduce" }>, where: string): Fn {
    const slots = e.axes.map((a) => this.slot(a.var));
    const mins = e.axes.map((a) => this.compile(a.dom.min, where));
    const extents = e.axes.map((a) => this.compile(a.dom.extent, where));
    const source = this.compile(e.source, where);
    const cond = e.cond ? this.compile(e.cond, where) : null;
    const identity = identityOf(e.combiner, e.dtype);
    const init = e.init ? this.compile(e.init, where) : () => identity;
    const combine = combiner(e.combiner, e.dtype);
    const env = this.env;

    let acc = 0; // the running value; a reduce node is never re-entered while it runs
    let step: () => void = cond
      ? () => { if (cond() !== 0) acc = combine(acc, source()); }
      : () => { acc = combine(acc, source()); };
    for (let d = e.axes.length - 1; d >= 0; d--) {
      const inner = step, s = slots[d]!, lo = mins[d]!, ext = extents[d]!;
      step = () => {
        const start = lo(), end = start + ext();
        for (let v = start; v < end; v++) { env[s] = v; inner(); }
      };
    }
    const loops = step;
    return () => {
      acc = init();
      loops();
      return acc;
    };
  }
}

/** An affine integer index: Σ coefficient · env[slot] + c. */
export interface Affine { readonly terms: Map<number, number>; readonly c: number }

/** An affine index as a closure (shared with tir/evaluate.ts); terms stay far below 2^53, so wrapping the sum once with |0 equals wrapping every step. */
export function affineFn(env: number[], lin: Affine): Fn {
  const ts = [...lin.terms].filter(([, m]) => m !== 0);
  const c = lin.c;
  switch (ts.length) {
    case 0: { const v = c | 0; return () => v; }
    case 1: {
      const [[s0, m0]] = ts as [[number, number]];
      if (m0 === 1 && c === 0) return () => env[s0]!;
      return () => (env[s0]! * m0 + c) | 0;
    }
    case 2: {
      const [[s0, m0], [s1, m1]] = ts as [[number, number], [number, number]];
      return () => (env[s0]! * m0 + env[s1]! * m1 + c) | 0;
    }
    case 3: {
      const [[s0, m0], [s1, m1], [s2, m2]] = ts as [[number, number], [number, number], [number, number]];
      return () => (env[s0]! * m0 + env[s1]! * m1 + env[s2]! * m2 + c) | 0;
    }
    default: {
      const slots = ts.map(([s]) => s), coefs = ts.map(([, m]) => m), n = ts.length;
      return () => {
        let v = c;
        for (let k = 0; k < n; k++) v += env[slots[k]!]! * coefs[k]!;
        return v | 0;
      };
    }
  }
}

function combiner(c: Combiner, t: DType): (acc: number, v: number) => number {
  const float = isFloat(t);
  const wrap = wrapper(t);
  switch (c) {
    case "sum":
      if (float) return (acc, v) => acc + v; // f64 accumulation, even for f32 (documented above)
      if (t === "i32") return (acc, v) => (acc + v) | 0;
      return (acc, v) => wrap(acc + v);
    case "prod":
      if (float) return (acc, v) => acc * v;
      if (t === "i32") return (acc, v) => Math.imul(acc, v);
      return (acc, v) => wrap(acc * v);
    case "max": return (acc, v) => Math.max(acc, v);
    case "min": return (acc, v) => Math.min(acc, v);
  }
}

// ---- rounding and bit operations ------------------------------------------------------

/** Nearest integer, halves to even (C's nearbyint in the default rounding mode; ONNX Round). */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x); // halves up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const BITS: Partial<Record<DType, number>> = { i8: 8, u8: 8, i32: 32, i64: 64 };

/**
 * An integer bit operation on values of dtype `t`, done in BigInt so i64 behaves as C's
 * int64_t (exact within the ±2^53 the evaluator holds i64 in). Shift counts: negative → 0;
 * ≥ bits → every bit shifted out (0, or −1 for a negative value shifted right).
 */
function bitOp(fn: "shl" | "shr" | "bitand" | "bitor" | "bitxor" | "bitnot", t: DType): (x: number, y: number) => number {
  const bits = BITS[t];
  if (bits === undefined) throw new EvalError(`${fn} needs an integer dtype, got ${t}`);
  const fit = t === "u8" ? (v: bigint) => Number(BigInt.asUintN(bits, v)) : (v: bigint) => Number(BigInt.asIntN(bits, v));
  const count = (y: number): bigint => BigInt(Math.min(Math.max(y, 0), bits));
  switch (fn) {
    case "shl": return (x, y) => fit(BigInt(x) << count(y));
    case "shr": return (x, y) => fit(BigInt(x) >> count(y)); // x already fits t: for u8 it is non-negative
    case "bitand": return (x, y) => fit(BigInt(x) & BigInt(y));
    case "bitor": return (x, y) => fit(BigInt(x) | BigInt(y));
    case "bitxor": return (x, y) => fit(BigInt(x) ^ BigInt(y));
    case "bitnot": return (x) => fit(~BigInt(x));
  }
}

// ---- erf ------------------------------------------------------------------------------

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1/√π

/**
 * The error function to about 1e-16 absolute error.
 * |x| < 2.5: erf(x) = 2/√π · e^(−x²) · Σ_{n≥0} 2ⁿ x^(2n+1) / (1·3·…·(2n+1)), a series of
 * positive terms (no cancellation, unlike the Maclaurin series).
 * |x| ≥ 2.5: erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), a continued
 * fraction evaluated with the modified Lentz method; erf = 1 − erfc.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    const x2 = ax * ax;
    let term = ax, total = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      total += term;
      if (term < total * 1e-17) break;
    }
    return Math.sign(x) * TWO_OVER_SQRT_PI * Math.exp(-x2) * total;
  }
  if (ax > 6) return Math.sign(x); // erfc(6) ≈ 2e-17: below half an ulp of 1
  // Continued fraction K = 1/(x + a1/(x + a2/(x + …))) with a_n = n/2.
  const tiny = 1e-300;
  let f = ax, c = ax, d = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = ax + an / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = (ONE_OVER_SQRT_PI * Math.exp(-ax * ax)) / f;
  return Math.sign(x) * (1 - erfc);
}
