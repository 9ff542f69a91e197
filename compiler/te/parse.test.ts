import { describe, expect, test } from "vitest";
import { LatheError, ParseError } from "../../core/errors.ts";
import { wrapTo } from "../../core/dtype.ts";
import { evaluate } from "./evaluate.ts";
import type { Expr } from "./expr.ts";
import * as E from "./expr.ts";
import { parseTE } from "./parse.ts";
import { printTE } from "./print.ts";
import type { Tensor } from "./tensor.ts";
import { compute, placeholder, postOrder, prod, reduceAxis, rmax, rmin, sizeVar, sum } from "./tensor.ts";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 * 2 - 1;
  };
}
const randoms = (n: number, seed: number, scale = 1): number[] => Array.from({ length: n }, rng(seed)).map((v) => v * scale);
const ints = (n: number, seed: number, range: number): number[] => randoms(n, seed).map((v) => Math.round(v * range) + 0); // + 0: no −0

const tensor = (p: { tensors: Map<string, Tensor> }, name: string): Tensor => {
  const t = p.tensors.get(name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
};

const MATMUL = `
# comment
n = size                          # a symbolic size variable
input A: f32[8, 6]
input B: f32[6, n]
C[i: 8, j: n] = sum(k: 6, A[i, k] * B[k, j])   # explicit shape
D[i, j] = max(C[i, j], 0.0)                     # shape inferred from C[i, j]
`;

describe("parse: programs evaluate as the same TE built in TypeScript", () => {
  test("matmul + relu with a symbolic size", () => {
    const p = parseTE(MATMUL);
    expect([...p.inputs.keys()]).toEqual(["A", "B"]);
    expect([...p.tensors.keys()]).toEqual(["A", "B", "C", "D"]);
    expect(p.outputs.map((t) => t.name)).toEqual(["D"]);
    const n = p.sizes.get("n")!;
    const D = tensor(p, "D");
    expect(D.shape[0]).toMatchObject({ kind: "const", value: 8 });
    expect(D.shape[1]).toBe(n); // inferred from C, whose second extent is n itself
    expect(D.dtype).toBe("f32");

    const m = sizeVar("m");
    const A = placeholder([8, 6], "f32", "A"), B = placeholder([6, m], "f32", "B");
    const k = reduceAxis(6, "k");
    const C = compute([8, m], (i, j) => sum(k, E.mul(A.at(i, k.var), B.at(k.var, j))), "C");
    const D2 = compute([8, m], (i, j) => E.max(C.at(i, j), 0), "D");

    const a = randoms(48, 1), b = randoms(30, 2);
    const got = evaluate(p.outputs, { A: a, B: b }, { n: 5 }).get(D)!;
    expect(got).toEqual(evaluate([D2], { A: a, B: b }, { m: 5 }).get(D2)!);
    // and against a hand-written loop
    for (let i = 0; i < 8; i++) for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let kk = 0; kk < 6; kk++) s += Math.fround(a[i * 6 + kk]!) * Math.fround(b[kk * 5 + j]!);
      expect(got[i * 5 + j]).toBe(Math.max(Math.fround(s), 0));
    }
  });

  const ELEMENTWISE = `
input X: f32[12]
input Y: f64[12]
input I: i32[12]
E1[i] = select(X[i] > 0.0 && !(I[i] == 3) || I[i] < -2, exp(X[i]) * 2 - 1.5e-1, -X[i] / 3.0)
E2[i]: f64 = pow(abs(X[i]), 1.5) + Y[i]
E3[i] = I[i] / 3 + I[i] % 4 * 10 + min(I[i], 2) - max(I[i], -1)
E4[i] = cast<i8>(I[i] * 50)
E5[i] = erf(Y[i]) + sigmoid(Y[i]) + tanh(Y[i]) + sqrt(Y[i] * Y[i]) + rsqrt(1.0 + Y[i] * Y[i])
      + log(2.5 + sin(Y[i]) + cos(Y[i])) + floor(Y[i]) + ceil(Y[i])
E6[i] = truncdiv(I[i], 4) * 100 + truncmod(I[i], 4); E7[i: 12] = 7 - 2 * 3
`;

  test("operators, intrinsics, casts and literals", () => {
    const p = parseTE(ELEMENTWISE);
    const X = placeholder([12], "f32", "X"), Y = placeholder([12], "f64", "Y"), I = placeholder([12], "i32", "I");
    const { add, sub, mul, div, floormod, call, cast, select, and, or, not, gt, lt, eq, neg, min, max } = E;
    const e1 = compute([12], (i) => select(
      or(and(gt(X.at(i), 0), not(eq(I.at(i), 3))), lt(I.at(i), -2)),
      sub(mul(call("exp", X.at(i)), 2), 0.15), div(neg(X.at(i)), 3)), "E1");
    const e2 = compute([12], (i) => add(call("pow", call("abs", X.at(i)), 1.5), Y.at(i)), "E2", { dtype: "f64" });
    const e3 = compute([12], (i) => sub(add(add(div(I.at(i), 3), mul(floormod(I.at(i), 4), 10)), min(I.at(i), 2)), max(I.at(i), -1)), "E3");
    const e4 = compute([12], (i) => cast("i8", mul(I.at(i), 50)), "E4");
    const y = (i: E.Var) => Y.at(i);
    const e5 = compute([12], (i) => [
      call("erf", y(i)), call("sigmoid", y(i)), call("tanh", y(i)), call("sqrt", mul(y(i), y(i))),
      call("rsqrt", add(1, mul(y(i), y(i)))), call("log", add(add(2.5, call("sin", y(i))), call("cos", y(i)))),
      call("floor", y(i)), call("ceil", y(i)),
    ].reduce((s, t) => add(s, t)), "E5");
    const trunc = (op: "truncdiv" | "truncmod", a: Expr, b: number): Expr => ({ kind: "bin", op, a, b: E.int(b), dtype: "i32" });
    const e6 = compute([12], (i) => add(mul(trunc("truncdiv", I.at(i), 4), 100), trunc("truncmod", I.at(i), 4)), "E6");
    const e7 = compute([12], () => sub(7, mul(2, 3)), "E7");

    const inputs = { X: randoms(12, 3, 2), Y: randoms(12, 4, 3), I: ints(12, 5, 9) };
    const names = ["E1", "E2", "E3", "E4", "E5", "E6", "E7"];
    const mine = [e1, e2, e3, e4, e5, e6, e7];
    const gotAll = evaluate(names.map((n) => tensor(p, n)), inputs);
    const wantAll = evaluate(mine, inputs);
    names.forEach((n, k) => {
      expect(tensor(p, n).dtype).toBe(mine[k]!.dtype);
      expect(gotAll.get(tensor(p, n))).toEqual(wantAll.get(mine[k]!));
    });
    // Spot checks against plain JS.
    for (let i = 0; i < 12; i++) {
      const x = Math.fround(inputs.X[i]!), v = inputs.I[i]!;
      const c = (x > 0 && v !== 3) || v < -2;
      expect(gotAll.get(tensor(p, "E1"))![i]).toBe(Math.fround(c ? Math.exp(x) * 2 - Math.fround(0.15) : -x / 3));
      const fl = Math.floor(v / 3), md = v - 4 * Math.floor(v / 4);
      expect(gotAll.get(tensor(p, "E3"))![i]).toBe(fl + md * 10 + Math.min(v, 2) - Math.max(v, -1));
      expect(gotAll.get(tensor(p, "E4"))![i]).toBe(wrapTo("i8", v * 50));
      expect(gotAll.get(tensor(p, "E6"))![i]).toBe(Math.trunc(v / 4) * 100 + (v % 4));
      expect(gotAll.get(tensor(p, "E7"))![i]).toBe(1);
    }
    expect(tensor(p, "E4").dtype).toBe("i8");
    expect(tensor(p, "E2").dtype).toBe("f64");
  });

  test("literals take the other operand's type", () => {
    const p = parseTE(`input A: f64[2]\ninput I: i8[2]\nB[i] = A[i] * 0.1\nC[i] = I[i] + 1\nD[i] = I[i] * 1.5\nF[i: 2] = 0.1\nG[i: 2] = 3\nH[i: 2] = cast<f64>(0.1)`);
    const body = (n: string): Expr => (tensor(p, n).op as { body: Expr }).body;
    expect(body("B")).toMatchObject({ kind: "bin", b: { kind: "const", value: 0.1, dtype: "f64" } });
    expect(body("C")).toMatchObject({ dtype: "i8", b: { kind: "const", value: 1, dtype: "i8" } });
    expect(body("D")).toMatchObject({ dtype: "f32", a: { kind: "cast", dtype: "f32" } }); // a float literal makes it float
    expect([tensor(p, "F").dtype, tensor(p, "G").dtype, tensor(p, "H").dtype]).toEqual(["f32", "i32", "f64"]);
    const out = evaluate([tensor(p, "B"), tensor(p, "F"), tensor(p, "H")], { A: [1, 2], I: [0, 0] });
    expect(out.get(tensor(p, "B"))![1]).toBe(2 * 0.1);
    expect(out.get(tensor(p, "F"))![0]).toBe(Math.fround(0.1));
    expect(out.get(tensor(p, "H"))![0]).toBe(0.1);
  });

  test("reductions: several axes, ranges, where, init", () => {
    const p = parseTE(`
input A: f64[4, 6]
S[i] = sum((j: 6, r: 1..3), A[i, j] * cast<f64>(r), where j % 2 == 0, init = 1.0)
P[i] = prod(j: 6, A[i, j], where A[i, j] > 0.0)
M[i] = max(j: 2..6, A[i, j])
N[i] = min(j: 6, A[i, j], init = 0.25)
T[] = sum((i: 4, j: 6), A[i, j])
`);
    const a = randoms(24, 6);
    const out = evaluate(p.outputs, { A: a });
    expect(p.outputs.map((t) => t.name)).toEqual(["S", "P", "M", "N", "T"]);
    let total = 0;
    for (let i = 0; i < 4; i++) {
      let s = 1, pr = 1, mx = -Infinity, mn = 0.25;
      for (let j = 0; j < 6; j++) {
        const v = a[i * 6 + j]!;
        if (j % 2 === 0) for (let r = 1; r < 3; r++) s += v * r;
        if (v > 0) pr *= v;
        if (j >= 2) mx = Math.max(mx, v);
        mn = Math.min(mn, v);
        total += v;
      }
      expect(out.get(tensor(p, "S"))![i]).toBeCloseTo(s, 14);
      expect(out.get(tensor(p, "P"))![i]).toBeCloseTo(pr, 14);
      expect(out.get(tensor(p, "M"))![i]).toBe(mx);
      expect(out.get(tensor(p, "N"))![i]).toBe(mn);
    }
    expect(out.get(tensor(p, "T"))![0]).toBeCloseTo(total, 13);
    expect(tensor(p, "T").shape).toEqual([]);

    // The same reductions through the TypeScript API give the same numbers.
    const A = placeholder([4, 6], "f64", "A");
    const j = reduceAxis(6, "j"), r = reduceAxis(2, "r", 1);
    const S = compute([4], (i) => sum([j, r], E.mul(A.at(i, j.var), E.cast("f64", r.var)), { where: E.eq(E.floormod(j.var, 2), 0), init: 1 }));
    const j2 = reduceAxis(6, "j"), j3 = reduceAxis(4, "j", 2), j4 = reduceAxis(6, "j");
    const P = compute([4], (i) => prod(j2, A.at(i, j2.var), { where: E.gt(A.at(i, j2.var), 0) }));
    const M = compute([4], (i) => rmax(j3, A.at(i, j3.var)));
    const N = compute([4], (i) => rmin(j4, A.at(i, j4.var), { init: 0.25 }));
    const ref = evaluate([S, P, M, N], { A: a });
    [S, P, M, N].forEach((t, k) => expect(out.get(p.outputs[k]!)).toEqual(ref.get(t)));
  });

  test("softmax and a padded, strided conv2d", () => {
    const p = parseTE(`
input X: f32[2, 5]
Mx[i] = max(k: 5, X[i, k])
Ex[i, j] = exp(X[i, j] - Mx[i])
Sm[i] = sum(k: 5, Ex[i, k])
Y[i, j] = Ex[i, j] / Sm[i]
`);
    const x = randoms(10, 7, 5);
    const y = evaluate(p.outputs, { X: x }).get(p.outputs[0]!)!;
    for (let i = 0; i < 2; i++) {
      const row = x.slice(i * 5, i * 5 + 5).map(Math.fround);
      const m = Math.max(...row), e = row.map((v) => Math.fround(Math.exp(v - m)));
      const s = Math.fround(e.reduce((q, v) => q + v, 0));
      for (let j = 0; j < 5; j++) expect(y[i * 5 + j]).toBe(Math.fround(e[j]! / s));
    }

    const c = parseTE(`
input X: f32[1, 2, 5, 5]
input W: f32[3, 2, 3, 3]
P[n, c, h: 7, w: 7] = select(h >= 1 && h < 6 && w >= 1 && w < 6, X[n, c, h - 1, w - 1], 0.0)
Y[n, o: 3, y: 3, x: 3] = sum((c: 2, r: 3, s: 3), P[n, c, y * 2 + r, x * 2 + s] * W[o, c, r, s])
`);
    const xs = randoms(50, 8), ws = randoms(54, 9);
    const got = evaluate(c.outputs, { X: xs, W: ws }).get(tensor(c, "Y"))!;
    expect(got.length).toBe(27);
    for (let o = 0; o < 3; o++) for (let yy = 0; yy < 3; yy++) for (let xx = 0; xx < 3; xx++) {
      let s = 0;
      for (let ch = 0; ch < 2; ch++) for (let r = 0; r < 3; r++) for (let q = 0; q < 3; q++) {
        const h = yy * 2 + r - 1, w = xx * 2 + q - 1;
        if (h >= 0 && h < 5 && w >= 0 && w < 5) s += Math.fround(xs[(ch * 5 + h) * 5 + w]!) * Math.fround(ws[((o * 2 + ch) * 3 + r) * 3 + q]!);
      }
      expect(got[(o * 3 + yy) * 3 + xx]).toBeCloseTo(Math.fround(s), 6);
    }
  });
});

describe("printTE round trip", () => {
  function roundTrip(outputs: readonly Tensor[], inputs: Record<string, number[]>, sizes: Record<string, number> = {}): string {
    const text = printTE(outputs);
    const p = parseTE(text);
    const before = evaluate(outputs, inputs, sizes);
    // Printing may rename tensors: pair the inputs up by position (both lists are in post-order).
    const originals = postOrder(outputs).filter((t) => t.op.kind === "placeholder");
    const parsedInputs = [...p.inputs.values()];
    expect(parsedInputs.length).toBe(originals.length);
    const data = new Map(parsedInputs.map((t, k) => [t, inputs[originals[k]!.name]!]));
    const after = evaluate([...p.tensors.values()].filter((t) => t.op.kind === "compute"), data, sizes);
    // Same tensors in the same order (printTE lists them in post-order).
    const a = [...before.entries()].filter(([t]) => t.op.kind === "compute");
    const b = [...after.entries()].filter(([t]) => t.op.kind === "compute");
    expect(b.map(([t]) => t.dtype)).toEqual(a.map(([t]) => t.dtype));
    expect(b.map(([, v]) => v)).toEqual(a.map(([, v]) => v));
    expect(printTE(p.outputs)).toBe(text); // printing is a fixed point
    return text;
  }

  test("parsed programs", () => {
    roundTrip(parseTE(MATMUL).outputs, { A: randoms(48, 10), B: randoms(30, 11) }, { n: 5 });
    const q = parseTE(`
input A: f64[4, 6]
input I: i32[6]
S[i] = sum((j: 6, r: 1..3), A[i, j] * cast<f64>(r), where j % 2 == 0 && !(I[j] < 0) || false, init = 1.0)
M[i] = max(j: 2..6, A[i, j], init = -inf)
K[j] = select(I[j] > 2, cast<i8>(I[j] * 50), cast<i8>(-3)) + 1
L[i, j]: f32 = A[i, j] * 0.1 - floordiv(A[i, j], 0.3) + floormod(A[i, j], 0.3) + truncmod(I[j], 4)
Z[i: 3] = 2 * 3 + 0.5 * 1.5 + cast<f64>(2.0) * cast<f64>(0.1) + cast<f32>(0.1)
`);
    roundTrip(q.outputs, { A: randoms(24, 12, 3), I: ints(6, 13, 9) });
  });

  test("programs built in TypeScript, with clashing and awkward names", () => {
    const n = sizeVar("n"), n2 = sizeVar("n");
    const A = placeholder([n, 3], "f32"), B = placeholder([n2], "f64", "input");
    const r = reduceAxis(3), r2 = reduceAxis(E.sub(n2, 1), "r", 1);
    const C = compute([n], (i) => sum(r, A.at(i, r.var)));
    const D = compute([n, n2], (i, j) => E.add(E.cast("f64", C.at(i)), E.mul(B.at(j), 0.1)), "compute", { axisNames: ["size", "j"] });
    const F = compute([n], (i) => rmax(r2, E.cast("f64", E.add(D.at(i, r2.var), D.at(i, 0))), { init: E.float(-Infinity, "f64") }), "2nd");
    const G = compute([n2], (j) => E.select(E.and(E.lt(j, 2), E.bool(true)), E.float(1.5, "f64"), B.at(j)), "G");
    const H = compute([n2], (j) => E.cast("u8", E.add(E.cast("i8", E.mul(j, 100)), E.int(7, "i8"))), "H");
    const text = roundTrip([F, G, H], { placeholder: randoms(12, 14), input: randoms(4, 15) }, { n: 4 });
    expect(text).toContain("n = size\nn_1 = size");
    expect(text).toContain("input input_: f64[n_1]");
    expect(text).toContain("compute_1[size_: n, j: n_1]");
    expect(text).toContain("_2nd[i: n] = max(r: 1..1 + (n_1 - 1), compute_1[i, r] + compute_1[i, 0], init = -inf)");
  });
});

function parseError(text: string, sourceName?: string): ParseError {
  try {
    parseTE(text, sourceName);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error("parsed without an error");
}

describe("parse errors carry line, column and the problem", () => {
  const cases: [string, string, number, number, RegExp][] = [
    ["syntax", "input A: f32[4\nB[i] = A[i]", 2, 1, /syntax error: expected "\]"/],
    ["syntax: missing operand", "input A: f32[4]\nB[i] = A[i] +\n", 3, 1, /expected an expression/],
    ["unknown tensor", "input A: f32[4]\nB[i] = Z[i]", 2, 8, /unknown tensor 'Z'/],
    ["wrong number of indices", "input A: f32[4]\nB[i] = A[i, i]", 2, 8, /A has 1 dimension\(s\) but is indexed with 2/],
    ["undefined index variable", "input A: f32[4]\nB[i] = A[j]", 2, 10, /undefined variable 'j'/],
    ["redefined input", "input A: f32[4]\ninput A: f32[4]", 2, 7, /tensor 'A' is already defined \(at 1:7\)/],
    ["redefined compute", "input A: f32[4]\nB[i] = A[i]\n  B[i] = A[i]", 3, 3, /tensor 'B' is already defined \(at 2:1\)/],
    ["&& on floats", "input A: f32[4]\nB[i] = A[i] > 0.0 && A[i]", 2, 19, /'&&' needs bool operands, got bool and f32/],
    ["! on a number", "input A: f32[4]\nB[i] = !A[i]", 2, 8, /'!' needs a bool operand, got f32/],
    ["float index", "input A: f32[4]\nB[i] = A[A[i]]", 2, 10, /index 0 of A must be an integer, got f32/],
    ["float literal index", "input A: f32[4]\nB[i: 4] = A[1.5]", 2, 13, /index 0 of A must be an integer, got a float literal/],
    ["unknown intrinsic", "input A: f32[4]\nB[i] = foo(A[i])", 2, 8, /unknown function 'foo'/],
    ["intrinsic arity", "input A: f32[4]\nB[i] = exp(A[i], 2.0)", 2, 8, /exp takes 1 argument\(s\), got 2/],
    ["intrinsic of an int", "input A: i32[4]\nB[i] = exp(A[i])", 2, 8, /exp needs a float argument, got i32/],
    ["unknown dtype", "input A: f31[4]", 1, 10, /unknown dtype 'f31'/],
    ["unknown cast dtype", "input A: f32[4]\nB[i] = cast<f128>(A[i])", 2, 13, /unknown dtype 'f128'/],
    ["unknown output dtype", "input A: f32[4]\nB[i]: half = A[i]", 2, 7, /unknown dtype 'half'/],
    ["reduce axis reuses an output axis", "input A: f32[4, 4]\nB[i] = sum(i: 4, A[i, i])", 2, 12, /reduce axis 'i' reuses the name of an output axis of B/],
    ["extent cannot be inferred", "input A: f32[4]\nB[i, j] = A[i] + cast<f32>(j)", 2, 6, /cannot infer the extent of axis 'j' of B/],
    ["nested reduction", "input A: f32[4]\nB[i: 1] = 1.0 + sum(k: 4, A[k])", 2, 17, /a reduction must be the whole right-hand side/],
    ["undeclared size", "input A: f32[m]", 1, 14, /undefined variable 'm'.*m = size/],
    ["tensor without indices", "input A: f32[4]\nB[i] = A[i] + A", 2, 15, /tensor 'A' must be indexed/],
    ["bool arithmetic", "input A: f32[4]\nB[i] = (A[i] > 0.0) + 1", 2, 21, /'\+' needs numbers, got bool/],
    ["where on a number", "input A: f32[4]\nB[] = sum(k: 4, A[k], where A[k])", 2, 29, /'where' needs a bool condition, got f32/],
    ["duplicate where", "input A: f32[4]\nB[] = sum(k: 4, A[k], where k > 1, where k < 3)", 2, 36, /duplicate 'where' clause/],
    ["int literal too large", "input A: i32[4]\nB[i] = A[i] + 3000000000", 2, 15, /integer literal 3000000000 does not fit i32/],
    ["sum used as a call", "input A: f32[4]\nB[i] = sum(A[i])", 2, 8, /sum is a reduction: write sum\(k: extent, expr\)/],
    ["keyword as a name", "input input: f32[4]", 1, 7, /expected a name/],
  ];
  test.each(cases)("%s", (_, text, line, column, message) => {
    const e = parseError(text);
    expect(e).toBeInstanceOf(LatheError);
    expect(e.message).toMatch(message);
    expect([e.line, e.column]).toEqual([line, column]);
    expect(e.message.startsWith(`${line}:${column}: `)).toBe(true);
  });

  test("the source name prefixes the message", () => {
    const e = parseError("input A: f32[4]\nB[i] = Z[i]", "prog.te");
    expect(e.message).toBe("prog.te:2:8: unknown tensor 'Z'");
    expect(e.source).toBe("prog.te");
  });
});
