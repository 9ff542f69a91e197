/**
 * Test support for the nn ops: run one op through the reference interpreter, random
 * row-major arrays from a seeded PRNG, index helpers for hand-written reference loops, and a
 * closeness assertion.
 */
import { expect } from "vitest";
import { GraphBuilder } from "../../graph/builder.ts";
import type { Attrs, Value } from "../../graph/graph.ts";
import type { Dim } from "../../graph/types.ts";
import { getOp } from "../registry.ts";
import { interpret } from "../../graph/interpret.ts";
import type { DType } from "../../../core/dtype.ts";
import { Rng } from "../../../runtime/random.ts";

export interface Arr { readonly data: ArrayLike<number>; readonly shape: readonly number[]; readonly dtype?: DType }

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Row-major flat offset of an index. */
export const at = (shape: readonly number[], ...idx: number[]): number => idx.reduce((acc, i, k) => acc * shape[k]! + i, 0);

export const rand = (rng: Rng, shape: readonly number[], lo = -1, hi = 1): Arr =>
  ({ shape: [...shape], data: Float64Array.from({ length: size(shape) }, () => rng.uniform(lo, hi)) });

export const zeros = (shape: readonly number[]): { data: Float64Array; shape: number[] } => ({ shape: [...shape], data: new Float64Array(size(shape)) });

/** Runs one op on concrete inputs (f64 unless given) through the interpreter; every output. */
export function runOp(op: string, inputs: readonly Arr[], attrs: Attrs = {}): { data: Float64Array; shape: number[] }[] {
  const b = new GraphBuilder();
  const xs = inputs.map((x, k) => b.input(`x${k}`, x.shape, x.dtype ?? "f64"));
  const g = b.build(b.op(op, xs, attrs));
  return interpret(g, inputs.map((x) => ({ data: x.data, shape: x.shape }))).outputs;
}

/** The output types an op infers for inputs of these shapes (f64 unless given). */
export function inferTypes(op: string, inputs: readonly { shape: readonly (number | string)[]; dtype?: DType }[], attrs: Attrs = {}, name?: string) {
  const b = new GraphBuilder();
  const xs = inputs.map((x, k) => b.input(`x${k}`, x.shape, x.dtype ?? "f64"));
  return b.op(op, xs, attrs, name).map((v) => v.type);
}

/**
 * The op's outputs and its VJP's input gradients (null where none flows) for concrete values,
 * through a graph whose inputs have the given (possibly symbolic) shapes.
 */
export function forwardAndGrads(op: string, shapes: readonly (readonly Dim[])[], attrs: Attrs, values: readonly Arr[], cotangents: readonly Arr[]) {
  const b = new GraphBuilder();
  const xs = shapes.map((s, k) => b.input(`x${k}`, s, values[k]!.dtype ?? "f64"));
  const outs = b.op(op, xs, attrs);
  const node = b.build([]).nodes.at(-1)!;
  const gs = outs.map((o, k) => b.input(`g${k}`, o.type.shape, o.type.dtype));
  const grads = getOp(op).vjp({ node, b }, gs);
  const present = grads.filter((g): g is Value => g !== null);
  const res = interpret(b.build([...outs, ...present]), [...values, ...cotangents].map((x) => ({ data: x.data, shape: x.shape }))).outputs;
  let k = outs.length;
  return { outputs: res.slice(0, outs.length), grads: grads.map((g) => (g ? res[k++]! : null)) };
}

export function expectClose(got: Arr, want: Arr, tol = 1e-12): void {
  expect([...got.shape]).toEqual([...want.shape]);
  expect(got.data.length).toBe(want.data.length);
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i]!, w = want.data[i]!;
    if (!(Math.abs(g - w) <= tol * (1 + Math.abs(w)))) expect.fail(`element ${i}: got ${g}, want ${w}`);
  }
}

export { Rng };
