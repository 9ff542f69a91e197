/**
 * One graph over a symbolic batch dimension, run at two batch sizes: the forward values
 * against a hand-written computation, and the chained VJPs (reverse mode over the nodes,
 * as the autodiff pass will do it) against finite differences.
 */
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../graph/builder.ts";
import type { Graph, Value } from "../../graph/graph.ts";
import { interpret } from "../../graph/interpret.ts";
import { getOp } from "../registry.ts";
import { Rng, expectClose, rand } from "./testing.ts";

function buildModel() {
  const b = new GraphBuilder();
  const x = b.input("x", ["batch", 4], "f64"), w = b.input("w", [4], "f64");
  const op = (name: string, ins: Value[], attrs = {}) => b.op1(name, ins, attrs);
  const h = op("tanh", [op("mul", [x, w])]); // [batch, 4]
  const e = op("exp", [op("sub", [h, op("max", [h], { axes: [1], keepdims: true })])]);
  const z = op("div", [e, op("sum", [e], { axes: [-1], keepdims: true })]); // softmax rows
  const l = op("unsqueeze", [op("logsumexp", [h], { axes: [1] })], { axes: [1] }); // [batch, 1]
  const c = op("concat", [z, l], { axis: 1 }); // [batch, 5]
  const r = op("squeeze", [op("reshape", [c], { shape: [0, 5, 1] })], { axes: [2] });
  const p = op("pad", [op("transpose", [r])], { pads: [1, 0, 1, 0] }); // [7, batch]
  const q = op("mean", [p], { axes: [1] }); // [7], a mean over the batch
  const s = op("slice", [x], { starts: [0, 1], ends: [2147483647, 4], axes: [0, 1], steps: [1, 2] }); // [batch, 2]
  const t = op("sum_like", [op("relu", [s]), op("slice", [w], { starts: [0], ends: [2] })]); // [2]
  return { graph: b.build([q, t]), x, w, q, t };
}

/** The same computation written out with loops. */
function reference(xv: Float64Array, wv: Float64Array, n: number): [number[], number[]] {
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const h = [0, 1, 2, 3].map((j) => Math.tanh(xv[i * 4 + j]! * wv[j]!));
    const m = Math.max(...h), es = h.map((v) => Math.exp(v - m)), se = es.reduce((a, v) => a + v, 0);
    rows.push([...es.map((v) => v / se), Math.log(h.reduce((a, v) => a + Math.exp(v), 0))]);
  }
  const q = [0, ...[0, 1, 2, 3, 4].map((k) => rows.reduce((a, r) => a + r[k]!, 0) / n), 0];
  const t = [0, 1].map((k) => {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += Math.max(xv[i * 4 + 1 + 2 * k]!, 0);
    return acc;
  });
  return [q, t];
}

/** Reverse mode over the graph's nodes with each op's VJP; gradients of Σ_k ⟨r_k, out_k⟩. */
function appendBackward(g: Graph, wrt: readonly Value[]): { graph: Graph; cotangents: Value[]; grads: Value[] } {
  const b = GraphBuilder.from(g);
  const cotangents = g.outputs.map((o, k) => b.input(`r${k}`, o.type.shape, o.type.dtype));
  const grad = new Map<Value, Value>(g.outputs.map((o, k) => [o, cotangents[k]!]));
  for (const node of [...g.nodes].reverse()) {
    const outGrads = node.outputs.map((o) => grad.get(o) ?? null);
    if (outGrads.every((x) => x === null)) continue;
    getOp(node.op).vjp({ node, b }, outGrads).forEach((gi, k) => {
      if (!gi) return;
      const v = node.inputs[k]!, prev = grad.get(v);
      grad.set(v, prev ? b.op1("add", [prev, gi]) : gi);
    });
  }
  const grads = wrt.map((v) => grad.get(v)!);
  return { graph: b.build(grads), cotangents, grads };
}

describe("a graph over a symbolic batch dimension", () => {
  const model = buildModel();

  test("types keep the symbol", () => {
    expect(model.q.type.shape).toEqual([7]);
    expect(model.t.type.shape).toEqual([2]);
    expect(model.graph.nodes.find((n) => n.op === "concat")!.outputs[0]!.type.shape).toEqual(["batch", 5]);
  });

  test.each([2, 3])("forward at batch = %i", (n) => {
    const rng = new Rng(n);
    const xv = rand(rng, [n, 4], -2, 2), wv = rand(rng, [4], -2, 2);
    const [q, t] = interpret(model.graph, [xv, wv]).outputs;
    const [qr, tr] = reference(xv.data, wv.data, n);
    expectClose(q!, { shape: [7], data: qr }, { atol: 1e-13, rtol: 1e-13 });
    expectClose(t!, { shape: [2], data: tr }, { atol: 1e-13 });
  });

  test.each([1, 3])("chained VJPs match finite differences at batch = %i", (n) => {
    const { graph, grads } = appendBackward(model.graph, [model.x, model.w]);
    expect(grads.map((g) => g.type.shape)).toEqual([["batch", 4], [4]]);
    const rng = new Rng(10 + n);
    const xv = rand(rng, [n, 4], -1, 1);
    // relu's kink: keep the sliced entries away from 0.
    for (let i = 0; i < xv.data.length; i++) if (Math.abs(xv.data[i]!) < 0.1) xv.data[i] = 0.5;
    const wv = rand(rng, [4], -1, 1), r0 = rand(rng, [7]), r1 = rand(rng, [2]);
    const [gx, gw] = interpret(graph, [xv, wv, r0, r1]).outputs;
    const loss = (xd: Float64Array, wd: Float64Array): number => {
      const [q, t] = interpret(model.graph, [{ data: xd, shape: [n, 4] }, { data: wd, shape: [4] }]).outputs;
      return q!.data.reduce((a, v, i) => a + v * r0.data[i]!, 0) + t!.data.reduce((a, v, i) => a + v * r1.data[i]!, 0);
    };
    const eps = 1e-6;
    const numeric = (which: 0 | 1) => {
      const base = which === 0 ? xv.data : wv.data;
      return Float64Array.from(base, (_, i) => {
        const p = Float64Array.from(base), m = Float64Array.from(base);
        p[i]! += eps;
        m[i]! -= eps;
        return which === 0 ? (loss(p, wv.data) - loss(m, wv.data)) / (2 * eps) : (loss(xv.data, p) - loss(xv.data, m)) / (2 * eps);
      });
    };
    expectClose(gx!, { shape: [n, 4], data: numeric(0) }, { atol: 1e-7, rtol: 1e-6 });
    expectClose(gw!, { shape: [4], data: numeric(1) }, { atol: 1e-7, rtol: 1e-6 });
  });
});
