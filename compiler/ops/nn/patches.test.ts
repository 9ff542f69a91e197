import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { compile } from "../../driver/compile.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import type { Arr } from "./testing.ts";
import { Rng, at, expectClose, forwardAndGrads, inferTypes, rand, runOp, size } from "./testing.ts";

/** The patches written as plain loops: y[n, a, b, c, i, j] = x[n, c, a·sh + i, b·sw + j]. */
function patchesRef(x: Arr, [ph, pw]: readonly number[], [sh, sw]: readonly number[]): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const gh = Math.floor((H - ph!) / sh!) + 1, gw = Math.floor((W - pw!) / sw!) + 1;
  const shape = [N, gh, gw, C, ph!, pw!];
  const out = new Float64Array(size(shape));
  for (let n = 0; n < N; n++) for (let a = 0; a < gh; a++) for (let b = 0; b < gw; b++) for (let c = 0; c < C; c++)
    for (let i = 0; i < ph!; i++) for (let j = 0; j < pw!; j++) out[at(shape, n, a, b, c, i, j)] = x.data[at(x.shape, n, c, a * sh! + i, b * sw! + j)]!;
  return { shape, data: out };
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; };

describe("patches", () => {
  test("28×28 images, 7×7 patches at stride 3: an 8×8 grid, equal to the reference loops", () => {
    const x = rand(new Rng(1), [2, 1, 28, 28]);
    const [y] = runOp("patches", [x], { size: [7, 7], strides: [3, 3] });
    expect(y!.shape).toEqual([2, 8, 8, 1, 7, 7]);
    expectClose(y!, patchesRef(x, [7, 7], [3, 3]), 0);
  });

  test("odd grids (rectangular patches, unequal strides, uncovered edges) equal the reference", () => {
    const rng = new Rng(2);
    for (const [shape, p, s] of [[[3, 2, 7, 6], [3, 2], [2, 3]], [[1, 3, 5, 5], [5, 5], [1, 1]], [[2, 1, 9, 8], [2, 3], [4, 2]]] as const) {
      const x = rand(rng, shape);
      expectClose(runOp("patches", [x], { size: [...p], strides: [...s] })[0]!, patchesRef(x, p, s), 0);
    }
  });

  test("round trip: the overlap-add divided by the coverage count gives the image back", () => {
    const x = rand(new Rng(3), [2, 2, 10, 10]);
    const attrs = { size: [4, 4], strides: [2, 2] };
    const [p] = runOp("patches", [x], attrs);
    const [sum] = runOp("patches_grad", [p!, x], attrs);
    const ones = { shape: [...p!.shape], data: new Float64Array(p!.data.length).fill(1) };
    const [count] = runOp("patches_grad", [ones, x], attrs);
    // Corner pixels lie in one patch, interior ones in up to four (2 per axis at stride 2, size 4).
    expect(count!.data[at(x.shape, 0, 0, 0, 0)]).toBe(1);
    expect(count!.data[at(x.shape, 0, 0, 5, 5)]).toBe(4);
    expectClose({ shape: sum!.shape, data: sum!.data.map((v, i) => v / count!.data[i]!) }, x, 1e-15);
  });

  test("patches_grad is the adjoint of patches, and both VJPs match finite differences", () => {
    const rng = new Rng(4);
    const attrs = { size: [3, 2], strides: [2, 3] };
    const x = rand(rng, [2, 3, 7, 6]);
    const g = rand(rng, [2, 3, 2, 3, 3, 2]);
    const lhs = dot(runOp("patches", [x], attrs)[0]!.data, g.data);
    expect(lhs).toBeCloseTo(dot(x.data, runOp("patches_grad", [g, x], attrs)[0]!.data), 12);
    checkVjp("patches", [{ shape: [2, 1, 7, 6] }], attrs);
    checkVjp("patches", [{ shape: [1, 2, 8, 8] }], { size: [4, 4], strides: [1, 3] });
    checkVjp("patches_grad", [{ shape: [2, 3, 2, 1, 3, 2] }, { shape: [2, 1, 7, 6] }], attrs);
  });

  test("a symbolic batch passes through; the VJP has no gradient for patches_grad's shape input", () => {
    const rng = new Rng(5);
    const attrs = { size: [7, 7], strides: [3, 3] };
    expect(inferTypes("patches", [{ shape: ["n", 1, 28, 28], dtype: "f32" }], attrs)[0]).toEqual({ shape: ["n", 8, 8, 1, 7, 7], dtype: "f32" });
    const x = rand(rng, [3, 1, 13, 13]), g = rand(rng, [3, 3, 3, 1, 7, 7]);
    const { outputs, grads } = forwardAndGrads("patches", [["n", 1, 13, 13]], attrs, [x], [g]);
    expectClose(outputs[0]!, patchesRef(x, [7, 7], [3, 3]), 0);
    expectClose(grads[0]!, runOp("patches_grad", [g, x], attrs)[0]!, 0);
    expect(forwardAndGrads("patches_grad", [["n", 3, 3, 1, 7, 7], ["n", 1, 13, 13]], attrs, [g, x], [x]).grads[1]).toBeNull();
  });

  test("compiled for cpu equals the interpreter (f32, symbolic batch, fused with neighbours)", async () => {
    const b = new GraphBuilder();
    const attrs = { size: [4, 3], strides: [3, 2] };
    const x = b.input("x", ["n", 2, 9, 8], "f32"), gp = b.input("g", ["n", 2, 3, 2, 4, 3], "f32");
    const g = b.build([b.op1("relu", [b.op1("patches", [b.op1("tanh", [x])], attrs)]), b.op1("patches_grad", [b.op1("tanh", [gp]), x], attrs)]);
    const mod = await compile(g, "cpu");
    const rng = new Rng(6);
    for (const n of [1, 3]) {
      const xv = rand(rng, [n, 2, 9, 8]), gv = rand(rng, [n, 2, 3, 2, 4, 3]);
      const want = interpret(g, [xv, gv]).outputs;
      const got = mod.run([Tensor.fromArray(xv.data, xv.shape, "f32"), Tensor.fromArray(gv.data, gv.shape, "f32")]);
      want.forEach((w, k) => expectClose({ shape: [...got[k]!.shape], data: Float64Array.from(got[k]!.toArray()) }, w, 1e-5));
    }
  }, 120_000);

  test("bad sizes, strides and shapes give one-line errors naming the node", () => {
    const img = [{ shape: [2, 1, 28, 28] }];
    expect(() => inferTypes("patches", img, { size: [29, 7], strides: [3, 3] }, "cut")).toThrow(/^node cut \(patches\): a 29×7 patch is larger than the 28×28 image/);
    expect(() => inferTypes("patches", img, { size: [7, 7], strides: [0, 3] }, "cut")).toThrow(/^node cut \(patches\): strides must be two positive integers, got \[0, 3\]$/);
    expect(() => inferTypes("patches", img, { size: [7], strides: [3, 3] }, "cut")).toThrow(/node cut \(patches\): size must be two positive integers/);
    expect(() => inferTypes("patches", [{ shape: [2, 28, 28] }], { size: [7, 7], strides: [3, 3] }, "cut")).toThrow(/node cut \(patches\): x must be images \[N, C, H, W\]/);
    expect(() => inferTypes("patches", [{ shape: [2, 1, "h", 28] }], { size: [7, 7], strides: [3, 3] }, "cut")).toThrow(/height and width must be static/);
    expect(() => inferTypes("patches_grad", [{ shape: [2, 7, 8, 1, 7, 7] }, ...img], { size: [7, 7], strides: [3, 3] }, "back"))
      .toThrow(/node back \(patches_grad\): the patch gradient must be \[2, 8, 8, 1, 7, 7\]/);
    expect(() => inferTypes("patches", img, { size: [29, 7], strides: [3, 3] }, "cut")).toThrow(/^[^\n]*$/);
  });
});
