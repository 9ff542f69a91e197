/**
 * Comparison masks: a comparison stored as bool, or cast to u8 / i32 / f32 (a ReLU
 * gradient: G·[A > 0]), under several schedules. Vectorized masks were wrong or did not
 * compile (test/ops/BUGS.md #2, #3); these are their regression tests.
 */
import { describe, test } from "vitest";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { and, cast, gt, lt, mul } from "../../compiler/te/expr.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder } from "../../compiler/te/tensor.ts";
import { checkKernel, cname, randomInputs } from "../helpers/check.ts";

const M = 7, N = 45;

interface Op { inputs: Tensor[]; out: Tensor }

const OPS: Record<string, () => Op> = {
  "bool mask A > B": () => {
    const A = placeholder([M, N], "f32", "A"), B = placeholder([M, N], "f32", "B");
    return { inputs: [A, B], out: compute([M, N], (i, j) => gt(A.at(i, j), B.at(i, j)), "Mask") };
  },
  "u8 mask of a band 0 < A < 0.5": () => {
    const A = placeholder([M, N], "f32", "A");
    return { inputs: [A], out: compute([M, N], (i, j) => cast("u8", and(gt(A.at(i, j), 0), lt(A.at(i, j), 0.5))), "Mask") };
  },
  "i32 mask A > 0": () => {
    const A = placeholder([M, N], "f32", "A");
    return { inputs: [A], out: compute([M, N], (i, j) => cast("i32", gt(A.at(i, j), 0)), "Mask") };
  },
  "relu gradient G * f32(A > 0)": () => {
    const A = placeholder([M, N], "f32", "A"), G = placeholder([M, N], "f32", "G");
    return { inputs: [A, G], out: compute([M, N], (i, j) => mul(G.at(i, j), cast("f32", gt(A.at(i, j), 0))), "DX") };
  },
};

type Sched = (out: Tensor) => Schedule;

const SCHEDULES: Record<string, Sched> = {
  naive: (out) => createSchedule(out),
  "parallel rows + unrolled split columns": (out) => {
    const s = createSchedule(out);
    const st = s.stage(out);
    st.parallel(st.axis[0]!);
    const [, ji] = st.split(st.axis[1]!, { factor: 4 });
    st.unroll(ji);
    return s;
  },
  "fuse + nparts + pragma": (out) => {
    const s = createSchedule(out);
    const st = s.stage(out);
    const [fo, fi] = st.split(st.fuse(st.axis[0]!, st.axis[1]!), { nparts: 5 });
    st.parallel(fo);
    st.pragma(fi, "auto_unroll_max_step", 4);
    return s;
  },
  // BUGS.md #2 (true lanes became -1 once cast) and #3 (bool vectors did not compile).
  "split + vectorized columns (odd tail)": (out) => {
    const s = createSchedule(out);
    const st = s.stage(out);
    const [, ji] = st.split(st.axis[1]!, { factor: 8 });
    st.vectorize(ji);
    st.parallel(st.axis[0]!);
    return s;
  },
};

describe.each(Object.keys(OPS))("%s", (opName) => {
  test.concurrent.each(Object.keys(SCHEDULES))("%s", async (name) => {
    const { inputs, out } = OPS[opName]!();
    await checkKernel(SCHEDULES[name]!(out), [...inputs, out], randomInputs(inputs, 21), { name: cname(`cmp_${name}`) });
  });
});
