// The tuner's hooks for measurers that run a batch side by side (compiler/distributed): each
// batch is announced before its first measure() call, in the order measure() then asks for
// it, and a result's origin and fingerprint go on its record.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { GraphBuilder } from "../graph/builder.ts";
import { appendRecord, configKey, makeRecord, readLog, type Config } from "./log.ts";
import type { MeasureFn } from "./measure.ts";
import { extractTasks, taskSpec } from "./task.ts";
import { syntheticCost } from "./testing.ts";
import { tuneTask } from "./tuner.ts";
import { cpuTuning } from "../targets/cpu/task-template.ts";

const b = new GraphBuilder();
const task = taskSpec(extractTasks(b.build([b.op1("sum", [b.input("x", [16, 32, 64])], { axes: [2] })]))[0]!);

test("prefetch announces each batch, measure takes it in order, records carry origin and the measurer's fingerprint", async () => {
  const events: string[] = [];
  const announced: string[][] = [];
  const measurer: MeasureFn = {
    target: { ...cpuTuning, fingerprint: () => "farm-fp" },
    prefetch(_t, configs) {
      announced.push(configs.map(configKey));
      events.push(`batch ${configs.length}`);
    },
    async measure(_t, config: Config) {
      events.push("measure");
      const c = syntheticCost(config);
      return { costs: [c], error: null, fingerprint: "worker-fp", origin: { worker: "w1", device: "cpu/x86-64-avx2", job: `m-${configKey(config).length}` } };
    },
    close() {},
  };
  const log = join(mkdtempSync(join(tmpdir(), "lathe-prefetch-")), "tune.jsonl");
  const r = await tuneTask(task, { trials: 10, batch: 4, measurer, log, model: "random", seed: 3 });
  expect(r.measuredNow).toBe(10);
  // A fresh run announces every config (the default config opens the first batch), in batches of 4, 4, 2.
  expect(announced.map((a) => a.length)).toEqual([4, 4, 2]);
  expect(announced.flat()).toEqual(r.history.map((h) => configKey(h.config)));
  expect(events).toEqual(announced.flatMap((a) => [`batch ${a.length}`, ...a.map(() => "measure")]));
  const recs = readLog(log);
  expect(recs.map((x) => configKey(x.config))).toEqual(r.history.map((h) => configKey(h.config)));
  for (const x of recs) {
    expect(x.fingerprint).toBe("worker-fp");
    expect([x.worker, x.device]).toEqual(["w1", "cpu/x86-64-avx2"]);
    expect(x.job).toMatch(/^m-\d+$/);
  }
});

test("a record's worker, device and job are non-empty strings when present", () => {
  const log = join(mkdtempSync(join(tmpdir(), "lathe-prefetch-")), "tune.jsonl");
  const rec = { ...makeRecord(task.key, { a: 1 }, [1e-3]), worker: "w1", device: "cpu/x86-64-avx2", job: "m-1" };
  appendRecord(log, rec);
  expect(readLog(log)).toEqual([rec]);
  expect(() => appendRecord(log, { ...rec, worker: "" })).toThrow(/field worker is not a non-empty string/);
  expect(() => appendRecord(log, { ...rec, job: 7 as unknown as string })).toThrow(/field job is not a non-empty string/);
});
