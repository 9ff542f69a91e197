/**
 * Every registered op, compiled through the whole-graph path (fusion, default schedules,
 * the C++ entry point), equals the reference interpreter on random inputs — broadcasting
 * and odd shapes included. All cases go into a few graphs so g++ runs a few times, not
 * once per op. A new op without a case here fails the coverage test.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { compileGraph } from "../../compiler/targets/cpu/graph.ts";
import type { Attrs, Value } from "../../compiler/graph/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { ops } from "../../compiler/ops/registry.ts";
import type { DType } from "../../core/dtype.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";

/**
 * How an input is drawn: uniform in [-1, 1), positive in [0.5, 2), ≥ 1 in [1, 3), wide in
 * [-8, 8), ints in [0, n), signed ints in [-n, n), nonzero ints in [-n, n], bools, or floats
 * with NaN and ±∞ mixed in.
 */
type Gen = "u" | "pos" | "ge1" | "wide" | `int${number}` | `sint${number}` | `nz${number}` | "bool" | "special";
interface In { readonly shape: number[]; readonly gen?: Gen; readonly dtype?: DType }
type Case = readonly [op: string, inputs: readonly In[], attrs?: Attrs];

const u = (...shape: number[]): In => ({ shape });
const pos = (...shape: number[]): In => ({ shape, gen: "pos" });
const idx = (n: number, ...shape: number[]): In => ({ shape, gen: `int${n}`, dtype: "i32" });
const sidx = (n: number, ...shape: number[]): In => ({ shape, gen: `sint${n}`, dtype: "i32" });
const nz = (n: number, ...shape: number[]): In => ({ shape, gen: `nz${n}`, dtype: "i32" });
const bools = (...shape: number[]): In => ({ shape, gen: "bool", dtype: "bool" });
const gen = (g: Gen, ...shape: number[]): In => ({ shape, gen: g });
const i8 = (...shape: number[]): In => ({ shape, gen: "sint128", dtype: "i8" });
const i32w = (...shape: number[]): In => ({ shape, gen: "sint100000", dtype: "i32" });

const unary = ["neg", "exp", "tanh", "sigmoid", "relu", "leaky_relu", "erf", "gelu", "softplus", "abs", "sign"].map((op): Case => [op, [u(3, 37)]]);
const binary = ["add", "sub", "mul", "maximum", "minimum"].map((op): Case => [op, [u(3, 1, 19), u(5, 19)]]);
const compare = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"].map((op): Case => [op, [u(4, 9), u(9)]]);

const floatMath = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "atanh"].map((op): Case => [op, [u(3, 37)]]);
const logic = ["logical_and", "logical_or", "logical_xor"].map((op): Case => [op, [bools(4, 9), bools(9)]]);
const bitwise = ["bitwise_and", "bitwise_or", "bitwise_xor"].map((op): Case => [op, [sidx(100, 4, 9), sidx(100, 9)]]);
const scatterData = (op: string, reduction: string): Case =>
  [op, op === "scatter_elements" ? [u(5, 6), sidx(5, 3, 4), u(3, 4)] : [u(6, 5), idx(6, 4, 1), u(4, 5)], { reduction }];

/** The primitives the ONNX importer decomposes into (second chunk). */
const ONNX_PRIMS: readonly Case[] = [
  ...floatMath, ...logic, ...bitwise,
  ["acosh", [gen("ge1", 3, 37)]], ["reciprocal", [pos(3, 37)]],
  ["floor", [gen("wide", 3, 37)]], ["ceil", [gen("wide", 3, 37)]], ["round", [gen("wide", 3, 37)]],
  ["isnan", [gen("special", 4, 9)]], ["isinf", [gen("special", 4, 9)]], ["isinf", [gen("special", 4, 9)], { detect_positive: 0 }],
  ["logical_not", [bools(3, 17)]], ["bitwise_not", [sidx(100, 3, 17)]],
  ["bitshift", [{ shape: [4, 9], gen: "int256", dtype: "u8" }, { shape: [9], gen: "int10", dtype: "u8" }], { direction: "left" }],
  ["bitshift", [sidx(1000, 4, 9), idx(34, 9)], { direction: "right" }],
  ["mod", [u(3, 1, 19), u(5, 19)]], ["mod", [u(3, 1, 19), u(5, 19)], { fmod: 1 }],
  ["mod", [sidx(50, 4, 9), nz(7, 9)]], ["mod", [sidx(50, 4, 9), nz(7, 9)], { fmod: 1 }],
  ["prod", [u(3, 5, 7)], { axes: [1] }], ["prod", [sidx(3, 4, 5)], { axes: [0], keepdims: true }],
  ["argmin", [u(6, 23)], { axis: 1 }], ["argmin", [sidx(3, 6, 23)], { axis: 0, select_last_index: 1 }],
  ["argmax", [sidx(3, 6, 23)], { axis: 1, select_last_index: 1 }],
  ["cumsum", [u(3, 5, 7)], { axis: 1 }], ["cumsum", [sidx(9, 4, 6)], { axis: -1, exclusive: 1, reverse: 1 }],
  ["trilu", [u(2, 5, 7)], { upper: 0, k: 1 }], ["trilu", [u(6, 4)], { upper: 1, k: -1 }],
  ["gather_elements", [u(4, 7), sidx(4, 6, 5)], { axis: 0 }], ["gather_elements", [u(4, 7), sidx(7, 3, 9)], { axis: -1 }],
  scatterData("scatter_elements", "none"), scatterData("scatter_elements", "add"), scatterData("scatter_elements", "mul"),
  scatterData("scatter_elements", "max"), ["scatter_elements", [u(5, 6), sidx(6, 5, 2), u(5, 2)], { axis: 1, reduction: "min" }],
  ["gather_nd", [u(4, 5, 6), { shape: [3, 2], gen: "int4", dtype: "i64" }]],
  ["gather_nd", [u(2, 5, 6), sidx(5, 2, 3, 1)], { batch_dims: 1 }],
  scatterData("scatter_nd", "none"), scatterData("scatter_nd", "add"), scatterData("scatter_nd", "mul"),
  ["scatter_nd", [u(2, 5, 3), idx(5, 2, 4, 1), u(2, 4, 3)], { reduction: "add", batch_dims: 1 }],
  ["scatter_nd", [u(3, 4), idx(3, 2), u()], { reduction: "none" }],
  ["segment_sum", [u(9, 4), idx(5, 9)], { num_segments: 5 }], ["segment_sum", [u(7), sidx(4, 7), u(4)]],
];

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
  ["stop_gradient", [u(3, 7)]],
  ["augment_shift", [u(3, 1, 7, 6), idx(5)], { max_shift: 2, seed: 9 }], ["augment_rotate", [u(3, 1, 7, 6), idx(5)], { max_degrees: 30, seed: 9 }],
  ["augment_noise", [u(3, 1, 7, 6), idx(5)], { std: 0.2, seed: 9 }],
  ["lstm_cell", [u(2, 3), u(2, 5), u(2, 5), u(20, 3), u(20, 5), u(20)]],
  ["layout_transform", [u(1, 16, 3, 5)], { src: "NCHW", dst: "NCHW8c" }],
  ["conv2d_nchwc", [u(1, 2, 6, 6, 8), u(2, 2, 3, 3, 8, 8)], { pads: [1, 1, 1, 1], block_in: 8, block_out: 8 }],
  ["depthwise_conv2d_nchwc", [u(1, 2, 7, 6, 8), u(2, 1, 3, 3, 1, 8)], { pads: [1, 1, 1, 1], strides: [2, 1], block: 8 }],
  ["im2col", [u(2, 3, 7, 6)], { kernel: [3, 2], strides: [2, 1], dilations: [1, 2] }],
  ["patches", [u(2, 3, 7, 6)], { size: [3, 2], strides: [2, 3] }], ["patches_grad", [u(2, 3, 2, 3, 3, 2), u(2, 3, 7, 6)], { size: [3, 2], strides: [2, 3] }],
  // The accelerator's int8 ops (compiler/ops/quant).
  ["quantize", [gen("wide", 3, 17)], { exp: -3 }], ["dequantize", [i8(3, 17)], { exp: -2 }],
  ["requantize", [i32w(4, 9)], { shift: 5 }], ["requantize", [i32w(4, 9)], { shift: 3, relu: true }],
  ["qmatmul", [i8(5, 19), i8(7, 19)]], ["qconv2d", [i8(1, 5, 7, 6), i8(4, 5, 3, 3)], { strides: [2, 1], pads: [1, 1, 0, 1] }],
  ["block_pack", [i8(5, 19, 3)], { blocks: [2, 8] }], ["block_unpack", [i8(3, 3, 3, 2, 8)], { shape: [5, 19] }],
  ["qconv2d_packed", [i8(1, 2, 5, 5, 1, 4), i8(2, 2, 3, 3, 4, 4)], { pads: [1, 1, 1, 1] }],
  ["qmatmul_packed", [i8(2, 3, 2, 4), i8(2, 3, 4, 4)]],
  ["cholesky", [pos(3, 1, 1)]], ["triangular_solve", [pos(2, 3, 3), u(2, 3, 4)], { transpose: 1 }],
  ...ONNX_PRIMS,
];

const rng = new Rng(2024);
function draw(x: In): Tensor {
  const n = x.shape.reduce((a, b) => a * b, 1);
  const g = x.gen ?? "u";
  const SPECIAL = [NaN, Infinity, -Infinity];
  const one = (): number => {
    switch (g) {
      case "u": return rng.uniform(-1, 1);
      case "pos": return rng.uniform(0.5, 2);
      case "ge1": return rng.uniform(1, 3);
      case "wide": return rng.uniform(-8, 8);
      case "bool": return rng.int(0, 2);
      case "special": return rng.float() < 0.5 ? SPECIAL[rng.int(0, 3)]! : rng.uniform(-1, 1);
    }
    if (g.startsWith("sint")) { const m = Number(g.slice(4)); return rng.int(-m, m); }
    if (g.startsWith("nz")) { const m = Number(g.slice(2)); return (rng.float() < 0.5 ? -1 : 1) * rng.int(1, m + 1); }
    return rng.int(0, Number(g.slice(3)));
  };
  const v = Array.from({ length: n }, one);
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

/** The ONNX backend node tests of the primitives (compiler/ops/basic/fixtures/onnx-node-tests.py), compiled. */
interface NodeTest { name: string; op: string; attrs: Attrs; inputs: { shape: number[]; data: (number | string)[]; dtype: DType }[]; want: { shape: number[]; data: (number | string)[] } }
const ALL_NODE_TESTS = (JSON.parse(readFileSync(new URL("../../compiler/ops/basic/fixtures/onnx-node-tests.json", import.meta.url), "utf8")) as { cases: NodeTest[] }).cases;
/** One test per op, input dtypes and attributes kind (every one runs through the interpreter in onnx-prims.test.ts): fewer kernels for g++. */
const NODE_TESTS = [...new Map(ALL_NODE_TESTS.map((c) => [`${c.op} ${c.inputs.map((x) => x.dtype).join(",")} ${Object.keys(c.attrs).sort().join(",")} ${JSON.stringify(c.attrs["reduction"] ?? c.attrs["select_last_index"] ?? c.attrs["fmod"] ?? c.attrs["upper"] ?? c.attrs["direction"] ?? "")}`, c])).values()];
const decode = (xs: readonly (number | string)[]): number[] => xs.map((v) => (typeof v === "number" ? v : v === "nan" ? NaN : v === "inf" ? Infinity : -Infinity));

describe("every op compiled equals the interpreter", () => {
  test("the cases cover every registered op", () => {
    const covered = new Set(CASES.map((c) => c[0]));
    expect(Object.keys(ops).filter((op) => !covered.has(op))).toEqual([]);
  });

  const chunks = [CASES.slice(0, 40), CASES.slice(40, CASES.length - ONNX_PRIMS.length), ONNX_PRIMS];
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

  test("the ONNX backend node tests of the primitives, compiled, give ONNX's expected outputs", async () => {
    const b = new GraphBuilder();
    const feeds: Tensor[] = [];
    const outs: Value[] = [];
    for (const c of NODE_TESTS) {
      const vs = c.inputs.map((x, k) => { feeds.push(Tensor.fromArray(decode(x.data), x.shape, x.dtype)); return b.input(`${c.name}_in${k}`, x.shape, x.dtype); });
      outs.push(b.op1(c.op, vs, c.attrs, c.name));
    }
    const got = (await compileGraph(b.build(outs))).run(feeds);
    NODE_TESTS.forEach((c, k) => {
      expect(got[k]!.shape, c.name).toEqual(c.want.shape);
      const want = decode(c.want.data), tol = c.inputs[0]!.dtype === "f32" ? 1e-6 : 1e-12;
      got[k]!.toArray().forEach((x, i) => {
        const w = want[i]!;
        const ok = Number.isNaN(w) ? Number.isNaN(x) : !Number.isFinite(w) ? x === w : Math.abs(x - w) <= tol * (1 + Math.abs(w));
        if (!ok) throw new Error(`${c.name}[${i}]: compiled ${x}, ONNX ${w}`);
      });
    });
  }, 240_000);
});
