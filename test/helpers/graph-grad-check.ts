/**
 * Checks a whole graph's gradients (the autodiff pass) against central finite
 * differences in f64, through the graph reference interpreter. The graph's first
 * output must be a scalar loss; `wrt` names which graph inputs to differentiate.
 */
import { expect } from "vitest";
import { interpret } from "../../compiler/graph/interpret.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { autodiff } from "../../compiler/graph/passes/autodiff.ts";

export interface GraphFeed {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

export interface GraphGradOptions {
  readonly eps?: number;
  readonly rtol?: number;
  readonly atol?: number;
}

/** Returns the analytic gradients (one per wrt input) after asserting each element matches the numeric one. */
export function checkGraphGrad(g: Graph, feed: readonly GraphFeed[], wrt: readonly number[], opts: GraphGradOptions = {}): Float64Array[] {
  const { eps = 1e-6, rtol = 1e-5, atol = 1e-8 } = opts;
  const loss = g.outputs[0]!;
  const { graph, grads } = autodiff(g, loss, wrt.map((k) => g.inputs[k]!));
  const res = interpret(graph, feed).outputs;
  const analytic = res.slice(g.outputs.length).map((o) => o.data);
  expect(analytic).toHaveLength(wrt.length);

  const lossGraph: Graph = { ...g, outputs: [loss] };
  const lossAt = (data: Float64Array[]): number =>
    interpret(lossGraph, data.map((d, k) => ({ data: d, shape: feed[k]!.shape }))).outputs[0]!.data[0]!;
  const base = feed.map((f) => Float64Array.from(f.data));
  wrt.forEach((k, w) => {
    const got = analytic[w]!;
    expect(got.length, `gradient of ${g.inputs[k]!.name} has its size`).toBe(base[k]!.length);
    expect(grads[w]!.type.shape, `gradient of ${g.inputs[k]!.name} has its shape`).toEqual(g.inputs[k]!.type.shape);
    for (let i = 0; i < base[k]!.length; i++) {
      const x0 = base[k]![i]!;
      base[k]![i] = x0 + eps;
      const plus = lossAt(base);
      base[k]![i] = x0 - eps;
      const minus = lossAt(base);
      base[k]![i] = x0;
      const num = (plus - minus) / (2 * eps);
      const ok = Math.abs(got[i]! - num) <= atol + rtol * Math.max(Math.abs(num), Math.abs(got[i]!));
      expect(ok, `d loss / d ${g.inputs[k]!.name}[${i}]: analytic ${got[i]} vs numeric ${num}`).toBe(true);
    }
  });
  return analytic;
}
