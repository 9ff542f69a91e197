import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import type { Arr } from "./testing.ts";
import { Rng, arr, expectClose, get, rand, run1, runOp, vjpValues } from "./testing.ts";

/** Python-style range of indices a slice visits along an axis of size d (written from NumPy's rules). */
function pyRange(d: number, start: number, end: number, step: number): number[] {
  const norm = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
  const out: number[] = [];
  if (step > 0) for (let i = norm(start, 0, d); i < norm(end, 0, d); i += step) out.push(i);
  else for (let i = norm(start, -1, d - 1); i > norm(end, -1, d - 1); i += step) out.push(i);
  return out;
}

function sliceRef(x: Arr, starts: number[], ends: number[], axes: number[], steps: number[]): Arr {
  const picks = x.shape.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((a, k) => { picks[a] = pyRange(x.shape[a]!, starts[k]!, ends[k]!, steps[k]!); });
  return arr(picks.map((p) => p.length), (o) => get(x, o.map((i, k) => picks[k]![i]!)));
}

describe("concat / split", () => {
  test("concat along each axis (negative too) matches a reference", () => {
    const rng = new Rng(1);
    const a = rand(rng, [2, 3]), b = rand(rng, [2, 1]), c = rand(rng, [2, 2]);
    expectClose(run1("concat", [a, b, c], { axis: -1 }), arr([2, 6], ([i, j]) =>
      j! < 3 ? get(a, [i!, j!]) : j! < 4 ? get(b, [i!, 0]) : get(c, [i!, j! - 4])));
    const d = rand(rng, [1, 3]);
    expectClose(run1("concat", [a, d], { axis: 0 }), { shape: [3, 3], data: [...a.data, ...d.data] });
    expectClose(run1("concat", [a], { axis: 1 }), a);
  });

  test("split into sizes (zero-size parts allowed)", () => {
    const x = rand(new Rng(2), [2, 5]);
    const parts = runOp("split", [x], { axis: 1, sizes: [2, 0, 3] });
    expect(parts.map((p) => p.shape)).toEqual([[2, 2], [2, 0], [2, 3]]);
    expectClose(parts[0]!, arr([2, 2], ([i, j]) => get(x, [i!, j!])));
    expectClose(parts[2]!, arr([2, 3], ([i, j]) => get(x, [i!, j! + 2])));
    const rows = runOp("split", [x], { sizes: [1, 1] });
    expectClose(rows[1]!, { shape: [1, 5], data: [...x.data].slice(5) });
  });

  test("concat keeps a symbolic batch dimension", () => {
    const b = new GraphBuilder();
    const x = b.input("x", ["batch", 2], "f64"), y = b.input("y", ["batch", 1], "f64");
    const z = b.op1("concat", [x, y], { axis: 1 });
    expect(z.type.shape).toEqual(["batch", 3]);
    for (const n of [2, 4]) {
      const xv = rand(new Rng(n), [n, 2]), yv = rand(new Rng(n + 1), [n, 1]);
      const [zv] = interpret(b.build([z]), [xv, yv]).outputs;
      expectClose(zv!, arr([n, 3], ([i, j]) => (j! < 2 ? get(xv, [i!, j!]) : get(yv, [i!, 0]))));
    }
  });

  test("VJPs", () => {
    checkVjp("concat", [{ shape: [2, 3] }, { shape: [2, 1] }, { shape: [2, 2] }], { axis: 1 });
    checkVjp("split", [{ shape: [5, 2] }], { axis: 0, sizes: [2, 3] });
  });

  test("split VJP fills an unused output's gradient with zeros", () => {
    const [gx] = vjpValues("split", [{ shape: [4], data: [1, 2, 3, 4] }], { sizes: [1, 3] }, [null, { shape: [3], data: [5, 6, 7] }]);
    expectClose(gx!, { shape: [4], data: [0, 5, 6, 7] });
  });
});

describe("slice", () => {
  const CASES: [number[], number[], number[], number[], number[]][] = [
    // shape, starts, ends, axes, steps
    [[5, 4], [1], [4], [0], [1]],
    [[5, 4], [-3, 0], [100, -1], [0, 1], [1, 2]],
    [[5, 4], [4], [-100], [0], [-2]],
    [[5, 4], [-1, 3], [-6, 0], [-2, -1], [-1, -1]],
    [[3, 4, 2], [1], [1], [1], [1]],
    [[6], [0], [2147483647], [0], [3]],
  ];
  test.each(CASES)("%j starts %j ends %j axes %j steps %j", (shape, starts, ends, axes, steps) => {
    const x = rand(new Rng(shape.length), shape);
    const norm = axes.map((a) => (a < 0 ? a + shape.length : a));
    expectClose(run1("slice", [x], { starts, ends, axes, steps }), sliceRef(x, starts, ends, norm, steps));
  });

  test("axes and steps default to the leading axes and 1", () => {
    const x = rand(new Rng(7), [4, 3]);
    expectClose(run1("slice", [x], { starts: [1, 1], ends: [3, 3] }), sliceRef(x, [1, 1], [3, 3], [0, 1], [1, 1]));
  });

  test("a symbolic dimension can be kept whole", () => {
    const b = new GraphBuilder();
    const y = b.op1("slice", [b.input("x", ["batch", 5], "f64")], { starts: [0, 1], ends: [2147483647, 4], axes: [0, 1] });
    expect(y.type.shape).toEqual(["batch", 3]);
    const xv = rand(new Rng(1), [3, 5]);
    expectClose(interpret(b.build([y]), [xv]).outputs[0]!, sliceRef(xv, [1], [4], [1], [1]));
  });

  test.each(CASES.filter((c) => c[0].reduce((p, q) => p * q, 1) > 0))("VJP %j starts %j ends %j axes %j steps %j", (shape, starts, ends, axes, steps) => {
    checkVjp("slice", [{ shape }], { starts, ends, axes, steps });
  });

  test("slice_grad scatters into zeros and is slice's adjoint (its own VJP is slice)", () => {
    const g = { shape: [2, 2], data: [1, 2, 3, 4] };
    const like = { shape: [5, 4], data: new Float64Array(20) };
    const y = run1("slice_grad", [g, like], { starts: [4, 3], ends: [0, 0], axes: [0, 1], steps: [-3, -2] });
    expectClose(y, arr([5, 4], ([i, j]) => (i === 4 && j === 3 ? 1 : i === 4 && j === 1 ? 2 : i === 1 && j === 3 ? 3 : i === 1 && j === 1 ? 4 : 0)));
    checkVjp("slice_grad", [{ shape: [2, 2] }, { shape: [5, 4] }], { starts: [4, 3], ends: [0, 0], axes: [0, 1], steps: [-3, -2] });
  });
});

describe("pad", () => {
  test("constant pad with befores then afters", () => {
    const x = rand(new Rng(3), [2, 3]);
    const y = run1("pad", [x], { pads: [1, 0, 2, 2], value: -7 });
    expectClose(y, arr([5, 5], ([i, j]) => (i! >= 1 && i! < 3 && j! < 3 ? get(x, [i! - 1, j!]) : -7)));
    expectClose(run1("pad", [x], { pads: [0, 0, 0, 0] }), x);
  });

  test("an unpadded symbolic dimension is fine", () => {
    const b = new GraphBuilder();
    expect(b.op1("pad", [b.input("x", ["batch", 3])], { pads: [0, 1, 0, 1] }).type.shape).toEqual(["batch", 5]);
  });

  test("VJP is a slice", () => {
    checkVjp("pad", [{ shape: [2, 3] }], { pads: [1, 0, 2, 2], value: 3 });
    checkVjp("pad", [{ shape: [3] }], { pads: [0, 0] });
  });
});
