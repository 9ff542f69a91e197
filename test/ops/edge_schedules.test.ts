/**
 * Schedule and element-type corners beyond the operator matrix, each checked against the
 * reference evaluator: stencils computed at a split loop, transposed producers, nested
 * non-dividing splits, symbolic sizes in attached stages and in reduce extents, reduce
 * axes with a non-zero start and an init value, integer floor division of negative values,
 * f64/i64, and the float intrinsics, vectorized and not.
 */
import { describe, test } from "vitest";
import { cacheRead, cacheWrite, rfactor } from "../../compiler/schedule/cache.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import type { Expr } from "../../compiler/te/expr.ts";
import { add, call, div, floordiv, floormod, max, min, mul, sub } from "../../compiler/te/expr.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder, reduceAxis, sizeVar, sum } from "../../compiler/te/tensor.ts";
import { buildKernel, checkKernel, randomInputs, runAndCheck } from "../helpers/check.ts";

/** Splits the last axis of `t`'s stage by `f` and vectorizes the inner part. */
function vectorizeLast(s: Schedule, t: Tensor, f: number): void {
  const st = s.stage(t);
  const [, inner] = st.split(st.axis[st.axis.length - 1]!, { factor: f });
  st.vectorize(inner);
}

describe("loop structure", () => {
  test.concurrent("stencil producer computed at a vectorized split with a tail", async () => {
    const A = placeholder([37], "f32", "A");
    const B = compute([36], (i) => call("exp", A.at(i)), "B");
    const C = compute([35], (i) => add(B.at(i), B.at(add(i, 1))), "C");
    const s = createSchedule(C);
    const c = s.stage(C);
    const [io, ii] = c.split(c.axis[0]!, { factor: 8 });
    c.vectorize(ii);
    s.stage(B).computeAt(c, io);
    await checkKernel(s, [A, C], randomInputs([A], 7), { name: "edge_stencil_at" });
  });

  test.concurrent("vectorized tail of a stencil at the end of its input", async () => {
    const A = placeholder([38], "f32", "A");
    const C = compute([37], (i) => add(A.at(i), A.at(add(i, 1))), "C");
    const s = createSchedule(C);
    vectorizeLast(s, C, 8);
    await checkKernel(s, [A, C], randomInputs([A], 1), { name: "edge_stencil_tail" });
  });

  test.concurrent("transposed producer computed at a tile", async () => {
    const A = placeholder([19, 23], "f32", "A");
    const B = compute([19, 23], (i, j) => call("exp", A.at(i, j)), "B");
    const C = compute([23, 19], (j, i) => add(B.at(i, j), 1), "C");
    const s = createSchedule(C);
    const c = s.stage(C);
    const [, io, , ii] = c.tile(c.axis[0]!, c.axis[1]!, 4, 8);
    c.vectorize(ii);
    s.stage(B).computeAt(c, io);
    await checkKernel(s, [A, C], randomInputs([A], 2), { name: "edge_transposed_at" });
  });

  test.concurrent("producer computed at an unrolled loop", async () => {
    const A = placeholder([13, 10], "f32", "A");
    const B = compute([13, 10], (i, j) => mul(A.at(i, j), 2), "B");
    const C = compute([13, 10], (i, j) => add(B.at(i, j), 1), "C");
    const s = createSchedule(C);
    const c = s.stage(C);
    const [, ii] = c.split(c.axis[0]!, { factor: 4 });
    c.unroll(ii);
    s.stage(B).computeAt(c, ii);
    await checkKernel(s, [A, C], randomInputs([A], 3), { name: "edge_at_unrolled" });
  });

  test.concurrent("nested non-dividing splits (split of split, nparts of outer)", async () => {
    const A = placeholder([67, 13], "f32", "A");
    const C = compute([67, 13], (i, j) => sub(mul(A.at(i, j), 3), 1), "C");
    const s = createSchedule(C);
    const c = s.stage(C);
    const [io, ii] = c.split(c.axis[0]!, { factor: 16 });
    const [iio, iii] = c.split(ii, { factor: 5 });
    const [ioo, ioi] = c.split(io, { nparts: 3 });
    const [jo, ji] = c.split(c.axis[1]!, { factor: 4 });
    c.reorder(ioo, jo, ioi, iio, iii, ji);
    c.parallel(ioo);
    c.unroll(iii);
    c.vectorize(ji);
    await checkKernel(s, [A, C], randomInputs([A], 3), { name: "edge_nested_splits" });
  });

  test.concurrent("a large packed buffer allocated inside a parallel loop", async () => {
    const A = placeholder([16, 40], "f32", "A"), B = placeholder([40, 300], "f32", "B");
    const k = reduceAxis(40, "k");
    const C = compute([16, 300], (i, j) => sum(k, mul(A.at(i, k.var), B.at(k.var, j))), "C");
    const s = createSchedule(C);
    const BP = cacheRead(s, B, "global", [C]);
    const c = s.stage(C);
    const [io] = c.split(c.axis[0]!, { factor: 4 });
    c.parallel(io);
    s.stage(BP).computeAt(c, io);
    await checkKernel(s, [A, B, C], randomInputs([A, B], 4), { name: "edge_heap_in_parallel" });
  });

  test.concurrent("two fused reduce axes, nparts split, reduce loop outermost", async () => {
    const A = placeholder([7, 5, 6], "f32", "A");
    const k = reduceAxis(5, "k"), l = reduceAxis(6, "l");
    const B = compute([7], (i) => sum([k, l], A.at(i, k.var, l.var)), "B");
    const s = createSchedule(B);
    const b = s.stage(B);
    const [fo, fi] = b.split(b.fuse(k, l), { nparts: 4 });
    b.reorder(fo, b.axis[0]!, fi);
    await checkKernel(s, [A, B], randomInputs([A], 12), { name: "edge_fused_reduce" });
  });
});

describe("reductions", () => {
  test.concurrent("reduce axis starting at 5, with an init value, rfactor of the outer part", async () => {
    const A = placeholder([7, 40], "f32", "A");
    const k = reduceAxis(29, "k", 5);
    const B = compute([7], (i) => sum(k, A.at(i, k.var), { init: 2.5 }), "B");
    const s = createSchedule(B);
    const [ko] = s.stage(B).split(k, { factor: 4 });
    const BF = rfactor(s, B, ko);
    s.stage(BF).parallel(s.stage(BF).axis[0]!);
    await checkKernel(s, [A, B], randomInputs([A], 6), { name: "edge_reduce_min_init" });
  });

  test.concurrent("rfactor of one of two reduce axes", async () => {
    const A = placeholder([6, 10, 13], "f32", "A");
    const k = reduceAxis(10, "k"), l = reduceAxis(13, "l");
    const B = compute([6], (i) => sum([k, l], A.at(i, k.var, l.var)), "B");
    const s = createSchedule(B);
    const [, li] = s.stage(B).split(l, { factor: 4 });
    const BF = rfactor(s, B, li);
    const bf = s.stage(BF);
    bf.reorder(bf.axis[1]!, ...bf.reduceAxis, bf.axis[0]!);
    bf.vectorize(bf.axis[0]!);
    await checkKernel(s, [A, B], randomInputs([A], 9), { name: "edge_rfactor_two_axes" });
  });
});

describe("symbolic sizes", () => {
  test.concurrent("matmul n×24: cache_write computed at a tile, run for n = 1, 7, 30", async () => {
    const n = sizeVar("n");
    const A = placeholder([n, 20], "f32", "A"), B = placeholder([20, 24], "f32", "B");
    const k = reduceAxis(20, "k");
    const C = compute([n, 24], (i, j) => sum(k, mul(A.at(i, k.var), B.at(k.var, j))), "C");
    const s = createSchedule(C);
    const CL = cacheWrite(s, C, "local");
    const c = s.stage(C);
    const [io, jo, , ji] = c.tile(c.axis[0]!, c.axis[1]!, 4, 8);
    c.vectorize(ji);
    c.parallel(io);
    s.stage(CL).computeAt(c, jo);
    const kernel = await buildKernel(s, [A, B, C], "edge_sym_cache_write");
    for (const nv of [1, 7, 30]) runAndCheck(kernel, [A, B, C], randomInputs([A, B], nv, { n: nv }), { sizes: { n: nv } });
  });

  test.concurrent("symbolic reduce extent, split and unrolled, run for n = 1, 4, 23", async () => {
    const n = sizeVar("n");
    const A = placeholder([6, n], "f32", "A");
    const k = reduceAxis(n, "k");
    const B = compute([6], (i) => sum(k, A.at(i, k.var)), "B");
    const s = createSchedule(B);
    const [, ki] = s.stage(B).split(k, { factor: 4 });
    s.stage(B).unroll(ki);
    const kernel = await buildKernel(s, [A, B], "edge_sym_reduce");
    for (const nv of [1, 4, 23]) runAndCheck(kernel, [A, B], randomInputs([A], nv, { n: nv }), { sizes: { n: nv } });
  });

  test.concurrent("transpose n×19: input block cached at a tile, vectorized tail, n = 5, 8, 21", async () => {
    const n = sizeVar("n");
    const A = placeholder([n, 19], "f32", "A");
    const B = compute([19, n], (j, i) => mul(A.at(i, j), 2), "B");
    const s = createSchedule(B);
    const AL = cacheRead(s, A, "local", [B]);
    const b = s.stage(B);
    const [, io, , ii] = b.tile(b.axis[0]!, b.axis[1]!, 4, 8);
    b.vectorize(ii);
    s.stage(AL).computeAt(b, io);
    const kernel = await buildKernel(s, [A, B], "edge_sym_transpose");
    for (const nv of [5, 8, 21]) runAndCheck(kernel, [A, B], randomInputs([A], nv, { n: nv }), { sizes: { n: nv } });
  });
});

describe.each([false, true])("element types (vectorized: %s)", (vec) => {
  test.concurrent("i32 floordiv / floormod of negative values by positive and negative divisors", async () => {
    const A = placeholder([4, 40], "i32", "A");
    const B = compute([4, 40], (i, j) => add(mul(floordiv(A.at(i, j), 7), 1000), floormod(A.at(i, j), 7)), "B");
    const C = compute([4, 40], (i, j) => add(floordiv(A.at(i, j), -3), floormod(A.at(i, j), -5)), "C");
    const s = createSchedule([B, C]);
    if (vec) { vectorizeLast(s, B, 8); vectorizeLast(s, C, 8); }
    await checkKernel(s, [A, B, C], randomInputs([A], 1), { name: `edge_intdiv_${vec}` });
  });

  test.concurrent("f64 and i64 arithmetic", async () => {
    const A = placeholder([2, 20], "f64", "A"), I = placeholder([2, 20], "i64", "I");
    const B = compute([2, 20], (i, j) => add(call("sqrt", mul(A.at(i, j), A.at(i, j))), call("exp", A.at(i, j))), "B");
    const C = compute([2, 20], (i, j) => add(mul(I.at(i, j), I.at(i, j)), floordiv(I.at(i, j), 3)), "C");
    const s = createSchedule([B, C]);
    if (vec) { vectorizeLast(s, B, 4); vectorizeLast(s, C, 4); }
    await checkKernel(s, [A, I, B, C], randomInputs([A, I], 4), { name: `edge_f64_i64_${vec}` });
  });

  test.concurrent("f32 intrinsics", async () => {
    const A = placeholder([2, 32], "f32", "A");
    const x = (i: Expr, j: Expr): Expr => A.at(i, j);
    const B = compute([2, 32], (i, j) => add(
      add(add(call("tanh", x(i, j)), call("sigmoid", x(i, j))), add(call("erf", x(i, j)), call("abs", x(i, j)))),
      add(add(call("floor", mul(x(i, j), 3)), call("ceil", mul(x(i, j), 3))), add(call("sin", x(i, j)), call("cos", x(i, j))))), "B");
    const C = compute([2, 32], (i, j) => add(call("log", add(call("abs", x(i, j)), 0.5)), call("pow", add(call("abs", x(i, j)), 0.1), 1.7)), "C");
    const D = compute([2, 32], (i, j) => add(call("rsqrt", add(call("abs", x(i, j)), 0.5)), div(max(x(i, j), 0), min(x(i, j), -0.5))), "D");
    const s = createSchedule([B, C, D]);
    if (vec) for (const t of [B, C, D]) vectorizeLast(s, t, 16);
    await checkKernel(s, [A, B, C, D], randomInputs([A], 5), { name: `edge_intrinsics_${vec}` });
  });
});
