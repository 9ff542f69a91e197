import { describe, expect, test } from "vitest";
import { build } from "../../compiler/driver/kernel.ts";
import { add, cast, gt, mul, select } from "../../compiler/te/expr.ts";
import { evaluate } from "../../compiler/te/evaluate.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder, reduceAxis, sum } from "../../compiler/te/tensor.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { f16FromBits, f16ToBits } from "../../core/f16.ts";
import { Rng } from "../../runtime/random.ts";

const rng = new Rng(7);

describe("element types on the cpu target, exactly as the reference evaluator rounds them", () => {
  test("f16 arithmetic (stored as IEEE half bits), computed through f32", async () => {
    const A = placeholder([64], "f16", "A"), B = placeholder([64], "f16", "B");
    const C = compute([64], (i) => cast("f16", add(mul(cast("f32", A.at(i)), cast("f32", B.at(i))), 1)), "C");
    const s = createSchedule(C);
    const [, ii] = s.stage(C).split(s.stage(C).axis[0]!, { factor: 16 });
    s.stage(C).vectorize(ii);
    const k = await build(s, [A, B, C], { name: "f16fma" });
    const a = Float64Array.from({ length: 64 }, () => rng.uniform(-4, 4)), b = Float64Array.from({ length: 64 }, () => rng.uniform(-4, 4));
    const bits = (x: Float64Array) => Uint16Array.from(x, f16ToBits);
    const c = new Uint16Array(64);
    k.run(bits(a), bits(b), c);
    const ref = evaluate([C], new Map([[A, Array.from(bits(a), f16FromBits)], [B, Array.from(bits(b), f16FromBits)]])).get(C)!;
    expect(Array.from(c, f16FromBits)).toEqual(Array.from(ref));
  });

  test("f64 reductions and i8 → i32 accumulation, exact", async () => {
    const X = placeholder([9, 33], "i8", "X"), Y = placeholder([9, 33], "f64", "Y");
    const k = reduceAxis(33, "k");
    const S = compute([9], (i) => sum(k, mul(cast("i32", X.at(i, k.var)), cast("i32", X.at(i, k.var)))), "S");
    const k2 = reduceAxis(33, "k2");
    const T = compute([9], (i) => sum(k2, mul(Y.at(i, k2.var), 0.1)), "T");
    const s = createSchedule([S, T]);
    const kern = await build(s, [X, Y, S, T], { name: "ints" });
    const x = Int8Array.from({ length: 9 * 33 }, () => rng.int(-128, 128)), y = Float64Array.from({ length: 9 * 33 }, () => rng.uniform(-1, 1));
    const so = new Int32Array(9), to = new Float64Array(9);
    kern.run(x, y, so, to);
    const ref = evaluate([S, T], new Map<Tensor, ArrayLike<number>>([[X, x], [Y, y]]));
    expect(Array.from(so)).toEqual(Array.from(ref.get(S)!));
    to.forEach((v, i) => expect(v).toBeCloseTo(ref.get(T)![i]!, 12));
  });

  test("bool and u8 results of comparisons and selects; i8 arithmetic wraps as in C", async () => {
    const A = placeholder([40], "f32", "A"), I = placeholder([40], "i8", "I");
    const M = compute([40], (i) => gt(A.at(i), 0), "M");
    const U = compute([40], (i) => select(gt(A.at(i), 0.5), cast("u8", 200), cast("u8", 7)), "U");
    const W = compute([40], (i) => add(I.at(i), cast("i8", 100)), "W");
    const kern = await build(createSchedule([M, U, W]), [A, I, M, U, W], { name: "masks" });
    const a = Float32Array.from({ length: 40 }, () => rng.uniform(-1, 1)), iv = Int8Array.from({ length: 40 }, () => rng.int(-128, 128));
    const m = new Uint8Array(40), u = new Uint8Array(40), w = new Int8Array(40);
    kern.run(a, iv, m, u, w);
    const ref = evaluate([M, U, W], new Map<Tensor, ArrayLike<number>>([[A, a], [I, iv]]));
    expect(Array.from(m)).toEqual(Array.from(ref.get(M)!));
    expect(Array.from(u)).toEqual(Array.from(ref.get(U)!));
    expect(Array.from(w)).toEqual(Array.from(ref.get(W)!));
  });
});
