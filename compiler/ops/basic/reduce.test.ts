import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import { getOp } from "../registry.ts";
import type { Arr } from "./testing.ts";
import { Rng, expectClose, rand, randDistinct, run1, sizeOf, unravel, vjpValues } from "./testing.ts";

/** Reference reduction: gathers each output's values with explicit index loops. */
function reduceRef(x: Arr, axes: readonly number[], keepdims: boolean, f: (vs: number[]) => number): Arr {
  const r = x.shape.length;
  const all = axes.length === 0 ? x.shape.map((_, k) => k) : axes.map((a) => (a < 0 ? a + r : a));
  const outShape = x.shape.flatMap((d, k) => (all.includes(k) ? (keepdims ? [1] : []) : [d]));
  const groups = new Map<string, number[]>();
  for (let i = 0; i < sizeOf(x.shape); i++) {
    const key = unravel(i, x.shape).filter((_, k) => !all.includes(k)).join(",");
    groups.set(key, [...(groups.get(key) ?? []), x.data[i]!]);
  }
  const data = [...groups.values()].map(f); // Map keeps insertion order = row-major order of the kept indices
  return { shape: outShape, data: Float64Array.from(data.length ? data : [f([])]) };
}

const REF: Record<string, (vs: number[]) => number> = {
  sum: (vs) => vs.reduce((a, b) => a + b, 0),
  mean: (vs) => vs.reduce((a, b) => a + b, 0) / vs.length,
  max: (vs) => Math.max(...vs),
  min: (vs) => Math.min(...vs),
  logsumexp: (vs) => Math.log(vs.reduce((a, v) => a + Math.exp(v), 0)),
};

const AXES: [number[], number[], boolean][] = [
  [[2, 3, 4], [1], false], [[2, 3, 4], [-1], true], [[2, 3, 4], [0, 2], false], [[2, 3, 4], [], false],
  [[2, 3, 4], [], true], [[5], [0], false], [[3, 1, 2], [-2, 0], true], [[], [], false],
];

describe("reductions: forward", () => {
  test.each(Object.keys(REF))("%s over several axis sets, negative axes, keepdims", (op) => {
    const rng = new Rng(op.length);
    for (const [shape, axes, keepdims] of AXES) {
      const x = rand(rng, shape, -3, 3);
      expectClose(run1(op, [x], { axes, keepdims }), reduceRef(x, axes, keepdims, REF[op]!), { atol: 1e-13, rtol: 1e-13 });
    }
  });

  test("logsumexp is stable for large inputs and gives −∞ for an all −∞ row", () => {
    const x = { shape: [3, 2], data: [1000, 1000, -1000, -1001, -Infinity, -Infinity] };
    expectClose(run1("logsumexp", [x], { axes: [1] }),
      { shape: [3], data: [1000 + Math.LN2, -1000 + Math.log(1 + Math.exp(-1)), -Infinity] }, { rtol: 1e-15, atol: 0 });
  });

  test("integer sum/max/min stay integers", () => {
    const x = { shape: [2, 3], data: [1, -5, 3, 4, 2, -6], dtype: "i32" as const };
    expect([...run1("sum", [x], { axes: [1] }).data]).toEqual([-1, 0]);
    expect([...run1("max", [x], { axes: [0] }).data]).toEqual([4, 2, 3]);
    expect([...run1("min", [x]).data]).toEqual([-6]);
  });

  test("argmax: first maximum, along any axis, i32, keepdims", () => {
    const x = { shape: [2, 4], data: [1, 7, 7, 3, 9, 2, 9, 9] };
    const a1 = run1("argmax", [x], { axis: 1 });
    expect([...a1.data]).toEqual([1, 0]);
    const a0 = run1("argmax", [x], { axis: -2, keepdims: true });
    expect(a0.shape).toEqual([1, 4]);
    expect([...a0.data]).toEqual([1, 0, 1, 1]);
    const b = new GraphBuilder();
    expect(b.op1("argmax", [b.input("x", [2, 4])], { axis: 0 }).type.dtype).toBe("i32");
  });

  test("argmax matches a reference loop on random 3-D input", () => {
    const x = rand(new Rng(8), [3, 4, 5]);
    const want = reduceRef(x, [1], false, (vs) => vs.indexOf(Math.max(...vs)));
    expectClose(run1("argmax", [x], { axis: 1 }), want);
  });
});

describe("reductions: VJP vs finite differences", () => {
  const cases = Object.keys(REF).flatMap((op) => AXES.slice(0, 7).map(([s, a, k]) => [op, s, a, k] as const));
  test.each(cases)("%s %j axes %j keepdims %s", (op, shape, axes, keepdims) => {
    const rng = new Rng(shape.length + axes.length);
    // max/min: distinct values, so that the maximum is unique and differentiable.
    const x = op === "max" || op === "min" ? randDistinct(rng, shape, 0.1) : rand(rng, shape);
    checkVjp(op, [{ shape, data: x.data }], { axes, keepdims });
  });

  test("max/min: tied maxima share the gradient equally", () => {
    const x = { shape: [2, 3], data: [5, 1, 5, 2, 2, 2] };
    const [g] = vjpValues("max", [x], { axes: [1] }, [{ shape: [2], data: [6, 3] }]);
    expectClose(g!, { shape: [2, 3], data: [3, 0, 3, 1, 1, 1] });
    const [h] = vjpValues("min", [x], { axes: [] }, [{ shape: [], data: [1] }]);
    expectClose(h!, { shape: [2, 3], data: [0, 1, 0, 0, 0, 0] });
  });

  test("argmax passes no gradient", () => {
    const [g] = vjpValues("argmax", [{ shape: [3], data: [1, 3, 2] }], { axis: 0 }, [{ shape: [], data: [1] }]);
    expect(g).toBeNull();
  });
});

describe("reductions over a symbolic batch dimension", () => {
  /** mean over axis 0 of x: ["batch", 3], its VJP appended, run at two batch sizes. */
  test.each([2, 5])("mean and its gradient at batch = %i", (n) => {
    const b = new GraphBuilder();
    const x = b.input("x", ["batch", 3], "f64");
    const y = b.op1("mean", [x], { axes: [0] });
    const s = b.op1("sum", [x], { axes: [1], keepdims: true });
    const g = b.input("g", [3], "f64");
    const node = b.build([]).nodes[0]!;
    const [gx] = getOp("mean").vjp({ node, b }, [g]);
    expect(y.type.shape).toEqual([3]);
    expect(s.type.shape).toEqual(["batch", 1]);
    expect(gx!.type.shape).toEqual(["batch", 3]);
    const xv = rand(new Rng(n), [n, 3]);
    const gv = { shape: [3], data: [1, 2, 3] };
    const [ym, sm, gm] = interpret(b.build([y, s, gx!]), [xv, gv]).outputs;
    expectClose(ym!, reduceRef(xv, [0], false, REF.mean!), { atol: 1e-14 });
    expectClose(sm!, reduceRef(xv, [1], true, REF.sum!), { atol: 1e-14 });
    expectClose(gm!, { shape: [n, 3], data: Float64Array.from({ length: 3 * n }, (_, i) => gv.data[i % 3]! / n) }, { atol: 1e-15 });
  });
});
