import { describe, expect, test } from "vitest";
import { LatheError, ShapeError } from "../../../core/errors.ts";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import type { Arr } from "./testing.ts";
import { Rng, at, expectClose, inferTypes, rand, runOp } from "./testing.ts";

/** x [N, C, H, W] → [N, C/b, H, W, b] by the definition: out[n, cb, h, w, ci] = x[n, cb·b + ci, h, w]. */
function refToBlocked(x: Arr, b: number): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const shape = [N, C / b, H, W, b];
  const out = new Float64Array(x.data.length);
  for (let n = 0; n < N; n++) for (let cb = 0; cb < C / b; cb++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let ci = 0; ci < b; ci++) {
    out[at(shape, n, cb, h, w, ci)] = x.data[at([N, C, H, W], n, cb * b + ci, h, w)]!;
  }
  return { data: out, shape };
}

/** w [K, C, R, S] → [K/bo, C/bi, R, S, bi, bo]. */
function refWeightBlocked(w: Arr, bi: number, bo: number): Arr {
  const [K, C, R, S] = w.shape as [number, number, number, number];
  const shape = [K / bo, C / bi, R, S, bi, bo];
  const out = new Float64Array(w.data.length);
  for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
    out[at(shape, Math.floor(k / bo), Math.floor(c / bi), r, s, c % bi, k % bo)] = w.data[at([K, C, R, S], k, c, r, s)]!;
  }
  return { data: out, shape };
}

interface Cfg { strides: [number, number]; pads: [number, number, number, number]; dilations: [number, number] }

/** Direct NCHW convolution: each output sums the in-bounds window taps. */
function refConv2d(x: Arr, w: Arr, c: Cfg): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [K, , R, S] = w.shape as [number, number, number, number];
  const [sh, sw] = c.strides, [dh, dw] = c.dilations, [pt, pl, pb, pr] = c.pads;
  const OH = Math.floor((H + pt + pb - dh * (R - 1) - 1) / sh) + 1, OW = Math.floor((W + pl + pr - dw * (S - 1) - 1) / sw) + 1;
  const out = new Float64Array(N * K * OH * OW);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    let s = 0;
    for (let ci = 0; ci < C; ci++) for (let ky = 0; ky < R; ky++) for (let kx = 0; kx < S; kx++) {
      const iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      s += x.data[at([N, C, H, W], n, ci, iy, ix)]! * w.data[at([K, C, R, S], k, ci, ky, kx)]!;
    }
    out[at([N, K, OH, OW], n, k, oy, ox)] = s;
  }
  return { data: out, shape: [N, K, OH, OW] };
}

describe("layout_transform", () => {
  const rng = new Rng(21);

  test("NCHW → NCHW4c is the blocked reordering, and back is the identity", () => {
    const x = rand(rng, [2, 8, 3, 2]);
    const blocked = runOp("layout_transform", [x], { src: "NCHW", dst: "NCHW4c" })[0]!;
    expectClose(blocked, refToBlocked(x, 4), 0);
    expectClose(runOp("layout_transform", [blocked], { src: "NCHW4c", dst: "NCHW" })[0]!, x, 0);
  });

  test("re-blocking NCHW4c → NCHW2c equals blocking the NCHW tensor by 2", () => {
    const x = rand(rng, [1, 8, 2, 3]);
    const by4 = refToBlocked(x, 4);
    expectClose(runOp("layout_transform", [by4], { src: "NCHW4c", dst: "NCHW2c" })[0]!, refToBlocked(x, 2), 0);
  });

  test("OIHW → OIHW2i4o is the conv2d_nchwc weight layout", () => {
    const w = rand(rng, [8, 4, 3, 2]);
    expectClose(runOp("layout_transform", [w], { src: "OIHW", dst: "OIHW2i4o" })[0]!, refWeightBlocked(w, 2, 4), 0);
  });

  test("a pure permutation of axes (NCHW → NHWC) is a transpose", () => {
    const x = rand(rng, [2, 3, 2, 4]);
    const got = runOp("layout_transform", [x], { src: "NCHW", dst: "NHWC" })[0]!;
    expect(got.shape).toEqual([2, 2, 4, 3]);
    for (let n = 0; n < 2; n++) for (let c = 0; c < 3; c++) for (let h = 0; h < 2; h++) for (let w = 0; w < 4; w++) {
      expect(got.data[at([2, 2, 4, 3], n, h, w, c)]).toBe(x.data[at([2, 3, 2, 4], n, c, h, w)]);
    }
  });

  test("a symbolic batch passes through; blocked axes must be static", () => {
    expect(inferTypes("layout_transform", [{ shape: ["n", 16, "h", 8] }], { src: "NCHW", dst: "NCHW8c" })[0]!.shape).toEqual(["n", 2, "h", 8, 8]);
    expect(inferTypes("layout_transform", [{ shape: ["n", 2, 4, 4, 8] }], { src: "NCHW8c", dst: "NCHW" })[0]!.shape).toEqual(["n", 16, 4, 4]);
    expect(() => inferTypes("layout_transform", [{ shape: [1, "c", 4, 4] }], { src: "NCHW", dst: "NCHW8c" })).toThrow(/axis C \(c\) must be static/);
  });

  test("channels not divisible by the block are a ShapeError naming the node", () => {
    const bad = () => inferTypes("layout_transform", [{ shape: [1, 12, 4, 4] }], { src: "NCHW", dst: "NCHW8c" }, "to_blocked");
    expect(bad).toThrow(ShapeError);
    expect(bad).toThrow(/node to_blocked \(layout_transform\): C \(12\) is not divisible by the block 8 \(NCHW → NCHW8c\); inputs f64\[1, 12, 4, 4\]/);
  });

  test("ill-formed layouts and inputs that do not fit them are errors", () => {
    const t = (shape: number[], src: string, dst: string) => () => inferTypes("layout_transform", [{ shape }], { src, dst }, "t");
    expect(t([1, 8, 2, 2], "NCHW", "NCHW8x")).toThrow(/layout "NCHW8x" blocks axis x but has no axis X/);
    expect(t([1, 8, 2, 2], "NCHW", "NCH")).toThrow(/layouts NCHW and NCH do not have the same axes/);
    expect(t([1, 8, 2, 2], "NCHW", "nchw")).toThrow(/layout "nchw" is not a layout/);
    expect(t([1, 8, 2, 2], "NCHW", "NCCHW")).toThrow(/repeats axis C/);
    expect(t([1, 8, 2, 2], "NCHW", "NCHW4c2c")).toThrow(/blocks axis C twice/);
    expect(t([1, 8, 2, 2], "NCHW", "NCHW0c")).toThrow(LatheError);
    expect(t([1, 8, 2], "NCHW", "NCHW4c")).toThrow(/x has rank 3, but layout NCHW has 4 axes/);
    expect(t([1, 2, 2, 2, 8], "NCHW4c", "NCHW")).toThrow(/axis 4 \(4c of NCHW4c\) must be 4, got 8/);
  });

  test("fusion kind is injective", async () => {
    const { ops } = await import("../registry.ts");
    expect(ops["layout_transform"]!.fusion).toBe("injective");
    expect(ops["conv2d_nchwc"]!.fusion).toBe("outEWiseFusable");
  });

  test("VJP is the inverse transform (to blocked, back, and a re-blocking)", () => {
    checkVjp("layout_transform", [{ shape: [1, 4, 2, 3] }], { src: "NCHW", dst: "NCHW2c" });
    checkVjp("layout_transform", [{ shape: [2, 1, 2, 2, 4] }], { src: "NCHW4c", dst: "NCHW" });
    checkVjp("layout_transform", [{ shape: [4, 2, 1, 2, 2, 2] }], { src: "OIHW2i2o", dst: "OIHW4o" });
  });
});

describe("conv2d_nchwc", () => {
  const rng = new Rng(22);
  const cfg = (c: Partial<Cfg> = {}): Cfg => ({ strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], ...c });
  const cases: [string, number[], number[], number, number, Cfg][] = [
    ["3×3, pads 1, block 4", [2, 8, 5, 5], [8, 8, 3, 3], 4, 4, cfg({ pads: [1, 1, 1, 1] })],
    ["stride 2, dilation 2, asymmetric pads, block_in 2, block_out 4", [1, 4, 7, 6], [8, 4, 3, 2], 2, 4, cfg({ strides: [2, 2], dilations: [2, 2], pads: [2, 0, 1, 2] })],
    ["1×1, block_in 4, block_out 2", [1, 8, 3, 3], [6, 8, 1, 1], 4, 2, cfg()],
  ];
  for (const [name, xs, ws, bi, bo, c] of cases) {
    test(`${name}: the blocked result of the direct NCHW loop`, () => {
      const x = rand(rng, xs), w = rand(rng, ws);
      const got = runOp("conv2d_nchwc", [refToBlocked(x, bi), refWeightBlocked(w, bi, bo)], { ...c, block_in: bi, block_out: bo })[0]!;
      expectClose(got, refToBlocked(refConv2d(x, w, c), bo));
    });
  }

  test("shapes: symbolic batch passes through; block and channel mismatches name the node", () => {
    const attrs = { pads: [1, 1, 1, 1], block_in: 8, block_out: 8 };
    expect(inferTypes("conv2d_nchwc", [{ shape: ["n", 2, 8, 8, 8] }, { shape: [4, 2, 3, 3, 8, 8] }], { ...attrs, strides: [2, 2] })[0]!.shape).toEqual(["n", 4, 4, 4, 8]);
    const t = (x: number[], w: number[], a: Record<string, number | number[]> = attrs) => () => inferTypes("conv2d_nchwc", [{ shape: x }, { shape: w }], a, "cb");
    expect(t([1, 2, 8, 8, 4], [4, 2, 3, 3, 8, 8])).toThrow(/node cb \(conv2d_nchwc\): x's inner block is 4, block_in is 8/);
    expect(t([1, 2, 8, 8, 8], [4, 2, 3, 3, 8, 4])).toThrow(/w's blocks are 8×4, block_in × block_out is 8×8/);
    expect(t([1, 3, 8, 8, 8], [4, 2, 3, 3, 8, 8])).toThrow(/x has 3 channel blocks, w expects 2/);
    expect(t([1, 2, 8, 8], [4, 2, 3, 3, 8, 8])).toThrow(ShapeError);
    expect(t([1, 2, 8, 8, 8], [4, 2, 3, 3, 8, 8], { ...attrs, groups: 2 })).toThrow(/only groups = 1 is blocked/);
  });

  test("VJP (through conv2d's gradient ops in NCHW)", () =>
    checkVjp("conv2d_nchwc", [{ shape: [1, 2, 4, 4, 2] }, { shape: [2, 2, 3, 3, 2, 1] }], { strides: [2, 2], pads: [1, 1, 1, 1], block_in: 2, block_out: 1 }));
  test("VJP (dilation 2, block_out 2)", () =>
    checkVjp("conv2d_nchwc", [{ shape: [1, 1, 5, 4, 2] }, { shape: [1, 1, 2, 2, 2, 2] }], { dilations: [2, 2], pads: [0, 1, 1, 0], block_in: 2, block_out: 2 }));
});
