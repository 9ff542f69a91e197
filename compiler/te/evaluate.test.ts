import { describe, expect, test } from "vitest";
import { LatheError, ShapeError } from "../../core/errors.ts";
import { EvalError, erf, evalExpr, evaluate } from "./evaluate.ts";
import type * as E from "./expr.ts";
import type { Expr } from "./expr.ts";
import {
  add, and, call, cast, div, float, floordiv, floormod, ge, int, lt, max, mul, select, sub, variable,
} from "./expr.ts";
import { compute, placeholder, prod, reduceAxis, rmax, rmin, sizeVar, sum } from "./tensor.ts";
import { makeBuffer } from "./buffer.ts";

/** Deterministic uniform numbers in [-1, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}
const exp = (x: Expr): Expr => call("exp", x);
const randoms = (n: number, seed: number): Float64Array => Float64Array.from({ length: n }, rng(seed));

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) {
      throw new Error(`element ${i}: got ${got[i]}, want ${want[i]}`);
    }
  }
}

describe("linear algebra", () => {
  test("matmul (f64) matches a triple loop", () => {
    const M = 5, K = 7, N = 3;
    const A = placeholder([M, K], "f64", "A"), B = placeholder([K, N], "f64", "B");
    const k = reduceAxis(K, "k");
    const C = compute([M, N], (i, j) => sum(k, mul(A.at(i, k.var), B.at(k.var, j))), "C");
    const a = randoms(M * K, 1), b = randoms(K * N, 2);
    const want = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let kk = 0; kk < K; kk++) s += a[i * K + kk]! * b[kk * N + j]!;
      want[i * N + j] = s;
    }
    const got = evaluate([C], { A: a, B: b }).get(C)!;
    expectClose(got, want, 1e-14);
  });

  test("matmul (f32): inputs and outputs are rounded to f32", () => {
    const A = placeholder([4, 6], "f32", "A"), B = placeholder([6, 2], "f32", "B");
    const k = reduceAxis(6, "k");
    const C = compute([4, 2], (i, j) => sum(k, mul(A.at(i, k.var), B.at(k.var, j))), "C");
    const a = randoms(24, 3), b = randoms(12, 4);
    const out = evaluate([C], new Map([[A, a], [B, b]]));
    const got = out.get(C)!;
    for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) {
      let s = 0;
      for (let kk = 0; kk < 6; kk++) s += Math.fround(a[i * 6 + kk]!) * Math.fround(b[kk * 2 + j]!);
      expect(got[i * 2 + j]).toBe(Math.fround(s)); // f64 accumulation, one rounding at the store
    }
    expect(out.get(A)![0]).toBe(Math.fround(a[0]!));
  });

  test("batched matmul", () => {
    const Bt = 3, M = 4, K = 5, N = 2;
    const A = placeholder([Bt, M, K], "f64", "A"), B = placeholder([Bt, K, N], "f64", "B");
    const k = reduceAxis(K, "k");
    const C = compute([Bt, M, N], (b, i, j) => sum(k, mul(A.at(b, i, k.var), B.at(b, k.var, j))), "C");
    const a = randoms(Bt * M * K, 5), b = randoms(Bt * K * N, 6);
    const want: number[] = [];
    for (let bb = 0; bb < Bt; bb++) for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let kk = 0; kk < K; kk++) s += a[(bb * M + i) * K + kk]! * b[(bb * K + kk) * N + j]!;
      want.push(s);
    }
    expectClose(evaluate([C], { A: a, B: b }).get(C)!, want, 1e-14);
  });
});

interface ConvCfg { N: number; C: number; H: number; W: number; O: number; R: number; S: number; stride: number; pad: number; dil: number; groups: number }

/** conv2d NCHW / OIHW with zero padding by a guarded `select`, dilation and groups. */
function conv2dTE(c: ConvCfg) {
  const cpg = c.C / c.groups, opg = c.O / c.groups;
  const OH = Math.floor((c.H + 2 * c.pad - c.dil * (c.R - 1) - 1) / c.stride) + 1;
  const OW = Math.floor((c.W + 2 * c.pad - c.dil * (c.S - 1) - 1) / c.stride) + 1;
  const X = placeholder([c.N, c.C, c.H, c.W], "f32", "X");
  const Wt = placeholder([c.O, cpg, c.R, c.S], "f32", "W");
  const P = compute([c.N, c.C, c.H + 2 * c.pad, c.W + 2 * c.pad], (n, ch, h, w) => {
    const inside = and(and(ge(h, c.pad), lt(h, c.H + c.pad)), and(ge(w, c.pad), lt(w, c.W + c.pad)));
    return select(inside, X.at(n, ch, sub(h, c.pad), sub(w, c.pad)), 0);
  }, "P");
  const rc = reduceAxis(cpg, "rc"), rh = reduceAxis(c.R, "rh"), rw = reduceAxis(c.S, "rw");
  const Y = compute([c.N, c.O, OH, OW], (n, o, y, x) => {
    const ch = add(mul(floordiv(o, opg), cpg), rc.var);
    return sum([rc, rh, rw], mul(
      P.at(n, ch, add(mul(y, c.stride), mul(rh.var, c.dil)), add(mul(x, c.stride), mul(rw.var, c.dil))),
      Wt.at(o, rc.var, rh.var, rw.var)));
  }, "Y");
  return { X, Wt, Y, OH, OW, cpg, opg };
}

function conv2dRef(c: ConvCfg, x: Float64Array, w: Float64Array, OH: number, OW: number): number[] {
  const cpg = c.C / c.groups, opg = c.O / c.groups, out: number[] = [];
  for (let n = 0; n < c.N; n++) for (let o = 0; o < c.O; o++) for (let y = 0; y < OH; y++) for (let xx = 0; xx < OW; xx++) {
    let s = 0;
    const g = Math.floor(o / opg);
    for (let ic = 0; ic < cpg; ic++) for (let r = 0; r < c.R; r++) for (let q = 0; q < c.S; q++) {
      const h = y * c.stride + r * c.dil - c.pad, ww = xx * c.stride + q * c.dil - c.pad;
      if (h < 0 || h >= c.H || ww < 0 || ww >= c.W) continue;
      const ch = g * cpg + ic;
      s += Math.fround(x[((n * c.C + ch) * c.H + h) * c.W + ww]!) * Math.fround(w[((o * cpg + ic) * c.R + r) * c.S + q]!);
    }
    out.push(Math.fround(s));
  }
  return out;
}

describe("conv2d", () => {
  test("stride 2, padding 2, dilation 2, 2 groups", () => {
    const cfg: ConvCfg = { N: 2, C: 4, H: 9, W: 8, O: 6, R: 3, S: 2, stride: 2, pad: 2, dil: 2, groups: 2 };
    const { Y, OH, OW } = conv2dTE(cfg);
    const x = randoms(cfg.N * cfg.C * cfg.H * cfg.W, 7), w = randoms(cfg.O * 2 * cfg.R * cfg.S, 8);
    expect([OH, OW]).toEqual([5, 5]);
    expectClose(evaluate([Y], { X: x, W: w }).get(Y)!, conv2dRef(cfg, x, w, OH, OW), 1e-6);
  });

  test("1x16x32x32, 16 3x3 filters, padding 1 (the size the evaluator must handle quickly)", () => {
    const cfg: ConvCfg = { N: 1, C: 16, H: 32, W: 32, O: 16, R: 3, S: 3, stride: 1, pad: 1, dil: 1, groups: 1 };
    const { Y, OH, OW } = conv2dTE(cfg);
    const x = randoms(16 * 32 * 32, 9), w = randoms(16 * 16 * 9, 10);
    const got = evaluate([Y], { X: x, W: w }).get(Y)!;
    expectClose(got, conv2dRef(cfg, x, w, OH, OW), 1e-6);
  });
});

describe("reductions", () => {
  test("softmax as four computes (max, exp, sum, divide)", () => {
    const R = 3, Cn = 7;
    const X = placeholder([R, Cn], "f64", "X");
    const k1 = reduceAxis(Cn, "k"), k2 = reduceAxis(Cn, "k");
    const M = compute([R], (i) => rmax(k1, X.at(i, k1.var)), "M");
    const E = compute([R, Cn], (i, j) => exp(sub(X.at(i, j), M.at(i))), "E");
    const S = compute([R], (i) => sum(k2, E.at(i, k2.var)), "S");
    const Y = compute([R, Cn], (i, j) => div(E.at(i, j), S.at(i)), "Y");
    const x = Float64Array.from(randoms(R * Cn, 11), (v) => v * 30);
    const want: number[] = [];
    for (let i = 0; i < R; i++) {
      const row = Array.from(x.subarray(i * Cn, (i + 1) * Cn));
      const m = Math.max(...row), e = row.map((v) => Math.exp(v - m)), s = e.reduce((p, q) => p + q, 0);
      want.push(...e.map((v) => v / s));
    }
    const out = evaluate([Y], { X: x });
    expectClose(out.get(Y)!, want, 1e-14);
    expect(out.get(M)!.length).toBe(R); // intermediates are returned too
  });

  test("max pooling 2x2 stride 2", () => {
    const X = placeholder([2, 6, 4], "f32", "X");
    const rh = reduceAxis(2, "rh"), rw = reduceAxis(2, "rw");
    const P = compute([2, 3, 2], (c, y, x) => rmax([rh, rw], X.at(c, add(mul(y, 2), rh.var), add(mul(x, 2), rw.var))), "P");
    const x = randoms(48, 12);
    const want: number[] = [];
    for (let c = 0; c < 2; c++) for (let y = 0; y < 3; y++) for (let xx = 0; xx < 2; xx++) {
      let m = -Infinity;
      for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) m = Math.max(m, Math.fround(x[(c * 6 + 2 * y + a) * 4 + 2 * xx + b]!));
      want.push(m);
    }
    expect(Array.from(evaluate([P], { X: x }).get(P)!)).toEqual(want);
  });

  test("prod with init and where; min with init and where; reduce axis with a nonzero start", () => {
    const A = placeholder([3, 6], "f64", "A");
    const k = reduceAxis(6, "k");
    // Product of the even columns, starting from 2.
    const P = compute([3], (i) => prod(k, A.at(i, k.var), { init: 2, where: lt(floormod(k.var, 2), 1) }), "P");
    const k2 = reduceAxis(6, "k");
    // Minimum of the positive entries, starting from 0.75 (the result when none is smaller).
    const Mn = compute([3], (i) => rmin(k2, A.at(i, k2.var), { init: 0.75, where: ge(A.at(i, k2.var), 0) }), "Mn");
    const k3 = reduceAxis(3, "k", 2); // k ∈ [2, 5)
    const S = compute([3], (i) => sum(k3, A.at(i, k3.var)), "S");
    const a = randoms(18, 13);
    const out = evaluate([P, Mn, S], { A: a });
    for (let i = 0; i < 3; i++) {
      let p = 2, m = 0.75, s = 0;
      for (let j = 0; j < 6; j++) {
        const v = a[i * 6 + j]!;
        if (j % 2 === 0) p *= v;
        if (v >= 0 && v < m) m = v;
        if (j >= 2 && j < 5) s += v;
      }
      expect(out.get(P)![i]).toBeCloseTo(p, 14);
      expect(out.get(Mn)![i]).toBe(m);
      expect(out.get(S)![i]).toBeCloseTo(s, 14);
    }
  });

  test("an empty reduction yields the identity, or init", () => {
    const A = placeholder([2], "i32", "A");
    const k = reduceAxis(0, "k"), k2 = reduceAxis(2, "k");
    const E = compute([1], () => rmax(k, A.at(k.var)), "E");
    const F = compute([1], () => prod(k2, A.at(k2.var), { where: lt(k2.var, 0), init: 7 }), "F");
    const out = evaluate([E, F], { A: [1, 2] });
    expect(out.get(E)![0]).toBe(-2147483648);
    expect(out.get(F)![0]).toBe(7);
  });

  test("integer sum wraps like a 32-bit accumulator", () => {
    const A = placeholder([3], "i32", "A");
    const k = reduceAxis(3, "k");
    const S = compute([1], () => sum(k, A.at(k.var)), "S");
    expect(evaluate([S], { A: [2 ** 31 - 1, 1, 5] }).get(S)![0]).toBe(-(2 ** 31) + 5);
  });
});

describe("symbolic sizes", () => {
  const n = sizeVar("n");
  const A = placeholder([n, 3], "f64", "A");
  const k = reduceAxis(3, "k");
  const R = compute([n], (i) => sum(k, A.at(i, k.var)), "R");
  const T = compute([mul(n, 2)], (i) => A.at(floordiv(i, 2), floormod(i, 3)), "T");
  const a = randoms(15, 14);
  const rowSums = [0, 1, 2, 3, 4].map((i) => a[i * 3]! + a[i * 3 + 1]! + a[i * 3 + 2]!);

  test("given by name, by variable, or inferred from an input's length", () => {
    for (const sizes of [{ n: 5 }, new Map([[n, 5]]), undefined]) {
      const out = evaluate([R, T], { A: a }, sizes);
      expectClose(out.get(R)!, rowSums, 1e-15);
      expect(out.get(T)!.length).toBe(10);
      expect(out.get(T)![7]).toBe(a[3 * 3 + (7 % 3)]);
    }
  });

  test("a size used in a body", () => {
    const B = compute([n], (i) => cast("f64", sub(n, i)), "B");
    expect(Array.from(evaluate([B], {}, { n: 5 }).get(B)!)).toEqual([5, 4, 3, 2, 1]);
    expect(() => evaluate([B], {})).toThrow(/size variable n has no value/); // no input to infer it from
  });

  test("a wrong input length or a missing size is an error", () => {
    expect(() => evaluate([R], { A: a }, { n: 4 })).toThrow(ShapeError);
    expect(() => evaluate([R], { A: a.subarray(0, 14) })).toThrow(/not a multiple/);
    const m = sizeVar("m");
    const Z = compute([m], (i) => cast("f32", i), "Z");
    expect(() => evaluate([Z], {})).toThrow(/size variable m has no value/);
  });
});

describe("integer semantics", () => {
  /** Brute force: the q with b·q ≤ a < b·(q+1) (b > 0) or b·q ≥ a > b·(q+1) (b < 0). */
  function floorDivRef(a: number, b: number): number {
    for (let q = -Math.abs(a) - 1; q <= Math.abs(a) + 1; q++) {
      const r = a - q * b;
      if (b > 0 ? r >= 0 && r < b : r <= 0 && r > b) return q;
    }
    throw new Error("unreachable");
  }
  function truncDivRef(a: number, b: number): number {
    let q = 0;
    while (Math.abs((q + 1) * b) <= Math.abs(a)) q++;
    return (a < 0) !== (b < 0) && q !== 0 ? -q : q;
  }

  test("floordiv/floormod round toward −∞, truncdiv/truncmod toward zero", () => {
    const as = [-7, -6, -1, 0, 1, 5, 7, 13, -13], bs = [3, -3, 2, -2, 1, -1, 7, -5];
    const pairs = as.flatMap((x) => bs.map((y) => [x, y] as const));
    const Aa = placeholder([pairs.length], "i32", "a"), Bb = placeholder([pairs.length], "i32", "b");
    const mk = (op: "floordiv" | "floormod" | "truncdiv" | "truncmod") => compute([pairs.length], (i) => {
      const e: Expr = { kind: "bin", op, a: Aa.at(i), b: Bb.at(i), dtype: "i32" };
      return e;
    }, op);
    const [FD, FM, TD, TM] = [mk("floordiv"), mk("floormod"), mk("truncdiv"), mk("truncmod")];
    const DIV = compute([pairs.length], (i) => div(Aa.at(i), Bb.at(i)), "div");
    const out = evaluate([FD, FM, TD, TM, DIV], { a: pairs.map((p) => p[0]), b: pairs.map((p) => p[1]) });
    pairs.forEach(([x, y], i) => {
      const fq = floorDivRef(x, y), tq = truncDivRef(x, y);
      expect([out.get(FD)![i], out.get(FM)![i], out.get(TD)![i], out.get(TM)![i], out.get(DIV)![i]])
        .toEqual([fq, x - fq * y, tq, x - tq * y, fq]);
    });
  });

  test("integer division by zero names the tensor", () => {
    const A = placeholder([2], "i32", "A");
    const Q = compute([2], (i) => floordiv(7, A.at(i)), "Quot");
    expect(() => evaluate([Q], { A: [1, 0] })).toThrow(/Quot.*division by zero/);
    expect(() => evaluate([Q], { A: [1, 0] })).toThrow(LatheError);
    // Float division by zero is IEEE.
    const F = placeholder([1], "f32", "F");
    const G = compute([1], (i) => div(1, F.at(i)), "G");
    expect(evaluate([G], { F: [0] }).get(G)![0]).toBe(Infinity);
  });

  test("casts wrap around (i8, u8) and truncate floats", () => {
    const A = placeholder([8], "i32", "A");
    const vals = [127, 128, 255, 256, -129, 300, -1, 1000];
    const I8 = compute([8], (i) => cast("i8", A.at(i)), "I8");
    const U8 = compute([8], (i) => cast("u8", A.at(i)), "U8");
    const Sum8 = compute([8], (i) => add(cast("i8", A.at(i)), cast("i8", 10)), "Sum8"); // i8 arithmetic wraps
    const F = placeholder([4], "f64", "F");
    const T = compute([4], (i) => cast("i32", F.at(i)), "T");
    const B = compute([4], (i) => cast("bool", F.at(i)), "B");
    const out = evaluate([I8, U8, Sum8, T, B], { A: vals, F: [-2.7, 2.7, 0, -0.5] });
    expect(Array.from(out.get(I8)!)).toEqual([127, -128, -1, 0, 127, 44, -1, -24]);
    expect(Array.from(out.get(U8)!)).toEqual([127, 128, 255, 0, 127, 44, 255, 232]);
    expect(Array.from(out.get(Sum8)!)).toEqual([-119, -118, 9, 10, -119, 54, 9, -14]);
    expect(Array.from(out.get(T)!)).toEqual([-2, 2, 0, 0]);
    expect(Array.from(out.get(B)!)).toEqual([1, 1, 0, 1]);
  });

  test("i32 multiplication wraps as in C", () => {
    const A = placeholder([1], "i32", "A");
    const M = compute([1], (i) => mul(A.at(i), A.at(i)), "M");
    expect(evaluate([M], { A: [65537] }).get(M)![0]).toBe(Math.imul(65537, 65537)); // 131073
  });
});

describe("float semantics", () => {
  test("stored f32 values are rounded; f64 values are not", () => {
    const A = placeholder([1], "f32", "A"), B = placeholder([1], "f64", "B");
    const C = compute([1], (i) => add(A.at(i), float(0.2)), "C");
    const D = compute([1], (i) => add(B.at(i), float(0.2, "f64")), "D");
    const out = evaluate([C, D], { A: [0.1], B: [0.1] });
    const want = Math.fround(Math.fround(0.1) + Math.fround(0.2));
    expect(out.get(C)![0]).toBe(want);
    expect(out.get(C)![0]).not.toBe(Math.fround(0.1) + Math.fround(0.2));
    expect(out.get(D)![0]).toBe(0.1 + 0.2);
  });

  test("f16 stores round to half precision", () => {
    const A = placeholder([2], "f16", "A");
    const C = compute([2], (i) => A.at(i), "C");
    expect(Array.from(evaluate([C], { A: [1 + 2 ** -11, 1 + 3 * 2 ** -11] }).get(C)!)).toEqual([1, 1 + 2 ** -9]);
  });

  test("erf matches known values to ~1e-16", () => {
    const known: [number, number][] = [
      [0.5, 0.5204998778130465], [1, 0.8427007929497149], [-2, -0.9953222650189527], [3, 0.9999779095030014],
      [0.1, 0.1124629160182849], [1.5, 0.9661051464753108], [2.5, 0.999593047982555], [4, 0.9999999845827421],
      [5, 0.9999999999984626], [0.01, 0.011283415555849616],
    ];
    for (const [x, want] of known) {
      expect(Math.abs(erf(x) - want)).toBeLessThan(4e-16);
      expect(evalExpr(call("erf", float(x, "f64")), new Map())).toBe(erf(x));
    }
    expect(erf(0)).toBe(0);
    expect(erf(30)).toBe(1);
    expect(erf(-1.25)).toBe(-erf(1.25));
    // erf'(x) = 2/√π e^(−x²): a central difference checks the series/continued-fraction seam at 2.5.
    for (const x of [0.3, 1.9, 2.49, 2.51, 3.2]) {
      const h = 1e-5, d = (erf(x + h) - erf(x - h)) / (2 * h);
      expect(d).toBeCloseTo((2 / Math.sqrt(Math.PI)) * Math.exp(-x * x), 9);
    }
  });

  test("intrinsics", () => {
    const x = variable("x", "f64");
    const env = new Map([[x, 0.7]]);
    const cases: [Expr, number][] = [
      [call("exp", x), Math.exp(0.7)], [call("log", x), Math.log(0.7)], [call("sqrt", x), Math.sqrt(0.7)],
      [call("rsqrt", x), 1 / Math.sqrt(0.7)], [call("tanh", x), Math.tanh(0.7)],
      [call("sigmoid", x), 1 / (1 + Math.exp(-0.7))], [call("pow", x, float(3, "f64")), 0.7 ** 3],
      [call("abs", sub(0, x)), 0.7], [call("floor", x), 0], [call("ceil", x), 1],
      [call("sin", x), Math.sin(0.7)], [call("cos", x), Math.cos(0.7)],
      [max(x, float(0.5, "f64")), 0.7], [floormod(sub(0, x), float(0.5, "f64")), 0.3],
    ];
    for (const [e, want] of cases) expect(evalExpr(e, env)).toBeCloseTo(want, 15);
  });
});

describe("evalExpr", () => {
  test("scalar index arithmetic with variables", () => {
    const i = variable("i"), j = variable("j");
    const e = add(mul(floordiv(i, 4), 4), floormod(i, 4));
    for (let v = -9; v <= 9; v++) expect(evalExpr(e, new Map([[i, v]]))).toBe(v);
    expect(evalExpr(select(lt(i, j), i, j), new Map([[i, 3], [j, -2]]))).toBe(-2);
    expect(() => evalExpr(add(i, j), new Map([[i, 1]]))).toThrow(/variable j is not bound/);
  });

  test("select evaluates only the chosen branch", () => {
    const i = variable("i");
    const e = select(lt(i, 0), int(1), floordiv(10, i));
    expect(evalExpr(e, new Map([[i, -1]]))).toBe(1);
    expect(() => evalExpr(e, new Map([[i, 0]]))).toThrow(EvalError);
  });
});

describe("errors", () => {
  test("out-of-bounds access names tensor, index and shape", () => {
    const A = placeholder([4], "f32", "A");
    const B = compute([4], (i) => A.at(add(i, 1)), "B");
    expect(() => evaluate([B], { A: [1, 2, 3, 4] })).toThrow("compute B: out-of-bounds read A[4] (shape [4])");
    const Bad = compute([2, 2], (i, j) => mul(A.at(sub(i, j)), float(1)), "Bad");
    expect(() => evaluate([Bad], { A: [1, 2, 3, 4] })).toThrow(/A\[-1\] \(shape \[4\]\)/);
  });

  test("a variable that is not in scope", () => {
    const A = placeholder([2], "f32", "A");
    const B = compute([2], (i) => A.at(i), "B");
    const stolen = (B.op as { axes: readonly { var: E.Var }[] }).axes[0]!.var; // B's own axis, misused in C
    const C = compute([2], () => B.at(stolen), "C");
    expect(() => evaluate([C], { A: [1, 2] })).toThrow("compute C: variable i is not bound");
  });

  test("a guarded read is fine", () => {
    const A = placeholder([4], "f32", "A");
    const B = compute([6], (i) => select(lt(i, 4), A.at(i), float(-1)), "B");
    expect(Array.from(evaluate([B], { A: [1, 2, 3, 4] }).get(B)!)).toEqual([1, 2, 3, 4, -1, -1]);
  });

  test("missing inputs, ambiguous names, loop-IR nodes", () => {
    const A = placeholder([2], "f32", "A");
    const B = compute([2], (i) => A.at(i), "B");
    expect(() => evaluate([B], {})).toThrow(/no input given for placeholder A/);
    const A2 = placeholder([2], "f32", "A");
    const C = compute([2], (i) => add(A.at(i), A2.at(i)), "C");
    expect(() => evaluate([C], { A: [1, 2] })).toThrow(/two different placeholders are named A/);
    expect(evaluate([C], new Map([[A, [1, 2]], [A2, [10, 20]]])).get(C)).toEqual(new Float64Array([11, 22]));
    const buf = makeBuffer("buf", "f32", [int(4)]);
    const L = compute([2], (i) => ({ kind: "load", buffer: buf, indices: [i], dtype: "f32" }) as Expr, "L");
    expect(() => evaluate([L], {})).toThrow(/'load' is a loop-IR node/);
  });
});
