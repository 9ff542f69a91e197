import { describe, expect, test } from "vitest";
import { LatheError } from "../../../core/errors.ts";
import { Rng } from "../../../runtime/random.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import { GraphBuilder } from "../builder.ts";
import { compileGraph } from "../../targets/cpu/graph.ts";
import type { Graph, Value } from "../graph.ts";
import { interpret } from "../interpret.ts";
import { diffGraphs } from "../text/diff.ts";
import { parseGraph } from "../text/parse.ts";
import { printGraph } from "../text/print.ts";
import { graphProblems } from "../validate.ts";
import { alterLayout, blockedLayoutPays, cancelLayoutTransforms } from "./layout.ts";

/** Asserts that `got` is structurally the graph the text describes (names and constant data included). */
function expectGraph(got: Graph, want: string): void {
  expect(diffGraphs(got, parseGraph(want)), printGraph(got, { inlineConstants: 64 })).toBeNull();
  expect(graphProblems(got)).toEqual([]);
}

const count = (g: Graph, op: string): number => g.nodes.filter((n) => n.op === op).length;

/** Deterministic inputs in [-1, 1) for the given concrete shapes. */
function feed(shapes: readonly (readonly number[])[], seed = 5): { data: Float64Array; shape: number[] }[] {
  const rng = new Rng(seed);
  return shapes.map((s) => ({ shape: [...s], data: Float64Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)) }));
}

/** Every output of `b` is within rtol of `a`'s (relative to 1 + |a|) on the same inputs. */
function expectClose(a: { data: ArrayLike<number>; shape: readonly number[] }[], b: { data: ArrayLike<number>; shape: readonly number[] }[], rtol: number): void {
  expect(b.length).toBe(a.length);
  a.forEach((x, k) => {
    expect([...b[k]!.shape]).toEqual([...x.shape]);
    for (let i = 0; i < x.data.length; i++) {
      const want = x.data[i]!, got = b[k]!.data[i]!;
      if (!(Math.abs(got - want) <= rtol * (1 + Math.abs(want)))) expect.fail(`output ${k} element ${i}: got ${got}, want ${want}`);
    }
  });
}

const sameNumbers = (g: Graph, h: Graph, shapes: readonly (readonly number[])[], rtol = 1e-4) => {
  const x = feed(shapes);
  expectClose(interpret(g, x).outputs, interpret(h, x).outputs, rtol);
};

/** conv2d → batch_norm → relu → conv2d → batch_norm → add(x) → relu, 3×3 convs with pads 1. */
function resnetBlock(C: number, H: number, batch: number | string = 1): Graph {
  const rng = new Rng(7);
  const r = (n: number, s: number) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));
  const b = new GraphBuilder();
  const x = b.input("x", [batch, C, H, H]);
  const conv = (name: string, v: Value) => b.op1("conv2d", [v, b.constant(`${name}_w`, r(C * C * 9, 0.3), [C, C, 3, 3])], { pads: [1, 1, 1, 1] }, name);
  const bn = (name: string, v: Value) => b.op1("batch_norm", [v,
    b.constant(`${name}_scale`, r(C, 1), [C]), b.constant(`${name}_bias`, r(C, 0.1), [C]),
    b.constant(`${name}_mean`, r(C, 0.1), [C]), b.constant(`${name}_var`, Float32Array.from({ length: C }, () => 0.5 + rng.uniform(0, 1)), [C])], {}, name);
  const h = b.op1("relu", [bn("bn1", conv("conv1", x))], {}, "relu1");
  const y = b.op1("relu", [b.op1("add", [bn("bn2", conv("conv2", h)), x], {}, "res")], {}, "out");
  return b.build([y]);
}

describe("alterLayout on a ResNet basic block (C = 16, block 8)", () => {
  const g = resnetBlock(16, 8);
  const out = alterLayout(8).run(g);

  test("both convs are blocked and the transforms between them cancel: one at the input, one at the output", () => {
    expect(graphProblems(out)).toEqual([]);
    expect(count(out, "conv2d")).toBe(0);
    expect(count(out, "conv2d_nchwc")).toBe(2);
    expect(count(out, "batch_norm")).toBe(0);
    expect(count(out, "layout_transform")).toBe(2);
    const transforms = out.nodes.filter((n) => n.op === "layout_transform");
    expect(transforms[0]!.inputs).toEqual([g.inputs[0]]);
    expect(transforms[0]!.attrs).toEqual({ src: "NCHW", dst: "NCHW8c" });
    expect(transforms[1]!.outputs).toEqual(out.outputs);
    expect(transforms[1]!.attrs).toEqual({ src: "NCHW8c", dst: "NCHW" });
    // Inputs and outputs keep NCHW (the very same values); weights are folded into blocked constants.
    expect(out.inputs).toEqual(g.inputs);
    expect(out.outputs).toEqual(g.outputs);
    expect(out.constants.map((c) => c.value.type.shape)).toEqual([
      [2, 2, 3, 3, 8, 8], [2, 1, 1, 8], [2, 1, 1, 8], [2, 2, 3, 3, 8, 8], [2, 1, 1, 8], [2, 1, 1, 8],
    ]);
  });

  test("the same numbers as the original through the interpreter", () => sameNumbers(g, out, [[1, 16, 8, 8]]));

  test("the same numbers compiled (compileGraph) as the original interpreted", async () => {
    const [x] = feed([[1, 16, 8, 8]]);
    const want = interpret(g, [x!]).outputs;
    const compiled = await compileGraph(out);
    const got = compiled.run([new Tensor(Float32Array.from(x!.data), [1, 16, 8, 8], "f32")]);
    expectClose(want, got.map((t) => ({ data: t.toArray(), shape: t.shape })), 1e-4);
  }, 120_000);

  test("a symbolic batch stays symbolic through the transforms", () => {
    const gs = resnetBlock(16, 4, "n");
    const outs = alterLayout(8).run(gs);
    expect(graphProblems(outs)).toEqual([]);
    expect(count(outs, "layout_transform")).toBe(2);
    expect(outs.nodes.find((n) => n.op === "conv2d_nchwc")!.outputs[0]!.type.shape).toEqual(["n", 2, 4, 4, 8]);
    sameNumbers(gs, outs, [[2, 16, 4, 4]]);
  });

  test("running the pass again changes nothing", () => {
    expect(alterLayout(8).run(out)).toBe(out);
  });
});

describe("alterLayout leaves what it cannot block in NCHW", () => {
  const G = (c: number, k: number, groups = 1) => `graph g(x: f32[1, ${c}, 4, 4]) {
    const w: f32[${k}, ${c / groups}, 1, 1] = [${Array.from({ length: (k * c) / groups }, (_, i) => i % 5).join(", ")}]
    c = conv2d(x, w, groups=${groups})
    y = relu(c)
    return y
  }`;

  test("input channels not divisible by the block", () => {
    const g = parseGraph(G(12, 16));
    expect(alterLayout(8).run(g)).toBe(g);
  });
  test("output channels not divisible by the block", () => {
    const g = parseGraph(G(16, 12));
    expect(alterLayout(8).run(g)).toBe(g);
  });
  test("grouped convolutions", () => {
    const g = parseGraph(G(16, 16, 2));
    expect(alterLayout(8).run(g)).toBe(g);
  });
  test("a block below 2 is refused", () => {
    expect(() => alterLayout(1)).toThrow(LatheError);
  });
});

describe("text fixtures (block 2)", () => {
  test("conv → batch_norm → relu: the weight and the batch-norm factors fold into blocked constants", () => {
    // k = scale·rsqrt(var) = [1, 1, 2, 0.5], shift = bias − mean·k = [0, −1, −3, −0.5];
    // w[k, c] = 4k + c blocked as [k/2, c/2, 1, 1, c%2, k%2].
    const g = parseGraph(`graph main(x: f32[1, 4, 2, 2]) {
      const w: f32[4, 4, 1, 1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
      const scale: f32[4] = [1, 2, 1, 2]
      const bias: f32[4] = [0, 0, 1, 1]
      const mean: f32[4] = [0, 1, 2, 3]
      const var: f32[4] = [1, 4, 0.25, 16]
      c = conv2d(x, w)
      bn = batch_norm(c, scale, bias, mean, var, epsilon=0)
      y = relu(bn)
      return y
    }`);
    const out = alterLayout(2).run(g);
    expectGraph(out, `graph main(x: f32[1, 4, 2, 2]) {
      const w_oihw2i2o: f32[2, 2, 1, 1, 2, 2] = [0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15]
      const bn.k_nchw2c: f32[2, 1, 1, 2] = [1, 1, 2, 0.5]
      const bn.shift_nchw2c: f32[2, 1, 1, 2] = [0, -1, -3, -0.5]
      x_nchw2c: f32[1, 2, 2, 2, 2] = layout_transform(x, src="NCHW", dst="NCHW2c")
      c_nchw2c: f32[1, 2, 2, 2, 2] = conv2d_nchwc(x_nchw2c, w_oihw2i2o, strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], groups=1, block_in=2, block_out=2)
      bn_scaled_nchw2c: f32[1, 2, 2, 2, 2] = mul(c_nchw2c, bn.k_nchw2c)
      bn_nchw2c: f32[1, 2, 2, 2, 2] = add(bn_scaled_nchw2c, bn.shift_nchw2c)
      y_nchw2c: f32[1, 2, 2, 2, 2] = relu(bn_nchw2c)
      y: f32[1, 4, 2, 2] = layout_transform(y_nchw2c, src="NCHW2c", dst="NCHW")
      return y
    }`);
    sameNumbers(g, out, [[1, 4, 2, 2]]);
  });

  test("a [C, 1, 1] bias goes blocked; max_pool2d stops the region; a value read in both layouts is transformed back once", () => {
    const g = parseGraph(`graph main(x: f32[1, 4, 4, 4]) {
      const w1: f32[4, 4, 1, 1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
      const b1: f32[4, 1, 1] = [1, 2, 3, 4]
      const w2: f32[4, 4, 1, 1] = [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]
      c1 = conv2d(x, w1)
      a = add(c1, b1)
      p = max_pool2d(a, kernel=[2, 2], strides=[2, 2])
      c2 = conv2d(p, w2)
      return c2, a
    }`);
    const out = alterLayout(2).run(g);
    expectGraph(out, `graph main(x: f32[1, 4, 4, 4]) {
      const w1_oihw2i2o: f32[2, 2, 1, 1, 2, 2] = [0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15]
      const b1_nchw2c: f32[2, 1, 1, 2] = [1, 2, 3, 4]
      const w2_oihw2i2o: f32[2, 2, 1, 1, 2, 2] = [16, 20, 17, 21, 18, 22, 19, 23, 24, 28, 25, 29, 26, 30, 27, 31]
      x_nchw2c: f32[1, 2, 4, 4, 2] = layout_transform(x, src="NCHW", dst="NCHW2c")
      c1_nchw2c = conv2d_nchwc(x_nchw2c, w1_oihw2i2o, strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], groups=1, block_in=2, block_out=2)
      a_nchw2c = add(c1_nchw2c, b1_nchw2c)
      a: f32[1, 4, 4, 4] = layout_transform(a_nchw2c, src="NCHW2c", dst="NCHW")
      p = max_pool2d(a, kernel=[2, 2], strides=[2, 2])
      p_nchw2c: f32[1, 2, 2, 2, 2] = layout_transform(p, src="NCHW", dst="NCHW2c")
      c2_nchw2c = conv2d_nchwc(p_nchw2c, w2_oihw2i2o, strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], groups=1, block_in=2, block_out=2)
      c2: f32[1, 4, 2, 2] = layout_transform(c2_nchw2c, src="NCHW2c", dst="NCHW")
      return c2, a
    }`);
    sameNumbers(g, out, [[1, 4, 4, 4]]);
  });

  test("adjacent inverse transforms cancel and a chain composes, also in a graph that had them already", () => {
    const g = parseGraph(`graph main(x: f32[1, 8, 2, 2]) {
      a = layout_transform(x, src="NCHW", dst="NCHW2c")
      b = layout_transform(a, src="NCHW2c", dst="NCHW")
      r = relu(b)
      c = layout_transform(r, src="NCHW", dst="NCHW2c")
      d = layout_transform(c, src="NCHW2c", dst="NCHW4c")
      return r, d
    }`);
    const out = cancelLayoutTransforms(g);
    expectGraph(out, `graph main(x: f32[1, 8, 2, 2]) {
      r = relu(x)
      d: f32[1, 2, 2, 2, 4] = layout_transform(r, src="NCHW", dst="NCHW4c")
      return r, d
    }`);
    sameNumbers(g, out, [[1, 8, 2, 2]], 0);
    expect(cancelLayoutTransforms(out)).toBe(out);
  });
});

describe("the blocked region through broadcasting ops", () => {
  test("scalars, [C, 1, 1] and [1, C, 1, 1] operands, operands without the channel axis, a second NCHW input, where", () => {
    const rng = new Rng(3);
    const b = new GraphBuilder();
    const x = b.input("x", ["n", 4, 3, 3]);
    const y = b.input("y", ["n", 4, 3, 3]);
    const hw = b.input("hw", [3, 3]);
    const w = b.constant("w", Float32Array.from({ length: 4 * 4 * 9 }, () => rng.uniform(-0.5, 0.5)), [4, 4, 3, 3]);
    const c = b.op1("conv2d", [x, w], { pads: [1, 1, 1, 1] }, "c");
    const half = b.constant("half", Float32Array.of(0.5), []);
    const bias = b.constant("bias", Float32Array.of(1, -1, 2, -2), [4, 1, 1]);
    const gain = b.constant("gain", Float32Array.of(0.5, 1, 1.5, 2), [1, 4, 1, 1]);
    const rowScale = b.constant("row", Float32Array.of(1, 2, 3), [1, 1, 3, 1]);
    let v = b.op1("mul", [c, half], {}, "m");
    v = b.op1("add", [bias, v], {}, "ab"); // blocked operand second
    v = b.op1("mul", [v, gain], {}, "g");
    v = b.op1("sub", [v, hw], {}, "s"); // no channel axis: a unit block axis
    v = b.op1("mul", [v, rowScale], {}, "rs");
    v = b.op1("maximum", [v, y], {}, "mx"); // another NCHW input: transformed in at the boundary
    const pos = b.op1("greater", [v, half], {}, "pos");
    v = b.op1("where", [pos, v, b.op1("neg", [v], {}, "nv")], {}, "wh");
    v = b.op1("leaky_relu", [v], { alpha: 0.2 }, "lr");
    const g = b.build([b.op1("sigmoid", [v], {}, "out")]);
    const out = alterLayout(2).run(g);
    expect(graphProblems(out)).toEqual([]);
    // In: x and y; out: the result. Constant operands are folded, hw gets a reshape.
    expect(out.nodes.filter((n) => n.op === "layout_transform").map((n) => n.inputs[0]!.name)).toEqual(["x", "y", "out_nchw2c"]);
    expect(out.nodes.filter((n) => n.op === "reshape").map((n) => n.inputs[0]!.name)).toEqual(["hw"]);
    expect(out.nodes.filter((n) => n.op !== "layout_transform" && n.op !== "reshape").every((n) => n.outputs[0]!.type.shape.length === 5)).toBe(true);
    sameNumbers(g, out, [[2, 4, 3, 3], [2, 4, 3, 3], [3, 3]], 1e-5);
  });
});

describe("alterLayout blocks depthwise convolutions (channel multiplier 1)", () => {
  /** MobileNet-v2's inverted residual: 1×1 expand → BN → ReLU6 → 3×3 depthwise (stride s) → BN → ReLU6 → 1×1 project (+ x when s = 1). */
  function invertedResidual(C: number, hidden: number, H: number, stride: number, dwGroups = hidden, dwOut = hidden): Graph {
    const rng = new Rng(11);
    const r = (n: number, s: number) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));
    const b = new GraphBuilder();
    const x = b.input("x", [1, C, H, H]);
    const bn = (name: string, v: Value, c: number) => b.op1("batch_norm", [v,
      b.constant(`${name}_scale`, r(c, 1), [c]), b.constant(`${name}_bias`, r(c, 0.1), [c]),
      b.constant(`${name}_mean`, r(c, 0.1), [c]), b.constant(`${name}_var`, Float32Array.from({ length: c }, () => 0.5 + rng.uniform(0, 1)), [c])], {}, name);
    const six = b.constant("six", Float32Array.of(6), []);
    const relu6 = (v: Value) => b.op1("minimum", [b.op1("relu", [v]), six]);
    const e = relu6(bn("bn_e", b.op1("conv2d", [x, b.constant("we", r(hidden * C, 0.5), [hidden, C, 1, 1])], {}, "expand"), hidden));
    const dw = b.op1("conv2d", [e, b.constant("wd", r(dwOut * (hidden / dwGroups) * 9, 0.5), [dwOut, hidden / dwGroups, 3, 3])], { pads: [1, 1, 1, 1], strides: [stride, stride], groups: dwGroups }, "dw");
    const d = relu6(bn("bn_d", dw, dwOut));
    const p = bn("bn_p", b.op1("conv2d", [d, b.constant("wp", r(C * dwOut, 0.5), [C, dwOut, 1, 1])], {}, "project"), C);
    return b.build([stride === 1 ? b.op1("add", [p, x]) : p]);
  }

  test("the whole block runs blocked: the depthwise conv is depthwise_conv2d_nchwc, one transform in, one out", () => {
    const g = invertedResidual(8, 16, 7, 1);
    const out = alterLayout(8).run(g);
    expect(graphProblems(out)).toEqual([]);
    expect(count(out, "conv2d")).toBe(0);
    expect(count(out, "conv2d_nchwc")).toBe(2);
    expect(count(out, "depthwise_conv2d_nchwc")).toBe(1);
    expect(count(out, "layout_transform")).toBe(2);
    const dw = out.nodes.find((n) => n.op === "depthwise_conv2d_nchwc")!;
    expect(dw.attrs).toEqual({ strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], block: 8 });
    // The weight folded into a blocked constant [C/b, 1, 3, 3, 1, b].
    expect(dw.inputs[1]!.type.shape).toEqual([2, 1, 3, 3, 1, 8]);
    expect(out.constants.some((c) => c.value === dw.inputs[1])).toBe(true);
    sameNumbers(g, out, [[1, 8, 7, 7]]);
    expect(blockedLayoutPays(g, out)).toBe(true);
  });

  test("stride 2 and block 4: the same numbers", () => {
    const g = invertedResidual(8, 24, 9, 2);
    const out = alterLayout(4).run(g);
    expect(count(out, "depthwise_conv2d_nchwc")).toBe(1);
    sameNumbers(g, out, [[1, 8, 9, 9]]);
  });

  test("a channel multiplier of 2 and other grouped convolutions stay NCHW, and layout auto refuses the graph", () => {
    for (const g of [invertedResidual(8, 16, 5, 1, 16, 32), invertedResidual(8, 16, 5, 1, 2)]) {
      const out = alterLayout(8).run(g);
      const grouped = out.nodes.filter((n) => n.op === "conv2d");
      expect(grouped).toHaveLength(1);
      expect(grouped[0]!.attrs["groups"]).not.toBe(1);
      expect(count(out, "depthwise_conv2d_nchwc")).toBe(0);
      expect(count(out, "conv2d_nchwc")).toBe(2);
      sameNumbers(g, out, [[1, 8, 5, 5]]);
      expect(blockedLayoutPays(g, out)).toBe(false);
    }
  });

  test("a depthwise conv whose channels do not divide by the block stays NCHW, and auto refuses", () => {
    const g = invertedResidual(8, 12, 5, 1);
    const out = alterLayout(8).run(g);
    expect(count(out, "depthwise_conv2d_nchwc")).toBe(0);
    expect(blockedLayoutPays(g, out)).toBe(false);
  });
});
