/**
 * Graphs compiled for webgpu equal the reference interpreter: every op family (elementwise,
 * broadcast, compare/select, casts, reductions, shape ops, gathers, matmul, conv2d,
 * depthwise conv, pools, softmax, normalization) and fused groups (matmul + bias + relu,
 * conv + bias + relu, reductions with elementwise producers and epilogues). Runs on
 * whatever adapter is present (SwiftShader in CI).
 */
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Attrs, Value } from "../../compiler/graph/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import type { DType } from "../../core/dtype.ts";
import { compileGraphWebGpu } from "../../compiler/targets/webgpu/graph.ts";
import { gpuDefaultSchedule } from "../../compiler/targets/webgpu/schedules.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { div } from "../../compiler/te/expr.ts";
import { compute, placeholder, reduceAxis, sum } from "../../compiler/te/tensor.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";

type Gen = "u" | "pos" | `int${number}` | "bool";
interface In { readonly shape: number[]; readonly gen?: Gen; readonly dtype?: DType }
type Case = readonly [op: string, inputs: readonly In[], attrs?: Attrs];

const u = (...shape: number[]): In => ({ shape });
const pos = (...shape: number[]): In => ({ shape, gen: "pos" });
const idx = (n: number, ...shape: number[]): In => ({ shape, gen: `int${n}`, dtype: "i32" });
const bools = (...shape: number[]): In => ({ shape, gen: "bool", dtype: "bool" });

const ELEMENTWISE: readonly Case[] = [
  ...["neg", "exp", "tanh", "sigmoid", "relu", "erf", "gelu", "abs", "sign"].map((op): Case => [op, [u(3, 37)]]),
  ...["add", "sub", "mul", "maximum", "minimum"].map((op): Case => [op, [u(3, 1, 19), u(5, 19)]]),
  ...["equal", "less", "greater_equal"].map((op): Case => [op, [u(4, 9), u(9)]]),
  ["log", [pos(3, 37)]], ["sqrt", [pos(3, 37)]], ["rsqrt", [pos(3, 37)]],
  ["div", [u(3, 1, 19), pos(5, 19)]], ["pow", [pos(4, 11), u(11)]],
  ["where", [bools(4, 9), u(4, 9), u(9)]], ["cast", [u(6, 7)], { dtype: "i32" }],
  ["logical_and", [bools(4, 9), bools(9)]], ["mod", [u(3, 1, 19), u(5, 19)]],
];

const REDUCE_AND_SHAPE: readonly Case[] = [
  ["sum", [u(3, 5, 17)], { axes: [1, 2] }], ["mean", [u(3, 5, 17)], { axes: [-1], keepdims: true }],
  ["max", [u(3, 5, 17)], { axes: [0] }], ["min", [u(3, 5, 17)], { axes: [2] }],
  ["logsumexp", [u(6, 23)], { axes: [1] }], ["argmax", [u(6, 23)], { axis: 1 }],
  ["reshape", [u(4, 6, 5)], { shape: [0, -1] }], ["transpose", [u(3, 5, 7)], { perm: [2, 0, 1] }],
  ["expand", [u(3, 1)], { shape: [2, 3, 9] }], ["concat", [u(2, 3), u(2, 5), u(2, 1)], { axis: 1 }],
  ["slice", [u(7, 9)], { starts: [1, 8], ends: [6, 0], axes: [0, 1], steps: [2, -3] }],
  ["pad", [u(2, 3, 5)], { pads: [0, 1, 2, 0, 2, 1], value: 0.5 }],
  ["gather", [u(7, 4), idx(7, 5)], { axis: 0 }], ["one_hot", [idx(6, 9)], { depth: 6 }],
  ["sum_like", [u(4, 3, 5), u(3, 1)]],
];

const NN: readonly Case[] = [
  ["matmul", [u(2, 13, 17), u(17, 35)]], ["batch_matmul", [u(2, 9, 6), u(2, 6, 33)]],
  ["matmul", [u(70, 45), u(45, 66)]],
  ["conv2d", [u(1, 4, 9, 8), u(6, 2, 3, 3)], { groups: 2, strides: [2, 2], dilations: [2, 1], pads: [1, 2, 2, 0] }],
  ["conv2d", [u(2, 3, 10, 10), u(8, 3, 3, 3)], { pads: [1, 1, 1, 1] }],
  // Depthwise: one group per channel.
  ["conv2d", [u(1, 6, 9, 9), u(6, 1, 3, 3)], { groups: 6, pads: [1, 1, 1, 1] }],
  ["max_pool2d", [u(2, 3, 7, 9)], { kernel: [3, 2], strides: [2, 2], pads: [1, 1, 1, 0] }],
  ["avg_pool2d", [u(2, 3, 5, 7)], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
  ["global_avg_pool2d", [u(2, 3, 5, 7)]],
  ["softmax", [u(5, 19)], { axis: -1 }], ["log_softmax", [u(5, 3, 7)], { axis: 1 }],
  ["layer_norm", [u(4, 7, 9), u(9), u(9)], { axis: -1 }],
  ["batch_norm", [u(2, 3, 4, 5), u(3), u(3), u(3), pos(3)]],
];

const rng = new Rng(7);
function draw(x: In): Tensor {
  const n = x.shape.reduce((a, b) => a * b, 1);
  const g = x.gen ?? "u";
  const one = (): number => (g === "u" ? rng.uniform(-1, 1) : g === "pos" ? rng.uniform(0.5, 2) : g === "bool" ? rng.int(0, 2) : rng.int(0, Number(g.slice(3))));
  return Tensor.fromArray(Array.from({ length: n }, one), x.shape, x.dtype ?? "f32");
}

/** Each case's op on fresh inputs, all in one graph (one compile, many kernels). */
function buildCases(cases: readonly Case[]) {
  const b = new GraphBuilder();
  const feeds: Tensor[] = [];
  const outs: Value[] = [];
  cases.forEach(([op, inputs, attrs], c) => {
    const vs = inputs.map((x, k) => { feeds.push(draw(x)); return b.input(`${op}${c}_in${k}`, x.shape, x.dtype ?? "f32"); });
    outs.push(...b.op(op, vs, attrs ?? {}, `${op}${c}`));
  });
  return { b, g: b.build(outs), feeds };
}

async function expectMatchesInterpreter(g: ReturnType<typeof buildCases>["g"], feeds: readonly Tensor[], tol = 1e-4): Promise<void> {
  const compiled = await compileGraphWebGpu(g);
  const got = await compiled.run(feeds);
  const ref = interpret(g, feeds.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs;
  const bad: string[] = [];
  g.outputs.forEach((v, k) => {
    expect(got[k]!.shape, v.name).toEqual(ref[k]!.shape);
    const a = got[k]!.toArray(), r = ref[k]!.data;
    const i = a.findIndex((x, j) => !(Math.abs(x - r[j]!) <= tol * (1 + Math.abs(r[j]!))));
    if (i >= 0) bad.push(`${v.name}[${i}]: webgpu ${a[i]}, interpreter ${r[i]}`);
  });
  expect(bad).toEqual([]);
}

describe("webgpu graphs equal the interpreter", () => {
  test.each([["elementwise", ELEMENTWISE], ["reductions and shape ops", REDUCE_AND_SHAPE], ["nn", NN]] as const)("%s", async (_, cases) => {
    const { g, feeds } = buildCases(cases);
    await expectMatchesInterpreter(g, feeds);
  }, 120_000);

  test("fused groups", async () => {
    const b = new GraphBuilder();
    const feeds: Tensor[] = [];
    const input = (name: string, x: In) => { feeds.push(draw(x)); return b.input(name, x.shape, x.dtype ?? "f32"); };
    // dense + bias + relu (matmul anchor with an elementwise epilogue), edges not multiples of the tile
    const x = input("x", u(37, 50)), w = input("w", u(50, 29)), bias = input("bias", u(29));
    const dense = b.op1("relu", [b.op1("add", [b.op1("matmul", [x, w]), bias])]);
    // conv + bias + relu
    const img = input("img", u(1, 3, 11, 11)), k = input("k", u(4, 3, 3, 3)), cb = input("cb", u(4, 1, 1));
    const conv = b.op1("relu", [b.op1("add", [b.op1("conv2d", [img, k], { pads: [1, 1, 1, 1] }), cb])]);
    // softmax of an elementwise producer; a reduction with an epilogue
    const s = input("s", u(6, 33));
    const soft = b.op1("softmax", [b.op1("mul", [s, s])], { axis: -1 });
    const red = b.op1("exp", [b.op1("sum", [b.op1("tanh", [s])], { axes: [1] })]);
    await expectMatchesInterpreter(b.build([dense, conv, soft, red]), feeds);
  }, 120_000);

  test("outputs of one kernel that read each other are refused by the GPU schedule (the graph compiler then splits the group)", () => {
    const x = placeholder([6, 33], "f32", "x");
    const r = reduceAxis(33, "r");
    const total = compute([6], (i) => sum(r, x.at(i, r.var)), "total");
    const share = compute([6, 33], (i, j) => div(x.at(i, j), total.at(i)), "share");
    expect(() => gpuDefaultSchedule(createSchedule([total, share]), [total, share], null)).toThrow(/output share reads output total/);
  });

  test("f64 has no WGSL type: a BuildError names the kernel", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [4], "f64");
    await expect(compileGraphWebGpu(b.build([b.op1("exp", [x])]))).rejects.toThrow(/f64 has no WGSL type/);
  });
});

