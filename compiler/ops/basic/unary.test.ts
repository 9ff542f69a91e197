import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { basicOps } from "./index.ts";
import type { Arr } from "./testing.ts";
import { Rng, arr, vjpOf, erfRef, expectClose, get, rand, randAwayFromZero, run1 } from "./testing.ts";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const REF: Record<string, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => (x > 0 ? x : 0),
  leaky_relu: (x) => (x > 0 ? x : 0.01 * x),
  gelu: (x) => 0.5 * x * (1 + erfRef(x / Math.SQRT2)),
  softplus: (x) => Math.log(1 + Math.exp(x)),
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  erf: erfRef,
};
const POSITIVE = new Set(["log", "sqrt", "rsqrt"]);
const KINKED = new Set(["relu", "leaky_relu", "abs", "sign"]);

const inputFor = (op: string, rng: Rng, shape: number[]): Arr =>
  POSITIVE.has(op) ? rand(rng, shape, 0.2, 2) : KINKED.has(op) ? randAwayFromZero(rng, shape) : rand(rng, shape, -2, 2);

const mapRef = (a: Arr, f: (x: number) => number): Arr => arr(a.shape, (i) => f(get(a, i)));

describe("unary ops: forward", () => {
  test.each(Object.keys(REF))("%s matches Math on f64 [3, 5] and odd shapes", (op) => {
    const rng = new Rng(op.length * 7 + 1);
    for (const shape of [[3, 5], [7], [], [2, 1, 3]]) {
      const x = inputFor(op, rng, shape);
      expectClose(run1(op, [x]), mapRef(x, REF[op]!), { atol: 1e-12, rtol: 1e-11 });
    }
  });

  test("f32 results are the f64 results rounded to f32", () => {
    const rng = new Rng(3);
    const x = rand(rng, [4, 3], -2, 2);
    const x32 = { ...x, data: Float32Array.from(x.data as Float64Array), dtype: "f32" as const };
    const want = mapRef({ ...x, data: x32.data }, (v) => Math.fround(Math.tanh(v)));
    expectClose(run1("tanh", [x32]), want, { atol: 0, rtol: 0 });
  });

  test("leaky_relu honours alpha", () => {
    const x = { shape: [4], data: [-2, -0.5, 0.5, 3] };
    expectClose(run1("leaky_relu", [x], { alpha: 0.2 }), { shape: [4], data: [-0.4, -0.1, 0.5, 3] }, { atol: 1e-15 });
  });

  test("softplus neither overflows nor underflows for large |x|", () => {
    // Absolute accuracy only for the tiny values: without log1p, log(1 + 1e-13) keeps ~3 digits of 1e-13.
    const x = { shape: [4], data: [-800, -30, 30, 800] };
    expectClose(run1("softplus", [x]), { shape: [4], data: [0, Math.exp(-30), 30 + Math.exp(-30), 800] }, { rtol: 1e-15, atol: 1e-15 });
  });

  test("neg, abs, sign and relu keep integer dtypes", () => {
    const x = { shape: [5], data: [-3, -1, 0, 2, 7], dtype: "i32" as const };
    expect([...run1("neg", [x]).data]).toEqual([3, 1, 0, -2, -7]);
    expect([...run1("abs", [x]).data]).toEqual([3, 1, 0, 2, 7]);
    expect([...run1("sign", [x]).data]).toEqual([-1, -1, 0, 1, 1]);
    expect([...run1("relu", [x]).data]).toEqual([0, 0, 0, 2, 7]);
  });

  test("every unary op is elementwise", () => {
    for (const op of Object.keys(REF)) expect(basicOps[op]!.fusion, op).toBe("elemwise");
  });
});

describe("unary ops: VJP vs finite differences", () => {
  test.each(Object.keys(REF).filter((op) => op !== "sign"))("%s", (op) => {
    const x = inputFor(op, new Rng(11), [2, 3]);
    checkVjp(op, [{ shape: x.shape, data: x.data }]);
  });

  test("leaky_relu with alpha = 0.3", () => {
    checkVjp("leaky_relu", [{ shape: [6], data: randAwayFromZero(new Rng(2), [6]).data }], { alpha: 0.3 });
  });

  test("sign has no gradient", () => {
    expect(vjpOf("sign", [{ shape: [3], dtype: "f64" }])).toEqual([null]);
  });
});
