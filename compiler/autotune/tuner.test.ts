import { describe, expect, test } from "vitest";
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { GraphBuilder } from "../graph/builder.ts";
import { appendRecord, configKey, readLog, type Config } from "./log.ts";
import { extractTasks, taskSpec } from "./task.ts";
import { allocateTrials, tuneTask } from "./tuner.ts";
import { syntheticMeasurer } from "./testing.ts";
import type { TuningTarget } from "./tuning-target.ts";
import { cpuTuning } from "../targets/cpu/task-template.ts";
import { hostFingerprint } from "../targets/cpu/fingerprint.ts";
import { loadTunedConfigs } from "../targets/cpu/schedules/templates.ts";
import { lowerGraph } from "../targets/cpu/graph.ts";

const FIXTURE = fileURLToPath(new URL("./tune-child.fixture.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

const b = new GraphBuilder();
const task = taskSpec(extractTasks(b.build([b.op1("sum", [b.input("x", [16, 32, 64])], { axes: [2] })]))[0]!);

const lines = (path: string): number => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter((l) => l.trim()).length : 0);

describe("tuneTask: log and resume", () => {
  test("a run SIGKILLed mid-way resumes from the log: nothing measured twice, trials add up", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lathe-resume-"));
    const log = join(dir, "tune.jsonl");
    const TRIALS = 48;
    const child = spawn(process.execPath, ["--import", TSX, FIXTURE, log, String(TRIALS)], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<NodeJS.Signals | number | null>((res) => child.on("exit", (code, sig) => res(sig ?? code)));
    // Kill it once a dozen records are in (between or during measurements: either must resume).
    for (let waited = 0; lines(log) < 12; waited += 50) {
      if (waited > 100_000) throw new Error(`the tuning child wrote no records: ${stderr}`);
      if (child.exitCode !== null) throw new Error(`the tuning child exited early (${child.exitCode}): ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const before = readLog(log);
    expect(before.length).toBeGreaterThanOrEqual(12);
    expect(before.length).toBeLessThan(TRIALS);
    // A torn last line, as a kill during a write would leave: skipped with a warning.
    appendFileSync(log, '{"task":"cpu/sum/');
    const warnings: string[] = [];
    const r = await tuneTask(task, { trials: TRIALS, batch: 8, log, measurer: syntheticMeasurer(), model: "xgb", seed: 2, steps: 20, onWarning: (w) => warnings.push(w) });
    expect(warnings).toHaveLength(1);
    expect(r.measuredNow).toBe(TRIALS - before.length);
    expect(r.history).toHaveLength(TRIALS);
    const after = readLog(log);
    expect(after).toHaveLength(TRIALS);
    expect(new Set(after.map((x) => configKey(x.config))).size).toBe(TRIALS);
    expect(after.slice(0, before.length)).toEqual(before);
    // Resuming a finished task measures nothing.
    const again = await tuneTask(task, { trials: TRIALS, log, measurer: syntheticMeasurer(), seed: 3 });
    expect(again.measuredNow).toBe(0);
    expect(readLog(log)).toHaveLength(TRIALS);
  }, 120_000);

  test("search kinds: each is deterministic for a seed and measures distinct configs", async () => {
    for (const model of ["xgb", "sa", "random"] as const) {
      const run = () => tuneTask(task, { trials: 24, batch: 8, measurer: syntheticMeasurer(), model, seed: 5, steps: 20 });
      const [a, b2] = [await run(), await run()];
      expect(a.history.map((h) => configKey(h.config))).toEqual(b2.history.map((h) => configKey(h.config)));
      expect(new Set(a.history.map((h) => configKey(h.config))).size).toBe(24);
    }
  }, 60_000);
});

describe("allocateTrials", () => {
  test("proportional to weight, capped by the space, sums to the budget", () => {
    expect(allocateTrials(100, [{ weight: 3, cap: 1000 }, { weight: 1, cap: 1000 }])).toEqual([75, 25]);
    // The first task's space holds only 10: the rest goes to the others by weight.
    expect(allocateTrials(100, [{ weight: 8, cap: 10 }, { weight: 1, cap: 1000 }, { weight: 1, cap: 1000 }])).toEqual([10, 45, 45]);
    expect(allocateTrials(10, [{ weight: 1, cap: 3 }, { weight: 1, cap: 3 }])).toEqual([3, 3]);
    const a = allocateTrials(7, [{ weight: 1, cap: 100 }, { weight: 1, cap: 100 }, { weight: 1, cap: 100 }]);
    expect(a).toEqual([3, 2, 2]);
    expect(allocateTrials(0, [{ weight: 1, cap: 5 }])).toEqual([0]);
    expect(() => allocateTrials(-1, [])).toThrow();
  });
});

describe("tuneTask: the default schedule is a candidate", () => {
  test("a gemm task's first measurement is the default schedule's own config, with its tail", async () => {
    const g = new GraphBuilder();
    // 50 rows: the default block (6 rows) leaves a tail, so it is outside the dividing tiles.
    const mm = taskSpec(extractTasks(g.build([g.op1("matmul", [g.input("a", [50, 64]), g.input("w", [64, 96])])]))[0]!);
    const seen: Record<string, unknown>[] = [];
    const inner = syntheticMeasurer();
    const measurer = { target: inner.target, measure: (t: Parameters<typeof inner.measure>[0], c: Parameters<typeof inner.measure>[1]) => { seen.push({ ...c }); return inner.measure(t, c); }, close: () => inner.close() };
    await tuneTask(mm, { trials: 3, measurer, batch: 2, model: "random", seed: 3 });
    expect(seen[0]).toMatchObject({ mr: 6, ku: 1 });
    expect(50 % (seen[0]!["mr"] as number)).not.toBe(0);

    // Resuming a log that lacks the default (written before it was seeded, or by a search
    // without it) measures it, even when the log already holds the trials asked for.
    const log = join(mkdtempSync(join(tmpdir(), "lathe-default-")), "tune.jsonl");
    await tuneTask(mm, { trials: 4, measurer: syntheticMeasurer(), batch: 2, model: "random", seed: 4, log, defaultConfig: { mr: 1, nr: 4, ku: 1 } });
    const def = seen[0] as Config;
    expect(readLog(log).some((r) => configKey(r.config) === configKey(def))).toBe(false);
    const resumed = await tuneTask(mm, { trials: 4, measurer: syntheticMeasurer(), batch: 2, model: "random", seed: 4, log });
    expect(resumed.measuredNow).toBe(1);
    expect(configKey(readLog(log).at(-1)!.config)).toBe(configKey(def));
    expect((await tuneTask(mm, { trials: 4, measurer: syntheticMeasurer(), log })).measuredNow).toBe(0);
  });

  test("records written before a knob existed resume as its default and still compile", async () => {
    const g = new GraphBuilder();
    const graph = g.build([g.op1("matmul", [g.input("a", [8, 16]), g.input("w", [16, 32])])]);
    const mm = taskSpec(extractTasks(graph)[0]!);
    const log = join(mkdtempSync(join(tmpdir(), "lathe-oldknob-")), "tune.jsonl");
    await tuneTask(mm, { trials: 3, measurer: syntheticMeasurer(), batch: 3, model: "random", seed: 5, log });
    // Rewrite the log as an older Lathe wrote it: gemm configs without `pack`.
    const old = readLog(log).map((r) => ({ ...r, config: Object.fromEntries(Object.entries(r.config).filter(([k]) => k !== "pack")) }));
    writeFileSync(log, old.map((r) => JSON.stringify(r)).join("\n") + "\n");
    expect(readLog(log).every((r) => !("pack" in r.config))).toBe(true);
    // They count toward the trials (as pack = 1), so nothing is measured again…
    expect((await tuneTask(mm, { trials: 3, measurer: syntheticMeasurer(), batch: 3, model: "random", seed: 5, log })).measuredNow).toBe(0);
    // …and compileGraph applies the best of them.
    const kernels = lowerGraph(graph, { tuned: loadTunedConfigs(log) }).kernels;
    expect(kernels.some((k) => k.tuned)).toBe(true);
  });
});

describe("tuneTask: compiler fingerprints", () => {
  /** The cpu target as another compiler or host would be (or, with undefined, a target without a fingerprint). */
  const as = (fingerprint: string | undefined): TuningTarget => {
    const { fingerprint: _, ...rest } = cpuTuning;
    return fingerprint === undefined ? rest : { ...rest, fingerprint: () => fingerprint };
  };
  const run = (log: string, fp: string | undefined, warnings: string[] = [], trials = 6) =>
    tuneTask(task, { trials, batch: 3, log, measurer: syntheticMeasurer(0, as(fp)), model: "random", seed: 7, onWarning: (w) => warnings.push(w) });

  test("records carry the target's fingerprint (the cpu target's by default)", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "lathe-fp-")), "tune.jsonl");
    await tuneTask(task, { trials: 2, batch: 2, log, measurer: syntheticMeasurer(), model: "random", seed: 1 });
    expect(readLog(log).map((r) => r.fingerprint)).toEqual([hostFingerprint(), hostFingerprint()]);
  });

  test("records of another fingerprint stay in the log but are not resumed", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "lathe-fp-")), "tune.jsonl");
    expect((await run(log, "fp-a")).measuredNow).toBe(6);
    const a = readLog(log);
    expect(a.every((r) => r.fingerprint === "fp-a")).toBe(true);

    const warnings: string[] = [];
    const b = await run(log, "fp-b", warnings);
    expect(b.measuredNow).toBe(6); // nothing resumed: the task is tuned again for fp-b
    expect(b.history).toHaveLength(6);
    expect(warnings).toEqual([`task ${task.key}: 6 records from another compiler/host (fingerprint fp-a) not resumed (this one is fp-b): they stay in the log, and their configs may be measured again`]);
    const after = readLog(log);
    expect(after).toHaveLength(12);
    expect(after.slice(0, 6)).toEqual(a); // the old lines are kept as they were
    expect(after.slice(6).every((r) => r.fingerprint === "fp-b")).toBe(true);
    // Each fingerprint resumes its own records.
    expect((await run(log, "fp-a")).measuredNow).toBe(0);
    expect((await run(log, "fp-b")).measuredNow).toBe(0);
  });

  test("records from before fingerprints are stale to a target with one, and current to a target without", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "lathe-fp-")), "tune.jsonl");
    await run(log, undefined, [], 4);
    const old = readLog(log);
    expect(old.every((r) => r.fingerprint === undefined)).toBe(true);
    expect((await run(log, undefined, [], 4)).measuredNow).toBe(0);
    const warnings: string[] = [];
    expect((await run(log, "fp-a", warnings, 4)).measuredNow).toBe(4);
    expect(warnings[0]).toMatch(/4 records from another compiler\/host \(fingerprint unknown: written before fingerprints\) not resumed/);
    // A target without a fingerprint trusts every record, stamped or not.
    appendRecord(log, { ...old[0]!, fingerprint: "fp-z" });
    const none: string[] = [];
    expect((await run(log, undefined, none, 4)).measuredNow).toBe(0);
    expect(none).toEqual([]);
  });
});
