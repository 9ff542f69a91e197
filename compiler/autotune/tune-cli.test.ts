// `lathe tune` end to end, through main() in-process: tasks from a graph text file, trials split
// across them, every measurement in the log, a second run resuming with nothing to do.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { planTuning } from "../../cli/commands/tune.ts";
import { readLog } from "./log.ts";
import { loadTunedConfigs } from "../targets/cpu/schedules/templates.ts";
import { loadModule } from "../../runtime/module.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { lathe } from "../../test/helpers/cli.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-tune-cli-"));
const model = path.join(tmp, "net.lg");
writeFileSync(model, `graph net(x: f32[1, 4, 8, 16]) {
  p = max_pool2d(x, kernel=[2, 2], strides=[2, 2])
  s = sum(p, axes=[3])
  return s
}
`);


describe("lathe tune", () => {
  test("plans trials by FLOPs × weight over the tasks that have a template", async () => {
    const { planned, skipped } = await planTuning(model, 10);
    expect(planned.map((p) => p.task.nodes.map((n) => n.op).join("+"))).toEqual(["max_pool2d", "sum"]);
    expect(skipped).toEqual([]);
    // max_pool: 1·4·4·8 outputs × 4 window steps = 512 ops; sum: 1·4·4 × 8 = 128 → 8 : 2.
    expect(planned.map((p) => p.trials)).toEqual([8, 2]);
  });

  test("tunes, logs every trial, resumes; the log feeds compile's tuned configs", async () => {
    const log = path.join(tmp, "tune.jsonl");
    const r = await lathe("tune", model, "--trials", "4", "--log", log, "--batch", "2", "--repeats", "1", "--model", "sa", "--no-progress");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/2 tunable task\(s\)/);
    expect(r.out).toMatch(/--tuning-log/);
    const recs = readLog(log);
    expect(recs).toHaveLength(4);
    expect(new Set(recs.map((x) => x.task)).size).toBe(2);
    expect(loadTunedConfigs(log).size).toBe(2);
    const again = await lathe("tune", model, "--trials", "4", "--log", log, "--no-progress");
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/\(0 now\)/);
    expect(readLog(log)).toHaveLength(4);
    // lathe compile --tuning-log builds with the tuned configs; lathe run gives the default build's answer.
    const tunedDir = path.join(tmp, "tuned"), plainDir = path.join(tmp, "plain");
    expect((await lathe("compile", model, "-o", tunedDir, "--tuning-log", log)).code).toBe(0);
    expect((await lathe("compile", model, "-o", plainDir)).code).toBe(0);
    const x = Tensor.random([1, 4, 8, 16], "f32", 3);
    const a = loadModule(tunedDir).run([x])[0]!.toArray(), b = loadModule(plainDir).run([x])[0]!.toArray();
    a.forEach((v, k) => expect(v).toBeCloseTo(b[k]!, 4));
  }, 180_000);

  test("--layout picks the graph tasks come from: blocked direct convolutions or im2col + GEMM", async () => {
    const conv = path.join(tmp, "conv.lg");
    writeFileSync(conv, `graph net(x: f32[1, 32, 8, 8], w: f32[32, 32, 3, 3]) {
  y = conv2d(x, w, pads=[1, 1, 1, 1])
  return y
}
`);
    const ops = async (layout: "auto" | "nchw" | "nchwc") =>
      (await planTuning(conv, 10, { dim: [], const: [], layout })).planned.map((p) => p.task.nodes.map((n) => n.op).join("+"));
    expect(await ops("nchwc")).toContain("conv2d_nchwc");
    expect((await ops("nchw")).some((t) => t.includes("matmul"))).toBe(true);
    // auto: the weight is an input here, so blocking would transform x, w and y on every run
    // for one convolution: it stays NCHW.
    expect(await ops("auto")).toEqual(await ops("nchw"));
    // commander rejects an unknown layout (and exits, so as a user runs it: a child process)
    const bin = fileURLToPath(new URL("../../bin/lathe.mjs", import.meta.url));
    const bad = spawnSync(process.execPath, [bin, "compile", conv, "-o", path.join(tmp, "bad"), "--layout", "nhwc"], { encoding: "utf8", timeout: 60_000 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/'nhwc' is invalid.*auto, nchw, nchwc/);
  }, 60_000);

  test("bad options are one-line errors", async () => {
    const r = await lathe("tune", model, "--log", path.join(tmp, "x.jsonl"), "--model", "genetic");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--model must be one of xgb, sa, random/);
    const t = await lathe("tune", model, "--log", path.join(tmp, "x.jsonl"), "--target", "vta");
    expect(t.err).toMatch(/unknown target "vta"/);
  });
});
