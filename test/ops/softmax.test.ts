/**
 * Softmax over the last axis of a [B, R, C] tensor, written in the text form (parseTE):
 * row max, exp of the shifted input, row sum, divide — four stages, scheduled in several
 * ways (stages computed at the row loop, exp inlined, rfactor of the row sum, cache_write).
 */
import { describe, expect, test } from "vitest";
import { cacheWrite, rfactor } from "../../compiler/schedule/cache.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { parseTE } from "../../compiler/te/parse.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { checkKernel, cname, randomInputs } from "../helpers/check.ts";

interface Softmax { X: Tensor; M: Tensor; E: Tensor; S: Tensor; Y: Tensor }

function softmax(B: number, R: number, C: number): Softmax {
  const p = parseTE(`
input X: f32[${B}, ${R}, ${C}]
M[b, r] = max(k: ${C}, X[b, r, k])          # row max, for stability
E[b, r, c] = exp(X[b, r, c] - M[b, r])
S[b, r] = sum(k: ${C}, E[b, r, k])
Y[b, r, c] = E[b, r, c] / S[b, r]
`, "softmax.te");
  const get = (n: string): Tensor => {
    const t = p.tensors.get(n);
    if (!t) throw new Error(`softmax.te has no tensor ${n}`);
    return t;
  };
  expect(p.outputs.map((t) => t.name)).toEqual(["Y"]);
  return { X: get("X"), M: get("M"), E: get("E"), S: get("S"), Y: get("Y") };
}

const SCHEDULES: Record<string, (t: Softmax) => Schedule> = {
  naive: ({ Y }) => createSchedule(Y),

  "compute_at row + fuse b,r + parallel + vectorized columns": ({ M, E, S, Y }) => {
    const s = createSchedule(Y);
    const y = s.stage(Y);
    const [b, r, c] = y.axis;
    const br = y.fuse(b!, r!);
    y.parallel(br);
    const [, ci] = y.split(c!, { factor: 8 });
    y.vectorize(ci);
    for (const t of [M, E, S]) s.stage(t).computeAt(y, br);
    const e = s.stage(E);
    const [, eci] = e.split(e.axis[2]!, { factor: 8 });
    e.vectorize(eci);
    return s;
  },

  "exp inlined + row stages at r + unrolled split reduce": ({ M, E, S, Y }) => {
    const s = createSchedule(Y);
    s.stage(E).computeInline();
    const y = s.stage(Y);
    const [b, r] = y.axis;
    y.parallel(b!);
    s.stage(M).computeAt(y, r!);
    s.stage(S).computeAt(y, r!);
    const st = s.stage(S);
    const [, ki] = st.split(st.reduceAxis[0]!, { factor: 5 });
    st.unroll(ki);
    y.pragma(r!, "auto_unroll_max_step", 32);
    return s;
  },

  "rfactor of the row sum (vectorized) + compute_at": ({ M, E, S, Y }) => {
    const s = createSchedule(Y);
    const st = s.stage(S);
    const [, ki] = st.split(st.reduceAxis[0]!, { factor: 8 });
    const SF = rfactor(s, S, ki);
    const y = s.stage(Y);
    const [b, r] = y.axis;
    const br = y.fuse(b!, r!);
    y.parallel(br);
    s.stage(M).computeAt(y, br);
    s.stage(E).computeAt(y, br);
    s.stage(S).computeAt(y, br);
    const sf = s.stage(SF);
    sf.computeAt(s.stage(S), s.stage(S).axis[1]!);
    // SF is [ki, b, r] (the factored axis at index 0 by default), reducing over k.o:
    // move ki innermost and vectorize it.
    const [fk, fb, fr] = sf.axis;
    sf.reorder(fb!, fr!, sf.reduceAxis[0]!, fk!);
    sf.vectorize(fk!);
    return s;
  },

  "cache_write of the output at row + nparts": ({ M, E, S, Y }) => {
    const s = createSchedule(Y);
    const YL = cacheWrite(s, Y, "local");
    const y = s.stage(Y);
    const [b, r, c] = y.axis;
    const [ro, ri] = y.split(r!, { nparts: 2 });
    y.reorder(b!, ro, ri, c!);
    y.parallel(b!);
    const yl = s.stage(YL);
    yl.computeAt(y, ri);
    for (const t of [M, E, S]) s.stage(t).computeAt(y, ri);
    return s;
  },
};

describe.each([[2, 5, 16], [3, 7, 37]])("softmax (parseTE) B=%i R=%i C=%i", (B, R, C) => {
  test.concurrent.each(Object.keys(SCHEDULES))("%s", async (name) => {
    const t = softmax(B, R, C);
    const s = SCHEDULES[name]!(t);
    await checkKernel(s, [t.X, t.Y], randomInputs([t.X], B * R * C), { name: cname(`softmax_${name}`) });
  });
});
