// The faults distributed tuning must survive, each with real processes: workers are `lathe
// worker` children (SIGKILL is real), the tuner runs in-process or as a child where it is the
// one killed, and Redis is a redis-server of this file's own with append-only persistence.
// Measurements are measure-stub jobs (a known cost after a delay, no build), so each record's
// costs are checked against stub.ts's closed form and the queue alone is exercised.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { lathe } from "../../test/helpers/cli.ts";
import { configKey, readLog, type TuneRecord } from "../autotune/log.ts";
import { nativeIsa } from "../targets/cpu/host.ts";
import { QueueClient } from "./client.ts";
import { cpuDeviceKey } from "./device-key.ts";
import { parseQueueUrl } from "./queue-url.ts";
import { stubCosts } from "./stub.ts";
import { latheVersion } from "./version.ts";
import { LatheProcess, TestRedis, hasRedis, startTestWorker } from "./testing.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const HAVE = hasRedis();
// One version for this file's tuner and workers (children inherit it): colleagues editing the
// code generator mid-run would otherwise make a worker started later "another version".
process.env.LATHE_TEST_VERSION = "0.1.0+queue-faults";
const KEY = cpuDeviceKey(nativeIsa());
const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-queue-faults-"));
const model = path.join(tmp, "net.lg");
writeFileSync(model, `graph net(x: f32[1, 4, 8, 16]) {
  p = max_pool2d(x, kernel=[2, 2], strides=[2, 2])
  s = sum(p, axes=[3])
  return s
}
`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tuneArgs = (log: string, trials: number, delayMs: number, device = KEY): string[] =>
  ["tune", model, "--trials", String(trials), "--batch", "8", "--log", log, "--queue", redis.url, "--device", device, "--stub-delay-ms", String(delayMs), "--model", "sa", "--no-progress", "--wait-workers", "20"];

/** Job ids a worker process finished (its "done" lines). */
const doneBy = (w: LatheProcess): string[] => [...w.out.matchAll(/lathe worker: done (\S+) /g)].map((m) => m[1]!);
const startedBy = (w: LatheProcess): string[] => [...w.out.matchAll(/lathe worker: start (\S+) /g)].map((m) => m[1]!);

/** Every trial exactly once: `trials` records, distinct configs and jobs, each the stub's cost, each from the device. */
function expectEveryTrialOnce(log: string, trials: number, device = KEY): TuneRecord[] {
  const recs = readLog(log);
  expect(recs).toHaveLength(trials);
  expect(new Set(recs.map((r) => `${r.task} ${configKey(r.config)}`)).size).toBe(trials);
  expect(new Set(recs.map((r) => r.job)).size).toBe(trials);
  for (const r of recs) {
    expect(r.error).toBeNull();
    expect(r.device).toBe(device);
    expect(r.costs).toEqual(stubCosts(r.task, r.config));
  }
  return recs;
}

/** Waits for cond; fails at once if `alongside` (the tuner) settles first, showing what it said. */
async function until(cond: () => boolean, alongside: Promise<unknown>, what: string, timeoutMs = 60_000): Promise<void> {
  let settled: unknown = null;
  void alongside.then((v) => { settled = v ?? "done"; }, (e) => { settled = e; });
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (settled !== null) throw new Error(`the tuner ended before ${what}: ${JSON.stringify(settled)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

let redis: TestRedis;

describe.skipIf(!HAVE)(skipReason("queue faults", !HAVE && NEEDS.redis), () => {
  beforeAll(async () => { redis = await TestRedis.start({ appendonly: true }); });
  afterAll(async () => { await redis?.stop(); });

  test("a worker SIGKILLed mid-job: its job goes to the other worker, the log has every trial once", async () => {
    const [a, b] = await Promise.all([startTestWorker(redis.url, ["--accept-stub-jobs"]), startTestWorker(redis.url, ["--accept-stub-jobs"])]);
    try {
      const log = path.join(tmp, "kill-worker.jsonl");
      const tuning = lathe(...tuneArgs(log, 24, 300));
      await a.waitFor(/lathe worker: start m-/);
      await a.kill("SIGKILL");
      const cut = startedBy(a).filter((id) => !doneBy(a).includes(id));
      expect(cut.length).toBeGreaterThan(0); // it died holding a job
      const r = await tuning;
      expect(r.code, r.err).toBe(0);
      const recs = expectEveryTrialOnce(log, 24);
      for (const id of cut) {
        expect(doneBy(b)).toContain(id); // BullMQ's stalled-job check gave it to b
        expect(recs.find((x) => x.job === id)!.worker).toBe(b.id);
      }
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  }, 120_000);

  test("the tuner killed mid-run and restarted: it collects the finished jobs and sends none again", async () => {
    const [a, b] = await Promise.all([startTestWorker(redis.url, ["--accept-stub-jobs"]), startTestWorker(redis.url, ["--accept-stub-jobs"])]);
    try {
      const log = path.join(tmp, "kill-tuner.jsonl");
      const first = new LatheProcess(tuneArgs(log, 32, 200));
      await until(() => readLog(log).length >= 3, first.exited.then(() => first.out + first.err), "the first records");
      await first.kill("SIGKILL");
      const before = readLog(log).length;
      expect(before).toBeLessThan(32);
      const second = await lathe(...tuneArgs(log, 32, 200));
      expect(second.code, second.err).toBe(0);
      const collected = Number(/collected (\d+) measurement/.exec(second.out)?.[1] ?? 0);
      expect(collected).toBeGreaterThan(0); // the killed run's batch was still being measured
      const recs = expectEveryTrialOnce(log, 32);
      const done = [...doneBy(a), ...doneBy(b)];
      expect(new Set(done).size).toBe(done.length); // no job ran twice
      expect(new Set(done)).toEqual(new Set(recs.map((x) => x.job))); // and every one is logged
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  }, 120_000);

  test("Redis restarted mid-run (append-only): tuning continues after reconnecting, nothing lost", async () => {
    const [a, b] = await Promise.all([startTestWorker(redis.url, ["--accept-stub-jobs"]), startTestWorker(redis.url, ["--accept-stub-jobs"])]);
    try {
      const log = path.join(tmp, "restart-redis.jsonl");
      const tuning = lathe(...tuneArgs(log, 32, 100));
      await until(() => readLog(log).length >= 6, tuning, "the first records");
      await redis.kill();
      await sleep(500);
      await redis.restart();
      const r = await tuning;
      expect(r.code, r.err).toBe(0);
      const recs = expectEveryTrialOnce(log, 32);
      expect(recs.filter((x) => x.worker === a.id).length + recs.filter((x) => x.worker === b.id).length).toBe(32);
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  }, 120_000);

  test.skipIf(nativeIsa() === "sse")(skipReason("a worker of another device key never receives the key's jobs", nativeIsa() === "sse" && "a host with AVX2 or AVX-512, so that a second device key (--isa sse) exists; no package adds one"), async () => {
    const [a, s] = await Promise.all([startTestWorker(redis.url, ["--accept-stub-jobs"]), startTestWorker(redis.url, ["--accept-stub-jobs", "--isa", "sse"])]);
    try {
      expect(s.out).toContain("cpu/x86-64-sse");
      const r = await lathe(...tuneArgs(path.join(tmp, "key-native.jsonl"), 16, 20));
      expect(r.code, r.err).toBe(0);
      expect(expectEveryTrialOnce(path.join(tmp, "key-native.jsonl"), 16).every((x) => x.worker === a.id)).toBe(true);
      expect(startedBy(s)).toEqual([]);
      const doneByA = doneBy(a).length;
      const sse = await lathe(...tuneArgs(path.join(tmp, "key-sse.jsonl"), 6, 20, "cpu/x86-64-sse"));
      expect(sse.code, sse.err).toBe(0);
      expect(expectEveryTrialOnce(path.join(tmp, "key-sse.jsonl"), 6, "cpu/x86-64-sse").every((x) => x.worker === s.id)).toBe(true);
      expect(doneBy(a)).toHaveLength(doneByA);
    } finally {
      await Promise.all([a.kill(), s.kill()]);
    }
  }, 120_000);

  test("malformed, oversized, unknown and other-version jobs are refused with a logged line; the worker goes on", async () => {
    const w = await startTestWorker(redis.url, ["--accept-stub-jobs"]);
    const client = await QueueClient.open(parseQueueUrl(redis.url));
    try {
      const q = client.queue(KEY);
      const stub = (over: Record<string, unknown>) => ({ kind: "measure-stub", version: latheVersion(), run: "00000000000000aa", task: { key: "cpu/x/0" }, config: { a: 1 }, delayMs: 0, ...over });
      const jobs: [string, string, unknown, RegExp][] = [
        ["bad-1", "measure", { kind: "measure", version: latheVersion(), run: "00000000000000aa", task: "/etc/passwd", config: {}, repeats: 1, minRepeatMs: 0, flush: false }, /payload\.task is not an object/],
        ["bad-2", "measure-stub", stub({ config: { a: "x".repeat(300 * 1024) } }), /larger than the 256 KiB limit/],
        ["bad-3", "exec", { cmd: "touch /tmp/pwned" }, /job kind "exec" is not one this worker runs/],
        ["bad-4", "measure-stub", "not an object", /payload is not an object/],
        ["bad-5", "measure-stub", stub({ version: "0.0.1-old" }), new RegExp(`^version mismatch: the tuner runs Lathe 0\\.0\\.1-old, worker ${w.id} runs ${latheVersion().replace(/[.+]/g, "\\$&")}`)],
      ];
      for (const [id, name, data] of jobs) await q.add(name, data, { jobId: id, attempts: 1 });
      for (const [id, , , reason] of jobs) {
        const f = await client.wait(KEY, id);
        expect(f.state, id).toBe("failed");
        expect((f as { reason: string }).reason, id).toMatch(reason);
        expect(w.err).toMatch(new RegExp(`lathe worker: (rejected|refused) job ${id}: `));
      }
      await q.add("measure-stub", stub({ config: { a: 3 } }), { jobId: "good-1", attempts: 1 });
      const ok = await client.wait(KEY, "good-1");
      expect(ok.state).toBe("completed");
      expect((ok as { value: { costs: number[] } }).value.costs).toEqual(stubCosts("cpu/x/0", { a: 3 }));
      expect(w.proc.exitCode).toBeNull();
    } finally {
      await client.close();
      await w.kill();
    }
  }, 120_000);

  test("a worker of another Lathe version is refused by the tuner, both versions named", async () => {
    const old = await startTestWorker(redis.url, ["--accept-stub-jobs", "--isa", "sse"], { LATHE_TEST_VERSION: "0.0.1-old" });
    try {
      const r = await lathe(...tuneArgs(path.join(tmp, "version.jsonl"), 4, 0, "cpu/x86-64-sse"));
      expect(r.code).toBe(1);
      expect(r.err).toBe(`lathe: QueueError: worker ${old.id} of cpu/x86-64-sse runs Lathe 0.0.1-old, this process runs ${latheVersion()}: refused (run one version on the tuner and its workers)`);
      expect(readLog(path.join(tmp, "version.jsonl"))).toEqual([]);
    } finally {
      await old.kill("SIGTERM");
    }
  }, 60_000);
});
