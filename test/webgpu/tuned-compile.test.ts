/**
 * Tuning logs on webgpu: a hand-written log's config for one matmul task (its key from
 * extractTasks(g, "webgpu"), what a tuner writes) changes that kernel's WGSL and no other,
 * and the graph still equals the reference interpreter (to the WebGPU tolerance, f32 with
 * other summation orders); a config of another space leaves every kernel at the default
 * schedule; `lathe compile --target webgpu --tuning-log` marks the tuned kernel in the
 * plan, and `lathe run` of that artifact reproduces the in-process tuned runner exactly.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { appendRecord, makeRecord, type Config } from "../../compiler/autotune/log.ts";
import { extractTasks } from "../../compiler/autotune/task.ts";
import { compile } from "../../compiler/driver/compile.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { parseGraph } from "../../compiler/graph/text/parse.ts";
import { loadWebGpuTunedConfigs, webgpuMatmulSpace } from "../../compiler/targets/webgpu/tuning.ts";
import type { WebGpuGraph } from "../../compiler/targets/webgpu/graph.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { lathe } from "../helpers/cli.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-wgtune-"));
afterEach(() => { process.exitCode = 0; });

// Two matmuls of different shapes (static, so both are tunable tasks): [8,24]·[24,32], then
// [8,32]·[32,16] with a relu epilogue fused into its kernel.
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

// A config of the first matmul's space (M=8, N=32, K=24) that is not the default schedule's.
const TUNED: Config = { ty: 4, tx: 8, ry: 2, rx: 2, bk: 8, unroll: "off" };
/** The first matmul's task key, as a tuner extracting the graph's tasks writes it. */
const taskKey = (): string => {
  const tasks = extractTasks(graph(), "webgpu");
  expect(tasks).toHaveLength(2);
  const t = tasks.find((t) => t.nodes.length === 1 && t.nodes[0]!.op === "matmul");
  expect(t, tasks.map((x) => x.key).join(", ")).toBeDefined();
  return t!.key;
};
/** The tuned kernel: the graph's first. */
const TUNED_KERNEL = "k0_matmul";

const TOL = 1e-4;
function expectInterpreter(got: Tensor): void {
  const [want] = interpret(graph(), [{ data: x.toArray(), shape: x.shape }]).outputs;
  expect(got.shape).toEqual(want!.shape);
  const a = got.toArray();
  const bad = a.findIndex((v, i) => !(Math.abs(v - want!.data[i]!) <= TOL * (1 + Math.abs(want!.data[i]!))));
  expect(bad, `y[${bad}]: webgpu ${a[bad]}, interpreter ${want!.data[bad]}`).toBe(-1);
}

const codes = (c: WebGpuGraph): string[] => c.kernels.map((k) => k.wgsl.code);

describe("webgpu tuning logs", () => {
  test("the hand-written config is one of its task's webgpu matmul space", () => {
    expect(webgpuMatmulSpace(8, 32, 24).contains(TUNED)).toBe(true);
  });

  test("a tuned config changes the WGSL of its task's kernel only, and outputs still equal the interpreter's", async () => {
    const key = taskKey();
    const base = await compile(graph(), "webgpu");
    const tuned = await compile(graph(), "webgpu", { tuned: new Map([[key, TUNED]]) });
    expect(tuned.kernels.map((k) => k.tuned)).toEqual(base.kernels.map((k) => k.func.name === TUNED_KERNEL));
    expect(tuned.kernels.filter((k) => k.tuned)).toHaveLength(1);
    expect(base.kernels.every((k) => !k.tuned)).toBe(true);
    const b = codes(base), t = codes(tuned);
    expect(t).toHaveLength(b.length);
    tuned.kernels.forEach((k, i) => {
      if (k.tuned) expect(t[i], k.func.name).not.toEqual(b[i]);
      else expect(t[i], k.func.name).toEqual(b[i]);
    });
    expectInterpreter((await tuned.run([x]))[0]!);
    expectInterpreter((await base.run([x]))[0]!);
  }, 60_000);

  test("a config from another space (cpu knobs, or values outside this shape's space) gets the default schedule", async () => {
    const key = taskKey();
    const base = codes(await compile(graph(), "webgpu"));
    for (const config of [{ tile_m: 8, tile_n: 32 }, { ...TUNED, ty: 16 }, { ...TUNED, bk: 3 }] as Config[]) {
      const c = await compile(graph(), "webgpu", { tuned: new Map([[key, config]]) });
      expect(c.kernels.some((k) => k.tuned), JSON.stringify(config)).toBe(false);
      expect(codes(c), JSON.stringify(config)).toEqual(base);
    }
  }, 60_000);

  test("a log gives each webgpu task its best config; other targets' records and torn lines are skipped", () => {
    const key = taskKey();
    const log = path.join(tmp, "best.jsonl");
    appendRecord(log, makeRecord(key, { ...TUNED, unroll: "on" }, [2e-3]));
    appendRecord(log, makeRecord(key, TUNED, [1e-3, 1.2e-3]));
    appendRecord(log, makeRecord(key, { ...TUNED, bk: 4 }, null, "did not build"));
    appendRecord(log, makeRecord("cpu/matmul/0123456789abcdef", { tile: 4 }, [1e-4], null, "cpu-fingerprint"));
    writeFileSync(log, readFileSync(log, "utf8") + '{"task": "webgpu/matmul/x", "conf');
    const warnings: string[] = [];
    const tuned = loadWebGpuTunedConfigs(log, (m) => warnings.push(m));
    expect([...tuned]).toEqual([[key, TUNED]]);
    expect(warnings).toEqual(["best.jsonl:5: not valid JSON (truncated?) — skipped"]);
    const cpuOnly = path.join(tmp, "cpu-only.jsonl");
    appendRecord(cpuOnly, makeRecord("cpu/matmul/0123456789abcdef", { tile: 4 }, [1e-4]));
    const w2: string[] = [];
    expect(loadWebGpuTunedConfigs(cpuOnly, (m) => w2.push(m)).size).toBe(0);
    expect(w2).toEqual(["cpu-only.jsonl: no records of webgpu tasks (1 of other targets' tasks ignored)"]);
  });

  test("lathe compile --target webgpu --tuning-log marks the tuned kernel, and lathe run gives the tuned runner's outputs", async () => {
    const key = taskKey();
    const model = path.join(tmp, "two.lg");
    writeFileSync(model, TEXT);
    const consts: string[] = [];
    for (const [n, t] of [["w1", w1], ["w2", w2]] as const) {
      const f = path.join(tmp, `${n}.npy`);
      writeNpy(f, t);
      consts.push("--const", `${n}=${f}`);
    }
    const log = path.join(tmp, "cli.jsonl");
    appendRecord(log, makeRecord(key, TUNED, [1e-3]));
    const quiet = (err: string) => err.split("\n").filter((l) => l !== "" && !l.startsWith("lathe webgpu: adapter"));
    const out = path.join(tmp, "tuned-art"), plain = path.join(tmp, "plain-art");
    const r = await lathe("compile", model, "--target", "webgpu", "--tuning-log", log, "-o", out, ...consts);
    expect(quiet(r.err)).toEqual([]);
    expect(r.code).toBe(0);
    const p = await lathe("compile", model, "--target", "webgpu", "-o", plain, ...consts);
    expect(p.code).toBe(0);
    const plan = JSON.parse(readFileSync(path.join(out, "plan.json"), "utf8")) as { dispatches: { kernel: string; tuned?: boolean }[] };
    expect(plan.dispatches.filter((d) => d.tuned === true).map((d) => d.kernel)).toEqual([`${TUNED_KERNEL}.wgsl`]);
    const plainPlan = JSON.parse(readFileSync(path.join(plain, "plan.json"), "utf8")) as { dispatches: object[] };
    expect(plainPlan.dispatches.every((d) => !("tuned" in d))).toBe(true);

    const xf = path.join(tmp, "x.npy"), yf = path.join(tmp, "y.npy");
    writeNpy(xf, x);
    const run = await lathe("run", out, "--input", xf, "--output", yf);
    expect(quiet(run.err)).toEqual([]);
    expect(run.code).toBe(0);
    const got = readNpy(yf);
    const live = await compile(graph(), "webgpu", { tuned: new Map([[key, TUNED]]) });
    const [want] = await live.run([x]);
    expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want!.data as Float32Array));
    expectInterpreter(got);
    // The artifact holds the tuned kernel's WGSL, not the default one.
    const file = `${TUNED_KERNEL}.wgsl`;
    expect(readFileSync(path.join(out, file), "utf8")).toBe(live.kernels.find((k) => k.tuned)!.wgsl.code);
    expect(readFileSync(path.join(out, file), "utf8")).not.toBe(readFileSync(path.join(plain, file), "utf8"));
  }, 120_000);
});
