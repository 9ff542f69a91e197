import { describe, expect, test } from "vitest";
import { createSchedule } from "../../schedule/schedule.ts";
import type { TypedArray } from "../../../core/dtype.ts";
import type { Tensor } from "../../te/tensor.ts";
import { placeholder } from "../../te/tensor.ts";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { checkKernel } from "../../../test/helpers/check.ts";
import { dropoutCompute } from "./dropout.ts";
import { Rng, inferTypes, rand, runOp } from "./testing.ts";

/** The hash as documented in dropout.ts, written again with plain JS numbers (exact below 2^53). */
function refKeep(seed: number, step: number, index: number, rate: number): boolean {
  const M = 2 ** 26;
  const mod = (v: number) => v - M * Math.floor(v / M);
  const R = (x: number, a: number) => { const t = x * (x + a); return mod(t + Math.floor(t / M)); };
  const A = [0x2545f49, 0x3c6ef37, 0x1b87359, 0x27d4eb3, 0x165667b, 0x3a5b3c5];
  const key = R(R(mod(R(mod(seed), A[0]!) + mod(step)), A[1]!), A[2]!);
  let h = mod(mod(index) + key);
  h = mod(R(h, A[3]!) + Math.floor(index / M) * 0x2f1a3b);
  h = R(R(h, A[4]!), A[5]!);
  return h / M >= rate;
}

const ones = (n: number) => ({ data: new Float64Array(n).fill(1), shape: [n] });
const step = (s: number) => ({ data: [s], shape: [], dtype: "i32" as const });
const mask = (rate: number, seed: number, s: number, n = 10_000): boolean[] =>
  Array.from(runOp("dropout", [ones(n), step(s)], { rate, seed })[0]!.data, (v) => v !== 0);

describe("dropout", () => {
  for (const rate of [0.1, 0.3, 0.5, 0.9]) {
    test(`keeps a fraction 1 − ${rate} of 10,000 elements within 3σ, scaled by 1/(1 − rate)`, () => {
      const y = runOp("dropout", [ones(10_000), step(3)], { rate, seed: 1234 })[0]!;
      const kept = y.data.filter((v) => v !== 0);
      const sigma = Math.sqrt((rate * (1 - rate)) / 10_000);
      expect(Math.abs(kept.length / 10_000 - (1 - rate))).toBeLessThan(3 * sigma);
      expect(kept.every((v) => v === 1 / (1 - rate))).toBe(true);
    });
  }
  test("neighbouring elements and consecutive steps are independent (pair frequencies within 3σ)", () => {
    const p = 0.5, n = 10_000, a = mask(p, 7, 0), b = mask(p, 7, 1);
    const both = (xs: boolean[], ys: boolean[]) => xs.filter((v, i) => v && ys[i]).length / xs.length;
    const sigma = Math.sqrt((0.25 * 0.75) / n);
    expect(Math.abs(both(a.slice(1), a.slice(0, -1)) - 0.25)).toBeLessThan(3 * sigma);
    expect(Math.abs(both(a, b) - 0.25)).toBeLessThan(3 * sigma);
  });
  test("is deterministic in (seed, step, index) and differs between steps and seeds", () => {
    const base = mask(0.5, 42, 9, 1000);
    expect(mask(0.5, 42, 9, 1000)).toEqual(base);
    const differ = (m: boolean[]) => m.filter((v, i) => v !== base[i]).length;
    expect(differ(mask(0.5, 42, 10, 1000))).toBeGreaterThan(400);
    expect(differ(mask(0.5, 43, 9, 1000))).toBeGreaterThan(400);
    // The mask depends only on the flat index, not on the shape it is viewed in.
    const y2 = runOp("dropout", [{ data: new Float64Array(1000).fill(1), shape: [10, 100] }, step(9)], { rate: 0.5, seed: 42 })[0]!;
    expect(Array.from(y2.data, (v) => v !== 0)).toEqual(base);
  });
  test("equals the documented hash, including negative seeds and steps", () => {
    for (const [seed, s] of [[0, 0], [123456789, 77], [-5, -1000]] as const) {
      const got = mask(0.37, seed, s, 2000);
      expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => refKeep(seed, s, i, 0.37)));
    }
  });
  test("rate 0 is the identity and rate 1 drops everything", () => {
    const x = rand(new Rng(3), [50]);
    expect([...runOp("dropout", [x, step(0)], { rate: 0, seed: 1 })[0]!.data]).toEqual(Array.from(x.data));
    expect(runOp("dropout", [x, step(0)], { rate: 1, seed: 1 })[0]!.data.every((v) => v === 0)).toBe(true);
  });
  test("compiled C++ gives exactly the interpreter's values", async () => {
    const x = placeholder([37, 29], "f32", "x"), s = placeholder([], "i32", "step");
    const y = dropoutCompute(x, s, 0.4, 2024, "y");
    const rng = new Rng(8);
    const xs = Float32Array.from({ length: 37 * 29 }, () => rng.uniform(-1, 1));
    await checkKernel(createSchedule(y), [x, s, y], new Map<Tensor, TypedArray>([[x, xs], [s, Int32Array.of(-12345)]]), { name: "dropout_exact", tol: 0 });
  });
  test("bad rate or step names the node", () => {
    expect(() => inferTypes("dropout", [{ shape: [4] }, { shape: [], dtype: "i32" }], { rate: 1.5, seed: 0 }, "do"))
      .toThrow(/node do \(dropout\): rate must be in \[0, 1\], got 1.5/);
    expect(() => inferTypes("dropout", [{ shape: [4] }, { shape: [1], dtype: "i32" }], { rate: 0.5, seed: 0 }, "do"))
      .toThrow(/node do \(dropout\): step must be an i32 scalar \(shape \[\]\); inputs f64\[4\], i32\[1\]/);
  });
  test("VJP (the same mask applied to the gradient)", () =>
    checkVjp("dropout", [{ shape: [3, 4] }, { shape: [], dtype: "i32", data: [5] }], { rate: 0.5, seed: 3 }));
});
