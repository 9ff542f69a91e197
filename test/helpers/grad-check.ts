/**
 * Checks an op's VJP against central finite differences in f64, through the graph
 * reference interpreter: loss(x) = Σ_k Σ r_k · out_k(x) for random cotangents r_k.
 */
import { expect } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import type { Attrs, Value } from "../../compiler/graph/graph.ts";
import { getOp } from "../../compiler/ops/registry.ts";
import type { DType } from "../../core/dtype.ts";
import { isFloat } from "../../core/dtype.ts";
import { Rng } from "../../runtime/random.ts";

export interface GradInput {
  readonly shape: readonly number[];
  /** Defaults to f64. Non-float inputs are held fixed (no gradient checked). */
  readonly dtype?: DType;
  /** Values; random in [-1, 1) (or small ints) when absent. */
  readonly data?: ArrayLike<number>;
}

export interface GradCheckOptions {
  readonly eps?: number;
  readonly rtol?: number;
  readonly atol?: number;
  readonly seed?: number;
}

/** Returns the analytic and numeric gradients per float input (also asserting they match). */
export function checkVjp(opName: string, inputs: readonly GradInput[], attrs: Attrs = {}, opts: GradCheckOptions = {}): void {
  const { eps = 1e-6, rtol = 1e-5, atol = 1e-7, seed = 1 } = opts;
  const rng = new Rng(seed);
  const data = inputs.map((x) => Float64Array.from(x.data ?? Array.from({ length: x.shape.reduce((a, b) => a * b, 1) },
    () => (isFloat(x.dtype ?? "f64") ? rng.uniform(-1, 1) : rng.int(0, 3)))));

  // Forward graph with cotangent inputs, and the VJP appended.
  const b = new GraphBuilder();
  const xs = inputs.map((x, k) => b.input(`x${k}`, x.shape, x.dtype ?? "f64"));
  const outs = b.op(opName, xs, attrs);
  const node = b.build([]).nodes.at(-1)!;
  const rs = outs.map((o, k) => (isFloat(o.type.dtype) ? b.input(`r${k}`, o.type.shape, o.type.dtype) : null));
  const grads = getOp(opName).vjp({ node, b }, rs);
  expect(grads).toHaveLength(inputs.length);
  const wanted = grads.map((g, k) => (g !== null && isFloat(inputs[k]!.dtype ?? "f64") ? k : -1)).filter((k) => k >= 0);
  const gradGraph = b.build(wanted.map((k) => grads[k]!));
  const rData = outs.map((o) => Float64Array.from({ length: o.type.shape.reduce((a: number, d) => a * (d as number), 1) }, () => rng.uniform(-1, 1)));
  const feed = [...data.map((d, k) => ({ data: d, shape: inputs[k]!.shape })),
    ...rs.flatMap((r, k) => (r ? [{ data: rData[k]!, shape: outs[k]!.type.shape as number[] }] : []))];
  const analytic = interpret(gradGraph, feed).outputs;

  // Numeric gradients of the scalar loss.
  const fwd = new GraphBuilder();
  const fx = inputs.map((x, k) => fwd.input(`x${k}`, x.shape, x.dtype ?? "f64"));
  const fg = fwd.build(fwd.op(opName, fx, attrs));
  const loss = (d: Float64Array[]): number => {
    const res = interpret(fg, d.map((v, k) => ({ data: v, shape: inputs[k]!.shape }))).outputs;
    let s = 0;
    res.forEach((o, k) => { if (rs[k]) o.data.forEach((v, i) => { s += v * rData[k]![i]!; }); });
    return s;
  };
  wanted.forEach((k, w) => {
    const got = analytic[w]!.data;
    expect(got.length, `gradient of input ${k} has the input's size`).toBe(data[k]!.length);
    for (let i = 0; i < data[k]!.length; i++) {
      const plus = data.map((d) => Float64Array.from(d)), minus = data.map((d) => Float64Array.from(d));
      plus[k]![i]! += eps;
      minus[k]![i]! -= eps;
      const num = (loss(plus) - loss(minus)) / (2 * eps);
      const ok = Math.abs(got[i]! - num) <= atol + rtol * Math.max(Math.abs(num), Math.abs(got[i]!)) + 1e-6 * Math.abs(num);
      expect(ok, `${opName}: d loss / d x${k}[${i}] analytic ${got[i]} vs numeric ${num}`).toBe(true);
    }
  });
}

export type { Value };
