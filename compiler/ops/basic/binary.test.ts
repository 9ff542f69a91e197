import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { basicOps } from "./index.ts";
import type { Arr } from "./testing.ts";
import { Rng, expectClose, mapB, rand, randDistinct, run1, vjpOf, vjpValues } from "./testing.ts";

const REF: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => Math.pow(a, b),
  maximum: Math.max,
  minimum: Math.min,
};

/** Shape pairs: equal, [3,1,4] with [5,4] (both stretch), scalars, a leading 1, rank 0 with rank 0. */
const PAIRS: [number[], number[]][] = [[[2, 3], [2, 3]], [[3, 1, 4], [5, 4]], [[], [2, 3]], [[4, 1], []], [[1, 3], [2, 1]], [[], []], [[5], [1]]];

/** Operands in a range where the op is smooth (pow: positive base; div: divisor away from 0). */
function operands(op: string, rng: Rng, sa: number[], sb: number[]): [Arr, Arr] {
  if (op === "pow") return [rand(rng, sa, 0.5, 2), rand(rng, sb, -1.5, 1.5)];
  if (op === "div") return [rand(rng, sa, -2, 2), rand(rng, sb, 0.5, 2)];
  return [rand(rng, sa, -2, 2), rand(rng, sb, -2, 2)];
}

describe("binary ops: forward with NumPy broadcasting", () => {
  test.each(Object.keys(REF))("%s", (op) => {
    const rng = new Rng(op.charCodeAt(0));
    for (const [sa, sb] of PAIRS) {
      const [a, b] = operands(op, rng, sa, sb);
      expectClose(run1(op, [a, b]), mapB(REF[op]!, a, b), { atol: 1e-14, rtol: 1e-14 });
    }
  });

  test("integer div is floor division; add/mul wrap as i32", () => {
    const a = { shape: [4], data: [7, -7, 7, -7], dtype: "i32" as const };
    const b = { shape: [4], data: [2, 2, -2, -2], dtype: "i32" as const };
    expect([...run1("div", [a, b]).data]).toEqual([3, -4, -4, 3]);
    const big = { shape: [1], data: [2 ** 30], dtype: "i32" as const };
    expect([...run1("mul", [big, { shape: [], data: [4], dtype: "i32" }]).data]).toEqual([0]);
  });

  test("f32 operands compute in f32", () => {
    const a = { shape: [3], data: Float32Array.of(0.1, 0.2, 0.3), dtype: "f32" as const };
    const b = { shape: [], data: Float32Array.of(0.7), dtype: "f32" as const };
    expectClose(run1("mul", [a, b]), { shape: [3], data: [...a.data].map((x) => Math.fround(x * b.data[0]!)) }, { atol: 0, rtol: 0 });
  });

  test("fusion kind is broadcast", () => {
    for (const op of Object.keys(REF)) expect(basicOps[op]!.fusion, op).toBe("broadcast");
  });
});

describe("binary ops: VJP vs finite differences (gradients summed over broadcast dims)", () => {
  const cases = Object.keys(REF).flatMap((op) => PAIRS.slice(0, 5).map(([sa, sb]) => [op, sa, sb] as const));
  test.each(cases)("%s %j %j", (op, sa, sb) => {
    const rng = new Rng(sa.length * 10 + sb.length + op.length);
    let [a, b] = operands(op, rng, sa, sb);
    if (op === "maximum" || op === "minimum") {
      // a on a 0.3 grid, b halfway between grid points: no pair is within 0.15 of a tie (the kink).
      a = randDistinct(rng, sa, 0.3);
      const bg = randDistinct(rng, sb, 0.3);
      b = { shape: sb, data: Float64Array.from(bg.data as Float64Array, (v) => v + 0.15) };
    }
    checkVjp(op, [{ shape: a.shape, data: a.data }, { shape: b.shape, data: b.data }]);
  });

  test("pow at a negative base: d/da = b·a^(b−1), d/db defined as 0", () => {
    const a = { shape: [2], data: [-1.5, -0.5] }, b = { shape: [2], data: [2, 3] };
    const [ga, gb] = vjpValues("pow", [a, b], {}, [{ shape: [2], data: [1, 2] }]);
    expectClose(ga!, { shape: [2], data: [1 * 2 * -1.5, 2 * 3 * 0.25] }, { atol: 1e-14 });
    expectClose(gb!, { shape: [2], data: [0, 0] });
  });

  test("integer operands get no gradient", () => {
    for (const op of ["add", "mul", "maximum"]) expect(vjpOf(op, [{ shape: [2], dtype: "i32" }, { shape: [], dtype: "i32" }])).toEqual([null, null]);
    expect(vjpOf("add", [{ shape: [3, 1], dtype: "f32" }, { shape: [4], dtype: "f32" }])).toEqual(["f32[3, 1]", "f32[4]"]);
  });

  test("maximum/minimum send a tie's gradient to the first operand", () => {
    const a = { shape: [3], data: [1, 2, 3] }, b = { shape: [3], data: [1, 5, 0] }, g = { shape: [3], data: [10, 20, 30] };
    const [mxa, mxb] = vjpValues("maximum", [a, b], {}, [g]);
    expect([...mxa!.data, ...mxb!.data]).toEqual([10, 0, 30, 0, 20, 0]);
    const [mna, mnb] = vjpValues("minimum", [a, b], {}, [g]);
    expect([...mna!.data, ...mnb!.data]).toEqual([10, 20, 0, 0, 0, 30]);
  });
});
