/**
 * The primitives the ONNX importer decomposes into: forward results against NumPy/PyTorch
 * fixtures (fixtures/onnx-prims-numpy.py) and closed forms, VJPs against finite
 * differences, and errors that name the node.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { checkGraphGrad } from "../../../test/helpers/graph-grad-check.ts";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import type { Attrs } from "../../graph/graph.ts";
import type { DType } from "../../../core/dtype.ts";
import { basicOps } from "./index.ts";
import type { Arr, In } from "./testing.ts";
import { Rng, arr, expectClose, get, opFailure, rand, run1, vjpOf } from "./testing.ts";

interface Fixture { readonly name: string; readonly op: string; readonly inputs: In[]; readonly attrs: Attrs; readonly want: Arr }
const FIXTURES = JSON.parse(readFileSync(new URL("./fixtures/onnx-prims-numpy.json", import.meta.url), "utf8")) as Fixture[];

describe("forward: NumPy / PyTorch fixtures", () => {
  test.each(FIXTURES.map((f) => [f.name, f] as const))("%s", (_, f) => {
    expectClose(run1(f.op, f.inputs, f.attrs), f.want, { atol: 1e-12, rtol: 1e-12 });
  });
});

/** The ONNX backend node tests of these ops (fixtures/onnx-node-tests.py; NaN and ±∞ as strings in JSON). */
interface NodeTests { readonly cases: { name: string; op: string; attrs: Attrs; inputs: (Omit<In, "data"> & { data: (number | string)[] })[]; want: { shape: number[]; data: (number | string)[] } }[] }
const NODE_TESTS = JSON.parse(readFileSync(new URL("./fixtures/onnx-node-tests.json", import.meta.url), "utf8")) as NodeTests;
const decode = (xs: readonly (number | string)[]): number[] => xs.map((v) => (typeof v === "number" ? v : v === "nan" ? NaN : v === "inf" ? Infinity : -Infinity));

describe("forward: the ONNX backend node tests", () => {
  test("every mapped test is here", () => expect(NODE_TESTS.cases.length).toBeGreaterThanOrEqual(150));
  test.each(NODE_TESTS.cases.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const inputs = c.inputs.map((x) => ({ ...x, data: decode(x.data) }));
    // f32 outputs: NumPy's f32 libm against an f64 result rounded to f32 may differ in the last place.
    const tol = inputs[0]!.dtype === "f32" ? { atol: 1e-7, rtol: 1e-6 } : { atol: 1e-12, rtol: 1e-12 };
    expectClose(run1(c.op, inputs, c.attrs), { shape: c.want.shape, data: decode(c.want.data) }, tol);
  });
});

const mapRef = (a: Arr, f: (x: number) => number): Arr => arr(a.shape, (i) => f(get(a, i)));

/** Inputs inside each function's domain, away from the poles of its derivative. */
const MATH: Record<string, { f: (x: number) => number; lo: number; hi: number }> = {
  reciprocal: { f: (x) => 1 / x, lo: 0.3, hi: 3 },
  sin: { f: Math.sin, lo: -3, hi: 3 },
  cos: { f: Math.cos, lo: -3, hi: 3 },
  tan: { f: Math.tan, lo: -1.2, hi: 1.2 },
  asin: { f: Math.asin, lo: -0.9, hi: 0.9 },
  acos: { f: Math.acos, lo: -0.9, hi: 0.9 },
  atan: { f: Math.atan, lo: -4, hi: 4 },
  sinh: { f: Math.sinh, lo: -3, hi: 3 },
  cosh: { f: Math.cosh, lo: -3, hi: 3 },
  asinh: { f: Math.asinh, lo: -4, hi: 4 },
  acosh: { f: Math.acosh, lo: 1.1, hi: 4 },
  atanh: { f: Math.atanh, lo: -0.9, hi: 0.9 },
};

describe("unary float math", () => {
  test.each(Object.keys(MATH))("%s matches Math and its VJP matches finite differences", (op) => {
    const { f, lo, hi } = MATH[op]!;
    const x = rand(new Rng(op.length * 13), [3, 4], lo, hi);
    expectClose(run1(op, [x]), mapRef(x, f), { atol: 1e-15, rtol: 1e-14 });
    checkVjp(op, [{ shape: x.shape, data: x.data }]);
    expect(basicOps[op]!.fusion).toBe("elemwise");
  });

  test("floor, ceil and round are closed forms without a gradient", () => {
    const x = { shape: [7], data: [-2.5, -1.5, -0.2, 0, 0.5, 1.49, 2.5] };
    expectClose(run1("floor", [x]), mapRef(x, Math.floor));
    expectClose(run1("ceil", [x]), mapRef(x, Math.ceil));
    expectClose(run1("round", [x]), { shape: [7], data: [-2, -2, -0, 0, 0, 1, 2] });
    for (const op of ["floor", "ceil", "round"]) expect(vjpOf(op, [{ shape: [3], dtype: "f64" }])).toEqual([null]);
  });

  test("f32 results are rounded to f32", () => {
    const x = { shape: [3], data: Float32Array.of(0.1, 0.7, -0.3), dtype: "f32" as const };
    expectClose(run1("sin", [x]), mapRef(x, (v) => Math.fround(Math.sin(v))), { atol: 0, rtol: 0 });
  });
});

describe("predicates and logical ops", () => {
  const special = { shape: [6], data: [NaN, Infinity, -Infinity, 0, -1.5, 3e38] };
  test("isnan and isinf with its detect flags", () => {
    expect([...run1("isnan", [special]).data]).toEqual([1, 0, 0, 0, 0, 0]);
    expect([...run1("isinf", [special]).data]).toEqual([0, 1, 1, 0, 0, 0]);
    expect([...run1("isinf", [special], { detect_negative: 0 }).data]).toEqual([0, 1, 0, 0, 0, 0]);
    expect([...run1("isinf", [special], { detect_positive: 0 }).data]).toEqual([0, 0, 1, 0, 0, 0]);
    expect([...run1("isinf", [special], { detect_positive: 0, detect_negative: 0 }).data]).toEqual([0, 0, 0, 0, 0, 0]);
    // 1e39 overflows f32: the input is rounded to its dtype before the test.
    const f32 = { shape: [3], data: [1e39, -1e39, 3e38], dtype: "f32" as const };
    expect([...run1("isinf", [f32]).data]).toEqual([1, 1, 0]);
  });

  test("logical_not and the binary logical ops: truth tables with broadcasting", () => {
    const a = { shape: [2, 1], data: [0, 1], dtype: "bool" as const };
    const b = { shape: [2], data: [0, 1], dtype: "bool" as const };
    expect([...run1("logical_not", [b]).data]).toEqual([1, 0]);
    expect([...run1("logical_and", [a, b]).data]).toEqual([0, 0, 0, 1]);
    expect([...run1("logical_or", [a, b]).data]).toEqual([0, 1, 1, 1]);
    expect([...run1("logical_xor", [a, b]).data]).toEqual([0, 1, 1, 0]);
    expect(run1("logical_xor", [a, b]).shape).toEqual([2, 2]);
  });

  test("shift counts past the width shift every bit out; negative counts shift by 0", () => {
    const x = { shape: [4], data: [-8, 8, 5, -1], dtype: "i32" as const };
    const s = { shape: [4], data: [40, 32, -3, 31], dtype: "i32" as const };
    expect([...run1("bitshift", [x, s], { direction: "right" }).data]).toEqual([-1, 0, 5, -1]);
    expect([...run1("bitshift", [x, s], { direction: "left" }).data]).toEqual([0, 0, 5, -2147483648]);
  });

  test("i64 bit ops are exact past 32 bits", () => {
    const x = { shape: [2], data: [2 ** 40 + 5, -(2 ** 35)], dtype: "i64" as const };
    const s = { shape: [2], data: [3, 2], dtype: "i64" as const };
    expect([...run1("bitshift", [x, s], { direction: "left" }).data]).toEqual([(2 ** 40 + 5) * 8, -(2 ** 37)]);
    expect([...run1("bitshift", [x, s], { direction: "right" }).data]).toEqual([2 ** 37, -(2 ** 33)]);
    expect([...run1("bitwise_and", [x, { shape: [2], data: [2 ** 40 + 4, -1], dtype: "i64" }]).data]).toEqual([2 ** 40 + 4, -(2 ** 35)]);
  });

  test("none of them has a gradient", () => {
    expect(vjpOf("isnan", [{ shape: [3], dtype: "f64" }])).toEqual([null]);
    expect(vjpOf("logical_and", [{ shape: [3], dtype: "bool" }, { shape: [3], dtype: "bool" }])).toEqual([null, null]);
    expect(vjpOf("bitshift", [{ shape: [3], dtype: "i32" }, { shape: [3], dtype: "i32" }], { direction: "left" })).toEqual([null, null]);
  });
});

describe("mod", () => {
  test("float mod: Python's sign rule for fmod = 0, C's for fmod = 1, with broadcasting", () => {
    const rng = new Rng(5);
    const a = rand(rng, [3, 4], -9, 9), b = { shape: [4], data: [2.5, -1.5, 0.75, -3] };
    const py = (x: number, y: number): number => { const r = x % y; return r !== 0 && (r < 0) !== (y < 0) ? r + y : r; };
    const want = (f: (x: number, y: number) => number): Arr => arr([3, 4], ([i, j]) => f(get(a, [i!, j!]), b.data[j!]!));
    expectClose(run1("mod", [a, b]), want(py), { atol: 1e-14 });
    expectClose(run1("mod", [a, b], { fmod: 1 }), want((x, y) => x % y), { atol: 1e-14 });
  });

  test("an integer divisor of 0 is an error in the interpreter", () => {
    const i = (d: number[]) => ({ shape: [d.length], data: d, dtype: "i32" as const });
    expect(() => run1("mod", [i([3]), i([0])])).toThrow(/division by zero/);
  });

  test("VJP: 1 for the dividend, −trunc(a/b) or −floor(a/b) for the divisor", () => {
    const a = { shape: [2, 3], data: [5.3, -5.3, 2.2, -7.1, 0.4, 3.3] };
    const b = { shape: [3], data: [2.1, -1.7, 0.9] };
    checkVjp("mod", [a, b]);
    checkVjp("mod", [a, b], { fmod: 1 });
  });
});

describe("reductions: prod, argmin, select_last_index", () => {
  test("prod over axes, keepdims, integers", () => {
    const x = rand(new Rng(3), [2, 3, 4], 0.5, 1.5);
    const want = arr([2, 1, 4], ([i, , k]) => [0, 1, 2].reduce((p, j) => p * get(x, [i!, j, k!]), 1));
    expectClose(run1("prod", [x], { axes: [1], keepdims: true }), want, { rtol: 1e-14 });
    expect([...run1("prod", [{ shape: [2, 3], data: [1, -2, 3, 4, 5, -6], dtype: "i32" }], { axes: [1] }).data]).toEqual([-6, -120]);
  });

  test("prod's VJP with no zero, one zero and two zeros in a slice", () => {
    checkVjp("prod", [{ shape: [3, 4], data: [0.5, -1.2, 2, 0.7, 0, 1.5, -0.8, 1.1, 0, 2, 0, 0.9] }], { axes: [1] });
    checkVjp("prod", [{ shape: [2, 3, 2] }], { axes: [0, 2], keepdims: true });
    checkVjp("prod", [{ shape: [4] }]);
  });

  test("argmin mirrors argmax; select_last_index picks the last tie", () => {
    const x = { shape: [2, 4], data: [3, 1, 1, 2, 0, 5, 0, 0] };
    expect([...run1("argmin", [x], { axis: 1 }).data]).toEqual([1, 0]);
    expect([...run1("argmin", [x], { axis: 1, select_last_index: 1 }).data]).toEqual([2, 3]);
    expect([...run1("argmax", [x], { axis: 0, select_last_index: 1 }).data]).toEqual([0, 1, 0, 0]);
    expect(run1("argmin", [x], { axis: 0, keepdims: true }).shape).toEqual([1, 4]);
  });
});

describe("cumsum and trilu", () => {
  const x = rand(new Rng(8), [3, 5]);
  test.each([[0, 0], [1, 0], [0, 1], [1, 1]])("cumsum exclusive=%i reverse=%i: closed form and VJP", (exclusive, reverse) => {
    const want = arr([3, 5], ([i, j]) => {
      let s = 0;
      for (let r = 0; r < 5; r++) if (reverse ? (exclusive ? r > j! : r >= j!) : (exclusive ? r < j! : r <= j!)) s += get(x, [i!, r]);
      return s;
    });
    expectClose(run1("cumsum", [x], { axis: 1, exclusive, reverse }), want, { atol: 1e-14 });
    checkVjp("cumsum", [{ shape: [3, 5], data: x.data }], { axis: -1, exclusive, reverse });
    checkVjp("cumsum", [{ shape: [3, 5], data: x.data }], { axis: 0, exclusive, reverse });
  });

  test("trilu on a batch of non-square matrices, and its VJP", () => {
    const y = rand(new Rng(9), [2, 3, 5]);
    for (const [upper, k] of [[1, 0], [0, 0], [1, -2], [0, 3]] as const) {
      const want = arr([2, 3, 5], ([b, i, j]) => ((upper ? j! - i! >= k : j! - i! <= k) ? get(y, [b!, i!, j!]) : 0));
      expectClose(run1("trilu", [y], { upper, k }), want);
      checkVjp("trilu", [{ shape: [2, 3, 5], data: y.data }], { upper, k });
    }
  });
});

const ints = (shape: number[], data: number[], dtype: DType = "i32") => ({ shape, data, dtype });

describe("indexing VJPs", () => {
  test("gather_elements → scatter_elements(add), duplicates accumulate", () => {
    checkVjp("gather_elements", [{ shape: [3, 4] }, ints([3, 2], [0, -1, 3, 3, 2, 0])], { axis: 1 });
    checkVjp("gather_elements", [{ shape: [3, 4] }, ints([2, 4], [0, 2, 2, 1, -1, 0, 1, 1])], { axis: 0 });
  });

  test("scatter_elements none (distinct indices), add, mul", () => {
    const idx = ints([2, 3], [0, 2, 1, 2, 0, -1]);
    const upd = { shape: [2, 3], data: [0.5, -0.7, 1.3, 0.9, -1.1, 0.6] };
    for (const reduction of ["none", "add", "mul"]) checkVjp("scatter_elements", [{ shape: [3, 3] }, idx, upd], { axis: 0, reduction });
    const dup = ints([2, 2], [1, 1, 0, 0]);
    for (const reduction of ["add", "mul"]) {
      checkVjp("scatter_elements", [{ shape: [2, 3] }, dup, { shape: [2, 2], data: [0.5, -1.5, 2, 0.8] }], { axis: 1, reduction });
    }
  });

  test("gather_nd → scatter_nd(add), with and without batch_dims", () => {
    checkVjp("gather_nd", [{ shape: [3, 4] }, ints([3, 2], [0, 1, 2, 3, 0, 1])]);
    checkVjp("gather_nd", [{ shape: [2, 3, 4] }, ints([2, 2, 1], [2, -1, 0, 0])], { batch_dims: 1 });
  });

  test("scatter_nd none (distinct indices), add, mul", () => {
    const idx = ints([2, 1], [2, 0]);
    const upd = { shape: [2, 3], data: [0.5, -0.7, 1.3, 0.9, -1.1, 0.6] };
    for (const reduction of ["none", "add", "mul"]) checkVjp("scatter_nd", [{ shape: [4, 3] }, idx, upd], { reduction });
    checkVjp("scatter_nd", [{ shape: [2, 3, 2] }, ints([2, 2, 1], [1, 1, 0, 2]), { shape: [2, 2, 2] }], { reduction: "add", batch_dims: 1 });
  });

  test("a scatter with max/min refuses to differentiate, naming the node", () => {
    const b = new GraphBuilder();
    const xs = [b.input("d", [3], "f64"), b.input("i", [2], "i32"), b.input("u", [2], "f64")];
    b.op("scatter_elements", xs, { reduction: "max" }, "sc");
    const node = b.build([]).nodes.at(-1)!;
    expect(() => basicOps["scatter_elements"]!.vjp({ node, b }, [b.input("g", [3], "f64")])).toThrow(/node sc \(scatter_elements\): reduction "max" has no gradient/);
  });

  test("symbolic dimensions: scatter_elements, gather_elements and cumsum over a batch", () => {
    const b = new GraphBuilder();
    const d = b.input("d", ["n", 3], "f64"), i = b.input("i", ["n", 2], "i32"), u = b.input("u", ["n", 2], "f64");
    const s = b.op1("scatter_elements", [d, i, u], { axis: 1, reduction: "add" });
    const c = b.op1("cumsum", [b.op1("gather_elements", [s, i], { axis: 1 })], { axis: 0 });
    expect(c.type.shape).toEqual(["n", 2]);
    const g = b.build([s, c]);
    const dv = [1, 2, 3, 4, 5, 6], iv = [0, 0, 2, -1], uv = [10, 20, 30, 40];
    const [sv, cv] = interpret(g, [{ data: dv, shape: [2, 3] }, { data: iv, shape: [2, 2] }, { data: uv, shape: [2, 2] }]).outputs;
    expectClose(sv!, { shape: [2, 3], data: [31, 2, 3, 4, 5, 76] });
    expectClose(cv!, { shape: [2, 2], data: [31, 31, 107, 107] });
  });

  test("autodiff through a chain: cumsum(scatter_elements(gather_nd(x)))", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3, 4], "f64"), i = b.input("i", [2, 1], "i32"), j = b.input("j", [2, 4], "i32");
    const rows = b.op1("gather_nd", [x, i]);
    const s = b.op1("scatter_elements", [x, j, rows], { axis: 0, reduction: "add" });
    const c = b.op1("cumsum", [s], { axis: 1, reverse: 1 });
    const loss = b.op1("sum", [b.op1("mul", [c, b.op1("sin", [c])])]);
    const g = b.build([loss]);
    const xv = rand(new Rng(4), [3, 4]);
    checkGraphGrad(g, [xv, { data: [2, 0], shape: [2, 1] }, { data: [1, 1, 0, 2, 2, 0, 0, 1], shape: [2, 4] }], [0]);
  });
});

/** The message of the LatheError one node named "n1" throws. */
const failure = (...args: Parameters<typeof opFailure>): string => opFailure(...args).message;

describe("bad inputs name the node and op", () => {
  test("dtypes", () => {
    expect(failure("sin", [[[3], "i32"]])).toMatch(/^node n1 \(sin\): needs a float input, got i32\[3\]/);
    expect(failure("isnan", [[[3], "i32"]])).toMatch(/^node n1 \(isnan\): needs a float input/);
    expect(failure("logical_and", [[[3]], [[3]]])).toMatch(/^node n1 \(logical_and\): needs a bool input, got f32\[3\]/);
    expect(failure("logical_not", [[[3], "i32"]])).toMatch(/^node n1 \(logical_not\): needs a bool input/);
    expect(failure("bitwise_not", [[[3], "f32"]])).toMatch(/^node n1 \(bitwise_not\): needs an integer input/);
    expect(failure("bitshift", [[[3], "u8"], [[3], "i32"]], { direction: "left" })).toMatch(/^node n1 \(bitshift\): operand dtypes differ/);
    expect(failure("mod", [[[3], "bool"], [[3], "bool"]])).toMatch(/^node n1 \(mod\): arithmetic on bool/);
    expect(failure("cumsum", [[[3], "bool"]])).toMatch(/^node n1 \(cumsum\)/);
    expect(failure("scatter_elements", [[[3]], [[2], "i32"], [[2], "f64"]])).toMatch(/^node n1 \(scatter_elements\): updates f64\[2\] and data f32\[3\] differ/);
    expect(failure("scatter_nd", [[[3], "bool"], [[2, 1], "i32"], [[2], "bool"]], { reduction: "add" })).toMatch(/^node n1 \(scatter_nd\): reduction "add" on bool/);
    expect(failure("gather_elements", [[[3, 2]], [[3, 2], "f32"]])).toMatch(/^node n1 \(gather_elements\): indices must be an integer tensor/);
  });

  test("attributes and shapes", () => {
    expect(failure("bitshift", [[[3], "u8"], [[3], "u8"]], { direction: "up" })).toMatch(/^node n1 \(bitshift\): direction must be "left" or "right"/);
    expect(failure("scatter_elements", [[[3]], [[2], "i32"], [[2]]], { reduction: "sum" })).toMatch(/^node n1 \(scatter_elements\): reduction must be one of none, add, mul, max, min/);
    expect(failure("scatter_elements", [[[3, 4]], [[2, 2], "i32"], [[2, 3]]])).toMatch(/^node n1 \(scatter_elements\): indices i32\[2, 2\] and updates f32\[2, 3\] must have one shape/);
    expect(failure("gather_elements", [[[3, 4]], [[2, 5], "i32"]])).toMatch(/^node n1 \(gather_elements\): indices i32\[2, 5\] does not fit in f32\[3, 4\] \(dimension 1\)/);
    expect(failure("gather_nd", [[[3, 4]], [[2, 3], "i32"]])).toMatch(/^node n1 \(gather_nd\): index depth 3 with batch_dims 0 exceeds the rank/);
    expect(failure("gather_nd", [[[3, 4]], [[2, "k"], "i32"]])).toMatch(/^node n1 \(gather_nd\): the last dimension of indices/);
    expect(failure("gather_nd", [[[3, 4]], [[2, 1], "i32"]], { batch_dims: 1 })).toMatch(/^node n1 \(gather_nd\): batch dimension 0 differs/);
    expect(failure("scatter_nd", [[[3, 4]], [[2, 1], "i32"], [[2, 3]]])).toMatch(/^node n1 \(scatter_nd\): updates f32\[2, 3\] must have shape \[2, 4\]/);
    expect(failure("trilu", [[[4]]])).toMatch(/^node n1 \(trilu\): needs a matrix/);
    expect(failure("cumsum", [[[4]]], { axis: 1 })).toMatch(/^node n1 \(cumsum\): axis 1 is out of range/);
    expect(failure("argmin", [[[4, 0]]], { axis: 1 })).toMatch(/^node n1 \(argmin\): argmin over an empty axis/);
  });
});
