import { describe, expect, test, vi } from "vitest";
import { LatheError, ShapeError } from "../../../core/errors.ts";
import { getOp } from "../../ops/registry.ts";
import { Rng } from "../../../runtime/random.ts";
import { checkGraphGrad } from "../../../test/helpers/graph-grad-check.ts";
import { GraphBuilder } from "../builder.ts";
import type { Graph, Value } from "../graph.ts";
import { interpret } from "../interpret.ts";
import { autodiff } from "./autodiff.ts";

const rand = (n: number, rng: Rng, lo = -1, hi = 1) => Float64Array.from({ length: n }, () => rng.uniform(lo, hi));

/** Values the outputs depend on. */
function live(g: Graph): Set<Value> {
  const seen = new Set<Value>(g.outputs);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => seen.has(o))) n.inputs.forEach((v) => seen.add(v));
  }
  return seen;
}

describe("autodiff on small graphs (closed forms)", () => {
  test("a value used twice by one node: d Σx² = 2x", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [5], "f64");
    const loss = b.op1("sum", [b.op1("mul", [x, x])]);
    const { graph, grads } = autodiff(b.build([loss]), loss, [x]);
    expect(graph.outputs).toEqual([loss, grads[0]]);
    const xs = rand(5, new Rng(1));
    const out = interpret(graph, [{ data: xs, shape: [5] }]).outputs;
    Array.from(xs).forEach((v, i) => expect(out[1]!.data[i]).toBeCloseTo(2 * v, 12));
  });

  test("a diamond: d Σ(eˣ + eˣ·x) = eˣ(2 + x), accumulated over two uses", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [4], "f64");
    const y = b.op1("exp", [x]);
    const loss = b.op1("sum", [b.op1("add", [y, b.op1("mul", [y, x])])]);
    const { graph } = autodiff(b.build([loss]), loss, [x]);
    const xs = rand(4, new Rng(2));
    const got = interpret(graph, [{ data: xs, shape: [4] }]).outputs[1]!.data;
    Array.from(xs).forEach((v, i) => expect(got[i]).toBeCloseTo(Math.exp(v) * (2 + v), 12));
  });

  test("d loss / d loss is 1", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3], "f64");
    const loss = b.op1("mean", [x]);
    const { graph } = autodiff(b.build([loss]), loss, [loss, x]);
    const out = interpret(graph, [{ data: [1, 2, 3], shape: [3] }]).outputs;
    expect(Array.from(out[1]!.data)).toEqual([1]);
    Array.from(out[2]!.data).forEach((v) => expect(v).toBeCloseTo(1 / 3, 15));
  });

  test("only one output of a multi-output node is used: the rest gets zero gradient", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [5], "f64");
    const [first] = b.op("split", [x], { axis: 0, sizes: [2, 3] });
    const loss = b.op1("sum", [b.op1("mul", [first!, first!])]);
    const { graph } = autodiff(b.build([loss]), loss, [x]);
    const got = interpret(graph, [{ data: [1, 2, 3, 4, 5], shape: [5] }]).outputs[1]!.data;
    expect(Array.from(got)).toEqual([2, 4, 0, 0, 0]);
  });

  test("integer paths carry no gradient; an integer or unreachable wrt gets zeros", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3], "f64");
    const k = b.input("k", [3], "i32");
    const unused = b.input("unused", [2], "f64");
    const loss = b.op1("sum", [b.op1("mul", [b.op1("cast", [k], { dtype: "f64" }), x])]);
    const { graph, grads } = autodiff(b.build([loss]), loss, [x, k, unused]);
    expect(grads.map((g) => g.type)).toEqual([x.type, k.type, unused.type]);
    const out = interpret(graph, [{ data: [1, 2, 3], shape: [3] }, { data: [4, -5, 6], shape: [3] }, { data: [7, 8], shape: [2] }]).outputs;
    expect(Array.from(out[1]!.data)).toEqual([4, -5, 6]);
    expect(Array.from(out[2]!.data)).toEqual([0, 0, 0]);
    expect(Array.from(out[3]!.data)).toEqual([0, 0]);
  });

  test("nodes off the path wrt → loss are not differentiated, and no dead backward node is left", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 3], "f64");
    const w = b.input("w", [3], "f64");
    const side = b.op1("exp", [b.op1("tanh", [x])]); // an extra output, not on the loss path
    const loss = b.op1("sum", [b.op1("mul", [b.op1("sigmoid", [x]), w])]);
    const fwd = b.build([loss, side]);
    // sigmoid only leads from x (not asked for), tanh and exp only to the side output.
    const spies = ["sigmoid", "tanh", "exp", "mul"].map((name) => vi.spyOn(getOp(name), "vjp"));
    const { graph } = autodiff(fwd, loss, [w]);
    expect(spies.map((s) => s.mock.calls.length)).toEqual([0, 0, 0, 1]);
    spies.forEach((s) => s.mockRestore());
    const appended = graph.nodes.slice(fwd.nodes.length);
    for (const n of appended) expect(n.inputs.includes(side)).toBe(false);
    const needed = live(graph);
    for (const n of appended) expect(n.outputs.some((o) => needed.has(o)), `node ${n.name} (${n.op}) is dead`).toBe(true);
    expect(graph.outputs.slice(0, 2)).toEqual([loss, side]);
  });

  test("broadcasting ops: gradients match finite differences", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3, 4], "f64");
    const bias = b.input("bias", [4], "f64");
    const s = b.input("s", [3, 1], "f64");
    const h = b.op1("tanh", [b.op1("mul", [b.op1("add", [x, bias]), s])]);
    const loss = b.op1("mean", [b.op1("div", [h, b.op1("add", [b.op1("exp", [bias]), bias])])]);
    const rng = new Rng(5);
    checkGraphGrad(b.build([loss]), [
      { data: rand(12, rng), shape: [3, 4] }, { data: rand(4, rng, 0.5, 1), shape: [4] }, { data: rand(3, rng), shape: [3, 1] },
    ], [0, 1, 2]);
  });
});

/** −mean_rows Σ one_hot(labels) · log_softmax(logits): cross-entropy written with registry ops. */
function crossEntropy(b: GraphBuilder, logits: Value, labels: Value, classes: number): Value {
  const target = b.op1("cast", [b.op1("one_hot", [labels], { depth: classes })], { dtype: "f64" });
  const picked = b.op1("sum", [b.op1("mul", [target, b.op1("log_softmax", [logits], { axis: -1 })])], { axes: [1] });
  return b.op1("neg", [b.op1("mean", [picked])]);
}

describe("whole-graph gradients match central finite differences (f64, interpreter)", () => {
  test("MLP: matmul, add, relu, log_softmax, cross-entropy", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [4, 3], "f64"), labels = b.input("labels", [4], "i32");
    const w1 = b.input("w1", [3, 5], "f64"), b1 = b.input("b1", [5], "f64");
    const w2 = b.input("w2", [5, 3], "f64"), b2 = b.input("b2", [3], "f64");
    const h = b.op1("relu", [b.op1("add", [b.op1("matmul", [x, w1]), b1])]);
    const logits = b.op1("add", [b.op1("matmul", [h, w2]), b2]);
    const g = b.build([crossEntropy(b, logits, labels, 3)]);
    const rng = new Rng(21);
    const grads = checkGraphGrad(g, [
      { data: rand(12, rng), shape: [4, 3] }, { data: [0, 2, 1, 2], shape: [4] },
      { data: rand(15, rng), shape: [3, 5] }, { data: rand(5, rng, -0.2, 0.2), shape: [5] },
      { data: rand(15, rng), shape: [5, 3] }, { data: rand(3, rng), shape: [3] },
    ], [0, 2, 3, 4, 5]);
    // The check is not vacuous: some hidden units are active, so w1 gets a non-zero gradient.
    expect(grads[1]!.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  test("CNN: conv2d, relu, max_pool2d, reshape, matmul, cross-entropy", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 1, 5, 5], "f64"), labels = b.input("labels", [2], "i32");
    const w = b.input("w", [2, 1, 3, 3], "f64"), cb = b.input("cb", [2, 1, 1], "f64");
    const fc = b.input("fc", [8, 3], "f64");
    const conv = b.op1("relu", [b.op1("add", [b.op1("conv2d", [x, w], { pads: [1, 1, 1, 1], strides: [2, 2] }), cb])]);
    const pooled = b.op1("max_pool2d", [conv], { kernel: [2, 2], strides: [1, 1], pads: [0, 0, 0, 0] });
    const flat = b.op1("reshape", [pooled], { shape: [0, -1] });
    const logits = b.op1("matmul", [flat, fc]);
    expect(flat.type.shape).toEqual([2, 8]);
    const g = b.build([crossEntropy(b, logits, labels, 3)]);
    const rng = new Rng(22);
    const grads = checkGraphGrad(g, [
      { data: rand(50, rng), shape: [2, 1, 5, 5] }, { data: [1, 2], shape: [2] },
      { data: rand(18, rng), shape: [2, 1, 3, 3] }, { data: rand(2, rng, 0, 0.3), shape: [2, 1, 1] },
      { data: rand(24, rng), shape: [8, 3] },
    ], [0, 2, 3, 4]);
    expect(grads[1]!.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });
});

describe("autodiff errors", () => {
  test("a non-scalar loss is rejected, naming it", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3], "f64");
    const y = b.op1("exp", [x], {}, "e");
    expect(() => autodiff(b.build([y]), y, [x])).toThrow(ShapeError);
    expect(() => autodiff(b.build([y]), y, [x])).toThrow(/loss e\.out must be a scalar \(shape \[\]\), got f64\[3\]/);
  });

  test("values of another graph are rejected", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3], "f64");
    const loss = b.op1("sum", [x]);
    const other = new GraphBuilder().input("z", [3], "f64");
    const g = b.build([loss]);
    expect(() => autodiff(g, loss, [{ ...other, id: 999 }])).toThrow(LatheError);
    expect(() => autodiff(g, loss, [{ ...other, id: 999 }])).toThrow(/wrt value z .* is not a value of this graph/);
  });
});
