import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { Rng, expectClose, mapB, rand, run1, vjpOf, vjpValues } from "./testing.ts";

const REF: Record<string, (a: number, b: number) => boolean> = {
  equal: (a, b) => a === b,
  not_equal: (a, b) => a !== b,
  less: (a, b) => a < b,
  less_equal: (a, b) => a <= b,
  greater: (a, b) => a > b,
  greater_equal: (a, b) => a >= b,
};

/** Small integers as floats, so that equality actually happens. */
const ints = (rng: Rng, shape: number[]) => {
  const a = rand(rng, shape);
  return { shape, data: Float64Array.from(a.data as Float64Array, (v) => Math.round(v * 2)) };
};

describe("comparisons", () => {
  test.each(Object.keys(REF))("%s broadcasts and yields bool", (op) => {
    const rng = new Rng(5);
    for (const [sa, sb] of [[[3, 1, 4], [5, 4]], [[], [2, 3]], [[2, 3], [2, 3]]] as const) {
      const a = ints(rng, [...sa]), b = ints(rng, [...sb]);
      expectClose(run1(op, [a, b]), mapB((x, y) => (REF[op]!(x, y) ? 1 : 0), a, b));
      const g = new GraphBuilder();
      expect(g.op1(op, [g.input("a", sa), g.input("b", sb)]).type.dtype).toBe("bool");
    }
  });

  test.each(Object.keys(REF))("%s passes no gradient", (op) => {
    expect(vjpOf(op, [{ shape: [2], dtype: "f64" }, { shape: [2], dtype: "f64" }])).toEqual([null, null]);
  });

  test("i32 comparisons", () => {
    const a = { shape: [3], data: [-1, 0, 5], dtype: "i32" as const }, b = { shape: [], data: [0], dtype: "i32" as const };
    expect([...run1("less", [a, b]).data]).toEqual([1, 0, 0]);
  });
});

describe("where", () => {
  const cond = (shape: number[], rng: Rng) => ({ shape, dtype: "bool" as const, data: Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => (rng.float() < 0.5 ? 1 : 0)) });

  test("chooses elementwise with all three operands broadcast", () => {
    const rng = new Rng(9);
    for (const [sc, sa, sb] of [[[3, 1, 4], [5, 4], []], [[2, 3], [2, 3], [2, 3]], [[], [3], [2, 1]]]) {
      const c = cond(sc!, rng), a = rand(rng, sa!), b = rand(rng, sb!);
      expectClose(run1("where", [c, a, b]), mapB((k, x, y) => (k ? x : y), c, a, b));
    }
  });

  test("VJP: the condition gets none; a and b get the masked cotangent summed to their shapes", () => {
    const rng = new Rng(4);
    const c = cond([3, 1, 4], rng);
    checkVjp("where", [{ shape: c.shape, dtype: "bool", data: c.data }, { shape: [5, 4] }, { shape: [1] }]);
    checkVjp("where", [{ shape: [2, 3], dtype: "bool", data: [1, 0, 0, 1, 1, 0] }, { shape: [2, 3] }, { shape: [] }]);
  });
});

describe("cast", () => {
  test("float → int truncates toward zero, → bool tests nonzero, int → float is exact", () => {
    const x = { shape: [5], data: [-2.7, -0.5, 0, 0.5, 3.9] };
    expect([...run1("cast", [x], { dtype: "i32" }).data]).toEqual([-2, 0, 0, 0, 3]);
    expect([...run1("cast", [x], { dtype: "bool" }).data]).toEqual([1, 1, 0, 1, 1]);
    const i = { shape: [2], data: [7, -3], dtype: "i32" as const };
    expect([...run1("cast", [i], { dtype: "f64" }).data]).toEqual([7, -3]);
    expect([...run1("cast", [{ shape: [1], data: [0.1] }], { dtype: "f32" }).data]).toEqual([Math.fround(0.1)]);
  });

  test("VJP: float → float casts the cotangent back; float → int passes none", () => {
    // Finite differences through f32 rounding: a wide step and a loose tolerance.
    checkVjp("cast", [{ shape: [2, 3] }], { dtype: "f32" }, { rtol: 1e-4, atol: 1e-6, eps: 1e-2 });
    const [g] = vjpValues("cast", [{ shape: [2], data: [1, 2] }], { dtype: "f32" }, [{ shape: [2], data: [0.25, 0.5] }]);
    expectClose(g!, { shape: [2], data: [0.25, 0.5] });
    expect(vjpOf("cast", [{ shape: [2], dtype: "f64" }], { dtype: "i32" })).toEqual([null]);
    expect(vjpOf("cast", [{ shape: [2], dtype: "f64" }], { dtype: "f32" })).toEqual(["f64[2]"]);
  });
});
