import { afterAll, describe, expect, test } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GraphBuilder } from "../graph/builder.ts";
import { extractTasks, taskSpec } from "./task.ts";
import { taskTemplate } from "../targets/cpu/task-template.ts";
import { Measurer } from "./measure.ts";
import { configKey, readLog, type Config } from "./log.ts";
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

