import { describe, expect, test } from "vitest";
import { checkGraphGrad } from "../../../test/helpers/graph-grad-check.ts";
import { compile } from "../../driver/compile.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import { autodiff } from "../../graph/passes/autodiff.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import { Rng, expectClose, opFailure, rand, run1, vjpOf } from "./testing.ts";

describe("stop_gradient", () => {
  test("is the identity on values of every dtype and shape", () => {
    const x = rand(new Rng(1), [3, 4]);
    expectClose(run1("stop_gradient", [x]), x);
    const ints = { shape: [5], data: [3, -1, 0, 7, 2], dtype: "i32" as const };
    expect([...run1("stop_gradient", [ints]).data]).toEqual([3, -1, 0, 7, 2]);
    expect([...run1("stop_gradient", [{ shape: [], data: [2.5] }]).data]).toEqual([2.5]);
  });

  test("its VJP gives no gradient, and an input reached only through it gets zeros", () => {
    expect(vjpOf("stop_gradient", [{ shape: ["n", 3], dtype: "f32" }])).toEqual([null]);
    const b = new GraphBuilder();
    const x = b.input("x", [4], "f64");
    const loss = b.op1("sum", [b.op1("mul", [b.op1("stop_gradient", [x]), x])], { axes: [] });
    const { graph } = autodiff(b.build([loss]), loss, [x]);
    const xs = [0.5, -2, 3, 1.25];
    // d/dx Σ sg(x)·x = sg(x) = x (the product rule would give 2x).
    expectClose(interpret(graph, [{ data: xs, shape: [4] }]).outputs[1]!, { shape: [4], data: xs });
  });

  test("the other path's gradient matches finite differences with the stopped value held fixed", () => {
    // loss = Σ w · (softmax(sg(z)) ⊙ log_softmax(z)): an EM-style objective, the weights held fixed.
    // Against finite differences of the same loss with softmax(z₀) fed as a constant.
    const rng = new Rng(2);
    const z0 = rand(rng, [3, 4]), w = rand(rng, [3, 4]);
    const gamma = new Float64Array(12);
    for (let r = 0; r < 3; r++) {
      const row = Array.from({ length: 4 }, (_, c) => Math.exp(z0.data[r * 4 + c]!));
      const s = row.reduce((a, v) => a + v, 0);
      row.forEach((v, c) => (gamma[r * 4 + c] = v / s));
    }
    const build = (stopped: boolean) => {
      const b = new GraphBuilder();
      const z = b.input("z", [3, 4], "f64"), wv = b.input("w", [3, 4], "f64"), fixed = b.input("gamma", [3, 4], "f64");
      const resp = stopped ? b.op1("softmax", [b.op1("stop_gradient", [z])], { axis: -1 }) : fixed;
      const loss = b.op1("sum", [b.op1("mul", [b.op1("mul", [resp, b.op1("log_softmax", [z], { axis: -1 })]), wv])], { axes: [] });
      return b.build([loss]);
    };
    const feed = [z0, w, { data: gamma, shape: [3, 4] }];
    const numeric = checkGraphGrad(build(false), feed, [0])[0]!;
    const g = build(true);
    const { graph } = autodiff(g, g.outputs[0]!, [g.inputs[0]!]);
    expectClose(interpret(graph, feed).outputs[1]!, { shape: [3, 4], data: numeric }, { atol: 1e-12, rtol: 1e-12 });
    // Without the stop, the gradient differs: the op does something.
    const plain = (() => {
      const b = new GraphBuilder();
      const z = b.input("z", [3, 4], "f64"), wv = b.input("w", [3, 4], "f64");
      const loss = b.op1("sum", [b.op1("mul", [b.op1("mul", [b.op1("softmax", [z], { axis: -1 }), b.op1("log_softmax", [z], { axis: -1 })]), wv])], { axes: [] });
      const gg = b.build([loss]);
      return interpret(autodiff(gg, loss, [z]).graph, [z0, w]).outputs[1]!.data;
    })();
    expect(Math.max(...plain.map((v, i) => Math.abs(v - numeric[i]!)))).toBeGreaterThan(1e-3);
  });

  test("compiled for cpu equals the interpreter, inside a fused chain and alone", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", ["n", 7], "f32"), i = b.input("i", [5], "i32");
    const y = b.op1("exp", [b.op1("stop_gradient", [b.op1("tanh", [x])])]);
    const g = b.build([y, b.op1("stop_gradient", [i])]);
    const mod = await compile(g, "cpu");
    const rng = new Rng(3);
    for (const n of [1, 13]) {
      const xv = rand(rng, [n, 7]), iv = [4, -2, 0, 9, 1];
      const want = interpret(g, [xv, { data: iv, shape: [5] }]).outputs;
      const got = mod.run([Tensor.fromArray(xv.data, [n, 7], "f32"), Tensor.fromArray(iv, [5], "i32")]);
      expectClose({ shape: [...got[0]!.shape], data: Float64Array.from(got[0]!.toArray()) }, want[0]!, { atol: 1e-6, rtol: 1e-6 });
      expect(got[1]!.toArray()).toEqual(iv);
    }
  });

  test("takes one input; the error names the node", () => {
    expect(opFailure("stop_gradient", [[[2]], [[2]]]).message).toMatch(/n1 \(stop_gradient\): takes 1 input\(s\), got 2/);
  });
});
