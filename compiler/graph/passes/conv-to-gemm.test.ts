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

  it("leaves depthwise and symbolic-shape convolutions direct", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [1, 4, 8, 8]);
    const dw = b.op1("conv2d", [x, b.input("w", [4, 1, 3, 3])], { groups: 4 });
    const xs = b.input("xs", ["n", 4, 8, 8]);
    const sym = b.op1("conv2d", [xs, b.input("w2", [2, 4, 3, 3])]);
    const g = b.build([dw, sym]);
    expect(convToGemm(g)).toBe(g);
  });

  it("compiled with the lowering equals compiled without it", async () => {
    const { g } = convGraph(cases[1]!, true);
    const x = Tensor.random([2, 4, 10, 7], "f32", 5);
    const a = (await compileGraph(g)).run([x])[0]!.toArray();
    const b = (await compileGraph(g, { convToGemm: false })).run([x])[0]!.toArray();
    a.forEach((v, k) => expect(v).toBeCloseTo(b[k]!, 4));
  }, 120_000);
});
