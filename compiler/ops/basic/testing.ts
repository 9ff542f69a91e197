/**
 * Test support for the basic ops: run one op (or a small graph) through the reference
 * interpreter, and independent reference computations on plain row-major arrays — written
 * with strides and explicit loops, sharing nothing with the ops' compute rules.
 */
import { expect } from "vitest";
import { GraphBuilder } from "../../graph/builder.ts";
import type { Attrs } from "../../graph/graph.ts";
import { interpret } from "../../graph/interpret.ts";
import { showType } from "../../graph/types.ts";
import { getOp } from "../registry.ts";
import type { DType } from "../../../core/dtype.ts";
import type { Dim } from "../../graph/types.ts";
import { LatheError } from "../../../core/errors.ts";
import { Rng } from "../../../runtime/random.ts";

/** A concrete row-major array. */
export interface Arr { readonly data: ArrayLike<number>; readonly shape: readonly number[] }

/** An interpreter result. */
export interface Out { readonly data: Float64Array; readonly shape: number[] }

export interface In extends Arr { readonly dtype?: DType }

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let k = shape.length - 1; k >= 0; k--) { s[k] = acc; acc *= shape[k]!; }
  return s;
}

export function unravel(flat: number, shape: readonly number[]): number[] {
  const st = stridesOf(shape);
  return st.map((s, k) => Math.floor(flat / s) % shape[k]!);
}

export const ravel = (idx: readonly number[], shape: readonly number[]): number =>
  idx.reduce((acc, i, k) => acc * shape[k]! + i, 0);

export const arr = (shape: readonly number[], f: (idx: number[]) => number): Out =>
  ({ shape: [...shape], data: Float64Array.from({ length: sizeOf(shape) }, (_, i) => f(unravel(i, shape))) });

export const get = (a: Arr, idx: readonly number[]): number => a.data[ravel(idx, a.shape)]!;

/** Random values in [lo, hi). */
export const rand = (rng: Rng, shape: readonly number[], lo = -1, hi = 1): Out =>
  ({ shape: [...shape], data: Float64Array.from({ length: sizeOf(shape) }, () => rng.uniform(lo, hi)) });

/** Random values in [lo, hi) kept at least `gap` away from 0 (for kinks such as relu and abs). */
export const randAwayFromZero = (rng: Rng, shape: readonly number[], gap = 0.1): Out =>
  ({ shape: [...shape], data: Float64Array.from({ length: sizeOf(shape) }, () => (rng.float() < 0.5 ? -1 : 1) * rng.uniform(gap, 1)) });

/** Distinct values (a shuffled arithmetic sequence), so max/min/argmax are unique. */
export function randDistinct(rng: Rng, shape: readonly number[], spacing = 0.1): Out {
  const n = sizeOf(shape);
  const v = Array.from({ length: n }, (_, i) => (i - Math.floor(n / 2)) * spacing); // on the grid spacing·ℤ
  for (let i = n - 1; i > 0; i--) { const j = rng.int(0, i + 1); [v[i], v[j]] = [v[j]!, v[i]!]; }
  return { shape: [...shape], data: Float64Array.from(v) };
}

/** The NumPy broadcast shape, written out independently of the ops' rule. */
export function npBroadcast(...shapes: (readonly number[])[]): number[] {
  const r = Math.max(0, ...shapes.map((s) => s.length));
  return Array.from({ length: r }, (_, k) => {
    const ds = shapes.map((s) => s[k - (r - s.length)] ?? 1);
    const big = ds.filter((d) => d !== 1);
    if (big.some((d) => d !== big[0])) throw new Error(`reference: shapes do not broadcast`);
    return big[0] ?? 1;
  });
}

/** f applied elementwise over broadcast inputs. */
export function mapB(f: (...xs: number[]) => number, ...as: Arr[]): Out {
  const shape = npBroadcast(...as.map((a) => a.shape));
  return arr(shape, (idx) => f(...as.map((a) => {
    const off = shape.length - a.shape.length;
    return get(a, a.shape.map((d, k) => (d === 1 ? 0 : idx[k + off]!)));
  })));
}

/** Runs a single op on concrete inputs through the interpreter; returns every output. */
export function runOp(op: string, inputs: readonly In[], attrs: Attrs = {}): Out[] {
  const b = new GraphBuilder();
  const xs = inputs.map((x, k) => b.input(`x${k}`, x.shape, x.dtype ?? "f64"));
  const g = b.build(b.op(op, xs, attrs));
  return interpret(g, inputs.map((x) => ({ data: x.data, shape: x.shape }))).outputs;
}

export const run1 = (op: string, inputs: readonly In[], attrs: Attrs = {}): Out => runOp(op, inputs, attrs)[0]!;

/** Asserts equal shapes and values within atol + rtol·|want| (NaN matches NaN, ±∞ must match exactly). */
export function expectClose(got: Arr, want: Arr, tol: { atol?: number; rtol?: number } = {}): void {
  const { atol = 1e-12, rtol = 1e-12 } = tol;
  expect([...got.shape]).toEqual([...want.shape]);
  expect(got.data.length).toBe(want.data.length);
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i]!, w = want.data[i]!;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok) expect.fail(`element ${i} [${unravel(i, want.shape).join(", ")}]: got ${g}, want ${w}`);
  }
}

/** erf by its Maclaurin series (converges fast for the |x| < 3 used in tests); independent of the evaluator's erf. */
export function erfRef(x: number): number {
  let term = x, s = x;
  for (let n = 1; n < 80; n++) {
    term *= (-x * x) / n;
    s += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * s;
}

export { Rng };

/** The op's VJP on fresh inputs with a cotangent per float output: which gradients are null (null) or present (their types). */
export function vjpOf(op: string, inputs: readonly { shape: readonly (number | string)[]; dtype: DType }[], attrs: Attrs = {}): (string | null)[] {
  const b = new GraphBuilder();
  const xs = inputs.map((x, k) => b.input(`x${k}`, x.shape, x.dtype));
  const outs = b.op(op, xs, attrs);
  const node = b.build([]).nodes.at(-1)!;
  const gs = outs.map((o, k) => b.input(`g${k}`, o.type.shape, o.type.dtype));
  return getOp(op).vjp({ node, b }, gs).map((g) => (g ? showType(g.type) : null));
}

/** The op's input gradients for concrete inputs and output cotangents (null: that output gets none), through the interpreter; null where no gradient flows. */
export function vjpValues(op: string, inputs: readonly In[], attrs: Attrs, cotangents: readonly (Arr | null)[]): (Out | null)[] {
  const b = new GraphBuilder();
  const xs = inputs.map((x, k) => b.input(`x${k}`, x.shape, x.dtype ?? "f64"));
  const outs = b.op(op, xs, attrs);
  const node = b.build([]).nodes.at(-1)!;
  const gs = outs.map((o, k) => { const c = cotangents[k]; return c ? b.input(`g${k}`, c.shape, o.type.dtype) : null; });
  const grads = getOp(op).vjp({ node, b }, gs);
  const present = grads.filter((g) => g !== null);
  const feed = [...inputs, ...cotangents.filter((c): c is Arr => c !== null)];
  const res = interpret(b.build(present), feed.map((x) => ({ data: x.data, shape: x.shape }))).outputs;
  let k = 0;
  return grads.map((g) => (g ? res[k++]! : null));
}

/** Builds one node named "n1" on inputs of the given types; returns the LatheError it throws (fails the test if none). */
export function opFailure(op: string, inputs: [readonly Dim[], DType?][], attrs: Attrs = {}): Error {
  const b = new GraphBuilder();
  const xs = inputs.map(([shape, dtype], k) => b.input(`x${k}`, shape, dtype ?? "f32"));
  try {
    b.op(op, xs, attrs, "n1");
  } catch (e) {
    expect(e).toBeInstanceOf(LatheError);
    return e as Error;
  }
  throw new Error(`${op} accepted the bad input`);
}
