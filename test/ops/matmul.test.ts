/**
 * Matmul C[i, j] = Σ_k A[i, k]·B[k, j] under several schedules, on a shape whose extents
 * divide the tile factors and on the odd shape 67×131×45, where every split has a tail.
 * Also: a symbolic M built once and run for two sizes, and an exact i8×i8→i32 matmul.
 */
import { describe, expect, test } from "vitest";
import { cacheRead, cacheWrite } from "../../compiler/schedule/cache.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { cast, mul } from "../../compiler/te/expr.ts";
import type { DType } from "../../core/dtype.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder, reduceAxis, sizeVar, sum } from "../../compiler/te/tensor.ts";
import { printFunc } from "../../compiler/tir/print.ts";
import type { ExprLike } from "../../compiler/te/expr.ts";
import { buildKernel, checkKernel, cname, randomInputs, runAndCheck } from "../helpers/check.ts";

interface MM { A: Tensor; B: Tensor; C: Tensor }

function matmul(M: ExprLike, N: number, K: number, dtype: DType = "f32", acc: DType = "f32"): MM {
  const A = placeholder([M, K], dtype, "A");
  const B = placeholder([K, N], dtype, "B");
  const k = reduceAxis(K, "k");
  const C = compute([M, N], (i, j) => sum(k, mul(cast(acc, A.at(i, k.var)), cast(acc, B.at(k.var, j)))), "C");
  return { A, B, C };
}

type MMSchedule = (t: MM) => Schedule;

/** Schedules for a 2-D reduction C = f(A, B); they only assume C is [M, N] with one reduce axis. */
const MATMUL_SCHEDULES: Record<string, MMSchedule> = {
  naive: ({ C }) => createSchedule(C),

  "tiled+vectorized+parallel": ({ C }) => {
    const s = createSchedule(C);
    const c = s.stage(C);
    const [io, jo, ii, ji] = c.tile(c.axis[0]!, c.axis[1]!, 8, 16);
    const k = c.reduceAxis[0]!;
    c.reorder(io, jo, ii, k, ji);
    c.vectorize(ji);
    c.parallel(io);
    return s;
  },

  "cache_write local at tile + unroll": ({ C }) => {
    const s = createSchedule(C);
    const CL = cacheWrite(s, C, "local");
    const c = s.stage(C);
    const [io, jo, ii, ji] = c.tile(c.axis[0]!, c.axis[1]!, 4, 8);
    c.vectorize(ji);
    c.unroll(ii);
    const cl = s.stage(CL);
    cl.computeAt(c, jo);
    const [ci, cj] = cl.axis;
    cl.reorder(cl.reduceAxis[0]!, ci!, cj!);
    cl.unroll(ci!);
    cl.vectorize(cj!);
    return s;
  },

  "cache_read packing + cache_write + parallel panels (gemm recipe)": ({ B, C }) => {
    const s = createSchedule(C);
    const CL = cacheWrite(s, C, "local");
    const BP = cacheRead(s, B, "global", [CL]);
    const c = s.stage(C);
    const [io, jo, ii, ji] = c.tile(c.axis[0]!, c.axis[1]!, 6, 32);
    c.reorder(jo, io, ii, ji);
    c.vectorize(ji);
    c.parallel(jo);
    const cl = s.stage(CL);
    cl.computeAt(c, io);
    const [ci, cj] = cl.axis;
    const [ko, ki] = cl.split(cl.reduceAxis[0]!, { factor: 4 });
    cl.reorder(ko, ki, ci!, cj!);
    cl.unroll(ki);
    cl.unroll(ci!);
    cl.vectorize(cj!);
    const bp = s.stage(BP);
    bp.computeAt(c, jo);
    bp.vectorize(bp.axis[1]!);
    return s;
  },

  "cache_read tiles of A and B at the k-outer loop of a local accumulator": ({ A, B, C }) => {
    const s = createSchedule(C);
    const CL = cacheWrite(s, C, "local");
    const AL = cacheRead(s, A, "local", [CL]);
    const BL = cacheRead(s, B, "local", [CL]);
    const c = s.stage(C);
    const [io, jo] = c.tile(c.axis[0]!, c.axis[1]!, 4, 8);
    c.parallel(io);
    const cl = s.stage(CL);
    cl.computeAt(c, jo);
    const [ko, ki] = cl.split(cl.reduceAxis[0]!, { factor: 5 });
    cl.reorder(ko, ki, cl.axis[0]!, cl.axis[1]!);
    cl.vectorize(cl.axis[1]!);
    s.stage(AL).computeAt(cl, ko);
    s.stage(BL).computeAt(cl, ko);
    return s;
  },

  "nparts splits + fuse + parallel + pragma": ({ C }) => {
    const s = createSchedule(C);
    const c = s.stage(C);
    const [io, ii] = c.split(c.axis[0]!, { nparts: 3 });
    const [jo, ji] = c.split(c.axis[1]!, { nparts: 5 });
    c.reorder(io, jo, ii, ji);
    const f = c.fuse(io, jo);
    c.parallel(f);
    c.pragma(f, "auto_unroll_max_step", 16);
    const [ko, ki] = c.split(c.reduceAxis[0]!, { nparts: 7 });
    c.reorder(f, ko, ii, ki, ji);
    return s;
  },

  "reduce split + unrolled k + vectorized odd j tail": ({ C }) => {
    const s = createSchedule(C);
    const c = s.stage(C);
    const [jo, ji] = c.split(c.axis[1]!, { factor: 8 });
    const [ko, ki] = c.split(c.reduceAxis[0]!, { factor: 6 });
    c.reorder(c.axis[0]!, jo, ko, ki, ji);
    c.unroll(ki);
    c.vectorize(ji);
    c.parallel(c.axis[0]!);
    return s;
  },
};

const SHAPES: [number, number, number][] = [[64, 64, 32], [67, 131, 45]];

describe.each(SHAPES)("matmul f32 M=%i N=%i K=%i", (M, N, K) => {
  test.concurrent.each(Object.keys(MATMUL_SCHEDULES))("%s", async (name) => {
    const mm = matmul(M, N, K);
    const s = MATMUL_SCHEDULES[name]!(mm);
    const args = [mm.A, mm.B, mm.C];
    const kernel = await checkKernel(s, args, randomInputs([mm.A, mm.B], M * 1000 + N), { name: cname(`mm_${name}`) });
    // The pragma travels to the loop IR as an attribute of its loop.
    if (name.includes("pragma")) expect(printFunc(kernel.func)).toContain("pragma_auto_unroll_max_step");
  });
});

describe("matmul with a symbolic M", () => {
  test("built once, run for n = 13 and n = 40", async () => {
    const n = sizeVar("n");
    const mm = matmul(n, 24, 20);
    const s = createSchedule(mm.C);
    const c = s.stage(mm.C);
    const [io, ii] = c.split(c.axis[0]!, { factor: 8 }); // a tail whose length depends on n
    const [jo, ji] = c.split(c.axis[1]!, { factor: 8 });
    c.reorder(io, jo, ii, c.reduceAxis[0]!, ji);
    c.vectorize(ji);
    c.parallel(io);
    const args = [mm.A, mm.B, mm.C];
    const kernel = await buildKernel(s, args, "mm_symbolic");
    for (const nv of [13, 40]) {
      const sizes = { n: nv };
      runAndCheck(kernel, args, randomInputs([mm.A, mm.B], nv, sizes), { sizes });
    }
  });
});

describe("matmul i8×i8 accumulated in i32 (exact)", () => {
  const names = ["naive", "tiled+vectorized+parallel", "cache_write local at tile + unroll", "reduce split + unrolled k + vectorized odd j tail"];
  test.concurrent.each(names)("%s", async (name) => {
    const mm = matmul(37, 45, 29, "i8", "i32");
    expect(mm.C.dtype).toBe("i32");
    const s = MATMUL_SCHEDULES[name]!(mm);
    await checkKernel(s, [mm.A, mm.B, mm.C], randomInputs([mm.A, mm.B], 7), { name: cname(`mm_i8_${name}`) });
  });
});

describe("regressions (test/ops/BUGS.md)", () => {
  // BUGS.md #4 (fixed): compute_at at the outer loop of a split of a fused axis was rejected
  // when the fused extent (here N = 131) is not a multiple of the split factor.
  test("cache_write computed at the outer part of split(fuse(i, j))", async () => {
    const mm = matmul(67, 131, 45);
    const s = createSchedule(mm.C);
    const CL = cacheWrite(s, mm.C, "local");
    const c = s.stage(mm.C);
    const f = c.fuse(c.axis[0]!, c.axis[1]!);
    const [fo] = c.split(f, { factor: 8 });
    c.parallel(fo);
    s.stage(CL).computeAt(c, fo);
    await checkKernel(s, [mm.A, mm.B, mm.C], randomInputs([mm.A, mm.B], 3), { name: "mm_fused_split_at" });
  });
});
