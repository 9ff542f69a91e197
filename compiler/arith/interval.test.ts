/** Specific interval results: the bounds that bounds inference and loop partitioning need. */
import { describe, expect, test } from "vitest";
import type { Expr, Var } from "../te/expr.ts";
import { add, floordiv, floormod, int, max, min, mul, sub, variable } from "../te/expr.ts";
import { constIntervalOf, intervalOf } from "./interval.ts";
import type { VarRanges } from "./interval.ts";
import { simplify } from "./simplify.ts";
import { makeBuffer } from "../te/buffer.ts";
import { show } from "./testing.ts";

type RangeSpec = [Var, Expr | number, Expr | number];
const ranges = (...xs: RangeSpec[]): VarRanges =>
  new Map(xs.map(([v, m, e]) => [v, { min: typeof m === "number" ? int(m) : m, extent: typeof e === "number" ? int(e) : e }]));
const showIv = (iv: { min: Expr | null; max: Expr | null }) => [iv.min ? show(iv.min) : null, iv.max ? show(iv.max) : null];

const io = variable("io"), ii = variable("ii"), iii = variable("iii"), n = variable("n"), x = variable("x"), y = variable("y");

describe("intervalOf", () => {
  test("split with both loops ranged", () => {
    expect(showIv(intervalOf(add(mul(io, 16), ii), ranges([io, 0, 4], [ii, 0, 16])))).toEqual(["0", "63"]);
  });
  test("split with symbolic outer index: the extent cancels to 16", () => {
    const iv = intervalOf(add(mul(io, 16), ii), ranges([ii, 0, 16]));
    expect(showIv(iv)).toEqual(["(io * 16)", "((io * 16) + 15)"]);
    const extent = simplify(add(sub(iv.max!, iv.min!), 1));
    expect(extent).toEqual(int(16));
  });
  test("nested split", () => {
    const e = add(mul(add(mul(io, 4), ii), 8), iii);
    const iv = intervalOf(e, ranges([ii, 0, 4], [iii, 0, 8]));
    expect(showIv(iv)).toEqual(["(io * 32)", "((io * 32) + 31)"]);
    expect(showIv(intervalOf(floordiv(e, 8), ranges([ii, 0, 4], [iii, 0, 8])))).toEqual(["(io * 4)", "((io * 4) + 3)"]);
  });
  test("fused index", () => {
    const f = variable("fused");
    const r = ranges([f, 0, 60]);
    expect(showIv(intervalOf(floordiv(f, 12), r))).toEqual(["0", "4"]);
    expect(showIv(intervalOf(floormod(f, 12), r))).toEqual(["0", "11"]);
    expect(showIv(intervalOf(floormod(f, 12), ranges([f, 24, 6])))).toEqual(["0", "5"]);
  });
  test("min/max and symbolic extents", () => {
    const iv = intervalOf(min(add(mul(io, 16), ii), n), ranges([ii, 0, 16]));
    expect(showIv(iv)).toEqual(["min((io * 16), n)", "min(((io * 16) + 15), n)"]);
    const j = variable("j");
    expect(showIv(intervalOf(j, ranges([j, 0, n])))).toEqual(["0", "(n - 1)"]);
    expect(showIv(intervalOf(max(x, 3), ranges([x, 0, 10])))).toEqual(["3", "9"]);
  });
  test("nested ranges relax inner first", () => {
    const j = variable("j"), m = variable("m");
    expect(showIv(intervalOf(sub(j, m), ranges([j, 0, m], [m, 1, 8])))).toEqual(["-8", "-1"]);
  });
  test("products with a symbolic factor", () => {
    expect(showIv(intervalOf(mul(x, y), ranges([x, 0, 4])))).toEqual(["min((y * 3), 0)", "max((y * 3), 0)"]);
    expect(showIv(intervalOf(mul(x, n), ranges([x, 0, 4], [n, 1, 10])))).toEqual(["0", "30"]);
  });
  test("unbounded sides are null", () => {
    expect(showIv(intervalOf(floordiv(x, 4), ranges([x, 0, 4])))).toEqual(["0", "0"]);
    expect(showIv(intervalOf(min(x, y), ranges([x, 0, 4])))).toEqual(["min(y, 0)", "min(y, 3)"]);
    const buf = makeBuffer("A", "i32", [int(16)]);
    const load: Expr = { kind: "load", buffer: buf, indices: [x], dtype: "i32" };
    expect(showIv(intervalOf(load, ranges([x, 0, 4])))).toEqual([null, null]);
    expect(showIv(intervalOf(min(load, 5), ranges([x, 0, 4])))).toEqual([null, "5"]);
    // a load whose index is not ranged is a single value
    expect(intervalOf(load, new Map()).min).toBe(load);
  });
  test("vectors: every lane is covered", () => {
    const ramp: Expr = { kind: "ramp", base: mul(x, 4), stride: int(1), lanes: 4, dtype: "i32" };
    expect(showIv(intervalOf(ramp, ranges([x, 0, 8])))).toEqual(["0", "31"]);
    expect(showIv(intervalOf(ramp, new Map()))).toEqual(["(x * 4)", "((x * 4) + 3)"]);
    const bc: Expr = { kind: "broadcast", value: y, lanes: 4, dtype: "i32" };
    const v: Expr = { kind: "bin", op: "add", a: ramp, b: bc, dtype: "i32", lanes: 4 };
    expect(constIntervalOf(v, ranges([x, 0, 8], [y, 0, 2]))).toEqual({ min: 0, max: 32 });
  });
  test("expressions without ranged vars are points", () => {
    const e = add(x, 1);
    expect(showIv(intervalOf(e, new Map()))).toEqual(["(x + 1)", "(x + 1)"]);
  });
});

describe("constIntervalOf", () => {
  test("numeric bounds or null", () => {
    expect(constIntervalOf(add(mul(io, 16), ii), ranges([io, 0, 4], [ii, 0, 16]))).toEqual({ min: 0, max: 63 });
    expect(constIntervalOf(add(mul(io, 16), ii), ranges([ii, 0, 16]))).toBeNull();
    expect(constIntervalOf(sub(add(mul(io, 16), ii), mul(io, 16)), ranges([ii, 0, 16]))).toEqual({ min: 0, max: 15 });
    expect(constIntervalOf(floormod(x, 8), new Map())).toEqual({ min: 0, max: 7 });
  });
});
