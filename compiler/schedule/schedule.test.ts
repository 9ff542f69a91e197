import { describe, expect, test } from "vitest";
import { ScheduleError } from "../../core/errors.ts";
import { compute, placeholder, reduceAxis, sum } from "../te/tensor.ts";
import { cacheRead, cacheWrite, rfactor } from "./cache.ts";
import { createSchedule } from "./schedule.ts";


function mm(M = 64, N = 48, K = 32) {
  const A = placeholder([M, K], "f32", "A");
  const B = placeholder([K, N], "f32", "B");
  const k = reduceAxis(K, "k");
  const C = compute([M, N], (i, j) => sum(k, { kind: "bin", op: "mul", a: A.at(i, k.var), b: B.at(k.var, j), dtype: "f32" }), "C");
  return { A, B, C, k };
}

const expectScheduleError = (f: () => unknown, ...parts: string[]) => {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(ScheduleError);
  for (const p of parts) expect((err as Error).message).toContain(p);
};

describe("schedule primitives reject invalid uses, naming the stage and axis", () => {
  test("splitting an axis that was already split", () => {
    const { C } = mm();
    const s = createSchedule(C);
    const c = s.stage(C);
    const i = c.axis[0]!;
    c.split(i, { factor: 8 });
    expectScheduleError(() => c.split(i, { factor: 4 }), "stage C", "axis i", "already split");
  });

  test("a split factor larger than the extent", () => {
    const { C } = mm();
    const c = createSchedule(C).stage(C);
    expectScheduleError(() => c.split(c.axis[1]!, { factor: 64 }), "stage C", "axis j", "larger than its extent 48");
    expectScheduleError(() => c.split(c.axis[1]!, { nparts: 0 }), "stage C", "positive integer");
  });

  test("vectorizing, parallelizing a reduction axis", () => {
    const { C, k } = mm();
    const c = createSchedule(C).stage(C);
    expectScheduleError(() => c.vectorize(k), "stage C", "reduce axis k");
    expectScheduleError(() => c.parallel(k), "stage C", "reduce axis k");
  });

  test("reordering across a compute_at", () => {
    const A = placeholder([64, 64], "f32", "A");
    const B = compute([64, 64], (i, j) => ({ kind: "bin", op: "add", a: A.at(i, j), b: { kind: "const", value: 1, dtype: "f32" }, dtype: "f32" }), "B");
    const C = compute([64, 64], (i, j) => ({ kind: "bin", op: "mul", a: B.at(i, j), b: B.at(j, i), dtype: "f32" }), "C");
    const s = createSchedule(C);
    const c = s.stage(C);
    const [io, jo, ii, ji] = c.tile(c.axis[0]!, c.axis[1]!, 8, 8);
    s.stage(B).computeAt(c, jo);
    expectScheduleError(() => c.reorder(ii, jo), "stage C", "across", "stage B");
    c.reorder(ji, ii); // inside the attach point: allowed
    expect(c.leaves).toEqual([io, jo, ji, ii]);
  });

  test("compute_at onto a stage that does not consume it, and inlining a reduction", () => {
    const { A, C } = mm();
    const D = compute([4], (i) => A.at(i, 0), "D");
    const s = createSchedule([C, D]);
    expectScheduleError(() => s.stage(C).computeInline(), "stage C", "output");
    const E = compute([4], (i) => A.at(i, 1), "E");
    const F = compute([4], (i) => E.at(i), "F");
    const s2 = createSchedule([F, C]);
    expectScheduleError(() => s2.stage(E).computeAt(s2.stage(C), s2.stage(C).axis[0]!), "stage E", "does not consume");
  });

  test("fusing non-adjacent axes; cache_write after splitting", () => {
    const { C } = mm();
    const s = createSchedule(C);
    const c = s.stage(C);
    const [i, j] = c.axis;
    const k = c.reduceAxis[0]!;
    c.reorder(i!, k, j!);
    expectScheduleError(() => c.fuse(i!, j!), "stage C", "adjacent");
    expectScheduleError(() => cacheWrite(s, C, "local"), "cache_write of C", "before splitting, reordering");
  });

  test("rfactor needs a reduce loop", () => {
    const { C } = mm();
    const s = createSchedule(C);
    expectScheduleError(() => rfactor(s, C, s.stage(C).axis[0]!), "rfactor of C");
  });

  test("cache_read with a layout: the copy's axes are the permuted ones, readers index it permuted; a non-permutation is a ScheduleError", () => {
    const W = placeholder([6, 4], "f32", "W");
    const Y = compute([4, 6], (i, j) => W.at(j!, i!), "Y");
    const s = createSchedule(Y);
    const c = cacheRead(s, W, "global", [Y], [1, 0]);
    expect(c.shape.map((d) => (d.kind === "const" ? d.value : -1))).toEqual([4, 6]);
    const body = s.stage(Y).op!.body;
    expect(body.kind === "access" && body.tensor === c && body.indices.map((e) => (e.kind === "var" ? e.name : "?"))).toEqual(["i", "j"]);
    const s2 = createSchedule(Y);
    expect(() => cacheRead(s2, W, "global", [Y], [0, 0])).toThrow(ScheduleError);
    expect(() => cacheRead(s2, W, "global", [Y], [0, 0])).toThrow("cache_read of W: [0, 0] is not a permutation of its 2 axes");
  });
});
