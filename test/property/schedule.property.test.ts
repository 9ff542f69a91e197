/**
 * The schedule property: random valid sequences of schedule primitives on matmul and
 * conv2d never change the result. Each case is a fixed seed (the test cannot flake): the
 * generator (random-schedule.ts) schedules a fresh workload, the kernel is built and run
 * on seeded inputs and compared with the reference evaluator. A failure prints the seed,
 * the primitive sequence, the schedule and the loop IR. More seeds:
 * `npx tsx test/property/fuzz-schedules.ts --count 200`.
 *
 * Bugs it found are in BUGS.md, each with a regression test at the end of this file. A case
 * that hits an open bug is listed in KNOWN_FAILING and runs as `test.fails`.
 */
import { afterAll, describe, expect, test } from "vitest";
import { ScheduleError } from "../../core/errors.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { cacheRead } from "../../compiler/schedule/cache.ts";
import type { Workload } from "./random-schedule.ts";
import { AVOID, conv2d, matmul, PRIMITIVES } from "./random-schedule.ts";
import type { WorkloadKind } from "./schedule-case.ts";
import { checkSchedule, makeCase, runCase, WORKLOAD_KINDS } from "./schedule-case.ts";

const PER_KIND = 12;
/** 12 seeds per workload (24 matmul, 24 conv2d), distinct so no two cases share a random stream. */
const cases = WORKLOAD_KINDS.flatMap((kind, k) =>
  Array.from({ length: PER_KIND }, (_, n) => makeCase(kind, k * PER_KIND + n + 1)));

/** Seeds of the list above that hit a bug in BUGS.md (run as test.fails): "kind/seed" → bug. */
const KNOWN_FAILING: ReadonlyMap<string, string> = new Map<`${WorkloadKind}/${number}`, string>([]);

const t0 = performance.now();
let passed = 0;
afterAll(() => {
  console.log(`schedule property: ${passed}/${cases.length} cases matched the reference in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

describe("random schedules of matmul and conv2d never change the result", () => {
  test("the generator applies most primitives it tries, and every kind of primitive", () => {
    const applied = Object.fromEntries(PRIMITIVES.map((p) => [p, cases.reduce((a, c) => a + c.gen.applied[p], 0)]));
    const nApplied = Object.values(applied).reduce((a, b) => a + b, 0);
    const nRejected = cases.reduce((a, c) => a + c.gen.rejected.length, 0);
    console.log(`schedule property: ${cases.length} cases, ${nApplied} primitives applied, ${nRejected} rejected; mix ${JSON.stringify(applied)}`);
    for (const c of cases) for (const r of c.gen.rejected) console.log(`  rejected (${c.kind} seed ${c.seed}): ${r.step}: ${r.message}`);
    expect(nRejected).toBeLessThanOrEqual((nApplied + nRejected) / 2);
    for (const p of PRIMITIVES) expect(applied[p], `primitive ${p} never applied`).toBeGreaterThan(0);
    expect(cases.filter((c) => c.gen.crash)).toEqual([]);
  });

  for (const c of cases) {
    const bug = KNOWN_FAILING.get(`${c.kind}/${c.seed}`);
    const t = bug ? test.concurrent.fails : test.concurrent;
    t(`${c.w.label}, seed ${c.seed}${bug ? ` (${bug})` : ""}`, async () => {
      const out = await runCase(c);
      if (out.ok) passed++;
      expect(out.ok, out.report).toBe(true);
    }, 120_000);
  }
});

// ---- the bugs this property found (BUGS.md), kept as regression tests ----

/** Correct behaviour for a schedule: a ScheduleError (from a primitive or at build) or the right result. */
async function expectDiagnosedOrCorrect(w: Workload, schedule: (s: Schedule) => void, what: string): Promise<void> {
  const s = createSchedule(w.output);
  try {
    schedule(s);
  } catch (e) {
    expect(e).toBeInstanceOf(ScheduleError);
    return;
  }
  const out = await checkSchedule(w, s, 1, what);
  if (out.error instanceof ScheduleError) return;
  expect(out.ok, out.report).toBe(true);
}

const stageNamed = (s: Schedule, name: string) => s.stages.find((x) => x.name === name)!;
const smallConv = () => conv2d({ N: 1, C: 3, H: 9, W: 9, K: 4, R: 3, S: 3, stride: 1, pad: 1 });

describe("bugs found by the schedule property (BUGS.md)", () => {
  test("no generator work-around is active (every AVOID flag is off)", () => {
    expect(Object.values(AVOID).every((on) => !on)).toBe(true);
  });

  // #1: a split that does not divide an axis made by an earlier split had no tail guard, so
  // the overhanging iterations aliased the next outer iteration (k = 4, 5 summed twice).
  test("#1 nested non-dividing split of a reduce axis: split(k, 4) then split(k.i, 3)", async () => {
    await expectDiagnosedOrCorrect(matmul(1, 1, 8), (s) => {
      const c = s.stage(s.outputs[0]!);
      const [, ki] = c.split(c.reduceAxis[0]!, { factor: 4 });
      c.split(ki, { factor: 3 });
    }, "BUGS.md #1");
  });

  // #1, data-axis form: harmless in a plain nest (an element is recomputed), wrong once the
  // reduction's initialisation is hoisted out of the data loops.
  test("#1 nested non-dividing split of a data axis under an outer reduce loop", async () => {
    await expectDiagnosedOrCorrect(matmul(1, 8, 2), (s) => {
      const c = s.stage(s.outputs[0]!);
      const [i] = c.axis, [k] = c.reduceAxis;
      const [, ji] = c.split(c.axis[1]!, { factor: 4 });
      c.split(ji, { factor: 3 });
      c.reorder(k!, i!);
    }, "BUGS.md #1");
  });

  // #2: splitting (or fusing) the loop another stage is computed at was accepted, and
  // lowering silently dropped that stage: g++ failed on an undeclared buffer.
  test("#2 split of a compute_at loop", async () => {
    await expectDiagnosedOrCorrect(smallConv(), (s) => {
      const y = s.stage(s.outputs[0]!);
      stageNamed(s, "P").computeAt(y, y.axis[2]!);
      y.split(y.axis[2]!, { factor: 3 });
    }, "BUGS.md #2");
  });

  test("#2 fuse of a compute_at loop", async () => {
    await expectDiagnosedOrCorrect(smallConv(), (s) => {
      const y = s.stage(s.outputs[0]!);
      stageNamed(s, "P").computeAt(y, y.axis[2]!);
      y.fuse(y.axis[1]!, y.axis[2]!);
    }, "BUGS.md #2");
  });

  // #3: compute_at accepted a producer computed deeper in a loop nest than the stage that
  // reads it (X.global at Y's x loop, its reader P at Y's k loop): g++ failed on an
  // undeclared buffer. Now a ScheduleError at build.
  test("#3 producer computed inside a deeper loop than its reader", async () => {
    const w = smallConv();
    await expectDiagnosedOrCorrect(w, (s) => {
      const y = s.stage(w.output);
      const p = stageNamed(s, "P");
      const xg = cacheRead(s, w.inputs[0]!, "global", [p.tensor]);
      p.computeAt(y, y.axis[1]!);
      s.stage(xg).computeAt(y, y.axis[3]!);
    }, "BUGS.md #3");
  });

  // #4: compute_at at the outer loop of a split of a fused axis, when the split does not
  // cut the fused axis at multiples of its inner axis: the region's size depends on the
  // loop variable (1 or 2 rows of A here), and bounds inference gave up with a
  // ScheduleError for this valid schedule. A ScheduleError is not an acceptable answer here.
  test("#4 compute_at at the outer loop of split(fuse(i, j), 4)", async () => {
    const w = matmul(4, 6, 5);
    const s = createSchedule(w.output);
    const c = s.stage(w.output);
    const ag = cacheRead(s, w.inputs[0]!, "global", [w.output]);
    const [fo] = c.split(c.fuse(c.axis[0]!, c.axis[1]!), { factor: 4 });
    s.stage(ag).computeAt(c, fo);
    const out = await checkSchedule(w, s, 1, "BUGS.md #4");
    expect(out.ok, out.report).toBe(true);
  });
});
