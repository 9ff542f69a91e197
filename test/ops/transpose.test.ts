/**
 * Transposes: a 2-D transpose with odd extents and a 4-D NCHW → NHWC permutation, under
 * several schedules. The schedules act on the output's last two axes and fuse the rest.
 */
import { describe, test } from "vitest";
import { cacheRead } from "../../compiler/schedule/cache.ts";
import type { Axis } from "../../compiler/schedule/axis.ts";
import type { Schedule, Stage } from "../../compiler/schedule/schedule.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder } from "../../compiler/te/tensor.ts";
import { checkKernel, cname, randomInputs } from "../helpers/check.ts";

interface Tr { A: Tensor; B: Tensor }

function transpose2d(M: number, N: number): Tr {
  const A = placeholder([M, N], "f32", "A");
  const B = compute([N, M], (j, i) => A.at(i, j), "B");
  return { A, B };
}

function nchwToNhwc(N: number, C: number, H: number, W: number): Tr {
  const A = placeholder([N, C, H, W], "f32", "A");
  const B = compute([N, H, W, C], (n, h, w, c) => A.at(n, c, h, w), "B");
  return { A, B };
}

/** The output's leading axes fused into one (or null for a 2-D output), and its last two axes. */
function splitAxes(st: Stage): { lead: Axis | null; a: Axis; b: Axis } {
  const ax: Axis[] = [...st.axis];
  const b = ax.pop()!, a = ax.pop()!;
  let lead: Axis | null = ax.shift() ?? null;
  for (const x of ax) lead = st.fuse(lead!, x);
  return { lead, a, b };
}

const SCHEDULES: Record<string, (t: Tr) => Schedule> = {
  naive: ({ B }) => createSchedule(B),

  "tile 4x4 + vectorize + parallel": ({ B }) => {
    const s = createSchedule(B);
    const st = s.stage(B);
    const { lead, a, b } = splitAxes(st);
    const [ao, , , bi] = st.tile(a, b, 4, 4);
    st.vectorize(bi);
    st.parallel(lead ?? ao);
    return s;
  },

  "cache_read of the input block at the tile + unroll": ({ A, B }) => {
    const s = createSchedule(B);
    const AL = cacheRead(s, A, "local", [B]);
    const st = s.stage(B);
    const { lead, a, b } = splitAxes(st);
    const [ao, bo, ai, bi] = st.tile(a, b, 4, 4);
    st.unroll(ai);
    st.vectorize(bi);
    if (lead) st.parallel(lead); else st.parallel(ao);
    s.stage(AL).computeAt(st, bo);
    return s;
  },

  "fuse all + nparts split + parallel": ({ B }) => {
    const s = createSchedule(B);
    const st = s.stage(B);
    const { lead, a, b } = splitAxes(st);
    let f = st.fuse(a, b);
    if (lead) f = st.fuse(lead, f);
    const [fo, fi] = st.split(f, { nparts: 6 });
    st.parallel(fo);
    st.pragma(fi, "auto_unroll_max_step", 8);
    return s;
  },
};

const CASES: Record<string, () => Tr> = {
  "2-D 37x53": () => transpose2d(37, 53),
  "NCHW to NHWC 2x5x9x11": () => nchwToNhwc(2, 5, 9, 11),
};

describe.each(Object.keys(CASES))("transpose %s", (caseName) => {
  test.concurrent.each(Object.keys(SCHEDULES))("%s", async (name) => {
    const t = CASES[caseName]!();
    const s = SCHEDULES[name]!(t);
    await checkKernel(s, [t.A, t.B], randomInputs([t.A], 11), { name: cname(`transpose_${name}`) });
  });
});
