/**
 * Every strategy end to end on a 2-experience toy stream (4 Gaussian blobs in 4-D, classes
 * {0, 1} then {2, 3}, class-incremental; an MLP 4-8-4; the graph interpreter), checked
 * against what each is for: Naive forgets the first experience, rehearsal keeps it,
 * regularisers hold the weights (or outputs) nearer the first experience's than Naive
 * does, and resuming from a checkpoint gives the uninterrupted run's results.
 */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { subset } from "../data/dataset.ts";
import { blobs } from "../data/synthetic.ts";
import { importanceRows, type QuadraticLike } from "./regularization.ts";
import type { EvalResult, Plugin, Strategy } from "./strategy.ts";
import { STRATEGIES, buildPlugins } from "./registry.ts";
import type { RunOptions, RunResult } from "./runner.ts";
import { runStrategy } from "./runner.ts";
import { online, splitByClass } from "./scenarios.ts";
import type { TrainStep } from "./program.ts";

const all = blobs({ n: 240, centers: 4, dim: 4, std: 1, seed: 1 });
const idx = Array.from({ length: 240 }, (_, i) => i);
const bench = splitByClass(subset(all, idx.slice(0, 160)), subset(all, idx.slice(160)), { name: "toy", experiences: 2 });
// Overlapping blobs for the regularisers: a model still unsure after experience 0 has a Fisher worth the name.
const blurred = blobs({ n: 240, centers: 4, dim: 4, std: 1.5, box: 3, seed: 1 });
const regBench = splitByClass(subset(blurred, idx.slice(0, 160)), subset(blurred, idx.slice(160)), { name: "toy", experiences: 2 });
const base: RunOptions = { hidden: [8], lr: 0.05, batchSize: 16, epochs: 3, gdumbEpochs: 6, memory: 20, patterns: 10, seed: 0, exec: { executor: "interpreted" } };
const runs = new Map<string, RunResult>();
const run = async (name: string, o: RunOptions = {}): Promise<RunResult> => {
  const key = `${name} ${JSON.stringify(o)}`;
  if (!runs.has(key)) runs.set(key, await runStrategy(bench, name, { ...base, ...o }));
  return runs.get(key)!;
};
const dir = mkdtempSync(join(tmpdir(), "lathe-continual-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REHEARSAL = ["cumulative", "replay", "replay-reservoir", "gdumb", "gem", "er-ace", "der", "icarl"];

describe("continual strategies on a toy stream", () => {
  test.each(STRATEGIES.map((s) => [s]))("%s trains both experiences and reports finite metrics", async (name) => {
    const r = await run(name);
    const R = r.summary.matrix;
    expect(R.length).toBe(name === "joint" ? 1 : 2);
    for (const row of R) for (const a of row) expect(a).toBeGreaterThanOrEqual(0);
    if (name !== "joint") {
      expect(R[0]![0]).toBeGreaterThanOrEqual(0.9); // the first experience is learnt
      expect(r.summary.bwt).not.toBeNull();
    }
    expect(Number.isFinite(r.summary.finalLoss)).toBe(true);
    expect(r.summary.seconds.length).toBe(R.length);
    expect(r.summary.macsPerExample).toBe(4 * 8 + 8 * 4);
  });

  test("Naive forgets the first experience; rehearsal strategies keep it and beat Naive's ACC", async () => {
    const naive = await run("naive");
    expect(naive.summary.matrix[1]![0]).toBeLessThanOrEqual(0.1);
    expect(naive.summary.forgetting).toBeGreaterThanOrEqual(0.8);
    for (const name of REHEARSAL) {
      const r = await run(name);
      expect(r.summary.matrix[1]![0], name).toBeGreaterThanOrEqual(0.4);
      expect(r.summary.finalAcc, name).toBeGreaterThan(naive.summary.finalAcc + 0.1);
    }
    expect((await run("joint")).summary.finalAcc).toBeGreaterThanOrEqual(0.95);
  });

  test("EWC, online EWC, SI and MAS keep the weights nearer their anchor (in Ω's norm) than Naive; LwF keeps the outputs nearer", async () => {
    /** Records θ*₀ (weights after experience 0) and the penalty's Ω₀, θ̄₀ when experience 1 starts. */
    const capture = () => {
      const c: { theta: Float32Array[] | null; pen: ReturnType<QuadraticLike["penalty"]> } = { theta: null, pen: null };
      const plugin: Plugin = {
        name: "capture",
        beforeTrainingExp(s: Strategy) {
          if (s.trained !== 1) return;
          c.theta = s.model.params.map((p) => (p.value.data as Float32Array).slice());
          const q = s.plugins[0] as Partial<QuadraticLike>;
          c.pen = q.penalty ? q.penalty() : null;
        },
      };
      return { c, plugin };
    };
    const naiveCap = capture();
    const naive = await runStrategy(regBench, "naive", { ...base, plugins: [naiveCap.plugin] });
    const drift = (ws: readonly Float32Array[], om: readonly Float32Array[], an: readonly Float32Array[]) =>
      ws.reduce((s, th, k) => s + th.reduce((t, v, j) => t + om[k]![j]! * (v - an[k]![j]!) ** 2, 0), 0);
    const final = (r: RunResult) => r.model.params.map((p) => p.value.data as Float32Array);
    for (const [name, o] of [["ewc", { ewcLambda: 100 }], ["online-ewc", { ewcLambda: 100 }], ["si", { siLambda: 10 }], ["mas", { masLambda: 0.1 }]] as const) {
      const cap = capture();
      const r = await runStrategy(regBench, name, { ...base, ...o, plugins: [cap.plugin] });
      // The penalty is zero during experience 0, so both runs reach the same θ*₀, which is the anchor.
      expect(cap.c.theta!.map((t) => Array.from(t)), name).toEqual(naiveCap.c.theta!.map((t) => Array.from(t)));
      expect(cap.c.pen!.anchor.map((t) => Array.from(t)), name).toEqual(cap.c.theta!.map((t) => Array.from(t)));
      const { omega, anchor } = cap.c.pen!;
      expect(omega.some((a) => a.some((v) => v !== 0)), name).toBe(true);
      expect(drift(final(r), omega, anchor), name).toBeLessThan(0.5 * drift(final(naive), omega, anchor));
    }
    // LwF: KL(old ‖ new) over the old classes on the data it distils on (experience 1's), by a JS forward pass.
    const lwf = await runStrategy(regBench, "lwf", { ...base, lwfAlpha: 5 });
    const x0 = regBench.train[1]!.x.data as Float32Array, n0 = regBench.train[1]!.y.size;
    const forward = (ws: readonly Float32Array[], row: Float32Array): number[] => {
      const h = Array.from({ length: 8 }, (_, j) => Math.max(0, ws[1]![j]! + row.reduce((s, v, i) => s + v * ws[0]![i * 8 + j]!, 0)));
      return [0, 1].map((c) => ws[3]![c]! + h.reduce((s, v, i) => s + v * ws[2]![i * 4 + c]!, 0));
    };
    const kl = (ws: readonly Float32Array[]) => {
      let s = 0;
      for (let i = 0; i < n0; i++) {
        const row = x0.subarray(i * 4, i * 4 + 4);
        const soft = (z: number[]) => { const e = z.map(Math.exp), t = e[0]! + e[1]!; return e.map((v) => v / t); };
        const q = soft(forward(naiveCap.c.theta!, row)), p = soft(forward(ws, row));
        s += q.reduce((a, qc, c) => a + qc * Math.log(qc / p[c]!), 0);
      }
      return s / n0;
    };
    expect(kl(final(lwf))).toBeLessThan(0.5 * kl(final(naive)));
  });

  test("EWC's Fisher on a strided sample of the experience: the output bias's entry equals the closed form on those rows", async () => {
    expect(importanceRows(10, 4)).toEqual([0, 2, 5, 7]);
    expect(importanceRows(3, 8)).toEqual([0, 1, 2]);
    expect(importanceRows(3, "all")).toEqual([0, 1, 2]);
    expect(() => importanceRows(3, 0)).toThrow(/Fisher's sample size must be a positive integer or "all", got 0/);
    let theta: Float32Array[] | null = null, omega: Float32Array[] | null = null;
    const capture: Plugin = {
      name: "capture",
      beforeTrainingExp(s: Strategy) {
        if (s.trained !== 1) return;
        theta = s.model.params.map((p) => (p.value.data as Float32Array).slice());
        omega = (s.plugins[0] as unknown as QuadraticLike).penalty()!.omega;
      },
    };
    await runStrategy(regBench, "ewc", { ...base, ewcFisherSamples: 70, plugins: [capture] });
    // d mean-CE / d b_out = mean over the batch of softmax(z) − onehot(y); the Fisher entry is
    // the mean over batches (64 rows, then 6) of its square.
    const exp = regBench.train[0]!, x = exp.x.data as Float32Array, y = exp.y.data as Int32Array, ws = theta!;
    const rows = importanceRows(y.length, 70);
    const grad = (batch: number[]) => {
      const g = [0, 0, 0, 0];
      for (const r of batch) {
        const h = Array.from({ length: 8 }, (_, j) => Math.max(0, ws[1]![j]! + [0, 1, 2, 3].reduce((s, i) => s + x[r * 4 + i]! * ws[0]![i * 8 + j]!, 0)));
        const z = [0, 1, 2, 3].map((c) => ws[3]![c]! + h.reduce((s, v, i) => s + v * ws[2]![i * 4 + c]!, 0));
        const m = Math.max(...z), e = z.map((v) => Math.exp(v - m)), t = e.reduce((a, b) => a + b, 0);
        e.forEach((v, c) => { g[c]! += (v / t - (c === y[r] ? 1 : 0)) / batch.length; });
      }
      return g;
    };
    const g1 = grad(rows.slice(0, 64)), g2 = grad(rows.slice(64));
    const want = [0, 1, 2, 3].map((c) => (g1[c]! ** 2 + g2[c]! ** 2) / 2);
    Array.from(omega![3]!).forEach((v, c) => expect(v).toBeCloseTo(want[c]!, 5));
  });

  test("task-incremental heads answer within their task; online sub-experiences are evaluated per origin; the step is compiled once", async () => {
    const task = splitByClass(subset(all, idx.slice(0, 160)), subset(all, idx.slice(160)), { name: "toy-task", experiences: 2, taskLabels: true });
    const steps: TrainStep[] = [];
    const outside: number[] = [];
    const spy: Plugin = {
      name: "spy",
      async beforeTrainingExp(s: Strategy) { steps.push(await s.trainStep()); },
      afterEvalExp(_s: Strategy, res: EvalResult) {
        const head = task.taskClasses[res.experience.task]!;
        for (const p of res.predictions) if (!head.includes(p)) outside.push(p);
      },
    };
    const r = await runStrategy(task, "naive", { ...base, plugins: [spy] });
    // Each head answers among its task's 2 classes only (class-incremental Naive answers 2 or 3 on task 0: R[1][0] = 0).
    expect(outside).toEqual([]);
    expect(r.summary.matrix[1]![0]).toBeGreaterThan((await run("naive")).summary.matrix[1]![0]!);
    expect(steps.length).toBe(2);
    expect(steps[1]).toBe(steps[0]);
    const on = await runStrategy(online(bench, 20), "replay", { ...base, epochs: 1 });
    expect(on.summary.matrix.length).toBe(2);
    expect(on.summary.seconds.length).toBe(8);
  });

  test("GDumb trains from the initial weights on its class-balanced memory alone, for its own epochs", async () => {
    const weights = (s: Strategy) => s.model.params.map((p) => Array.from(p.value.data as Float32Array));
    let init: number[][] | null = null;
    const seen: { start: number[][]; y: Int32Array; end?: number[][]; epochs?: number }[] = [];
    // Runs after GDumb's hooks (extra plugins come last), so it sees GDumb's data and reset.
    const spy: Plugin = {
      name: "spy",
      beforeTraining(s: Strategy) { init ??= weights(s); },
      trainingData(s: Strategy, _e, d) { seen.push({ start: weights(s), y: d.y.slice() }); return d; },
      afterTrainingExp(s: Strategy) { Object.assign(seen.at(-1)!, { end: weights(s), epochs: s.epochLosses.length }); },
    };
    await runStrategy(bench, "gdumb", { ...base, memory: 20, gdumbEpochs: 7, plugins: [spy] });
    expect(seen.length).toBe(2);
    const counts = (y: Int32Array) => [0, 1, 2, 3].map((c) => y.filter((v) => v === c).length);
    expect(counts(seen[0]!.y)).toEqual([10, 10, 0, 0]);
    expect(counts(seen[1]!.y)).toEqual([5, 5, 5, 5]);
    for (const e of seen) {
      expect(e.start).toEqual(init); // from scratch, not from the previous experience's model
      expect(e.end).not.toEqual(init);
      expect(e.epochs).toBe(7); // GDumb's epochs, not the stream's 3
    }
    expect(() => buildPlugins("gdumb", { gdumbEpochs: 0 })).toThrow(/gdumb: epochs must be a positive integer, got 0/);
  });

  test("plugins compose: Replay + LwF runs both (memory and distillation)", async () => {
    const r = await run("replay+lwf");
    expect(r.plugins.map((p) => p.name).slice(0, 2)).toEqual(["replay", "lwf"]);
    expect(r.summary.matrix[1]![0]).toBeGreaterThanOrEqual(0.4);
    expect(() => buildPlugins("replay+nope")).toThrow(/unknown strategy "nope"; one of naive, cumulative/);
    expect(() => buildPlugins("joint+ewc")).toThrow(/combines with nothing/);
    expect(() => buildPlugins("replay", { memory: 500 }, 160)).toThrow(/exceeds the 160 training examples/);
  });

  test("a run resumed from its checkpoint ends exactly as the uninterrupted one; a corrupt checkpoint is refused by name", async () => {
    const file = join(dir, "ewc.ckpt");
    const whole = await run("ewc");
    await runStrategy(bench, "ewc", { ...base, checkpoint: file, stopAfter: 1 });
    const resumed = await runStrategy(bench, "ewc", { ...base, checkpoint: file });
    expect(resumed.summary.matrix).toEqual(whole.summary.matrix);
    resumed.model.params.forEach((p, k) => expect(Array.from(p.value.data as Float32Array)).toEqual(Array.from(whole.model.params[k]!.value.data as Float32Array)));
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.slice(0, -20) + "x".repeat(20));
    await expect(runStrategy(bench, "ewc", { ...base, checkpoint: file })).rejects.toThrow(`checkpoint ${file} is corrupt: its content does not match its SHA-256`);
    writeFileSync(file, "garbage");
    await expect(runStrategy(bench, "ewc", { ...base, checkpoint: file })).rejects.toThrow(/is corrupt: no header line/);
  });
});
