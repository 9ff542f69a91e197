// Real jobs through a worker: one cpu build-and-measure tuning run (the worker's Measurer
// builds each config, checks it against the default schedule's output and times it), and
// bench jobs: an unknown name refused by a `lathe worker`, and a benchmark's JSON carried
// back to `lathe bench --queue` from a worker in this process.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { lathe } from "../../test/helpers/cli.ts";
import { readLog } from "../autotune/log.ts";
import { BenchReport } from "../../bench/lib/report.ts";
import { nativeIsa } from "../targets/cpu/host.ts";
import { cpuDeviceKey } from "./device-key.ts";
import { parseQueueUrl } from "./queue-url.ts";
import { startWorker } from "./worker.ts";
import { TestRedis, hasRedis, startTestWorker, type LatheProcess } from "./testing.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const HAVE = hasRedis();
process.env.LATHE_TEST_VERSION = "0.1.0+queue-jobs";
const KEY = cpuDeviceKey(nativeIsa());
const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-queue-jobs-"));
const model = path.join(tmp, "net.lg");
writeFileSync(model, `graph net(x: f32[1, 4, 8, 16]) {
  p = max_pool2d(x, kernel=[2, 2], strides=[2, 2])
  s = sum(p, axes=[3])
  return s
}
`);

let redis: TestRedis;

describe.skipIf(!HAVE)(skipReason("jobs through a worker", !HAVE && NEEDS.redis), () => {
  beforeAll(async () => { redis = await TestRedis.start(); });
  afterAll(async () => { await redis?.stop(); });

  describe("a lathe worker", () => {
    let w: LatheProcess & { id: string };
    beforeAll(async () => { w = await startTestWorker(redis.url); }, 60_000);
    afterAll(async () => { await w?.kill("SIGTERM"); });

    test("tunes with real builds: every record measured by the worker, checked and timed there", async () => {
      const log = path.join(tmp, "real.jsonl");
      const r = await lathe("tune", model, "--trials", "3", "--batch", "3", "--repeats", "2", "--min-repeat-ms", "5", "--log", log, "--queue", redis.url, "--device", KEY, "--no-progress");
      expect(r.code, r.err).toBe(0);
      const recs = readLog(log);
      expect(recs).toHaveLength(3);
      for (const x of recs) {
        // A config whose output differed from the default schedule's would carry "wrong answer" here.
        expect(x.error).toBeNull();
        expect(x.costs).toHaveLength(2);
        for (const c of x.costs!) expect(c).toBeGreaterThan(0);
        expect(x.worker).toBe(w.id);
        expect(x.device).toBe(KEY);
        expect(x.fingerprint).toBe(/fingerprint (\S+),/.exec(w.out)![1]); // the worker's, as it announced itself
        expect(x.fingerprint).toMatch(new RegExp(`^${nativeIsa()}-[0-9a-f]{16}$`));
      }
      expect((w.out.match(/ measure$/gm) ?? []).length).toBeGreaterThanOrEqual(3);
    }, 180_000);

    test("a bench job for a benchmark the worker lacks: one line naming what it has", async () => {
      const r = await lathe("bench", "nope", "--queue", redis.url, "--device", KEY);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`^lathe: QueueError: bench nope on ${KEY} failed \\(worker ${w.id}\\): job payload: payload\\.name "nope" is not a benchmark of this worker \\([a-z0-9, -]*queue[a-z0-9, -]*\\)$`));
      expect(w.proc.exitCode).toBeNull();
    }, 60_000);
  });

  test("lathe bench --queue brings the worker's JSON back and writes it under the device key", async () => {
    const report = new BenchReport("toy").note("ran on the worker");
    report.row({ case: "n=1", threads: 1, metric: "ms", better: "lower", lathe: 2, baseline: "ref", baselineValue: 3 });
    const json = JSON.parse(JSON.stringify(report.toJSON())) as Record<string, unknown>;
    const ran: string[] = [];
    const lines: string[] = [];
    const worker = await startWorker({
      queue: parseQueueUrl(redis.url), target: "cpu", threads: 1, lockMs: 1000, log: (l) => lines.push(l),
      benches: {
        names: () => ["toy", "broken"],
        run: async (name, quick) => {
          ran.push(`${name}${quick ? " quick" : ""}`);
          if (name === "broken") throw new Error("lathe bench broken exited with 1: a wrong output");
          return json;
        },
      },
    });
    try {
      const out = path.join(tmp, "results");
      const r = await lathe("bench", "toy", "--quick", "--queue", redis.url, "--device", KEY, "--results-dir", out);
      expect(r.code, r.err).toBe(0);
      expect(ran).toEqual(["toy quick"]);
      const written = path.join(out, ...KEY.split("/"), "toy.quick.json");
      expect(JSON.parse(readFileSync(written, "utf8"))).toEqual(json);
      expect(r.out).toContain(`ran on worker ${worker.id}`);
      expect(r.out).toMatch(/n=1\s+1\s+ms\s+2\s+ref\s+3\s+1\.5/);
      expect(r.out).toContain(`wrote ${written}`);
      expect(lines.some((l) => /^done b-[0-9a-f]+ bench$/.test(l))).toBe(true);
      // A bench that fails on the worker: one line here, a logged line there, and the worker goes on.
      const bad = await lathe("bench", "broken", "--queue", redis.url, "--device", KEY, "--results-dir", out);
      expect(bad.code).toBe(1);
      expect(bad.err).toBe(`lathe: QueueError: bench broken on ${KEY} failed (worker ${worker.id}): lathe bench broken exited with 1: a wrong output`);
      expect(lines.some((l) => /^failed job b-[0-9a-f]+: lathe bench broken exited with 1/.test(l))).toBe(true);
      expect((await lathe("bench", "toy", "--queue", redis.url, "--device", KEY, "--results-dir", out)).code).toBe(0);
      expect(ran).toEqual(["toy quick", "broken", "toy"]);
    } finally {
      await worker.close();
    }
  }, 60_000);
});
