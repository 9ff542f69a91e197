import { describe, expect, it } from "vitest";
import { Tensor } from "../../../runtime/tensor.ts";
import { GraphBuilder } from "../builder.ts";
import { compileGraph } from "../../targets/cpu/graph.ts";
import { interpret } from "../interpret.ts";
import { validate } from "../validate.ts";
import { convToGemm } from "./conv-to-gemm.ts";

interface Case { n: number; c: number; h: number; w: number; o: number; k: [number, number]; strides: number[]; pads: number[]; dilations: number[]; groups: number }

const cases: Case[] = [
  { n: 1, c: 3, h: 9, w: 11, o: 4, k: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1 },
  { n: 2, c: 4, h: 10, w: 7, o: 6, k: [3, 2], strides: [2, 1], pads: [0, 1, 2, 0], dilations: [1, 2], groups: 2 },
  { n: 3, c: 5, h: 6, w: 6, o: 2, k: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1 },
  { n: 1, c: 2, h: 15, w: 15, o: 3, k: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3], dilations: [1, 1], groups: 1 },
];

function convGraph(c: Case, constWeight: boolean) {
  const b = new GraphBuilder();
  const x = b.input("x", [c.n, c.c, c.h, c.w]);
  const wt = Tensor.random([c.o, c.c / c.groups, ...c.k], "f32", 7);
  const w = constWeight ? b.constant("w", wt.data, wt.shape, "f32") : b.input("w", wt.shape);
  const y = b.op1("relu", [b.op1("conv2d", [x, w], { strides: c.strides, pads: c.pads, dilations: c.dilations, groups: c.groups })]);
  return { g: b.build([y]), wt };
}

const run = (g: ReturnType<typeof convGraph>["g"], ins: Tensor[]) =>
  Array.from(interpret(g, ins.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs[0]!.data);

describe("conv-to-gemm", () => {
  it.each(cases.map((c, i) => [i, c] as const))("case %i: im2col + GEMM equals the direct convolution", (_i, c) => {
    for (const constWeight of [true, false]) {
      const { g, wt } = convGraph(c, constWeight);
      const lowered = convToGemm(g);
      validate(lowered);
      expect(lowered.nodes.some((n) => n.op === "conv2d")).toBe(false);
      expect(lowered.nodes.some((n) => n.op === "im2col")).toBe(true);
      const x = Tensor.random([c.n, c.c, c.h, c.w], "f32", 3);
      const ins = constWeight ? [x] : [x, wt];
      const want = run(g, ins), got = run(lowered, ins);
      got.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 4));
    }
  });

  it.each(cases.filter((c) => c.groups === 1).map((c, i) => [i, c] as const))("case %i: the weight gradient as im2col + GEMM equals the direct one", (_i, c) => {
    for (const n of [c.n, 1]) {
      const b = new GraphBuilder();
      const x = b.input("x", [n, c.c, c.h, c.w]);
      const y = b.op1("conv2d", [x, b.input("w", [c.o, c.c, ...c.k])], { strides: c.strides, pads: c.pads, dilations: c.dilations });
      const dy = b.input("dy", y.type.shape as number[]);
      const dw = b.op1("conv2d_grad_weight", [x, dy], { strides: c.strides, pads: c.pads, dilations: c.dilations, kernel: c.k });
      const g = b.build([dw]);
      const lowered = convToGemm(g);
      validate(lowered);
      expect(lowered.nodes.map((m) => m.op)).not.toContain("conv2d_grad_weight");
      expect(lowered.nodes.map((m) => m.op)).toContain("matmul");
      // Inputs in graph order: x, w (unread by the gradient), dy.
      const ins = [Tensor.random([n, c.c, c.h, c.w], "f32", 3), Tensor.random([c.o, c.c, ...c.k], "f32", 5), Tensor.random(y.type.shape as number[], "f32", 4)];
      const want = run(g, ins), got = run(lowered, ins);
      expect(got.length).toBe(c.o * c.c * c.k[0] * c.k[1]);
      got.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 3));
    }
  });

  it.each([
    { n: 2, c: 3, h: 7, w: 6, o: 4, k: [3, 3], pads: [1, 1, 1, 1], dilations: [1, 1] },
    { n: 1, c: 2, h: 5, w: 9, o: 3, k: [3, 2], pads: [0, 1, 2, 0], dilations: [2, 1] },
    { n: 3, c: 4, h: 4, w: 4, o: 2, k: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
  ].map((c, i) => [i, c] as const))("case %i: a stride-1 input gradient (conv_transpose2d) as im2col + GEMM equals the direct one", (_i, c) => {
    for (const constWeight of [false, true]) {
      const b = new GraphBuilder();
      const y = b.op1("conv2d", [b.input("x", [c.n, c.c, c.h, c.w]), b.input("w0", [c.o, c.c, ...c.k])], { pads: c.pads, dilations: c.dilations });
      const wt = Tensor.random([c.o, c.c, ...c.k], "f32", 9);
      const w = constWeight ? b.constant("w", wt.data, wt.shape, "f32") : b.input("w", wt.shape);
      const dy = b.input("dy", y.type.shape as number[]);
      const dx = b.op1("conv_transpose2d", [dy, w], { pads: c.pads, dilations: c.dilations });
      expect(dx.type.shape).toEqual([c.n, c.c, c.h, c.w]);
      const g = b.build([dx]);
      const lowered = convToGemm(g);
      validate(lowered);
      expect(lowered.nodes.map((m) => m.op)).not.toContain("conv_transpose2d");
      const ins = [Tensor.random([c.n, c.c, c.h, c.w], "f32", 3), Tensor.random([c.o, c.c, ...c.k], "f32", 5)];
      if (!constWeight) ins.push(wt);
      ins.push(Tensor.random(y.type.shape as number[], "f32", 4));
      const want = run(g, ins), got = run(lowered, ins);
      got.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 3));
    }
  });

  it("leaves strided transposed convolutions direct", () => {
    const b = new GraphBuilder();
    const dx = b.op1("conv_transpose2d", [b.input("dy", [1, 4, 5, 5]), b.input("w", [4, 2, 3, 3])], { strides: [2, 2] });
    const g = b.build([dx]);
    expect(convToGemm(g)).toBe(g);
  });

  it("leaves depthwise and symbolic-shape convolutions direct", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [1, 4, 8, 8]);
    const dw = b.op1("conv2d", [x, b.input("w", [4, 1, 3, 3])], { groups: 4 });
    const xs = b.input("xs", ["n", 4, 8, 8]);
    const sym = b.op1("conv2d", [xs, b.input("w2", [2, 4, 3, 3])]);
    const symGrad = b.op1("conv2d_grad_weight", [xs, b.input("dys", ["n", 2, 6, 6])], { kernel: [3, 3] });
    const groupedGrad = b.op1("conv2d_grad_weight", [x, b.input("dyg", [1, 4, 6, 6])], { kernel: [3, 3], groups: 2 });
    const g = b.build([dw, sym, symGrad, groupedGrad]);
    expect(convToGemm(g)).toBe(g);
  });

  it("a compiled training step's convolution gradients (lowered) equal the interpreter's", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3, 2, 9, 8]), w = b.input("w", [5, 2, 3, 3]), dy = b.input("dy", [3, 5, 9, 8]);
    const attrs = { pads: [1, 1, 1, 1] };
    const dw = b.op1("conv2d_grad_weight", [x, dy], { ...attrs, kernel: [3, 3] });
    const dx = b.op1("conv_transpose2d", [dy, w], attrs);
    const y = b.op1("conv2d", [x, w], attrs);
    const g = b.build([dw, dx, y]);
    expect(convToGemm(g).nodes.filter((n) => n.op === "im2col").length).toBe(2); // x's patches are shared
    const ins = [Tensor.random([3, 2, 9, 8], "f32", 1), Tensor.random([5, 2, 3, 3], "f32", 2), Tensor.random([3, 5, 9, 8], "f32", 3)];
    const want = interpret(g, ins.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs;
    const got = (await compileGraph(g)).run(ins);
    got.forEach((t, i) => t.toArray().forEach((v, k) => expect(v).toBeCloseTo(want[i]!.data[k]!, 3)));
  }, 120_000);

  it("compiled with the lowering equals compiled without it", async () => {
    const { g } = convGraph(cases[1]!, true);
    const x = Tensor.random([2, 4, 10, 7], "f32", 5);
    const a = (await compileGraph(g)).run([x])[0]!.toArray();
    const b = (await compileGraph(g, { convToGemm: false })).run([x])[0]!.toArray();
    a.forEach((v, k) => expect(v).toBeCloseTo(b[k]!, 4));
  }, 120_000);
});
