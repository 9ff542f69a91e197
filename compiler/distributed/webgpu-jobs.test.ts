// Tuning the webgpu target through the queue: a `lathe worker --target webgpu` registers under
// its adapter's device key (webgpu/<adapter>) and measures the tuner's matmul candidates on
// that adapter (SwiftShader here), each checked against the interpreter; the tuner writes
// the log, and compile --target webgpu applies it.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { lathe } from "../../test/helpers/cli.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";
import { readLog } from "../autotune/log.ts";
import { deviceIdentity } from "./identity.ts";
import { TestRedis, hasRedis, startTestWorker, type LatheProcess } from "./testing.ts";

const HAVE = hasRedis();
process.env.LATHE_TEST_VERSION = "0.1.0+queue-webgpu";
const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-queue-webgpu-"));
const model = path.join(tmp, "mm.lg");
writeFileSync(model, `graph mm(x: f32[16, 32], w: f32[32, 24]) {
  y = matmul(x, w)
  r = relu(y)
  return r
}
`);

describe.skipIf(!HAVE)(skipReason("webgpu tuning through the queue", !HAVE && NEEDS.redis), () => {
  let redis: TestRedis;
  let w: LatheProcess & { id: string };
  let key: string;
  beforeAll(async () => {
    redis = await TestRedis.start();
    key = (await deviceIdentity("webgpu")).key;
    w = await startTestWorker(redis.url, ["--target", "webgpu"]);
  }, 120_000);
  afterAll(async () => { await w?.kill("SIGTERM"); await redis?.stop(); });

  test("a webgpu worker measures the tuner's candidates; the log applies to compile --target webgpu", async () => {
    expect(key).toMatch(/^webgpu\/[a-z0-9-]+$/);
    const log = path.join(tmp, "tune.jsonl");
    const r = await lathe("tune", model, "--target", "webgpu", "--trials", "4", "--batch", "2", "--repeats", "1", "--min-repeat-ms", "0", "--log", log, "--queue", redis.url, "--device", key, "--no-progress");
    expect(r.code, r.err).toBe(0);
    const recs = readLog(log);
    expect(recs).toHaveLength(4);
    for (const x of recs) {
      expect(x.task.startsWith("webgpu/")).toBe(true);
      expect(x.error).toBeNull();
      expect(x.worker).toBe(w.id);
      expect(x.device).toBe(key);
      expect(x.costs!.every((c) => c > 0)).toBe(true);
    }
    const out = path.join(tmp, "art");
    const c = await lathe("compile", model, "--target", "webgpu", "--tuning-log", log, "-o", out);
    expect(c.code, c.err).toBe(0);
    const plan = JSON.parse(readFileSync(path.join(out, "plan.json"), "utf8")) as { dispatches: { tuned?: true }[] };
    expect(plan.dispatches.filter((d) => d.tuned)).toHaveLength(1);
  }, 300_000);

  test("a cpu tuner is refused a webgpu key, naming both", async () => {
    const r = await lathe("tune", model, "--trials", "1", "--log", path.join(tmp, "x.jsonl"), "--queue", redis.url, "--device", key, "--no-progress");
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(new RegExp(`device key ${key.replace("/", "\\/")} is a webgpu device, but the tuner searches cpu templates \\(lathe tune --target webgpu\\)`));
  }, 60_000);
});
