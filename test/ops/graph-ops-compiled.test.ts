/**
 * Every registered op, compiled through the whole-graph path (fusion, default schedules,
 * the C++ entry point), equals the reference interpreter on random inputs — broadcasting
 * and odd shapes included. All cases go into a few graphs so g++ runs a few times, not
 * once per op. A new op without a case here fails the coverage test.
 */
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { compileGraph } from "../../compiler/graph/compile.ts";
import type { Attrs, Value } from "../../compiler/graph/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { ops } from "../../compiler/ops/registry.ts";
import type { DType } from "../../compiler/te/dtype.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";

/** How an input is drawn: uniform in [-1, 1), positive in [0.5, 2), ints in [0, n), bools. */
type Gen = "u" | "pos" | `int${number}` | "bool";
interface In { readonly shape: number[]; readonly gen?: Gen; readonly dtype?: DType }
type Case = readonly [op: string, inputs: readonly In[], attrs?: Attrs];

const u = (...shape: number[]): In => ({ shape });
const pos = (...shape: number[]): In => ({ shape, gen: "pos" });
const idx = (n: number, ...shape: number[]): In => ({ shape, gen: `int${n}`, dtype: "i32" });

const unary = ["neg", "exp", "tanh", "sigmoid", "relu", "leaky_relu", "erf", "gelu", "softplus", "abs", "sign"].map((op): Case => [op, [u(3, 37)]]);
const binary = ["add", "sub", "mul", "maximum", "minimum"].map((op): Case => [op, [u(3, 1, 19), u(5, 19)]]);
const compare = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"].map((op): Case => [op, [u(4, 9), u(9)]]);

const CASES: readonly Case[] = [
  ...unary, ...binary, ...compare,
  ["log", [pos(3, 37)]], ["sqrt", [pos(3, 37)]], ["rsqrt", [pos(3, 37)]],
  ["div", [u(3, 1, 19), pos(5, 19)]], ["pow", [pos(4, 11), u(11)]],
  ["where", [{ shape: [4, 9], gen: "bool", dtype: "bool" }, u(4, 9), u(9)]],
  ["cast", [u(6, 7)], { dtype: "i32" }],
  ["sum", [u(3, 5, 17)], { axes: [1, 2] }], ["mean", [u(3, 5, 17)], { axes: [-1], keepdims: true }],
  ["max", [u(3, 5, 17)], { axes: [0] }], ["min", [u(3, 5, 17)], { axes: [2] }],
  ["logsumexp", [u(6, 23)], { axes: [1] }], ["argmax", [u(6, 23)], { axis: 1 }],
  ["reshape", [u(4, 6, 5)], { shape: [0, -1] }], ["transpose", [u(3, 5, 7)], { perm: [2, 0, 1] }],
  ["squeeze", [u(3, 1, 7)], { axes: [1] }], ["unsqueeze", [u(3, 7)], { axes: [0, 2] }],
  ["expand", [u(3, 1)], { shape: [2, 3, 9] }], ["concat", [u(2, 3), u(2, 5), u(2, 1)], { axis: 1 }],
  ["split", [u(4, 10)], { axis: 1, sizes: [3, 7] }],
  ["slice", [u(7, 9)], { starts: [1, 8], ends: [6, 0], axes: [0, 1], steps: [2, -3] }],
  ["slice_grad", [u(3, 3), u(7, 9)], { starts: [1, 8], ends: [6, 0], axes: [0, 1], steps: [2, -3] }],
  ["pad", [u(2, 3, 5)], { pads: [0, 1, 2, 0, 2, 1], value: 0.5 }],
  ["gather", [u(7, 4), idx(7, 5)], { axis: 0 }], ["gather_grad", [u(5, 4), idx(7, 5), u(7, 4)], { axis: 0 }],
  ["one_hot", [idx(6, 9)], { depth: 6 }],
  ["sum_like", [u(4, 3, 5), u(3, 1)]], ["broadcast_like", [u(3, 1), u(4, 3, 5)]], ["reshape_like", [u(12), u(3, 4)]],
  ["zeros_like", [u(3, 4)]], ["ones_like", [u(3, 4)]],
  ["matmul", [u(2, 13, 17), u(17, 35)]], ["batch_matmul", [u(2, 9, 6), u(2, 6, 33)]],
  ["conv1d", [u(2, 4, 17), u(6, 2, 3)], { groups: 2, strides: [2], pads: [1, 2], dilations: [2] }],
  ["conv2d", [u(1, 4, 9, 8), u(6, 2, 3, 3)], { groups: 2, strides: [2, 2], dilations: [2, 1], pads: [1, 2, 2, 0] }],
  ["conv_transpose1d", [u(1, 4, 6), u(4, 3, 3)], { strides: [2], pads: [1, 1], output_padding: [1] }],
  ["conv_transpose2d", [u(1, 4, 4, 3), u(4, 2, 3, 2)], { groups: 2, strides: [2, 3], pads: [1, 0, 2, 1], output_padding: [1, 2] }],
  ["conv1d_grad_weight", [u(2, 3, 9), u(2, 4, 9)], { kernel: [3], pads: [1, 1] }],
  ["conv2d_grad_weight", [u(1, 3, 7, 6), u(1, 4, 7, 6)], { kernel: [3, 3], pads: [1, 1, 1, 1] }],
  ["max_pool2d", [u(2, 3, 7, 9)], { kernel: [3, 2], strides: [2, 2], pads: [1, 1, 1, 0] }],
  ["avg_pool2d", [u(2, 3, 5, 7)], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
  ["global_avg_pool2d", [u(2, 3, 5, 7)]], ["global_max_pool2d", [u(2, 3, 5, 7)]],
  ["max_pool2d_grad", [u(2, 3, 3, 4), u(2, 3, 5, 7)], { kernel: [3, 2], strides: [2, 2], pads: [1, 1, 1, 0] }],
  ["max_pool2d_gather", [u(2, 3, 5, 7), u(2, 3, 5, 7)], { kernel: [3, 2], strides: [2, 2], pads: [1, 1, 1, 0] }],
  ["avg_pool2d_grad", [u(2, 3, 3, 4), u(2, 3, 5, 7)], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
  ["global_avg_pool2d_grad", [u(2, 3, 1, 1), u(2, 3, 5, 7)]], ["global_max_pool2d_grad", [u(2, 3, 1, 1), u(2, 3, 5, 7)]],
  ["global_max_pool2d_gather", [u(2, 3, 5, 7), u(2, 3, 5, 7)]],
  ["batch_norm", [u(2, 3, 4, 5), u(3), u(3), u(3), pos(3)]], ["batch_norm_train", [u(4, 3, 5, 5), u(3), u(3)]],
  ["layer_norm", [u(4, 7, 9), u(9), u(9)], { axis: -1 }],
  ["softmax", [u(5, 19)], { axis: -1 }], ["log_softmax", [u(5, 3, 7)], { axis: 1 }],
  ["dropout", [u(4, 37), idx(5)], { rate: 0.3, seed: 9 }],
  ["lstm_cell", [u(2, 3), u(2, 5), u(2, 5), u(20, 3), u(20, 5), u(20)]],
  ["layout_transform", [u(1, 16, 3, 5)], { src: "NCHW", dst: "NCHW8c" }],
  ["conv2d_nchwc", [u(1, 2, 6, 6, 8), u(2, 2, 3, 3, 8, 8)], { pads: [1, 1, 1, 1], block_in: 8, block_out: 8 }],
];

const rng = new Rng(2024);
function draw(x: In): Tensor {
  const n = x.shape.reduce((a, b) => a * b, 1);
  const g = x.gen ?? "u";
  const v = Array.from({ length: n }, () =>
    g === "u" ? rng.uniform(-1, 1) : g === "pos" ? rng.uniform(0.5, 2) : g === "bool" ? rng.int(0, 2) : rng.int(0, Number(g.slice(3))));
  return Tensor.fromArray(v, x.shape, x.dtype ?? "f32");
}

function buildCases(cases: readonly Case[]) {
  const b = new GraphBuilder();
  const feeds: Tensor[] = [];
  const outs: Value[] = [];
  for (const [op, inputs, attrs] of cases) {
    const vs = inputs.map((x, k) => { feeds.push(draw(x)); return b.input(`${op}_in${k}`, x.shape, x.dtype ?? "f32"); });
    outs.push(...b.op(op, vs, attrs ?? {}, op));
  }
  return { g: b.build(outs), feeds };
}

describe("every op compiled equals the interpreter", () => {
  test("the cases cover every registered op", () => {
    const covered = new Set(CASES.map((c) => c[0]));
    expect(Object.keys(ops).filter((op) => !covered.has(op))).toEqual([]);
  });

  const chunks = [CASES.slice(0, 40), CASES.slice(40)];
  test.each(chunks.map((c, i) => [i, c] as const))("chunk %i", async (_, cases) => {
    const { g, feeds } = buildCases(cases);
    const compiled = await compileGraph(g);
    const got = compiled.run(feeds);
    const ref = interpret(g, feeds.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs;
    g.outputs.forEach((v, k) => {
      const a = got[k]!.toArray(), r = ref[k]!.data;
      expect(got[k]!.shape, v.name).toEqual(ref[k]!.shape);
      a.forEach((x, i) => {
        if (!(Math.abs(x - r[i]!) <= 1e-4 * (1 + Math.abs(r[i]!)))) throw new Error(`${v.name}[${i}]: compiled ${x}, interpreter ${r[i]}`);
      });
    });
  }, 240_000);
});
