/** Specific canonical results: the shapes of index arithmetic that lowering produces. */
import { describe, expect, test } from "vitest";
import type { Expr, Var } from "../te/expr.ts";
import {
  add, and, bool, call, cast, div, eq, float, floordiv, floormod, ge, gt, int, le, lt, max, min, mul, ne, not, or,
  select, sub, variable,
} from "../te/expr.ts";
import { canProve, exprEqual, simplify } from "./simplify.ts";
import type { VarRanges } from "./interval.ts";
import { show } from "./testing.ts";

type RangeSpec = [Var, Expr | number, Expr | number];
const ranges = (...xs: RangeSpec[]): VarRanges =>
  new Map(xs.map(([v, m, e]) => [v, { min: typeof m === "number" ? int(m) : m, extent: typeof e === "number" ? int(e) : e }]));

/** Asserts simplify(e) is structurally `want`, printing both on failure. */
function expectSimplified(e: Expr, want: Expr, r?: VarRanges): void {
  const got = simplify(e, r);
  expect(show(got), `simplify(${show(e)})`).toBe(show(want));
  expect(exprEqual(got, want)).toBe(true);
}
const isConstValue = (e: Expr, v: number): boolean => e.kind === "const" && e.value === v;

const x = variable("x"), y = variable("y"), n = variable("n");
const io = variable("io"), ii = variable("ii"), iii = variable("iii"), fused = variable("fused");

describe("linear terms", () => {
  test("collects like terms", () => {
    expectSimplified(sub(add(mul(x, 3), 7), add(mul(x, 2), x)), int(7));
    expectSimplified(sub(add(x, 4), x), int(4));
    expectSimplified(add(mul(x, 3), mul(x, 2)), mul(x, 5));
    expectSimplified(sub(add(mul(x, y), 1), mul(y, x)), int(1));
  });
  test("expands products and cancels", () => {
    // (x + 1)(x − 1) − x·x = −1
    expectSimplified(sub(mul(add(x, 1), sub(x, 1)), mul(x, x)), int(-1));
  });
  test("nested split folds to a flat sum", () => {
    expectSimplified(add(mul(add(mul(io, 4), ii), 8), iii), add(add(mul(io, 32), mul(ii, 8)), iii));
  });
  test("keeps the dtype of i64 sums", () => {
    const a = variable("a", "i64");
    const s = simplify(add(mul(a, 3), sub(int(5, "i64"), a)));
    expect(s.dtype).toBe("i64");
    expect(show(s)).toBe("((a * 2) + 5)");
  });
  test("integer constants wrap like C", () => {
    expectSimplified(add(int(2147483647), 1), int(-2147483648));
    expectSimplified(mul(int(65536), int(65536)), int(0));
  });
  test("returns the same object when already canonical", () => {
    const e = add(mul(x, 2), y);
    expect(simplify(e)).toBe(e);
    expect(simplify(x)).toBe(x);
  });
});

describe("floordiv / floormod", () => {
  const inner = ranges([ii, 0, 8]);
  test("split index recombines", () => {
    expectSimplified(floordiv(add(mul(io, 8), ii), 8), io, inner);
    expectSimplified(floormod(add(mul(io, 8), ii), 8), ii, inner);
  });
  test("pulls out divisible terms when the rest is not bounded", () => {
    expectSimplified(floordiv(add(mul(io, 8), ii), 8), add(io, floordiv(ii, 8)));
    expectSimplified(floormod(add(mul(io, 8), ii), 8), floormod(ii, 8));
  });
  test("trivial divisors", () => {
    expectSimplified(floordiv(x, 1), x);
    expectSimplified(floormod(x, 1), int(0));
    expectSimplified(floordiv(int(-7), 2), int(-4));
    expectSimplified(floormod(int(-7), 2), int(1));
    expectSimplified(floordiv(int(7), -2), int(-4));
  });
  test("nested splits", () => {
    const r = ranges([ii, 0, 4], [iii, 0, 8]);
    const i = add(mul(add(mul(io, 4), ii), 8), iii);
    expectSimplified(floordiv(i, 8), add(mul(io, 4), ii), r);
    expectSimplified(floormod(i, 8), iii, r);
    expectSimplified(floordiv(i, 32), io, r);
    expectSimplified(floormod(i, 32), add(mul(ii, 8), iii), r);
    expectSimplified(floormod(floordiv(i, 8), 4), ii, r);
  });
  test("fuse then split is the identity", () => {
    expectSimplified(add(mul(floordiv(fused, 12), 12), floormod(fused, 12)), fused);
    expectSimplified(add(mul(floordiv(fused, n), n), floormod(fused, n)), fused);
    const i = variable("i"), j = variable("j");
    const r = ranges([i, 0, 5], [j, 0, 12]);
    const f = add(mul(i, 12), j);
    expectSimplified(floordiv(f, 12), i, r);
    expectSimplified(floormod(f, 12), j, r);
  });
  test("symbolic divisor with a range up to it", () => {
    const j = variable("j");
    const r = ranges([j, 0, n]);
    expectSimplified(floordiv(add(mul(x, n), j), n), x, r);
    expectSimplified(floormod(add(mul(x, n), j), n), j, r);
  });
  test("common factors and partial splits", () => {
    expectSimplified(floordiv(add(mul(x, 4), ii), 8), floordiv(x, 2), ranges([ii, 0, 4]));
    expectSimplified(floormod(add(mul(x, 4), ii), 8), add(ii, mul(floormod(x, 2), 4)), ranges([ii, 0, 4]));
    expectSimplified(floormod(add(mul(x, 6), 4), 4), mul(floormod(x, 2), 2));
    expectSimplified(floordiv(floordiv(x, 4), 8), floordiv(x, 32));
    expectSimplified(floormod(floormod(x, 16), 4), floormod(x, 4));
    expectSimplified(sub(x, mul(floordiv(x, 4), 4)), floormod(x, 4));
  });
  test("bounded dividend", () => {
    expectSimplified(floordiv(x, 16), int(0), ranges([x, 0, 16]));
    expectSimplified(floordiv(x, 16), int(-1), ranges([x, -16, 16]));
    expectSimplified(floormod(x, 16), add(x, 16), ranges([x, -16, 16]));
  });
  test("division by a constant zero is left alone", () => {
    const e = simplify(floordiv(x, 0));
    expect(e.kind).toBe("bin");
  });
  test("truncdiv/truncmod fold only when they become simpler", () => {
    const td = (a: Expr, b: Expr): Expr => ({ kind: "bin", op: "truncdiv", a, b, dtype: "i32" });
    const tm = (a: Expr, b: Expr): Expr => ({ kind: "bin", op: "truncmod", a, b, dtype: "i32" });
    expectSimplified(td(add(mul(x, 8), 3), int(8)), x, ranges([x, 0, 10]));
    expectSimplified(tm(add(mul(x, 8), 3), int(8)), int(3), ranges([x, 0, 10]));
    expectSimplified(td(x, int(8)), int(0), ranges([x, -7, 15]));
    expectSimplified(td(int(-7), int(2)), int(-3));
    expectSimplified(tm(int(-7), int(2)), int(-1));
    // Possibly negative dividend: stays a C division.
    expect(show(simplify(td(x, int(8))))).toBe("truncdiv(x, 8)");
  });
});

describe("min / max", () => {
  test("provable order picks an operand", () => {
    expectSimplified(min(x, 5), x, ranges([x, 0, 4]));
    expectSimplified(max(x, 5), int(5), ranges([x, 0, 4]));
    expectSimplified(max(x, add(x, 1)), add(x, 1));
    expectSimplified(min(mul(floordiv(x, 4), 4), x), mul(floordiv(x, 4), 4));
    const j = variable("j");
    expectSimplified(min(j, sub(n, 1)), j, ranges([j, 0, n]));
  });
  test("split tail: min(16, n − io*16) with io's range", () => {
    // io ∈ [0, n/16) is not expressible; with n ≥ 16·(io+1) the min is 16.
    const r = ranges([io, 0, 4]);
    expectSimplified(min(16, sub(64, mul(io, 16))), int(16), r);
  });
  test("commutes and pulls out common terms", () => {
    expectSimplified(sub(min(add(x, 1), add(y, 1)), min(y, x)), int(1));
    expectSimplified(min(add(x, 5), 10), add(min(x, 5), 5));
    expectSimplified(max(max(x, y), x), max(x, y));
  });
});

describe("comparisons", () => {
  test("decided by ranges", () => {
    expect(isConstValue(simplify(lt(add(mul(io, 16), ii), 67), ranges([io, 0, 4], [ii, 0, 16])), 1)).toBe(true);
    expect(isConstValue(simplify(lt(add(mul(io, 16), ii), 60), ranges([io, 0, 4], [ii, 0, 16])), 1)).toBe(false);
    expect(isConstValue(simplify(ge(add(mul(io, 16), ii), 64), ranges([io, 0, 4], [ii, 0, 16])), 0)).toBe(true);
    // symbolic outer index, bounded inner
    expect(isConstValue(simplify(lt(add(mul(io, 16), ii), mul(add(io, 1), 16)), ranges([ii, 0, 16])), 1)).toBe(true);
  });
  test("decided by symbolic ranges", () => {
    const j = variable("j");
    expect(isConstValue(simplify(lt(j, n), ranges([j, 0, n])), 1)).toBe(true);
    expect(isConstValue(simplify(ge(sub(n, j), 1), ranges([j, 0, n])), 1)).toBe(true);
  });
  test("normalised when undecided", () => {
    expectSimplified(lt(add(x, 3), 10), lt(x, 7));
    expectSimplified(lt(mul(x, 4), 9), lt(x, 3));
    expectSimplified(lt(10, add(x, 3)), gt(x, 7));
    expectSimplified(le(x, y), le(x, y));
    expectSimplified(eq(mul(x, 2), 5), bool(false));
    expectSimplified(eq(add(x, y), add(y, x)), bool(true));
    expectSimplified(ne(mul(x, 4), add(mul(y, 2), 6)), ne(mul(x, 2), add(y, 3)));
  });
  test("negation of integer comparisons", () => {
    expectSimplified(not(lt(x, y)), le(y, x));
    expectSimplified(not(eq(x, 3)), ne(x, 3));
    // floats: !(a < b) is not a >= b (NaN), so it stays
    const f = variable("f", "f32");
    expect(simplify(not(lt(f, float(1)))).kind).toBe("not");
  });
});

describe("select and logic", () => {
  test("select", () => {
    expectSimplified(select(bool(true), x, y), x);
    expectSimplified(select(lt(x, 10), x, y), x, ranges([x, 0, 5]));
    expectSimplified(select(lt(x, y), x, x), x);
    expectSimplified(select(not(lt(x, 3)), x, y), select(ge(x, 3), x, y));
    const b = variable("b", "bool");
    expectSimplified(select(not(b), x, y), select(b, y, x));
  });
  test("and / or / not", () => {
    expectSimplified(and(lt(x, 3), bool(true)), lt(x, 3));
    expectSimplified(and(lt(x, 3), bool(false)), bool(false));
    expectSimplified(or(lt(x, 3), bool(true)), bool(true));
    expectSimplified(or(lt(x, 3), ge(x, 3)), bool(true));
    expectSimplified(and(lt(x, 3), ge(x, 3)), bool(false));
    expectSimplified(and(lt(x, 5), lt(x, 3)), lt(x, 3));
    expectSimplified(or(lt(x, 5), lt(x, 3)), lt(x, 5));
    expectSimplified(and(ge(x, 5), lt(x, 3)), bool(false));
    expectSimplified(not(not(lt(x, y))), lt(x, y));
    expectSimplified(not(bool(false)), bool(true));
  });
});

describe("constant folding of other dtypes", () => {
  const f = variable("f", "f32");
  test("f32 results are rounded once", () => {
    expectSimplified(add(float(0.1), float(0.2)), float(Math.fround(0.1 + 0.2)));
    expectSimplified(div(float(1), float(3)), float(Math.fround(1 / 3)));
    expectSimplified(add(float(0.1, "f64"), float(0.2, "f64")), float(0.1 + 0.2, "f64"));
  });
  test("float identities only, no reassociation", () => {
    expectSimplified(mul(f, 1), f);
    expectSimplified(add(f, 0), f);
    expectSimplified(add(0, f), f);
    expectSimplified(sub(f, 0), f);
    expectSimplified(div(f, 1), f);
    expect(show(simplify(mul(f, 0)))).toBe("(f * 0)"); // NaN·0 is NaN
    expect(show(simplify(sub(f, f)))).toBe("(f - f)");
    expect(show(simplify(add(add(f, 1), 2)))).toBe("((f + 1) + 2)");
  });
  test("casts of constants wrap", () => {
    expectSimplified(cast("i8", int(300)), int(44, "i8"));
    expectSimplified(cast("u8", int(-1)), int(255, "u8"));
    expectSimplified(cast("i32", float(-3.7)), int(-3));
    expectSimplified(cast("f32", int(16777217)), float(16777216));
    expectSimplified(cast("bool", int(5)), bool(true));
    expectSimplified(cast("i32", lt(x, 3)), int(1), ranges([x, 0, 3]));
  });
  test("u8 arithmetic wraps", () => {
    expectSimplified(add(int(250, "u8"), int(10, "u8")), int(4, "u8"));
  });
  test("exactly-rounded intrinsics fold, others stay", () => {
    expectSimplified(call("sqrt", float(2)), float(Math.fround(Math.SQRT2)));
    expectSimplified(call("abs", int(-3)), int(3));
    expect(simplify(call("exp", float(1))).kind).toBe("call");
  });
});

describe("vectors", () => {
  test("ramp and broadcast keep their structure, scalar parts simplify", () => {
    const ramp: Expr = { kind: "ramp", base: add(mul(x, 4), sub(y, y)), stride: add(int(1), int(0)), lanes: 4, dtype: "i32" };
    const s = simplify(ramp);
    expect(s.kind).toBe("ramp");
    if (s.kind !== "ramp") return;
    expect(show(s.base)).toBe("(x * 4)");
    expect(isConstValue(s.stride, 1)).toBe(true);
    expect(s.lanes).toBe(4);
    const bc: Expr = { kind: "broadcast", value: sub(add(x, 2), x), lanes: 8, dtype: "i32" };
    const v: Expr = { kind: "bin", op: "add", a: ramp, b: bc, dtype: "i32", lanes: 4 };
    const sv = simplify(v);
    expect(sv.kind).toBe("bin");
    expect(sv.lanes).toBe(4);
  });
});

describe("canProve", () => {
  test("sound and useful", () => {
    expect(canProve(lt(add(mul(io, 16), ii), 64), ranges([io, 0, 4], [ii, 0, 16]))).toBe(true);
    expect(canProve(lt(add(mul(io, 16), ii), 63), ranges([io, 0, 4], [ii, 0, 16]))).toBe(false);
    expect(canProve(lt(x, 3))).toBe(false);
    expect(canProve(ge(floordiv(sub(n, 1), 16), 0), ranges([n, 1, 100]))).toBe(true);
    expect(canProve(le(floormod(x, 8), 7))).toBe(true);
    expect(canProve(eq(add(mul(floordiv(x, 8), 8), floormod(x, 8)), x))).toBe(true);
  });
  test("nested ranges: j ∈ [0, m), m ∈ [1, 8]", () => {
    const j = variable("j"), m = variable("m");
    const r = ranges([j, 0, m], [m, 1, 8]);
    expect(canProve(lt(j, m), r)).toBe(true);
    expect(canProve(lt(j, 8), r)).toBe(true);
    expect(canProve(lt(j, 7), r)).toBe(false);
  });
});

describe("exprEqual", () => {
  test("structural, vars by identity", () => {
    expect(exprEqual(add(x, 1), add(x, 1))).toBe(true);
    expect(exprEqual(add(x, 1), add(1, x))).toBe(false);
    expect(exprEqual(x, variable("x"))).toBe(false);
    expect(exprEqual(int(1), int(1, "i64"))).toBe(false);
  });
});
