/**
 * `lathe tune --target webgpu`: the tuner measures the graph's static matmul tasks (one with
 * a fused relu epilogue) on Dawn (SwiftShader here) in the measuring child, checking each
 * candidate against the interpreter; the log holds webgpu records under the task keys
 * compile looks up (extractTasks(g, "webgpu")), a second run resumes without measuring a
 * config again, and `lathe compile --target webgpu --tuning-log` applies the best config,
 * whose artifact `lathe run` evaluates to the interpreter's outputs. A candidate with a wrong
 * answer is an error, not a speed.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { readLog, recordCost } from "../../compiler/autotune/log.ts";
import { Measurer } from "../../compiler/autotune/measure.ts";
import { extractTasks, taskSpec } from "../../compiler/autotune/task.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { parseGraph } from "../../compiler/graph/text/parse.ts";
import { webgpuMatmulSpace } from "../../compiler/targets/webgpu/tuning.ts";
import { webgpuTuning } from "../../compiler/targets/webgpu/tuning-target.ts";
import { printWgsl } from "../../compiler/codegen/wgsl/print.ts";
import type { Config } from "../../compiler/autotune/log.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { lathe } from "../helpers/cli.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-wgtunecli-"));
afterEach(() => { process.exitCode = 0; });

// Two static matmuls of different shapes, the second with a relu fused into its kernel.
const TEXT = `graph two(x: f32[8, 24]) {
  const w1: f32[24, 32]
  const w2: f32[32, 16]
  h = matmul(x, w1)
  y = matmul(h, w2)
  z = relu(y)
  return z
}
`;
const w1 = Tensor.random([24, 32], "f32", 3, { low: -0.5, high: 0.5 });
const w2 = Tensor.random([32, 16], "f32", 4, { low: -0.5, high: 0.5 });
const graph = () => parseGraph(TEXT, { constants: { w1: w1.data, w2: w2.data } });
const x = Tensor.random([8, 24], "f32", 7);

const model = path.join(tmp, "two.lg");
writeFileSync(model, TEXT);
const consts: string[] = [];
for (const [n, t] of [["w1", w1], ["w2", w2]] as const) {
  const f = path.join(tmp, `${n}.npy`);
  writeNpy(f, t);
  consts.push("--const", `${n}=${f}`);
}
const log = path.join(tmp, "tune.jsonl");
const TRIALS = 6;
const tune = (...extra: string[]) =>
  lathe("tune", model, "--target", "webgpu", "--trials", String(TRIALS), "--log", log, "--batch", "3", "--repeats", "2", "--min-repeat-ms", "0", "--no-progress", ...consts, ...extra);
/** stderr without the adapter line Dawn's device prints once. */
const quiet = (err: string) => err.split("\n").filter((l) => l !== "" && !l.startsWith("lathe webgpu: adapter"));
const keys = () => extractTasks(graph(), "webgpu").map((t) => t.key);
const configKeys = (task: string) => readLog(log).filter((r) => r.task === task).map((r) => JSON.stringify(r.config, Object.keys(r.config).sort()));

describe("lathe tune --target webgpu", () => {
  test("--target nope is one line naming the tunable targets", async () => {
    const r = await tune("--target", "nope");
    expect(r.code).not.toBe(0);
    expect(quiet(r.err)).toEqual(['lathe: LatheError: lathe tune: unknown target "nope" (available: cpu, webgpu)']);
  });

  test("the graph's two matmul tasks get templates of their shapes, with 2·M·N·K FLOPs", () => {
    const tasks = extractTasks(graph(), "webgpu").map(taskSpec);
    expect(tasks.map((t) => t.nodes.map((n) => n.op).join("+"))).toEqual(["matmul", "matmul+relu"]);
    const [a, b] = tasks.map((t) => webgpuTuning.template(t));
    expect(a!.flops).toBe(2 * 8 * 32 * 24);
    expect(b!.flops).toBe(2 * 8 * 16 * 32);
    expect(a!.space.size).toBe(webgpuMatmulSpace(8, 32, 24).size);
    expect(b!.space.size).toBe(webgpuMatmulSpace(8, 16, 32).size);
  });

  test("the template's default config builds the default schedule's kernel (measured first: tuning is never worse)", () => {
    for (const t of extractTasks(graph(), "webgpu").map(taskSpec)) {
      const def = webgpuTuning.template(t)!.defaultConfig;
      expect(def, t.key).toBeDefined();
      const wgsl = (c: Config | null) => printWgsl(webgpuTuning.lower(t, c, "k"), { f16: false }).code;
      expect(wgsl(def!), t.key).toBe(wgsl(null));
      // And a config the default is not gives another kernel (the comparison can fail).
      const other = webgpuTuning.template(t)!.space.get(0);
      expect(wgsl(other), JSON.stringify(other)).not.toBe(wgsl(null));
    }
  });

  test("a batch_matmul task: 2·B·M·N·K FLOPs, and its configs pass the interpreter check on Dawn", async () => {
    const g = parseGraph(`graph b(a: f32[2, 9, 6], b: f32[2, 6, 12]) {
  y = batch_matmul(a, b)
  return y
}
`);
    const [task] = extractTasks(g, "webgpu").map(taskSpec);
    const t = webgpuTuning.template(task!)!;
    expect(t.flops).toBe(2 * 2 * 9 * 12 * 6);
    expect(t.space.size).toBe(webgpuMatmulSpace(9, 12, 6).size);
    const m = new Measurer({ target: webgpuTuning, repeats: 1, minRepeatMs: 0 });
    try {
      for (const i of [0, t.space.size - 1]) {
        const r = await m.measure(task!, t.space.get(i));
        expect(r.error, JSON.stringify(t.space.get(i))).toBeNull();
        expect(r.costs![0]).toBeGreaterThan(0);
      }
    } finally {
      m.close();
    }
  }, 120_000);

  test("a candidate computing a wrong answer is recorded as an error", async () => {
    const task = extractTasks(graph(), "webgpu").map(taskSpec)[0]!;
    const space = webgpuTuning.template(task)!.space;
    const config = space.get(0);
    const m = new Measurer({ target: webgpuTuning, repeats: 1, minRepeatMs: 0, fault: () => "wrong" });
    const good = new Measurer({ target: webgpuTuning, repeats: 1, minRepeatMs: 0 });
    try {
      const bad = await m.measure(task, config);
      expect(bad.costs).toBeNull();
      expect(bad.error).toMatch(/^wrong answer: output 0: element 0 is /);
      const ok = await good.measure(task, config);
      expect(ok.error).toBeNull();
      expect(ok.costs).toHaveLength(1);
      expect(ok.costs![0]).toBeGreaterThan(0);
    } finally {
      m.close();
      good.close();
    }
  }, 120_000);

  test("tunes both tasks into the log, resumes without repeating configs, and compile applies it", async () => {
    const r = await tune();
    expect(quiet(r.err)).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^2 tunable task\(s\), 0 without a template/);
    const [k1, k2] = keys();
    const recs = readLog(log);
    expect(new Set(recs.map((x) => x.task))).toEqual(new Set([k1, k2]));
    expect(recs).toHaveLength(TRIALS);
    // Every candidate of these spaces builds and passes the check: each has costs.
    for (const rec of recs) {
      expect(rec.error ?? null, JSON.stringify(rec)).toBeNull();
      expect(recordCost(rec)).toBeGreaterThan(0);
    }
    const before = { [k1!]: configKeys(k1!), [k2!]: configKeys(k2!) };

    // Twice the trials: the second run measures only the new ones, none already in the log.
    const again = await lathe("tune", model, "--target", "webgpu", "--trials", String(2 * TRIALS), "--log", log, "--batch", "3", "--repeats", "2", "--min-repeat-ms", "0", "--no-progress", ...consts);
    expect(again.code).toBe(0);
    expect(readLog(log)).toHaveLength(2 * TRIALS);
    for (const k of [k1!, k2!]) {
      const all = configKeys(k);
      expect(new Set(all).size, k).toBe(all.length);
      expect(all.slice(0, before[k]!.length)).toEqual(before[k]);
      expect(all.length).toBeGreaterThan(before[k]!.length);
    }

    const out = path.join(tmp, "art");
    const c = await lathe("compile", model, "--target", "webgpu", "--tuning-log", log, "-o", out, ...consts);
    expect(quiet(c.err)).toEqual([]);
    expect(c.code).toBe(0);
    const plan = JSON.parse(readFileSync(path.join(out, "plan.json"), "utf8")) as { dispatches: { kernel: string; tuned?: boolean }[] };
    expect(plan.dispatches.map((d) => d.tuned === true)).toEqual([true, true]);

    const xf = path.join(tmp, "x.npy"), yf = path.join(tmp, "y.npy");
    writeNpy(xf, x);
    const run = await lathe("run", out, "--input", xf, "--output", yf);
    expect(quiet(run.err)).toEqual([]);
    expect(run.code).toBe(0);
    const got = readNpy(yf);
    const [want] = interpret(graph(), [{ data: x.toArray(), shape: x.shape }]).outputs;
    expect(got.shape).toEqual(want!.shape);
    const a = Array.from(got.data as Float32Array);
    const bad = a.findIndex((v, i) => !(Math.abs(v - want!.data[i]!) <= 1e-4 * (1 + Math.abs(want!.data[i]!))));
    expect(bad, `z[${bad}]: webgpu ${a[bad]}, interpreter ${want!.data[bad]}`).toBe(-1);
  }, 300_000);

  test("sa and random searches, and transfer from the webgpu log, tune into fresh logs", async () => {
    for (const kind of ["sa", "random"]) {
      const fresh = path.join(tmp, `${kind}.jsonl`);
      const r = await lathe("tune", model, "--target", "webgpu", "--trials", "4", "--log", fresh, "--model", kind, "--batch", "2", "--repeats", "1", "--min-repeat-ms", "0", "--no-progress", ...consts);
      expect(r.code, r.err).toBe(0);
      const recs = readLog(fresh);
      expect(recs, kind).toHaveLength(4);
      expect(new Set(recs.map((x) => x.task))).toEqual(new Set(keys()));
    }
    const seeded = path.join(tmp, "transfer.jsonl");
    const r = await lathe("tune", model, "--target", "webgpu", "--trials", "2", "--log", seeded, "--transfer", log, "--batch", "2", "--repeats", "1", "--min-repeat-ms", "0", "--no-progress", ...consts);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/transfer model: \d+ measurements of 2 task\(s\)/);
    expect(readLog(seeded)).toHaveLength(2);
  }, 300_000);

  test("cpu-only options are refused for webgpu in one line", async () => {
    const r = await tune("--threads", "2", "--no-cache-flush");
    expect(r.code).not.toBe(0);
    expect(quiet(r.err)).toEqual(['lathe: LatheError: lathe tune: target "webgpu" does not take --threads, --no-cache-flush (cpu-target options)']);
  });
});

afterAll(() => { process.exitCode = 0; });
