/**
 * Batched matmul C[b, i, j] = Σ_k A[b, i, k]·B[b, k, j] under several schedules, on a
 * shape with odd extents so that splits leave tails.
 */
import { describe, test } from "vitest";
import { cacheRead, cacheWrite } from "../../compiler/schedule/cache.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { mul } from "../../compiler/te/expr.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder, reduceAxis, sum } from "../../compiler/te/tensor.ts";
import { checkKernel, cname, randomInputs } from "../helpers/check.ts";

interface BMM { A: Tensor; B: Tensor; C: Tensor }

function batchMatmul(Bn: number, M: number, N: number, K: number): BMM {
  const A = placeholder([Bn, M, K], "f32", "A");
  const B = placeholder([Bn, K, N], "f32", "B");
  const k = reduceAxis(K, "k");
  const C = compute([Bn, M, N], (b, i, j) => sum(k, mul(A.at(b, i, k.var), B.at(b, k.var, j))), "C");
  return { A, B, C };
}

const SCHEDULES: Record<string, (t: BMM) => Schedule> = {
  naive: ({ C }) => createSchedule(C),

  "fuse batch,rows + parallel + split/reorder/vectorize": ({ C }) => {
    const s = createSchedule(C);
    const c = s.stage(C);
    const [b, i, j] = c.axis;
    const bi = c.fuse(b!, i!);
    c.parallel(bi);
    const [jo, ji] = c.split(j!, { factor: 8 });
    c.reorder(bi, jo, c.reduceAxis[0]!, ji);
    c.vectorize(ji);
    return s;
  },

  "cache_write local at tile + unroll": ({ C }) => {
    const s = createSchedule(C);
    const CL = cacheWrite(s, C, "local");
    const c = s.stage(C);
    const [b, i, j] = c.axis;
    const [, jo, , ji] = c.tile(i!, j!, 4, 16);
    c.parallel(b!);
    c.vectorize(ji);
    const cl = s.stage(CL);
    cl.computeAt(c, jo);
    const [, ci, cj] = cl.axis;
    const [ko, ki] = cl.split(cl.reduceAxis[0]!, { factor: 4 });
    cl.reorder(ko, ki, ci!, cj!);
    cl.unroll(ki);
    cl.unroll(ci!);
    cl.vectorize(cj!);
    return s;
  },

  "cache_read packing of B per batch + nparts + pragma": ({ B, C }) => {
    const s = createSchedule(C);
    const BP = cacheRead(s, B, "global", [C]);
    const c = s.stage(C);
    const [b, i, j] = c.axis;
    const [io, ii] = c.split(i!, { nparts: 3 });
    c.reorder(b!, io, ii, c.reduceAxis[0]!, j!);
    c.pragma(io, "auto_unroll_max_step", 4);
    c.parallel(b!);
    const bp = s.stage(BP);
    bp.computeAt(c, b!);
    bp.vectorize(bp.axis[2]!);
    return s;
  },
};

describe.each([[3, 24, 40, 20], [2, 19, 37, 23]])("batch matmul B=%i M=%i N=%i K=%i", (Bn, M, N, K) => {
  test.concurrent.each(Object.keys(SCHEDULES))("%s", async (name) => {
    const t = batchMatmul(Bn, M, N, K);
    const s = SCHEDULES[name]!(t);
    await checkKernel(s, [t.A, t.B, t.C], randomInputs([t.A, t.B], M * N), { name: cname(`bmm_${name}`) });
  });
});
