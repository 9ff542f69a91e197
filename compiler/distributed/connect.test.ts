// The first connection to a queue: one line for an unreachable server (within a bounded time),
// a server that never answers, a wrong or missing password; and `lathe queue status`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { lathe } from "../../test/helpers/cli.ts";
import { QueueClient } from "./client.ts";
import { checkQueue, parseQueueUrl } from "./queue-url.ts";
import { Registration } from "./registry.ts";
import { LatheProcess, TestRedis, freePort, hasRedis, startTestWorker } from "./testing.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const HAVE = hasRedis();

describe.skipIf(!HAVE)(skipReason("first connection", !HAVE && NEEDS.redis), () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await TestRedis.start({ password: "s3cret" }); });
  afterAll(async () => { await redis?.stop(); });

  test("nothing listening: refused at once, one line", async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(checkQueue(parseQueueUrl(`redis://127.0.0.1:${port}`), 3000)).rejects.toThrow(`cannot reach the queue at redis://127.0.0.1:${port}: connection refused`);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  test("a server that accepts but never answers: no answer within the timeout", async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => { sockets.push(s); });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const t0 = Date.now();
      await expect(checkQueue(parseQueueUrl(`redis://127.0.0.1:${port}`), 800)).rejects.toThrow(`cannot reach the queue at redis://127.0.0.1:${port}: no answer within 0.8 s`);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(750);
      expect(took).toBeLessThan(3000);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  test("wrong password and no password are one line each, the password never printed", async () => {
    await expect(checkQueue(parseQueueUrl(`redis://:wrong@127.0.0.1:${redis.port}`))).rejects.toThrow(/^the queue at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password \(WRONGPASS/);
    await expect(checkQueue(parseQueueUrl(`redis://127.0.0.1:${redis.port}`))).rejects.toThrow(/needs a password: put it in the URL/);
    await expect(checkQueue(parseQueueUrl(redis.url))).resolves.toBeUndefined();
    const r = await lathe("queue", "status", "--queue", `redis://:wrong@127.0.0.1:${redis.port}`);
    expect(r.code).toBe(1);
    expect(r.err.split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/^lathe: QueueError: the queue at .* refused the password/);
    expect(r.err).not.toContain("wrong");
  });

  test("the CLI's bad input: an unreachable queue, an unknown device key, --queue without --device; one line each", async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const model = path.join(mkdtempSync(path.join(os.tmpdir(), "lathe-queue-cli-")), "net.lg");
    writeFileSync(model, "graph net(x: f32[4, 8]) {\n  s = sum(x, axes=[1])\n  return s\n}\n");
    const cases: [string[], RegExp][] = [
      [["worker", "--queue", closed], /^lathe: QueueError: cannot reach the queue at redis:\/\/127\.0\.0\.1:\d+: connection refused/],
      [["tune", model, "--log", `${model}.jsonl`, "--queue", closed, "--device", "cpu/x86-64-avx2"], /^lathe: QueueError: cannot reach the queue at .*connection refused/],
      [["bench", "gemm", "--queue", closed, "--device", "cpu/x86-64-avx2"], /^lathe: QueueError: cannot reach the queue at .*connection refused/],
      [["queue", "status", "--queue", closed], /^lathe: QueueError: cannot reach the queue at .*connection refused/],
      // The key is checked before anything is reached: the same error with a dead URL.
      [["tune", model, "--log", `${model}.jsonl`, "--queue", closed, "--device", "cpu/arm64"], /^lathe: QueueError: unknown device key "cpu\/arm64" \(known: cpu\/x86-64-avx512, cpu\/x86-64-avx2, cpu\/x86-64-sse, webgpu\/<adapter>, vta\/fsim, vta\/verilator\)$/],
      [["bench", "gemm", "--queue", closed, "--device", "tpu/v5"], /^lathe: QueueError: unknown device key "tpu\/v5"/],
      [["tune", model, "--log", `${model}.jsonl`, "--queue", redis.url], /^lathe: LatheError: --queue and --device go together/],
      [["tune", model, "--log", `${model}.jsonl`, "--queue", "http://127.0.0.1:1", "--device", "cpu/x86-64-avx2"], /^lathe: QueueError: queue URL http:\/\/127\.0\.0\.1:1: scheme must be redis: or rediss:/],
    ];
    for (const [args, want] of cases) {
      const t0 = Date.now();
      const r = await lathe(...args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.err.split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.err, args.join(" ")).toMatch(want);
      expect(Date.now() - t0).toBeLessThan(10_000);
    }
  }, 120_000);

  test("jobs waiting for a key without a live worker are reported, and so is the worker that comes back", async () => {
    const warnings: string[] = [];
    const client = await QueueClient.open(parseQueueUrl(redis.url), { pollMs: 50, watchMs: 100, onWarning: (m) => warnings.push(m) });
    const reg = new Registration(client.redis, { id: "w-test", device: "vta/fsim", host: "h", pid: 1, since: new Date().toISOString(), version: "v", fingerprint: "f", vectorBytes: 0, concurrency: 1, threads: 1 }, 500);
    try {
      await client.queue("vta/fsim").add("bench", { kind: "bench" }, { jobId: "waits-1" });
      const done = client.wait("vta/fsim", "waits-1");
      for (let i = 0; i < 100 && warnings.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(warnings).toEqual(["no worker of vta/fsim is alive; its jobs wait in the queue until one starts (lathe worker --queue …)"]);
      await reg.start();
      for (let i = 0; i < 100 && warnings.length === 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(warnings[1]).toBe("a worker of vta/fsim is back; its jobs go on");
      await client.queue("vta/fsim").remove("waits-1");
      expect(await done).toEqual({ state: "missing" });
    } finally {
      await reg.stop();
      await client.close();
    }
  });

  test("queue status lists a live worker (device key, host, jobs) and the queue depth; a stopped worker leaves the list", async () => {
    let w: (LatheProcess & { id: string }) | undefined;
    try {
      w = await startTestWorker(redis.url, ["--concurrency", "2"]);
      const r = await lathe("queue", "status", "--queue", redis.url);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(Redis \d/);
      expect(r.out).toMatch(/workers: 1/);
      const row = r.out.split("\n").find((l) => l.includes(w!.id))!;
      expect(row).toMatch(/^cpu\/x86-64-\w+\s+\S+\s+\S+\s+\d{4}-\d\d-\d\dT\S+Z \(\d+s\)\s+0\s+0\s+2\s/);
      expect(r.out).toMatch(/device\s+waiting\s+active\s+delayed\s+completed\s+failed/);
      await w.kill("SIGTERM");
      expect((await lathe("queue", "status", "--queue", redis.url)).out).toMatch(/workers: 0/);
    } finally {
      await w?.kill();
    }
  }, 60_000);
});

const HAVE_OPENSSL = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;

describe.skipIf(!HAVE || !HAVE_OPENSSL)(skipReason("TLS (rediss://)", !HAVE ? NEEDS.redis : !HAVE_OPENSSL && NEEDS.openssl), () => {
  let redis: TestRedis;
  let ca: string;
  beforeAll(async () => {
    // A CA of this test's own and a server certificate for 127.0.0.1 signed by it.
    const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-redis-tls-"));
    const f = (n: string) => path.join(dir, n);
    writeFileSync(f("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
    const ssl = (...args: string[]) => {
      const r = spawnSync("openssl", args, { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
    };
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "2", "-subj", "/CN=lathe-test-ca");
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("srv.key"), "-out", f("srv.csr"), "-subj", "/CN=127.0.0.1");
    ssl("x509", "-req", "-in", f("srv.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("srv.pem"), "-days", "2", "-extfile", f("ext.cnf"));
    ca = f("ca.pem");
    redis = await TestRedis.start({ password: "s3cret", tls: { cert: f("srv.pem"), key: f("srv.key") } });
  }, 60_000);
  afterAll(async () => { await redis?.stop(); });

  test("rediss:// reaches a TLS server whose CA Node is given; without it, or with redis://, one line says why", async () => {
    const withCa = new LatheProcess(["queue", "status", "--queue", redis.url], { NODE_EXTRA_CA_CERTS: ca });
    const noCa = new LatheProcess(["queue", "status", "--queue", redis.url], { NODE_EXTRA_CA_CERTS: "" });
    const [a, b] = await Promise.all([withCa.exited, noCa.exited]);
    expect(a, withCa.err).toBe(0);
    expect(withCa.out).toMatch(/^queue rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(Redis \d/);
    expect(b).toBe(1);
    expect(noCa.err.trim()).toMatch(/^lathe: QueueError: cannot use the queue at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+: TLS: (self[- ]signed certificate in certificate chain|unable to verify the first certificate) \(a private CA: NODE_EXTRA_CA_CERTS=\/path\/ca\.pem\)$/);
    await expect(checkQueue(parseQueueUrl(redis.url.replace("rediss:", "redis:")), 3000)).rejects.toThrow(/the server closed the connection \(a TLS port\? then use rediss:\/\/\)|no answer within 3\.0 s/);
  }, 60_000);
});
