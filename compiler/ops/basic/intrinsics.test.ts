/**
 * The TE intrinsics the ONNX primitives added (round fmod shl shr bit ops, the inverse
 * trigonometric and hyperbolic functions): their evaluator semantics against closed forms,
 * dtype checks, and the text form's round trip.
 */
import { describe, expect, test } from "vitest";
import { ParseError } from "../../../core/errors.ts";
import type { DType } from "../../../core/dtype.ts";
import { evaluate, evalExpr } from "../../te/evaluate.ts";
import type { Intrinsic } from "../../te/expr.ts";
import { INTRINSIC_DOMAIN, call, float, int } from "../../te/expr.ts";
import { parseTE } from "../../te/parse.ts";
import { printTE } from "../../te/print.ts";

const ev = (fn: Intrinsic, dtype: DType, ...xs: number[]): number => evalExpr(call(fn, ...xs.map((x) => int(x, dtype))), new Map());

describe("intrinsic semantics in the evaluator", () => {
  test("round takes halves to even, keeps the sign of zero and non-finite values", () => {
    const xs = [0.5, 1.5, 2.5, -0.5, -2.5, -3.5, 2.49, 1e17 + 2, Infinity, NaN];
    const got = xs.map((x) => evalExpr(call("round", float(x, "f64")), new Map()));
    expect(got).toEqual([0, 2, 2, -0, -2, -4, 2, 1e17 + 2, Infinity, NaN]);
    expect(Object.is(got[3], -0)).toBe(true);
  });

  test("fmod: C's remainder, the dividend's sign, for floats and integers", () => {
    expect(evalExpr(call("fmod", float(-7.5, "f64"), float(2, "f64")), new Map())).toBe(-1.5);
    expect(ev("fmod", "i32", -7, 3)).toBe(-1);
    expect(ev("fmod", "i32", 7, -3)).toBe(1);
    expect(() => ev("fmod", "i32", 7, 0)).toThrow(/division by zero/);
  });

  test("shifts and bit ops wrap to the dtype", () => {
    expect(ev("shl", "u8", 200, 1)).toBe(144);
    expect(ev("shl", "i8", 100, 1)).toBe(-56);
    expect(ev("shr", "i8", -128, 3)).toBe(-16);
    expect(ev("shr", "u8", 255, 9)).toBe(0);
    expect(ev("shl", "i32", 1, 31)).toBe(-2147483648);
    expect(ev("bitnot", "u8", 5)).toBe(250);
    expect(ev("bitxor", "i32", -1, 5)).toBe(-6);
    expect(ev("bitor", "i64", 2 ** 40, 3)).toBe(2 ** 40 + 3);
  });

  test("each intrinsic checks its argument dtypes", () => {
    expect(INTRINSIC_DOMAIN.shl).toBe("int");
    expect(() => call("shl", float(1, "f32"), float(2, "f32"))).toThrow(/shl needs an integer argument, got f32/);
    expect(() => call("asin", int(1))).toThrow(/asin needs a float argument/);
    expect(() => call("fmod", { kind: "const", value: 1, dtype: "bool" }, { kind: "const", value: 1, dtype: "bool" })).toThrow(/fmod needs a numeric argument/);
  });
});

describe("text form", () => {
  test("new intrinsics print and parse back to equal values", () => {
    const p = parseTE(`
input A: f64[5]
input I: i32[5]
B[i] = round(A[i] * 3) + fmod(A[i], 0.7) + atanh(A[i] * 0.5) + acosh(A[i] * A[i] + 1)
C[i] = bitxor(shl(I[i], 2), shr(I[i], 1)) + fmod(I[i], 3) + bitnot(bitand(I[i], bitor(I[i], 6)))
`);
    const text = printTE(p.outputs);
    const q = parseTE(text);
    expect(printTE(q.outputs)).toBe(text);
    const A = [0.35, -1.2, 0.5, 1.9, -0.25], I = [7, -3, 0, 12, -8];
    const get = (outs: typeof p.outputs, ins: typeof p.inputs) => {
      const r = evaluate(outs, new Map([[ins.get("A")!, A], [ins.get("I")!, I]]));
      return outs.map((t) => [...r.get(t)!]);
    };
    const [b, c] = get(p.outputs, p.inputs);
    expect(get(q.outputs, q.inputs)).toEqual([b, c]);
    A.forEach((a, k) => {
      const r = Math.round(a * 3) - (Math.abs((a * 3) % 1) === 0.5 && Math.round(a * 3) % 2 !== 0 ? 1 : 0);
      expect(b![k]).toBeCloseTo(r + (a % 0.7) + Math.atanh(a * 0.5) + Math.acosh(a * a + 1), 12);
    });
    expect(c).toEqual(I.map((x) => (((x << 2) ^ (x >> 1)) + (x % 3) + ~(x & (x | 6)))));
  });

  test("a float argument to a bit op is a parse error at its position", () => {
    expect(() => parseTE("input A: f32[2]\nB[i] = shl(A[i], 1)")).toThrow(ParseError);
    expect(() => parseTE("input A: f32[2]\nB[i] = shl(A[i], 1)")).toThrow(/shl needs an integer argument, got f32/);
  });
});
