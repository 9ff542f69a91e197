/**
 * The int8 ops against hand-written loops: quantize/requantize rounding and saturation,
 * qmatmul/qconv2d as int32 sums, block packing round trips, and the packed products equal to
 * packing the unpacked ones (all through the reference interpreter).
 */
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import type { Attrs } from "../../compiler/graph/graph.ts";
import type { DType } from "../../core/dtype.ts";
import { Rng } from "../../runtime/random.ts";
import { LatheError } from "../../core/errors.ts";

interface Arr { data: ArrayLike<number>; shape: number[]; dtype: DType }
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const randInt8 = (rng: Rng, shape: number[]): Arr => ({ shape, dtype: "i8", data: Int8Array.from({ length: size(shape) }, () => rng.int(-128, 128)) });

function run(op: string, ins: readonly Arr[], attrs: Attrs = {}): { data: Float64Array; shape: number[] } {
  const b = new GraphBuilder();
  const xs = ins.map((x, k) => b.input(`x${k}`, x.shape, x.dtype));
  return interpret(b.build([b.op1(op, xs, attrs)]), ins).outputs[0]!;
}

function naiveConv(x: Arr, w: Arr, stride: [number, number], pads: number[]): number[] {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [F, , KH, KW] = w.shape as [number, number, number, number];
  const OH = Math.floor((H + pads[0]! + pads[2]! - KH) / stride[0]) + 1, OW = Math.floor((W + pads[1]! + pads[3]! - KW) / stride[1]) + 1;
  const out: number[] = [];
  for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) for (let y = 0; y < OH; y++) for (let z = 0; z < OW; z++) {
    let s = 0;
    for (let c = 0; c < C; c++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
      const h = y * stride[0] + i - pads[0]!, v = z * stride[1] + j - pads[1]!;
      if (h < 0 || h >= H || v < 0 || v >= W) continue;
      s += x.data[((n * C + c) * H + h) * W + v]! * w.data[((f * C + c) * KH + i) * KW + j]!;
    }
    out.push(s);
  }
  return out;
}

describe("quantize / dequantize / requantize", () => {
  test("quantize rounds half up and saturates", () => {
    const x: Arr = { shape: [8], dtype: "f32", data: [0.24, 0.25, -0.25, -0.26, 100, -100, 1.5, -31.9] };
    const out = run("quantize", [x], { exp: -2 }); // scale 1/4
    const want = Array.from(x.data).map((v) => Math.max(-128, Math.min(127, Math.floor(v * 4 + 0.5))));
    expect([...out.data]).toEqual(want);
    expect([...out.data]).toEqual([1, 1, -1, -1, 127, -128, 6, -128]);
  });
  test("requantize is (x + 2^(s−1)) >> s, clipped, with optional relu", () => {
    const vals = [0, 1, 2, 3, -1, -2, -3, 255, 256, -256, -257, 100000, -100000, 2 ** 31 - 1];
    const x: Arr = { shape: [vals.length], dtype: "i32", data: vals };
    for (const shift of [0, 1, 2, 9]) {
      for (const relu of [false, true]) {
        const out = run("requantize", [x], { shift, relu });
        const want = vals.map((v) => {
          // 64-bit exact floor of (v + bias) / 2^s on the int32-wrapped sum.
          const biased = shift ? ((v + 2 ** (shift - 1)) | 0) : v;
          const q = Math.floor(biased / 2 ** shift);
          return Math.max(relu ? 0 : -128, Math.min(127, q));
        });
        expect([...out.data], `shift ${shift} relu ${relu}`).toEqual(want);
      }
    }
  });
  test("dequantize scales by 2^exp", () => {
    const out = run("dequantize", [{ shape: [3], dtype: "i8", data: [-128, 3, 127] }], { exp: -3 });
    expect([...out.data]).toEqual([-16, 0.375, 15.875]);
  });
  test("bad shifts and dtypes are LatheErrors naming the node", () => {
    expect(() => run("requantize", [{ shape: [1], dtype: "i32", data: [1] }], { shift: 40 })).toThrow(/requantize.*shift/);
    expect(() => run("qmatmul", [{ shape: [2, 3], dtype: "f32", data: new Float32Array(6) }, { shape: [2, 3], dtype: "i8", data: new Int8Array(6) }])).toThrow(LatheError);
  });
});

describe("int8 products", () => {
  test("qmatmul equals int32 sums of x[M,K]·w[O,K]", () => {
    const rng = new Rng(1);
    const x = randInt8(rng, [5, 37]), w = randInt8(rng, [7, 37]);
    const out = run("qmatmul", [x, w]);
    const want: number[] = [];
    for (let i = 0; i < 5; i++) for (let o = 0; o < 7; o++) {
      let s = 0;
      for (let k = 0; k < 37; k++) s += x.data[i * 37 + k]! * w.data[o * 37 + k]!;
      want.push(s);
    }
    expect(out.shape).toEqual([5, 7]);
    expect([...out.data]).toEqual(want);
  });
  test.each([
    ["3x3 s1 p1", [3, 3], [1, 1], [1, 1, 1, 1]],
    ["3x3 s2 p1", [3, 3], [2, 2], [1, 1, 1, 1]],
    ["1x1 s2 p0", [1, 1], [2, 2], [0, 0, 0, 0]],
    ["3x3 s1 asymmetric pads", [3, 3], [1, 1], [0, 1, 2, 0]],
  ] as const)("qconv2d %s", (_n, k, stride, pads) => {
    const rng = new Rng(2);
    const x = randInt8(rng, [2, 5, 7, 6]), w = randInt8(rng, [4, 5, k[0], k[1]]);
    const out = run("qconv2d", [x, w], { strides: [...stride], pads: [...pads] });
    expect([...out.data]).toEqual(naiveConv(x, w, [stride[0], stride[1]], [...pads]));
  });
});

describe("block layouts", () => {
  test("block_pack places x[a, b, …] at [a/ba, b/bb, …, a%ba, b%bb] with zero fill; unpack inverts", () => {
    const rng = new Rng(3);
    const x = randInt8(rng, [3, 20, 2, 3]);
    const p = run("block_pack", [x], { blocks: [2, 16] });
    expect(p.shape).toEqual([2, 2, 2, 3, 2, 16]);
    for (let a = 0; a < 4; a++) for (let b = 0; b < 32; b++) for (let h = 0; h < 2; h++) for (let v = 0; v < 3; v++) {
      const got = p.data[((((Math.floor(a / 2) * 2 + Math.floor(b / 16)) * 2 + h) * 3 + v) * 2 + (a % 2)) * 16 + (b % 16)]!;
      expect(got).toBe(a < 3 && b < 20 ? x.data[((a * 20 + b) * 2 + h) * 3 + v]! : 0);
    }
    const u = run("block_unpack", [{ ...p, dtype: "i8" }], { shape: [3, 20] });
    expect(u.shape).toEqual([3, 20, 2, 3]);
    expect([...u.data]).toEqual(Array.from(x.data));
  });

  test.each([[1, 16, 16], [2, 8, 16]] as const)("qconv2d_packed (b=%i, bi=%i, bo=%i) equals pack(qconv2d)", (bb, bi, bo) => {
    const rng = new Rng(4);
    const x = randInt8(rng, [2, 20, 5, 5]), w = randInt8(rng, [18, 20, 3, 3]);
    const attrs = { strides: [2, 1], pads: [1, 0, 1, 2] };
    const g = new GraphBuilder();
    const X = g.input("x", x.shape, "i8"), Wt = g.input("w", w.shape, "i8");
    const ref = g.op1("qconv2d", [X, Wt], attrs);
    const px = g.op1("block_pack", [X], { blocks: [bb, bi] }), pw = g.op1("block_pack", [Wt], { blocks: [bo, bi] });
    const packed = g.op1("qconv2d_packed", [px, pw], attrs);
    const back = g.op1("block_unpack", [packed], { shape: [2, 18] });
    const [want, got] = interpret(g.build([ref, back]), [x, w]).outputs;
    expect(got!.shape).toEqual(want!.shape);
    expect([...got!.data]).toEqual([...want!.data]);
  });

  test("qmatmul_packed equals pack(qmatmul)", () => {
    const rng = new Rng(5);
    const x = randInt8(rng, [3, 40]), w = randInt8(rng, [20, 40]);
    const g = new GraphBuilder();
    const X = g.input("x", x.shape, "i8"), Wt = g.input("w", w.shape, "i8");
    const ref = g.op1("qmatmul", [X, Wt]);
    const packed = g.op1("qmatmul_packed", [g.op1("block_pack", [X], { blocks: [1, 16] }), g.op1("block_pack", [Wt], { blocks: [16, 16] })]);
    const back = g.op1("block_unpack", [packed], { shape: [3, 20] });
    const [want, got] = interpret(g.build([ref, back]), [x, w]).outputs;
    expect([...got!.data]).toEqual([...want!.data]);
  });
});
