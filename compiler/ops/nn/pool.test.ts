import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import type { Arr } from "./testing.ts";
import { Rng, at, expectClose, forwardAndGrads, inferTypes, rand, runOp } from "./testing.ts";

interface Win { kernel: [number, number]; strides: [number, number]; pads: [number, number, number, number] }

/** Each window's in-bounds elements (row-major within the window), for output (n, c, oy, ox). */
function windows(x: Arr, p: Win, visit: (n: number, c: number, oy: number, ox: number, taps: { flat: number; v: number }[]) => void): number[] {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [KH, KW] = p.kernel, [sh, sw] = p.strides, [pt, pl, pb, pr] = p.pads;
  const OH = Math.floor((H + pt + pb - KH) / sh) + 1, OW = Math.floor((W + pl + pr - KW) / sw) + 1;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    const taps: { flat: number; v: number }[] = [];
    for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const iy = oy * sh - pt + ky, ix = ox * sw - pl + kx;
      if (iy >= 0 && iy < H && ix >= 0 && ix < W) { const flat = at(x.shape, n, c, iy, ix); taps.push({ flat, v: x.data[flat]! }); }
    }
    visit(n, c, oy, ox, taps);
  }
  return [N, C, OH, OW];
}

function refPool(x: Arr, p: Win, kind: "max" | "avg", includePad = false): Arr {
  const vals: number[] = [];
  const shape = windows(x, p, (_n, _c, _y, _x, taps) => {
    if (kind === "max") vals.push(Math.max(...taps.map((t) => t.v)));
    else vals.push(taps.reduce((s, t) => s + t.v, 0) / (includePad ? p.kernel[0] * p.kernel[1] : taps.length));
  });
  return { data: vals, shape };
}

/** Pool gradients by scatter: max sends dy to the window's first maximum, avg spreads dy / count. */
function refPoolGrad(dy: Arr, x: Arr, p: Win, kind: "max" | "avg", includePad = false): Arr {
  const out = new Float64Array(x.data.length);
  let k = 0;
  windows(x, p, (_n, _c, _y, _x, taps) => {
    const g = dy.data[k++]!;
    if (kind === "max") {
      const m = Math.max(...taps.map((t) => t.v));
      out[taps.find((t) => t.v === m)!.flat]! += g;
    } else {
      for (const t of taps) out[t.flat]! += g / (includePad ? p.kernel[0] * p.kernel[1] : taps.length);
    }
  });
  return { data: out, shape: x.shape };
}

const win = (w: Partial<Win> & { kernel: [number, number] }): Win => ({ strides: [1, 1], pads: [0, 0, 0, 0], ...w });

describe("windowed pools", () => {
  const rng = new Rng(21);
  const cases: [string, number[], Win][] = [
    ["3×3 stride 2 pads 1", [2, 3, 7, 6], win({ kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })],
    ["2×3 stride (1, 2) asymmetric pads", [1, 2, 5, 7], win({ kernel: [2, 3], strides: [1, 2], pads: [1, 0, 0, 2] })],
    ["2×2 stride 2 no pads", [1, 2, 6, 6], win({ kernel: [2, 2], strides: [2, 2] })],
  ];
  for (const [name, shape, p] of cases) {
    test(`max_pool2d ${name} equals the loop`, () => {
      const x = rand(rng, shape);
      expectClose(runOp("max_pool2d", [x], { ...p })[0]!, refPool(x, p, "max"));
    });
    for (const includePad of [false, true]) {
      test(`avg_pool2d ${name} count_include_pad=${includePad} equals the loop`, () => {
        const x = rand(rng, shape);
        expectClose(runOp("avg_pool2d", [x], { ...p, count_include_pad: includePad })[0]!, refPool(x, p, "avg", includePad));
      });
    }
    test(`max_pool2d_grad and avg_pool2d_grad ${name} equal the scatter loops`, () => {
      const x = rand(rng, shape);
      const dy = runOp("max_pool2d", [x], { ...p })[0]!;
      const g = rand(rng, dy.shape);
      expectClose(runOp("max_pool2d_grad", [g, x], { ...p })[0]!, refPoolGrad(g, x, p, "max"));
      expectClose(runOp("avg_pool2d_grad", [g, x], { ...p })[0]!, refPoolGrad(g, x, p, "avg"));
    });
  }
  test("max_pool2d_grad on ties sends the gradient to the first maximum in row-major window order", () => {
    const x = { data: new Float64Array(16).fill(0.5), shape: [1, 1, 4, 4] };
    const p = win({ kernel: [2, 2], strides: [2, 2] });
    const got = runOp("max_pool2d_grad", [{ data: [1, 2, 3, 4], shape: [1, 1, 2, 2] }, x], { ...p })[0]!;
    expect([...got.data]).toEqual([1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0]);
    // Overlapping windows (stride 1) all pick their own top-left element.
    const over = runOp("max_pool2d_grad", [{ data: new Float64Array(9).fill(1), shape: [1, 1, 3, 3] }, x], { kernel: [2, 2] })[0]!;
    expect([...over.data]).toEqual([1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
  });
  test("bad pads and dy shapes name the node", () => {
    expect(() => inferTypes("max_pool2d", [{ shape: [1, 1, 4, 4] }], { kernel: [2, 2], pads: [2, 0, 0, 0] }, "mp"))
      .toThrow(/node mp \(max_pool2d\): pads \[2, 0, 0, 0\] must be smaller than the kernel \[2, 2\]/);
    expect(() => inferTypes("max_pool2d_grad", [{ shape: [1, 1, 3, 3] }, { shape: [1, 1, 4, 4] }], { kernel: [2, 2], strides: [2, 2] }, "mpg"))
      .toThrow(/node mpg \(max_pool2d_grad\): dy \(the pool's output gradient\) must be f64\[1, 1, 2, 2\]; inputs f64\[1, 1, 3, 3\], f64\[1, 1, 4, 4\]/);
    expect(() => inferTypes("avg_pool2d", [{ shape: [1, 4, 4] }], { kernel: [2, 2] })).toThrow(/rank 4/);
  });
  const small = [1, 2, 5, 5];
  const p = { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
  test("VJP max_pool2d", () => checkVjp("max_pool2d", [{ shape: small }], p));
  test("VJP avg_pool2d", () => checkVjp("avg_pool2d", [{ shape: small }], p));
  test("VJP avg_pool2d count_include_pad", () => checkVjp("avg_pool2d", [{ shape: small }], { ...p, count_include_pad: true }));
  test("VJP max_pool2d_grad (its adjoint in dy is max_pool2d_gather)", () => checkVjp("max_pool2d_grad", [{ shape: [1, 2, 3, 3] }, { shape: small }], p));
  test("VJP max_pool2d_gather (its adjoint in v is max_pool2d_grad)", () => checkVjp("max_pool2d_gather", [{ shape: small }, { shape: small }], p));
  test("VJP avg_pool2d_grad (its adjoint is avg_pool2d)", () => checkVjp("avg_pool2d_grad", [{ shape: [1, 2, 3, 3] }, { shape: small }], p));
});

describe("symbolic batch", () => {
  const rng = new Rng(23);
  const p = { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
  const cases: [string, Record<string, number[] | boolean>, number[]][] = [
    ["max_pool2d", p, [2, 2, 3, 3]], ["avg_pool2d", p, [2, 2, 3, 3]], ["global_max_pool2d", {}, [2, 2, 1, 1]], ["global_avg_pool2d", {}, [2, 2, 1, 1]],
  ];
  for (const [op, attrs, outShape] of cases) {
    test(`${op}: forward and VJP with batch "n" equal the static graph's`, () => {
      const x = rand(rng, [2, 2, 5, 5]), cot = [rand(rng, outShape)];
      const fixed = forwardAndGrads(op, [[2, 2, 5, 5]], attrs, [x], cot);
      const sym = forwardAndGrads(op, [["n", 2, 5, 5]], attrs, [x], cot);
      expectClose(sym.outputs[0]!, fixed.outputs[0]!);
      expectClose(sym.grads[0]!, fixed.grads[0]!);
    });
  }
});

describe("global pools", () => {
  const rng = new Rng(22);
  test("global_avg_pool2d and global_max_pool2d equal the loops", () => {
    const x = rand(rng, [2, 3, 4, 5]);
    const avg = runOp("global_avg_pool2d", [x])[0]!, mx = runOp("global_max_pool2d", [x])[0]!;
    expect(avg.shape).toEqual([2, 3, 1, 1]);
    for (let nc = 0; nc < 6; nc++) {
      const vals = Array.from(x.data).slice(nc * 20, nc * 20 + 20);
      expect(avg.data[nc]).toBeCloseTo(vals.reduce((a, b) => a + b, 0) / 20, 12);
      expect(mx.data[nc]).toBe(Math.max(...vals));
    }
  });
  test("global_max_pool2d_grad sends the gradient to the first maximum", () => {
    const x = { data: [0, 3, 1, 3, 2, 2], shape: [1, 1, 2, 3] };
    expect([...runOp("global_max_pool2d_grad", [{ data: [5], shape: [1, 1, 1, 1] }, x])[0]!.data]).toEqual([0, 5, 0, 0, 0, 0]);
  });
  test("symbolic spatial sizes are allowed", () => {
    expect(inferTypes("global_avg_pool2d", [{ shape: ["n", 3, "h", "w"] }])[0]!.shape).toEqual(["n", 3, 1, 1]);
  });
  test("VJP global_avg_pool2d", () => checkVjp("global_avg_pool2d", [{ shape: [2, 2, 3, 3] }]));
  test("VJP global_max_pool2d", () => checkVjp("global_max_pool2d", [{ shape: [2, 2, 3, 3] }]));
  test("VJP global_avg_pool2d_grad", () => checkVjp("global_avg_pool2d_grad", [{ shape: [2, 2, 1, 1] }, { shape: [2, 2, 3, 3] }]));
  test("VJP global_max_pool2d_grad", () => checkVjp("global_max_pool2d_grad", [{ shape: [2, 2, 1, 1] }, { shape: [2, 2, 3, 3] }]));
  test("VJP global_max_pool2d_gather", () => checkVjp("global_max_pool2d_gather", [{ shape: [2, 2, 3, 3] }, { shape: [2, 2, 3, 3] }]));
});
