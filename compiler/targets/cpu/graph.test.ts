import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../graph/builder.ts";
import { compileGraph, cpuGraphLowering, lowerGraph } from "./graph.ts";
import { hostVectorBytes } from "./host.ts";
import { printFunc } from "../../tir/print.ts";
import { interpret } from "../../graph/interpret.ts";
import { fusionGroups } from "../../graph/passes/fuse.ts";
import { autodiff } from "../../graph/passes/autodiff.ts";
import type { Graph } from "../../graph/graph.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import { Rng } from "../../../runtime/random.ts";

const rng = new Rng(11);
const randArray = (n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));

function expectMatchesInterpreter(g: Graph, inputs: Tensor[], got: Tensor[], rtol = 1e-4): void {
  const ref = interpret(g, inputs.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs;
  got.forEach((t, k) => {
    expect(t.shape).toEqual(ref[k]!.shape);
    const a = t.toArray();
    a.forEach((v, i) => {
      const r = ref[k]!.data[i]!;
      if (Math.abs(v - r) > rtol * (1 + Math.abs(r))) throw new Error(`output ${k} element ${i}: got ${v}, reference ${r}`);
    });
  });
}

function mlp() {
  const b = new GraphBuilder();
  const x = b.input("x", ["batch", 20], "f32");
  const w1 = b.constant("w1", randArray(20 * 16, 0.3), [20, 16]);
  const b1 = b.constant("b1", randArray(16, 0.1), [16]);
  const w2 = b.constant("w2", randArray(16 * 5, 0.3), [16, 5]);
  const b2 = b.constant("b2", randArray(5, 0.1), [5]);
  const h = b.op1("relu", [b.op1("add", [b.op1("matmul", [x, w1]), b1])]);
  const y = b.op1("log_softmax", [b.op1("add", [b.op1("matmul", [h, w2]), b2])], { axis: -1 });
  return b.build([y]);
}

function resnetBlock(C = 4, H = 6, W = 6) {
  const b = new GraphBuilder();
  const x = b.input("x", ["n", C, H, W], "f32");
  const bn = (name: string, v: ReturnType<typeof b.input>) => b.op1("batch_norm", [v,
    b.constant(`${name}_scale`, randArray(C, 1), [C]), b.constant(`${name}_bias`, randArray(C, 0.1), [C]),
    b.constant(`${name}_mean`, randArray(C, 0.1), [C]), b.constant(`${name}_var`, Float32Array.from({ length: C }, () => 0.5 + rng.uniform(0, 1)), [C])]);
  const conv = (name: string, v: ReturnType<typeof b.input>) =>
    b.op1("conv2d", [v, b.constant(`${name}_w`, randArray(C * C * 9, 0.3), [C, C, 3, 3])], { pads: [1, 1, 1, 1] });
  const h = b.op1("relu", [bn("bn1", conv("conv1", x))]);
  const y = b.op1("relu", [b.op1("add", [bn("bn2", conv("conv2", h)), x])]);
  return b.build([y]);
}

describe("whole-graph compilation (one native library per graph)", () => {
  test("an MLP with a symbolic batch runs for any batch size and equals the interpreter", async () => {
    const g = mlp();
    const c = await compileGraph(g);
    for (const n of [1, 7]) {
      const x = new Tensor(randArray(n * 20), [n, 20], "f32");
      expectMatchesInterpreter(g, [x], c.run([x]));
    }
    // Compiling the same graph again hits the content-hashed cache.
    const again = await compileGraph(g);
    expect(again.library).toBe(c.library);
  }, 120_000);

  test("a ResNet basic block fuses into the kernels TVM's rules give, and equals the unfused result", async () => {
    const g = resnetBlock();
    const groups = fusionGroups(g);
    // conv1+bn1+relu, conv2+bn2+add+relu: each conv absorbs its elementwise consumers.
    expect(groups.map((x) => x.nodes.map((n) => n.op))).toEqual([
      ["conv2d", "batch_norm", "relu"],
      ["conv2d", "batch_norm", "add", "relu"],
    ]);
    const c = await compileGraph(g);
    const x = new Tensor(randArray(2 * 4 * 36), [2, 4, 6, 6], "f32");
    expectMatchesInterpreter(g, [x], c.run([x]));
  }, 120_000);

  test("layout auto: a ResNet block whose channels fill vectors runs blocked (conv2d_nchwc, transforms only at its edges) and equals the interpreter", async () => {
    const C = 2 * (hostVectorBytes() / 4);
    const g = resnetBlock(C, 9, 7);
    const ops = cpuGraphLowering(g).nodes.map((n) => n.op);
    expect(ops.filter((o) => o === "conv2d_nchwc")).toHaveLength(2);
    expect(ops.filter((o) => o === "layout_transform")).toHaveLength(2); // x in, y out
    expect(ops).not.toContain("im2col");
    const c = await compileGraph(g);
    expect(c.graph.nodes.some((n) => n.op === "conv2d_nchwc")).toBe(true);
    for (const n of [1, 2]) {
      const x = new Tensor(randArray(n * C * 63), [n, C, 9, 7], "f32");
      expectMatchesInterpreter(g, [x], c.run([x]));
    }
    // "nchw" keeps im2col + GEMM; the same numbers.
    const plain = await compileGraph(g, { layout: "nchw" });
    expect(plain.graph.nodes.some((n) => n.op === "conv2d_nchwc")).toBe(false);
    const x = new Tensor(randArray(C * 63), [1, C, 9, 7], "f32");
    expectMatchesInterpreter(g, [x], plain.run([x]));
  }, 120_000);

  test("layout auto keeps NCHW for a graph with a grouped, not depthwise, convolution (its transforms would cost more than blocking saves)", () => {
    const C = 2 * (hostVectorBytes() / 4);
    const b = new GraphBuilder();
    const x = b.input("x", [1, C, 8, 8]);
    const dw = b.op1("conv2d", [x, b.constant("dw", randArray(C * 9 * 2), [C, 2, 3, 3])], { pads: [1, 1, 1, 1], groups: C / 2 });
    const y = b.op1("conv2d", [dw, b.constant("pw", randArray(C * C), [C, C, 1, 1])], {});
    const ops = cpuGraphLowering(b.build([y])).nodes.map((n) => n.op);
    expect(ops).not.toContain("conv2d_nchwc");
    expect(ops).toContain("im2col");
    expect(cpuGraphLowering(b.build([y]), { layout: "nchwc" }).nodes.map((n) => n.op)).toContain("conv2d_nchwc");
  });

  test("layout auto keeps NCHW when blocked regions are short (a concatenation after every pair of convolutions)", () => {
    const C = 2 * (hostVectorBytes() / 4);
    const b = new GraphBuilder();
    let v = b.input("x", [1, C, 6, 6]);
    for (let m = 0; m < 3; m++) {
      const conv = (name: string) => b.op1("conv2d", [v, b.constant(`${name}${m}`, randArray(C * C * 9 / 2, 0.1), [C / 2, C, 3, 3])], { pads: [1, 1, 1, 1] });
      v = b.op1("concat", [conv("a"), conv("b")], { axis: 1 });
    }
    const g = b.build([v]);
    expect(cpuGraphLowering(g).nodes.map((n) => n.op)).not.toContain("conv2d_nchwc");
    const forced = cpuGraphLowering(g, { layout: "nchwc" }).nodes.map((n) => n.op);
    expect(forced.filter((o) => o === "conv2d_nchwc")).toHaveLength(6);
    expect(forced.filter((o) => o === "layout_transform").length).toBeGreaterThan(6);
  });

  test("layout auto keeps NCHW for a training graph (the convolution gradients read the activations in NCHW)", () => {
    const C = 2 * (hostVectorBytes() / 4);
    const b = new GraphBuilder();
    const x = b.input("x", [1, C, 6, 6]), w = b.input("w", [C, C, 3, 3]);
    const y = b.op1("conv2d", [x, w], { pads: [1, 1, 1, 1] });
    const loss = b.op1("sum", [b.op1("mul", [y, y])]);
    const { graph } = autodiff(b.build([loss]), loss, [w]);
    expect(graph.nodes.some((n) => n.op === "conv2d_grad_weight")).toBe(true);
    expect(cpuGraphLowering(graph).nodes.map((n) => n.op)).not.toContain("conv2d_nchwc");
  });

  test("memory planning reuses blocks once their readers have run", async () => {
    const b = new GraphBuilder();
    let v = b.input("x", [8, 16], "f32");
    for (let i = 0; i < 6; i++) v = b.op1("softmax", [b.op1("exp", [v])], { axis: -1 });
    const g = b.build([v]);
    const c = await compileGraph(g);
    const intermediates = c.plan.memory.assignment.size;
    expect(intermediates).toBeGreaterThanOrEqual(6);
    expect(c.plan.memory.storages.length).toBeLessThanOrEqual(2);
    const x = new Tensor(randArray(128), [8, 16], "f32");
    expectMatchesInterpreter(g, [x], c.run([x]));
  }, 120_000);

  test("a narrow matmul (one column panel) splits its row blocks across threads, and equals the interpreter", async () => {
    const b = new GraphBuilder();
    const g = b.build([b.op1("matmul", [b.input("a", [96, 40], "f32"), b.input("w", [40, 20], "f32")])]);
    const ir = printFunc(lowerGraph(g).kernels[0]!.func);
    // One column panel (its loop is gone): the row-block loop is the parallel one.
    expect(ir).toMatch(/for i\.o in \[0, 16\) parallel:/);
    const c = await compileGraph(g);
    const inputs = [new Tensor(randArray(96 * 40), [96, 40], "f32"), new Tensor(randArray(40 * 20), [40, 20], "f32")];
    for (const threads of [1, 2, 3]) {
      c.setNumThreads(threads);
      expectMatchesInterpreter(g, inputs, c.run(inputs));
    }
  }, 120_000);

  test("wrong input shapes and dtypes are named", async () => {
    const c = await compileGraph(mlp());
    expect(() => c.run([new Tensor(randArray(3 * 21), [3, 21], "f32")])).toThrow(/input x: dimension 1 must be 20, got 21/);
    expect(() => c.run([Tensor.zeros([3, 20], "i32")])).toThrow(/input x: expected dtype f32/);
    expect(() => c.run([])).toThrow(/graph takes 1 inputs/);
  }, 120_000);
});

describe("compiled graphs equal the interpreter for training ops, forward and backward", () => {
  const rand = (shape: number[], s = 1) => new Tensor(randArray(shape.reduce((a, b) => a * b, 1), s), shape, "f32");
  const withGrads = (b: GraphBuilder, loss: ReturnType<GraphBuilder["input"]>, wrt: ReturnType<GraphBuilder["input"]>[]): Graph => {
    const { graph, grads } = autodiff(b.build([loss]), loss, wrt);
    return { ...graph, outputs: [loss, ...grads] };
  };
  const square = (b: GraphBuilder, v: ReturnType<GraphBuilder["input"]>) => b.op1("sum", [b.op1("mul", [v, v])]);

  test("batch_norm_train", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [4, 3, 5, 5]), s = b.input("s", [3]), bb = b.input("bb", [3]);
    const [y] = b.op("batch_norm_train", [x, s, bb]);
    const g = withGrads(b, square(b, y!), [x, s, bb]);
    const inputs = [rand([4, 3, 5, 5]), rand([3]), rand([3])];
    expectMatchesInterpreter(g, inputs, (await compileGraph(g)).run(inputs));
  }, 120_000);

  test("dropout (the same mask in C++ as in the interpreter)", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [4, 37]), step = b.input("step", [], "i32");
    const g = withGrads(b, square(b, b.op1("dropout", [x, step], { rate: 0.3, seed: 7 })), [x]);
    const inputs = [rand([4, 37]), Tensor.fromArray([3], [], "i32")];
    expectMatchesInterpreter(g, inputs, (await compileGraph(g)).run(inputs));
  }, 120_000);

  test("lstm_cell, both outputs", async () => {
    const H = 5, I = 3;
    const b = new GraphBuilder();
    const ins = [b.input("x", [2, I]), b.input("h", [2, H]), b.input("c", [2, H]), b.input("wi", [4 * H, I]), b.input("wh", [4 * H, H]), b.input("bias", [4 * H])];
    const [h2, c2] = b.op("lstm_cell", ins);
    const g = withGrads(b, b.op1("add", [square(b, h2!), b.op1("sum", [c2!])]), ins);
    const inputs = [rand([2, I]), rand([2, H]), rand([2, H]), rand([4 * H, I], 0.5), rand([4 * H, H], 0.5), rand([4 * H], 0.1)];
    expectMatchesInterpreter(g, inputs, (await compileGraph(g)).run(inputs));
  }, 120_000);

  test("conv2d + max_pool2d + matmul classifier", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 3, 8, 8]), w = b.input("w", [4, 3, 3, 3]), fc = b.input("fc", [64, 5]);
    const p = b.op1("max_pool2d", [b.op1("relu", [b.op1("conv2d", [x, w], { pads: [1, 1, 1, 1] })])], { kernel: [2, 2], strides: [2, 2] });
    const logits = b.op1("matmul", [b.op1("reshape", [p], { shape: [2, 64] }), fc]);
    const g = withGrads(b, square(b, b.op1("log_softmax", [logits], { axis: -1 })), [w, fc]);
    const inputs = [rand([2, 3, 8, 8]), rand([4, 3, 3, 3], 0.5), rand([64, 5], 0.3)];
    expectMatchesInterpreter(g, inputs, (await compileGraph(g)).run(inputs));
  }, 120_000);
});
