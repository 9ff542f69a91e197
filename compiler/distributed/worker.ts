/**
 * A queue worker (`lathe worker`): takes the jobs of its device key only (one BullMQ queue
 * per key), checks each payload (protocol.ts) and the tuner's version, and runs it:
 *
 *   measure       the worker's target's Measurer (autotune/measure.ts: cpu, or webgpu on this
 *                 machine's adapter), one per concurrent job, so a candidate that crashes,
 *                 hangs or computes a wrong answer takes down only its measuring child and
 *                 comes back as an error result, as locally (vta workers take no measure jobs);
 *   measure-stub  a deterministic cost after a delay (stub.ts), with --accept-stub-jobs only;
 *   bench         the BenchRunner it was given (the CLI runs `lathe bench` in a child).
 *
 * A payload that fails its checks, or comes from a tuner of another Lathe version, fails that
 * job with a logged line (UnrecoverableError: BullMQ does not retry it) and the worker goes
 * on. A worker that dies mid-job (SIGKILL, a lost machine) stops renewing its lock; after
 * lockMs another worker's stalled-job check puts the job back in the queue.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import { Measurer } from "../autotune/measure.ts";
import type { TuningTarget } from "../autotune/tuning-target.ts";
import { cpuTuning } from "../targets/cpu/task-template.ts";
import { QUEUE_PREFIX, throttled } from "./client.ts";
import type { DeviceTarget, VtaSimulator } from "./device-key.ts";
import { deviceIdentity, type DeviceIdentity } from "./identity.ts";
import { checkQueue, connectionOptions, redisClient, type QueueUrl } from "./queue-url.ts";
import { validatePayload, type BenchOutcome, type JobPayload, type MeasureJob, type MeasureOutcome } from "./protocol.ts";
import { Registration } from "./registry.ts";
import { stubCosts } from "./stub.ts";
import { latheVersion } from "./version.ts";

/** Runs benchmarks for bench jobs (the CLI's: `lathe bench NAME` in a child process). */
export interface BenchRunner {
  /** The benchmarks this worker has. */
  names(): readonly string[];
  /** Runs one and returns its JSON (BENCH.md). */
  run(name: string, quick: boolean): Promise<Record<string, unknown>>;
}

export interface WorkerOptions {
  readonly queue: QueueUrl;
  readonly target: DeviceTarget;
  readonly sim?: VtaSimulator;
  /** Jobs at once (default 1). */
  readonly concurrency?: number;
  /** Kernel threads per measurement (default: the cores shared among the concurrent jobs). */
  readonly threads?: number;
  /**
   * BullMQ's job lock, ms (default 10 000): renewed every lockMs / 2 while the job runs, so a
   * dead worker's job returns to the queue lockMs to 1.5 × lockMs after its last renewal.
   */
  readonly lockMs?: number;
  readonly acceptStub?: boolean;
  readonly benches: BenchRunner;
  /** One line per event (started, job done; error: a job rejected or refused, a lost connection). */
  readonly log: (line: string, error?: boolean) => void;
}

export interface RunningWorker {
  readonly id: string;
  readonly identity: DeviceIdentity;
  readonly version: string;
  /** Stops taking jobs, lets running ones finish (force: abandons them), deregisters. */
  close(force?: boolean): Promise<void>;
}

/** One Measurer per concurrent job, remade when a job asks for other timing options. */
class MeasurerPool {
  readonly #free: { m: Measurer | null; key: string }[] = [];
  readonly #all: { m: Measurer | null; key: string }[] = [];
  constructor(size: number, readonly threads: number, readonly target: TuningTarget) {
    for (let i = 0; i < size; i++) this.#all.push({ m: null, key: "" });
    this.#free.push(...this.#all);
  }

  async measure(j: MeasureJob) {
    const slot = this.#free.pop();
    if (!slot) throw new Error("MeasurerPool: more jobs than slots (BullMQ concurrency is the pool's size)");
    try {
      const key = `${j.repeats}/${j.minRepeatMs}/${j.flush}`;
      if (slot.key !== key || slot.m === null) {
        slot.m?.close();
        slot.m = this.target.name === "cpu"
          ? new Measurer({ target: this.target, repeats: j.repeats, minRepeatMs: j.minRepeatMs, threads: this.threads, flushCache: j.flush })
          : new Measurer({ target: this.target, repeats: j.repeats, minRepeatMs: j.minRepeatMs });
        slot.key = key;
      }
      return await slot.m.measure(j.task, j.config);
    } finally {
      this.#free.push(slot);
    }
  }

  close(): void {
    for (const s of this.#all) s.m?.close();
  }
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  await checkQueue(o.queue);
  const identity = await deviceIdentity(o.target, o.sim);
  const version = latheVersion();
  const concurrency = o.concurrency ?? 1;
  const threads = o.threads ?? Math.max(1, Math.floor(os.availableParallelism() / concurrency));
  const lockMs = o.lockMs ?? 10_000;
  const id = `${os.hostname()}-${process.pid}-${randomBytes(2).toString("hex")}`;
  const onError = throttled((m) => o.log(m, true));
  const redis = redisClient(o.queue, onError);
  const reg = new Registration(redis, {
    id, device: identity.key, host: os.hostname(), pid: process.pid, since: new Date().toISOString(), version,
    fingerprint: identity.fingerprint, vectorBytes: identity.vectorBytes, concurrency, threads,
  });
  // A webgpu worker measures on its adapter (webgpu/measure-worker.ts); loaded only for it.
  const tuning: TuningTarget | null = o.target === "cpu" ? cpuTuning : o.target === "webgpu" ? (await import("../targets/webgpu/tuning-target.ts")).webgpuTuning : null;
  const pool = tuning ? new MeasurerPool(concurrency, threads, tuning) : null;
  const origin = { worker: id, device: identity.key };
  const benches = o.benches.names();

  const run = async (p: JobPayload): Promise<MeasureOutcome | BenchOutcome> => {
    switch (p.kind) {
      case "measure": {
        if (!pool) throw new UnrecoverableError(`worker ${id} (${identity.key}) measures no tuning tasks: only cpu and webgpu workers do`);
        const r = await pool.measure(p);
        return { costs: r.costs, ...(r.calls ? { calls: r.calls } : {}), error: r.error, fingerprint: identity.fingerprint, ...origin };
      }
      case "measure-stub":
        await new Promise((r) => setTimeout(r, p.delayMs));
        return { costs: stubCosts(p.task.key, p.config), error: null, fingerprint: identity.fingerprint, ...origin };
      case "bench":
        return { report: await o.benches.run(p.name, p.quick), ...origin };
    }
  };

  const processor = async (job: Job): Promise<MeasureOutcome | BenchOutcome> => {
    let p: JobPayload;
    try {
      p = validatePayload(job.name, job.data, { target: o.target, acceptStub: o.acceptStub ?? false, benches });
    } catch (e) {
      reg.count(true);
      o.log(`rejected job ${job.id}: ${(e as Error).message}`, true);
      throw new UnrecoverableError((e as Error).message);
    }
    if (p.version !== version) {
      const msg = `version mismatch: the tuner runs Lathe ${p.version}, worker ${id} runs ${version}`;
      reg.count(true);
      o.log(`refused job ${job.id}: ${msg}`, true);
      throw new UnrecoverableError(msg);
    }
    o.log(`start ${job.id} ${p.kind}`);
    let out: MeasureOutcome | BenchOutcome;
    try {
      out = await run(p);
    } catch (e) {
      // A bench that failed, a measuring child that could not start: the job fails, the worker goes on.
      reg.count(true);
      o.log(`failed job ${job.id}: ${(e as Error).message.split("\n")[0]}`, true);
      throw e instanceof UnrecoverableError ? e : new UnrecoverableError((e as Error).message);
    }
    const failed = "error" in out && out.error !== null;
    reg.count(failed);
    o.log(`done ${job.id} ${p.kind}${failed ? ` (error: ${(out as MeasureOutcome).error!.split("\n")[0]!.slice(0, 120)})` : ""}`);
    return out;
  };

  const worker = new Worker(identity.key, processor, {
    connection: connectionOptions(o.queue), prefix: QUEUE_PREFIX, name: id, concurrency,
    lockDuration: lockMs, stalledInterval: Math.max(250, Math.floor(lockMs / 2)), maxStalledCount: 2, autorun: false,
  });
  worker.on("error", onError);
  await worker.waitUntilReady();
  await reg.start();
  void worker.run().catch(onError);
  o.log(`worker ${id}: ${identity.key}, Lathe ${version}, fingerprint ${identity.fingerprint}, ${concurrency} job(s) at once, ${threads} thread(s) each, queue ${o.queue.display}`);

  let closing: Promise<void> | null = null;
  return {
    id, identity, version,
    close: (force = false) => (closing ??= (async () => {
      await worker.close(force).catch(onError);
      pool?.close();
      await reg.stop();
      redis.disconnect();
    })()),
  };
}
