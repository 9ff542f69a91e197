import { describe, expect, test } from "vitest";
import { ShapeError } from "../../../core/errors.ts";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import type { Arr } from "./testing.ts";
import { Rng, at, expectClose, forwardAndGrads, inferTypes, rand, runOp, size } from "./testing.ts";

interface Cfg { strides: [number, number]; pads: [number, number, number, number]; dilations: [number, number]; groups: number }
const cfg = (c: Partial<Cfg> = {}): Cfg => ({ strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1, ...c });

/** Direct convolution: each output sums the in-bounds window taps (padding contributes nothing). */
function refConv2d(x: Arr, w: Arr, c: Cfg): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [F, Cg, KH, KW] = w.shape as [number, number, number, number];
  const [sh, sw] = c.strides, [dh, dw] = c.dilations, [pt, pl, pb, pr] = c.pads;
  const OH = Math.floor((H + pt + pb - dh * (KH - 1) - 1) / sh) + 1, OW = Math.floor((W + pl + pr - dw * (KW - 1) - 1) / sw) + 1;
  const Fg = F / c.groups;
  expect(Cg * c.groups).toBe(C);
  const out = new Float64Array(N * F * OH * OW);
  for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    const g = Math.floor(f / Fg);
    let s = 0;
    for (let ci = 0; ci < Cg; ci++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const iy = oy * sh - pt + ky * dh, ix = ox * sw - pl + kx * dw;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      s += x.data[at([N, C, H, W], n, g * Cg + ci, iy, ix)]! * w.data[at([F, Cg, KH, KW], f, ci, ky, kx)]!;
    }
    out[at([N, F, OH, OW], n, f, oy, ox)] = s;
  }
  return { data: out, shape: [N, F, OH, OW] };
}

/** Transposed convolution as a scatter: every input element adds its weighted kernel into the output. */
function refConvTranspose2d(x: Arr, w: Arr, c: Cfg, outputPadding: [number, number]): Arr {
  const [N, Cin, H, W] = x.shape as [number, number, number, number];
  const [, Cog, KH, KW] = w.shape as [number, number, number, number];
  const [sh, sw] = c.strides, [dh, dw] = c.dilations, [pt, pl, pb, pr] = c.pads;
  const OH = (H - 1) * sh - pt - pb + dh * (KH - 1) + outputPadding[0] + 1;
  const OW = (W - 1) * sw - pl - pr + dw * (KW - 1) + outputPadding[1] + 1;
  const Co = Cog * c.groups, Cig = Cin / c.groups;
  const out = new Float64Array(N * Co * OH * OW);
  for (let n = 0; n < N; n++) for (let ci = 0; ci < Cin; ci++) for (let iy = 0; iy < H; iy++) for (let ix = 0; ix < W; ix++) {
    const g = Math.floor(ci / Cig);
    for (let co = 0; co < Cog; co++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const oy = iy * sh - pt + ky * dh, ox = ix * sw - pl + kx * dw;
      if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
      out[at([N, Co, OH, OW], n, g * Cog + co, oy, ox)]! += x.data[at([N, Cin, H, W], n, ci, iy, ix)]! * w.data[at([Cin, Cog, KH, KW], ci, co, ky, kx)]!;
    }
  }
  return { data: out, shape: [N, Co, OH, OW] };
}

/** The weight gradient: correlate the output gradient with the input over batch and positions. */
function refGradWeight2d(x: Arr, dy: Arr, c: Cfg, kernel: [number, number]): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [, F, OH, OW] = dy.shape as [number, number, number, number];
  const [KH, KW] = kernel, Cg = C / c.groups, Fg = F / c.groups;
  const out = new Float64Array(F * Cg * KH * KW);
  for (let f = 0; f < F; f++) for (let ci = 0; ci < Cg; ci++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      const iy = oy * c.strides[0] - c.pads[0] + ky * c.dilations[0], ix = ox * c.strides[1] - c.pads[1] + kx * c.dilations[1];
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      s += dy.data[at([N, F, OH, OW], n, f, oy, ox)]! * x.data[at([N, C, H, W], n, Math.floor(f / Fg) * Cg + ci, iy, ix)]!;
    }
    out[at([F, Cg, KH, KW], f, ci, ky, kx)] = s;
  }
  return { data: out, shape: [F, Cg, KH, KW] };
}

/** 1-D arrays as 2-D ones of height 1 (for the 1-D references). */
const as2d = (a: Arr): Arr => ({ data: a.data, shape: [a.shape[0]!, a.shape[1]!, 1, a.shape[2]!] });
const as1d = (a: Arr): Arr => ({ data: a.data, shape: [a.shape[0]!, a.shape[1]!, a.shape[3]!] });

describe("conv2d", () => {
  const rng = new Rng(11);
  const cases: [string, number[], number[], Cfg][] = [
    ["stride 2, pads 1", [2, 3, 7, 6], [4, 3, 3, 3], cfg({ strides: [2, 2], pads: [1, 1, 1, 1] })],
    ["dilation 2, asymmetric pads", [1, 2, 8, 7], [3, 2, 3, 2], cfg({ dilations: [2, 2], pads: [2, 0, 1, 2] })],
    ["groups 2, stride 2, dilation 2, pads", [2, 4, 9, 8], [6, 2, 3, 3], cfg({ groups: 2, strides: [2, 2], dilations: [2, 2], pads: [1, 2, 2, 1] })],
    ["depthwise (groups = C)", [1, 3, 6, 6], [3, 1, 3, 3], cfg({ groups: 3, pads: [1, 1, 1, 1] })],
    ["depthwise with multiplier 2", [1, 2, 5, 5], [4, 1, 2, 2], cfg({ groups: 2, strides: [2, 1] })],
  ];
  for (const [name, xs, ws, c] of cases) {
    test(`${name} equals the direct loop`, () => {
      const x = rand(rng, xs), w = rand(rng, ws);
      expectClose(runOp("conv2d", [x, w], { ...c })[0]!, refConv2d(x, w, c));
    });
  }
  test("symbolic batch passes through; shapes keep a preserved symbolic size", () => {
    expect(inferTypes("conv2d", [{ shape: ["n", 3, 8, 8] }, { shape: [4, 3, 3, 3] }], { strides: [2, 2], pads: [1, 1, 1, 1] })[0]!.shape).toEqual(["n", 4, 4, 4]);
    expect(inferTypes("conv2d", [{ shape: [1, 3, "h", "w"] }, { shape: [4, 3, 3, 3] }], { pads: [1, 1, 1, 1] })[0]!.shape).toEqual([1, 4, "h", "w"]);
    expect(() => inferTypes("conv2d", [{ shape: [1, 3, "h", 8] }, { shape: [4, 3, 3, 3] }], { strides: [2, 2] })).toThrow(/symbolic spatial dimension h/);
  });
  test("channel mismatch names the node and the shapes", () => {
    expect(() => inferTypes("conv2d", [{ shape: [1, 3, 8, 8] }, { shape: [4, 2, 3, 3] }], {}, "stem"))
      .toThrow(/node stem \(conv2d\): input channels 3 \/ groups 1 do not match the weight's 2 input channels; inputs f64\[1, 3, 8, 8\], f64\[4, 2, 3, 3\]/);
    expect(() => inferTypes("conv2d", [{ shape: [1, 4, 8, 8] }, { shape: [3, 2, 3, 3] }], { groups: 2 })).toThrow(/output channels \(3\) is not divisible by groups 2/);
    expect(() => inferTypes("conv2d", [{ shape: [1, 3, 2, 2] }, { shape: [4, 3, 3, 3] }])).toThrow(ShapeError);
    expect(() => inferTypes("conv2d", [{ shape: [1, 3, 8, 8] }, { shape: [4, 3, 3, 3] }], { strides: [0, 1] })).toThrow(/strides/);
  });
  test("VJP (stride 2, pads 1)", () => checkVjp("conv2d", [{ shape: [1, 2, 5, 5] }, { shape: [2, 2, 3, 3] }], { strides: [2, 2], pads: [1, 1, 1, 1] }));
  test("VJP (groups 2, dilation 2, asymmetric pads)", () =>
    checkVjp("conv2d", [{ shape: [1, 2, 5, 5] }, { shape: [2, 1, 2, 2] }], { groups: 2, dilations: [2, 2], pads: [1, 0, 0, 1] }));
});

describe("conv1d", () => {
  const rng = new Rng(12);
  test("stride 2, dilation 2, groups 2, pads equals the direct loop", () => {
    const x = rand(rng, [2, 4, 11]), w = rand(rng, [2, 2, 3]);
    const got = runOp("conv1d", [x, w], { strides: [2], dilations: [2], groups: 2, pads: [2, 1] })[0]!;
    expectClose(got, as1d(refConv2d(as2d(x), as2d(w), cfg({ strides: [1, 2], dilations: [1, 2], groups: 2, pads: [0, 2, 0, 1] }))));
  });
  test("VJP", () => checkVjp("conv1d", [{ shape: [2, 2, 6] }, { shape: [2, 2, 3] }], { strides: [2], pads: [1, 1] }));
});

describe("conv_transpose", () => {
  const rng = new Rng(13);
  const cases: [string, number[], number[], Cfg, [number, number]][] = [
    ["stride 1", [1, 2, 4, 4], [2, 3, 3, 3], cfg(), [0, 0]],
    ["stride 2, pads 1, output_padding 1", [2, 3, 4, 3], [3, 2, 3, 3], cfg({ strides: [2, 2], pads: [1, 1, 1, 1] }), [1, 0]],
    ["stride 2, dilation 2, groups 2, asymmetric pads", [1, 4, 3, 4], [4, 2, 2, 3], cfg({ strides: [2, 3], dilations: [2, 1], groups: 2, pads: [0, 1, 2, 0] }), [1, 2]],
    ["pads larger than the dilated kernel (crops)", [1, 1, 5, 5], [1, 1, 2, 2], cfg({ pads: [2, 2, 1, 1] }), [0, 0]],
  ];
  for (const [name, xs, ws, c, op] of cases) {
    test(`${name} equals the scatter loop`, () => {
      const x = rand(rng, xs), w = rand(rng, ws);
      expectClose(runOp("conv_transpose2d", [x, w], { ...c, output_padding: op })[0]!, refConvTranspose2d(x, w, c, op));
    });
  }
  test("conv_transpose1d equals the scatter loop", () => {
    const x = rand(rng, [1, 2, 5]), w = rand(rng, [2, 3, 3]);
    const got = runOp("conv_transpose1d", [x, w], { strides: [2], pads: [1, 0], output_padding: [1] })[0]!;
    expectClose(got, as1d(refConvTranspose2d(as2d(x), as2d(w), cfg({ strides: [1, 2], pads: [0, 1, 0, 0] }), [0, 1])));
  });
  test("output_padding must be below the stride", () => {
    expect(() => inferTypes("conv_transpose2d", [{ shape: [1, 2, 4, 4] }, { shape: [2, 3, 3, 3] }], { strides: [2, 2], output_padding: [2, 0] }, "up"))
      .toThrow(/node up \(conv_transpose2d\): output_padding \[2, 0\] must be smaller than strides \[2, 2\]/);
  });
  test("VJP (stride 2, output_padding 1)", () =>
    checkVjp("conv_transpose2d", [{ shape: [1, 2, 3, 3] }, { shape: [2, 2, 3, 3] }], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }));
  test("VJP (groups 2, dilation 2)", () =>
    checkVjp("conv_transpose2d", [{ shape: [1, 2, 3, 3] }, { shape: [2, 1, 2, 2] }], { groups: 2, dilations: [2, 2], pads: [0, 1, 1, 0] }));
  test("VJP (1-D)", () => checkVjp("conv_transpose1d", [{ shape: [1, 2, 4] }, { shape: [2, 2, 3] }], { strides: [2], pads: [1, 0], output_padding: [1] }));
});

describe("conv_grad_weight", () => {
  const rng = new Rng(14);
  test("equals the correlation loop (groups 2, stride 2, dilation 2)", () => {
    const c = cfg({ groups: 2, strides: [2, 2], dilations: [2, 1], pads: [1, 0, 2, 1] });
    const x = rand(rng, [2, 4, 7, 6]);
    const oh = Math.floor((7 + 3 - 2 * 2 - 1) / 2) + 1, ow = Math.floor((6 + 1 - 2 - 1) / 2) + 1;
    const dy = rand(rng, [2, 6, oh, ow]);
    const got = runOp("conv2d_grad_weight", [x, dy], { ...c, kernel: [3, 3] })[0]!;
    expectClose(got, refGradWeight2d(x, dy, c, [3, 3]));
    expect(got.shape).toEqual([6, 2, 3, 3]);
  });
  test("dy of the wrong size names the node", () => {
    expect(() => inferTypes("conv2d_grad_weight", [{ shape: [1, 2, 5, 5] }, { shape: [1, 3, 4, 5] }], { kernel: [3, 3] }, "gw"))
      .toThrow(/node gw \(conv2d_grad_weight\): dy's spatial size 4 along axis 0 is not the convolution's output size 3/);
  });
  test("VJP (its adjoints are conv_transpose2d and conv2d)", () =>
    checkVjp("conv2d_grad_weight", [{ shape: [1, 2, 5, 5] }, { shape: [1, 2, 3, 3] }], { strides: [2, 2], pads: [1, 1, 1, 1], kernel: [3, 3] }));
  test("VJP (1-D, groups 2)", () =>
    checkVjp("conv1d_grad_weight", [{ shape: [2, 2, 5] }, { shape: [2, 2, 4] }], { groups: 2, dilations: [2], kernel: [2], pads: [0, 1] }));
});

describe("symbolic batch", () => {
  // One graph serves every batch size: a graph with batch "n" must give what the static one gives.
  const rng = new Rng(15);
  const cases: [string, number[][], Record<string, number[]>, number[]][] = [
    ["conv2d", [[2, 2, 5, 5], [3, 2, 3, 3]], { strides: [2, 2], pads: [1, 1, 1, 1] }, [2, 3, 3, 3]],
    ["conv_transpose2d", [[2, 2, 3, 3], [2, 3, 3, 3]], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, [2, 3, 6, 6]],
    ["conv1d", [[2, 2, 6], [2, 2, 3]], { pads: [1, 1] }, [2, 2, 6]],
  ];
  for (const [op, shapes, attrs, outShape] of cases) {
    test(`${op}: forward and VJP with batch "n" equal the static graph's`, () => {
      const values = shapes.map((s) => rand(rng, s)), cot = [rand(rng, outShape)];
      const fixed = forwardAndGrads(op, shapes, attrs, values, cot);
      const sym = forwardAndGrads(op, shapes.map((s, k) => (k === 0 ? ["n", ...s.slice(1)] : s)), attrs, values, cot);
      [...fixed.outputs, ...fixed.grads].forEach((v, k) => expectClose([...sym.outputs, ...sym.grads][k]!, v!));
    });
  }
});

test("reference sanity: the 2-D loop of a 1×1 identity kernel copies the input", () => {
  const x = rand(new Rng(1), [1, 2, 3, 3]);
  const w = { data: [1, 0, 0, 1], shape: [2, 2, 1, 1] };
  expectClose(refConv2d(x, w, cfg()), x);
  expect(size(x.shape)).toBe(18);
});
