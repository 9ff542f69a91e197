import { describe, expect, test } from "vitest";
import { ShapeError } from "../../../core/errors.ts";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import type { Arr } from "./testing.ts";
import { Rng, at, expectClose, inferTypes, rand, runOp } from "./testing.ts";

/** x [N, C, H, W] → [N, C/b, H, W, b]: out[n, cb, h, w, ci] = x[n, cb·b + ci, h, w]. */
function toBlocked(x: Arr, b: number): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const shape = [N, C / b, H, W, b];
  const out = new Float64Array(x.data.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    out[at(shape, n, Math.floor(c / b), h, w, c % b)] = x.data[at([N, C, H, W], n, c, h, w)]!;
  }
  return { data: out, shape };
}

/** A depthwise weight [C, 1, R, S] → [C/b, 1, R, S, 1, b]. */
function weightBlocked(w: Arr, b: number): Arr {
  const [C, , R, S] = w.shape as [number, number, number, number];
  const shape = [C / b, 1, R, S, 1, b];
  const out = new Float64Array(w.data.length);
  for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) for (let s = 0; s < S; s++) {
    out[at(shape, Math.floor(c / b), 0, r, s, 0, c % b)] = w.data[at([C, 1, R, S], c, 0, r, s)]!;
  }
  return { data: out, shape };
}

interface Cfg { strides: [number, number]; pads: [number, number, number, number]; dilations: [number, number] }

/** The depthwise convolution by its definition: each channel's in-bounds window taps times its own kernel. */
function refDepthwise(x: Arr, w: Arr, c: Cfg): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [, , R, S] = w.shape as [number, number, number, number];
  const [sh, sw] = c.strides, [dh, dw] = c.dilations, [pt, pl, pb, pr] = c.pads;
  const OH = Math.floor((H + pt + pb - dh * (R - 1) - 1) / sh) + 1, OW = Math.floor((W + pl + pr - dw * (S - 1) - 1) / sw) + 1;
  const out = new Float64Array(N * C * OH * OW);
  for (let n = 0; n < N; n++) for (let ch = 0; ch < C; ch++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    let s = 0;
    for (let ky = 0; ky < R; ky++) for (let kx = 0; kx < S; kx++) {
      const iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
      if (iy >= 0 && iy < H && ix >= 0 && ix < W) s += x.data[at([N, C, H, W], n, ch, iy, ix)]! * w.data[at([C, 1, R, S], ch, 0, ky, kx)]!;
    }
    out[at([N, C, OH, OW], n, ch, oy, ox)] = s;
  }
  return { data: out, shape: [N, C, OH, OW] };
}

describe("depthwise_conv2d_nchwc", () => {
  const rng = new Rng(31);
  const cfg = (c: Partial<Cfg> = {}): Cfg => ({ strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], ...c });
  const cases: [string, number[], number[], number, Cfg][] = [
    ["3×3, pads 1, stride 1, odd sizes, block 4", [2, 8, 7, 5], [8, 1, 3, 3], 4, cfg({ pads: [1, 1, 1, 1] })],
    ["3×3, pads 1, stride 2, odd sizes, block 2", [1, 6, 9, 7], [6, 1, 3, 3], 2, cfg({ strides: [2, 2], pads: [1, 1, 1, 1] })],
    ["3×2 kernel, dilation 2, asymmetric pads, strides 2×1, block 3", [1, 3, 8, 7], [3, 1, 3, 2], 3, cfg({ strides: [2, 1], dilations: [2, 2], pads: [2, 0, 1, 2] })],
    ["5×5, no padding, block 8", [1, 16, 6, 6], [16, 1, 5, 5], 8, cfg()],
  ];
  for (const [name, xs, ws, b, c] of cases) {
    test(`${name}: the blocked result of the direct depthwise loop, and of conv2d with groups = C`, () => {
      const x = rand(rng, xs), w = rand(rng, ws);
      const got = runOp("depthwise_conv2d_nchwc", [toBlocked(x, b), weightBlocked(w, b)], { ...c, block: b })[0]!;
      const want = refDepthwise(x, w, c);
      expectClose(got, toBlocked(want, b));
      // The op it replaces, through the interpreter.
      expectClose(runOp("conv2d", [x, w], { ...c, groups: xs[1]! })[0]!, want);
    });
  }

  test("the weight is OIHW1i{b}o: layout_transform of the depthwise OIHW weight", () => {
    const w = rand(rng, [8, 1, 3, 3]);
    expectClose(runOp("layout_transform", [w], { src: "OIHW", dst: "OIHW1i4o" })[0]!, weightBlocked(w, 4), 0);
  });

  test("shapes: symbolic batch passes through; block, channel and weight mismatches name the node", () => {
    const a = { pads: [1, 1, 1, 1], block: 8 };
    expect(inferTypes("depthwise_conv2d_nchwc", [{ shape: ["n", 2, 9, 9, 8] }, { shape: [2, 1, 3, 3, 1, 8] }], { ...a, strides: [2, 2] })[0]!.shape).toEqual(["n", 2, 5, 5, 8]);
    const t = (x: (number | string)[], w: number[], attrs: Record<string, number | number[]> = a) => () => inferTypes("depthwise_conv2d_nchwc", [{ shape: x }, { shape: w }], attrs, "dw");
    expect(t([1, 2, 8, 8, 4], [2, 1, 3, 3, 1, 8])).toThrow(/^node dw \(depthwise_conv2d_nchwc\): x's inner block is 4, block is 8/);
    expect(t([1, 2, 8, 8, 8], [2, 1, 3, 3, 1, 4])).toThrow(/node dw \(depthwise_conv2d_nchwc\): w's inner block is 4, block is 8/);
    expect(t([1, 2, 8, 8, 8], [2, 2, 3, 3, 1, 8])).toThrow(/one input channel per output channel/);
    expect(t([1, 3, 8, 8, 8], [2, 1, 3, 3, 1, 8])).toThrow(/x has 3 channel blocks, w has 2/);
    expect(t([1, 2, 8, 8], [2, 1, 3, 3, 1, 8])).toThrow(ShapeError);
    expect(t([1, 2, 2, 2, 8], [2, 1, 3, 3, 1, 8], { block: 8 })).toThrow(/node dw/);
    expect(t([1, 2, 8, 8, 8], [2, 1, 3, 3, 1, 8], { block: 0 })).toThrow(/node dw \(depthwise_conv2d_nchwc\): block must be an integer ≥ 1, got 0/);
  });

  test("fusion kind is outEWiseFusable (batch norm and ReLU6 fuse into it)", async () => {
    const { ops } = await import("../registry.ts");
    expect(ops["depthwise_conv2d_nchwc"]!.fusion).toBe("outEWiseFusable");
  });

  test("VJP (through conv2d's gradient ops in NCHW with groups = C): stride 2, pads 1", () =>
    checkVjp("depthwise_conv2d_nchwc", [{ shape: [1, 2, 5, 4, 2] }, { shape: [2, 1, 3, 3, 1, 2] }], { strides: [2, 2], pads: [1, 1, 1, 1], block: 2 }));
  test("VJP: dilation 2, asymmetric pads", () =>
    checkVjp("depthwise_conv2d_nchwc", [{ shape: [1, 1, 5, 5, 3] }, { shape: [1, 1, 2, 2, 1, 3] }], { dilations: [2, 2], pads: [0, 1, 1, 0], block: 3 }));
});
