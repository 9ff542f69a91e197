import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { compile } from "../../driver/compile.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import type { Arr } from "./testing.ts";
import { Rng, expectClose, forwardAndGrads, inferTypes, rand, runOp, size } from "./testing.ts";

/** The hash as documented in dropout.ts, written again with plain JS numbers (exact below 2^53). */
function refHash(seed: number, step: number, index: number): number {
  const M = 2 ** 26;
  const mod = (v: number) => v - M * Math.floor(v / M);
  const R = (x: number, a: number) => { const t = x * (x + a); return mod(t + Math.floor(t / M)); };
  const A = [0x2545f49, 0x3c6ef37, 0x1b87359, 0x27d4eb3, 0x165667b, 0x3a5b3c5];
  const key = R(R(mod(R(mod(seed), A[0]!) + mod(step)), A[1]!), A[2]!);
  let h = mod(mod(index) + key);
  h = mod(R(h, A[3]!) + Math.floor(index / M) * 0x2f1a3b);
  return R(R(h, A[4]!), A[5]!);
}

/** Images [N, C, H, W] (C = 1 when rank 3) as plain loops over a reader. */
function dims(shape: readonly number[]) {
  const r = shape.length, H = shape[r - 2]!, W = shape[r - 1]!, N = shape[0]!;
  return { N, C: size(shape) / (N * H * W), H, W };
}

function shiftRef(x: Arr, s: number, seed: number, step: number, transpose = false): Arr {
  const { N, C, H, W } = dims(x.shape);
  const out = new Float64Array(size(x.shape));
  for (let n = 0; n < N; n++) {
    const M = 2 ** 26;
    let dy = Math.floor((refHash(seed, step, 2 * n) * (2 * s + 1)) / M) - s, dx = Math.floor((refHash(seed, step, 2 * n + 1) * (2 * s + 1)) / M) - s;
    if (transpose) { dy = -dy; dx = -dx; }
    for (let c = 0; c < C; c++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
      const si = i - dy, sj = j - dx;
      if (si >= 0 && si < H && sj >= 0 && sj < W) out[((n * C + c) * H + i) * W + j] = x.data[((n * C + c) * H + si) * W + sj]!;
    }
  }
  return { shape: [...x.shape], data: out };
}

/** Bilinear rotation by a per-image angle, written as interpolation from the four pixels around the sample point. */
function rotateRef(x: Arr, maxDeg: number, seed: number, step: number): Arr {
  const { N, C, H, W } = dims(x.shape);
  const out = new Float64Array(size(x.shape));
  const cy = (H - 1) / 2, cx = (W - 1) / 2;
  const px = (n: number, c: number, i: number, j: number) => (i >= 0 && i < H && j >= 0 && j < W ? x.data[((n * C + c) * H + i) * W + j]! : 0);
  for (let n = 0; n < N; n++) {
    const th = ((2 * refHash(seed, step, n)) / 2 ** 26 - 1) * (maxDeg * Math.PI) / 180;
    const co = Math.cos(th), si = Math.sin(th);
    for (let c = 0; c < C; c++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
      const sy = cy + co * (i - cy) + si * (j - cx), sx = cx - si * (i - cy) + co * (j - cx);
      const i0 = Math.floor(sy), j0 = Math.floor(sx), fy = sy - i0, fx = sx - j0;
      out[((n * C + c) * H + i) * W + j] = (1 - fy) * ((1 - fx) * px(n, c, i0, j0) + fx * px(n, c, i0, j0 + 1))
        + fy * ((1 - fx) * px(n, c, i0 + 1, j0) + fx * px(n, c, i0 + 1, j0 + 1));
    }
  }
  return { shape: [...x.shape], data: out };
}

function noiseRef(x: Arr, std: number, kind: "gaussian" | "uniform", seed: number, step: number): Arr {
  const M = 2 ** 26;
  return {
    shape: [...x.shape],
    data: Float64Array.from(x.data, (v, e) => {
      if (kind === "uniform") return v + (2 * (refHash(seed, step, e) / M) - 1) * Math.sqrt(3) * std;
      const u1 = refHash(seed, step, 2 * e) / M + 0.5 / M, u2 = refHash(seed, step, 2 * e + 1) / M;
      return v + Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2) * std;
    }),
  };
}

const step = (s: number): Arr => ({ data: [s], shape: [], dtype: "i32" });
const run = (op: string, x: Arr, s: number, attrs: Record<string, number | string | boolean>) => runOp(op, [x, step(s)], attrs)[0]!;
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };

describe("augment_shift", () => {
  test("equals the reference translation with zero fill (rank 4 and rank 3, several seeds and steps)", () => {
    const rng = new Rng(1);
    for (const [shape, s, seed, st] of [[[3, 2, 5, 6], 2, 7, 0], [[4, 7, 7], 3, -11, 12345], [[2, 1, 4, 4], 0, 3, 5]] as const) {
      const x = rand(rng, shape);
      expectClose(run("augment_shift", x, st, { max_shift: s, seed }), shiftRef(x, s, seed, st), 0);
      expectClose(run("augment_shift", x, st, { max_shift: s, seed, transpose: true }), shiftRef(x, s, seed, st, true), 0);
    }
  });

  test("offsets cover [−s, s] uniformly over many images", () => {
    const y = run("augment_shift", { shape: [2000, 1, 1], data: new Float64Array(2000).fill(1) }, 4, { max_shift: 1, seed: 5 });
    // A 1×1 image survives only a zero shift on both axes: probability 1/9.
    const kept = y.data.reduce((a, v) => a + v, 0) / 2000;
    expect(Math.abs(kept - 1 / 9)).toBeLessThan(3 * Math.sqrt((1 / 9) * (8 / 9) / 2000));
  });

  test("is its transpose's adjoint, and its VJP matches finite differences", () => {
    const rng = new Rng(2);
    const x = rand(rng, [3, 2, 5, 5]), g = rand(rng, [3, 2, 5, 5]);
    const attrs = { max_shift: 2, seed: 9 };
    expect(dot(run("augment_shift", x, 3, attrs).data, g.data)).toBeCloseTo(dot(x.data, run("augment_shift", g, 3, { ...attrs, transpose: true }).data), 12);
    checkVjp("augment_shift", [{ shape: [2, 1, 4, 5] }, { shape: [], dtype: "i32", data: [7] }], attrs);
    const { grads } = forwardAndGrads("augment_shift", [["n", 1, 4, 5], []], attrs, [rand(rng, [2, 1, 4, 5]), step(7)], [rand(rng, [2, 1, 4, 5])]);
    expect(grads[1]).toBeNull();
  });
});

describe("augment_rotate", () => {
  test("equals bilinear rotation about the centre by the hashed angle (f64, odd and even sizes)", () => {
    const rng = new Rng(3);
    for (const [shape, deg, seed, st] of [[[3, 2, 5, 6], 25, 4, 0], [[4, 7, 7], 90, 1, 99], [[2, 1, 6, 4], 180, -3, 8]] as const) {
      const x = rand(rng, shape);
      expectClose(run("augment_rotate", x, st, { max_degrees: deg, seed }), rotateRef(x, deg, seed, st), 1e-12);
    }
  });

  test("max_degrees 0 is the identity", () => {
    const x = rand(new Rng(4), [2, 3, 5, 4]);
    expectClose(run("augment_rotate", x, 6, { max_degrees: 0, seed: 2 }), x, 1e-15);
  });

  test("the transpose form is the adjoint (a windowed gather), so the VJP matches finite differences", () => {
    const rng = new Rng(5);
    for (const [shape, deg] of [[[3, 1, 6, 6], 30], [[2, 5, 7], 180]] as const) {
      const x = rand(rng, shape), g = rand(rng, shape);
      const attrs = { max_degrees: deg, seed: 21 };
      const lhs = dot(run("augment_rotate", x, 2, attrs).data, g.data);
      expect(lhs).toBeCloseTo(dot(x.data, run("augment_rotate", g, 2, { ...attrs, transpose: true }).data), 11);
    }
    checkVjp("augment_rotate", [{ shape: [2, 1, 4, 5] }, { shape: [], dtype: "i32", data: [3] }], { max_degrees: 40, seed: 8 });
  });
});

describe("augment_noise", () => {
  test("equals the reference draws; Gaussian and uniform have the asked standard deviation", () => {
    const rng = new Rng(6);
    const x = rand(rng, [3, 2, 4, 5]);
    expectClose(run("augment_noise", x, 4, { std: 0.3, seed: 17 }), noiseRef(x, 0.3, "gaussian", 17, 4), 1e-12);
    expectClose(run("augment_noise", x, 4, { std: 0.3, kind: "uniform", seed: 17 }), noiseRef(x, 0.3, "uniform", 17, 4), 1e-12);
    const zeros = { shape: [20, 1, 25, 40], data: new Float64Array(20_000) };
    for (const kind of ["gaussian", "uniform"] as const) {
      const e = run("augment_noise", zeros, 1, { std: 0.5, kind, seed: 3 }).data;
      const mean = e.reduce((a, v) => a + v, 0) / e.length;
      const sd = Math.sqrt(e.reduce((a, v) => a + (v - mean) ** 2, 0) / e.length);
      expect(Math.abs(mean)).toBeLessThan(4 * 0.5 / Math.sqrt(e.length));
      expect(Math.abs(sd - 0.5)).toBeLessThan(0.02);
      if (kind === "uniform") expect(Math.max(...e.map(Math.abs))).toBeLessThanOrEqual(0.5 * Math.sqrt(3));
      else expect(e.filter((v) => Math.abs(v) > 1).length / e.length).toBeCloseTo(0.0455, 2); // P(|z| > 2σ)
    }
  });

  test("the gradient with respect to the images passes through", () =>
    checkVjp("augment_noise", [{ shape: [2, 1, 3, 3] }, { shape: [], dtype: "i32", data: [1] }], { std: 0.2, seed: 4 }));
});

describe("every augmentation", () => {
  const cases = [
    ["augment_shift", { max_shift: 2, seed: 31 }],
    ["augment_rotate", { max_degrees: 20, seed: 31 }],
    ["augment_noise", { std: 0.1, seed: 31 }],
  ] as const;

  test("is reproducible for the same seed and step, and differs across steps and seeds", () => {
    const x = rand(new Rng(7), [8, 1, 6, 6]);
    for (const [op, attrs] of cases) {
      const a = run(op, x, 10, attrs);
      expect([...run(op, x, 10, attrs).data]).toEqual([...a.data]);
      const differs = (y: Arr) => Array.from(y.data).some((v, i) => Math.abs(v - a.data[i]!) > 1e-9);
      expect(differs(run(op, x, 11, attrs)), `${op}: another step`).toBe(true);
      expect(differs(run(op, x, 10, { ...attrs, seed: 32 })), `${op}: another seed`).toBe(true);
    }
  });

  test("compiled for cpu equals the interpreter (f32, a symbolic batch, fused with neighbours, transposes too)", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", ["n", 1, 7, 6], "f32"), s = b.input("step", [], "i32");
    const outs = [
      ...cases.map(([op, attrs]) => b.op1("relu", [b.op1(op, [b.op1("tanh", [x]), s], attrs)])),
      b.op1("augment_shift", [x, s], { max_shift: 3, seed: 2, transpose: true }),
      b.op1("augment_rotate", [x, s], { max_degrees: 45, seed: 2, transpose: true }),
      b.op1("augment_noise", [x, s], { std: 0.3, kind: "uniform", seed: 2 }),
    ];
    const g = b.build(outs);
    const mod = await compile(g, "cpu");
    const rng = new Rng(8);
    for (const [n, st] of [[3, 0], [5, 123457]] as const) {
      const xv = rand(rng, [n, 1, 7, 6]);
      const want = interpret(g, [xv, step(st)]).outputs;
      const got = mod.run([Tensor.fromArray(xv.data, [n, 1, 7, 6], "f32"), Tensor.fromArray([st], [], "i32")]);
      want.forEach((w, k) => expectClose({ shape: [...got[k]!.shape], data: Float64Array.from(got[k]!.toArray()) }, w, 1e-5));
    }
  });

  test("bad inputs and attributes name the node", () => {
    const img = { shape: [2, 4, 4] }, st = { shape: [], dtype: "i32" as const };
    expect(() => inferTypes("augment_shift", [{ shape: [2, 16] }, st], { max_shift: 1, seed: 0 }, "aug"))
      .toThrow(/node aug \(augment_shift\): x must be images \[N, …, H, W\] \(rank ≥ 3\)/);
    expect(() => inferTypes("augment_rotate", [img, { shape: [1], dtype: "i32" }], { max_degrees: 10, seed: 0 }, "aug"))
      .toThrow(/node aug \(augment_rotate\): step must be an i32 scalar/);
    expect(() => inferTypes("augment_noise", [{ ...img, dtype: "i32" }, st], { std: 1, seed: 0 }, "aug")).toThrow(/node aug \(augment_noise\): input 0 must be a float/);
    expect(() => inferTypes("augment_shift", [img, st], { max_shift: -1, seed: 0 }, "aug")).toThrow(/max_shift must be in \[0, 2\^20\], got -1/);
    expect(() => inferTypes("augment_rotate", [img, st], { max_degrees: 200, seed: 0 }, "aug")).toThrow(/max_degrees must be in \[0, 180\], got 200/);
    expect(() => inferTypes("augment_noise", [img, st], { std: -0.1, seed: 0 }, "aug")).toThrow(/std must be finite and ≥ 0/);
    expect(() => inferTypes("augment_noise", [img, st], { std: 0.1, kind: "salt", seed: 0 }, "aug")).toThrow(/kind must be "gaussian" or "uniform", got "salt"/);
  });
});
