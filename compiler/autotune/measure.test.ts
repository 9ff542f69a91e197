import { afterAll, describe, expect, test } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GraphBuilder } from "../graph/builder.ts";
import { extractTasks, taskSpec } from "./task.ts";
import { taskTemplate } from "../targets/cpu/task-template.ts";
import { Measurer } from "./measure.ts";
import { configKey, median, readLog, type Config } from "./log.ts";
import { tuneTask } from "./tuner.ts";
import { cpuTuning } from "../targets/cpu/task-template.ts";

/** A small reduction task: sum over the last axis of a [4, 8, 16] tensor. */
function sumTask() {
  const b = new GraphBuilder();
  const g = b.build([b.op1("sum", [b.input("x", [4, 8, 16])], { axes: [2] })]);
  return taskSpec(extractTasks(g)[0]!);
}

const task = sumTask();
const space = taskTemplate(task)!.space;
const good: Config = space.get(0);
const m = new Measurer({ target: cpuTuning, repeats: 3 });
afterAll(() => m.close());

describe("Measurer (child process)", () => {
  test("a correct candidate: checked, then timed with the requested repeats", async () => {
    const r = await m.measure(task, good);
    expect(r.error).toBeNull();
    expect(r.costs).toHaveLength(3);
    for (const c of r.costs!) expect(c).toBeGreaterThan(0);
    expect(m.starts).toBe(1);
  }, 60_000);

  test("with cache flushing: checked and timed the same way", async () => {
    const mf = new Measurer({ target: cpuTuning, repeats: 2, flushCache: true });
    try {
      const r = await mf.measure(task, good);
      expect(r.error).toBeNull();
      expect(r.costs).toHaveLength(2);
      for (const c of r.costs!) expect(c).toBeGreaterThan(0);
    } finally {
      mf.close();
    }
  }, 60_000);

  test.each([
    ["abort", /crashed \(signal SIGABRT\)/],
    ["segv", /crashed \(signal SIGSEGV\)/],
    ["hang", /timed out after 4\.0 s while running/],
    ["wrong", /wrong answer: output 0: element 0/],
  ] as const)("fault %s is an error result; the next candidate runs (in a new child after a crash)", async (fault, pattern) => {
    let inject = true;
    const mm = new Measurer({ target: cpuTuning, repeats: 1, runTimeoutMs: 4000, fault: () => (inject ? fault : null) });
    try {
      const r = await mm.measure(task, good);
      expect(r.costs).toBeNull();
      expect(r.error).toMatch(pattern);
      inject = false;
      const ok = await mm.measure(task, good);
      expect(ok.error).toBeNull();
      expect(mm.starts).toBe(fault === "wrong" ? 1 : 2);
    } finally {
      mm.close();
    }
  }, 90_000);

  test("a config outside the space is a build error, not a crash", async () => {
    const r = await m.measure(task, { ...good, tw: 3 });
    expect(r.costs).toBeNull();
    expect(r.error).toMatch(/^build failed: .*not in its template's space/);
  }, 60_000);
});

describe("Measurer: repetition within samples (minRepeatMs)", () => {
  test("a microsecond kernel repeats until each sample lasts minRepeatMs / repeats; 0 keeps one call per sample", async () => {
    // The sum kernel takes microseconds: one call is far below the 5 ms share of each sample.
    const rep = new Measurer({ target: cpuTuning, repeats: 4, minRepeatMs: 20, threads: 1 });
    const one = new Measurer({ target: cpuTuning, repeats: 5, minRepeatMs: 0, threads: 1 });
    try {
      const r = await rep.measure(task, good);
      expect(r.error).toBeNull();
      expect(r.costs).toHaveLength(4);
      expect(r.calls).toHaveLength(4);
      const share = 0.020 / 4;
      r.calls!.forEach((n, i) => {
        expect(n).toBeGreaterThan(1);
        if (i > 0) expect(n).toBeGreaterThanOrEqual(r.calls![i - 1]!); // calls only grow
        // A sample lasted at least its share (calls × mean seconds per call) ...
        expect(n * r.costs![i]!).toBeGreaterThanOrEqual(share * (1 - 1e-9));
        // ... and its cost is per call, not the sample's total.
        expect(r.costs![i]!).toBeLessThan(share);
      });
      expect(r.calls!.reduce((s, n, i) => s + n * r.costs![i]!, 0)).toBeGreaterThanOrEqual(0.020 * (1 - 1e-9));

      const r1 = await one.measure(task, good);
      expect(r1.error).toBeNull();
      expect(r1.calls).toEqual([1, 1, 1, 1, 1]);
      // Timing one call at a time adds the timer's overhead to each; the mean over many calls
      // is not larger (generous bound: a cost not divided by its calls would be ~1000× larger).
      expect(median(r.costs!)).toBeLessThanOrEqual(2 * median(r1.costs!));
    } finally {
      rep.close();
      one.close();
    }
  }, 60_000);

  test("a sample of many calls outlasting runTimeoutMs is not killed: the limit grows by 4 × minRepeatMs while timing", async () => {
    const mm = new Measurer({ target: cpuTuning, repeats: 3, minRepeatMs: 1800, runTimeoutMs: 1500, threads: 1 });
    try {
      const r = await mm.measure(task, good);
      expect(r.error).toBeNull();
      // The timed samples alone lasted longer than runTimeoutMs.
      expect(r.calls!.reduce((s, n, i) => s + n * r.costs![i]!, 0)).toBeGreaterThanOrEqual(1.8 * (1 - 1e-9));
      expect(mm.starts).toBe(1);
    } finally {
      mm.close();
    }
  }, 60_000);

  test("minRepeatMs must be a number >= 0", () => {
    expect(() => new Measurer({ target: cpuTuning, minRepeatMs: -1 })).toThrow(/minRepeatMs must be a number >= 0/);
    expect(() => new Measurer({ target: cpuTuning, minRepeatMs: Number.NaN })).toThrow(/minRepeatMs/);
  });
});

describe("tuneTask with the real measurer", () => {
  test("failing candidates are logged as errors and tuning goes on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lathe-tune-"));
    const log = join(dir, "tune.jsonl");
    const faulty = new Set<string>();
    const measurer = new Measurer({
      target: cpuTuning,
      repeats: 2, runTimeoutMs: 4000,
      fault: (c) => (faulty.size < 2 && !faulty.has(configKey(c)) ? (faulty.add(configKey(c)), faulty.size === 1 ? "segv" : "wrong") : null),
    });
    try {
      const r = await tuneTask(task, { trials: 4, batch: 2, log, measurer, model: "random", seed: 3, steps: 5 });
      expect(r.history).toHaveLength(4);
      expect(r.measuredNow).toBe(4);
      const recs = readLog(log);
      expect(recs).toHaveLength(4);
      expect(recs.filter((x) => x.error !== null).map((x) => x.error!.slice(0, 12)).sort()).toEqual(["measuring pr", "wrong answer"]);
      expect(recs.filter((x) => x.costs !== null)).toHaveLength(2);
      expect(recs[0]!.spec).toBeDefined();
      expect(recs.slice(1).every((x) => x.spec === undefined)).toBe(true);
      expect(r.best!.gflops).toBeGreaterThan(0);
    } finally {
      measurer.close();
    }
  }, 120_000);
});

