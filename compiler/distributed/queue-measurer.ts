/**
 * Measuring through the queue: the tuner's MeasureFn (autotune/measure.ts) that sends each
 * config as a job to the workers of one device key and hands back their results, so the
 * tuner's loop, log, cost model and transfer are the local ones.
 *
 * The tuner announces each batch (MeasureFn.prefetch): every config of it becomes a job at
 * once and the workers measure them side by side, while the tuner takes the results in its
 * own order and writes each to the log as before. A job's id is a hash of the run, the
 * workers' fingerprint, the task and the config (protocol.ts measureJobId), so a second send
 * of the same trial is refused by BullMQ and both sends wait on the one job; the tuner writes
 * one record per trial, however often a worker that died mid-job made BullMQ deliver it.
 *
 * The run's job ids are kept in Redis (`lathe:runs:<run>`), so that a tuner killed mid-run and
 * started again collects what its jobs measured meanwhile (recoverRun) instead of sending
 * them again.
 */
import { Job } from "bullmq";
import type { Config, TuneRecord } from "../autotune/log.ts";
import { appendRecord, configKey, makeRecord, readLog, isCurrentRecord } from "../autotune/log.ts";
import type { MeasureFn, MeasureResult } from "../autotune/measure.ts";
import { taskSpec, type TaskSpec } from "../autotune/task.ts";
import type { TuningTarget } from "../autotune/tuning-target.ts";
import type { QueueClient, Finished } from "./client.ts";
import { QueueError } from "./errors.ts";
import { measureJobId, type MeasureJob, type MeasureOutcome, type StubMeasureJob } from "./protocol.ts";

export const RUN_PREFIX = "lathe:runs:";
/** How long finished jobs and a run's id set are kept, seconds (a tuner may be restarted within it). */
export const KEEP_S = 7 * 24 * 3600;

export interface QueueMeasurerOptions {
  readonly client: QueueClient;
  readonly device: string;
  /** The run id (hex): job ids derive from it; the same log on the same host gives the same run. */
  readonly run: string;
  readonly version: string;
  /** The fingerprint the device's workers measure with (QueueClient.preflight). */
  readonly fingerprint: string;
  /** The templates the tuner searches (the cpu target's, at the device's vector width). */
  readonly target: TuningTarget;
  readonly repeats: number;
  readonly minRepeatMs: number;
  readonly flush: boolean;
  /** Send measure-stub jobs that take this long instead of real measurements (tests, bench/queue). */
  readonly stubDelayMs?: number;
}

type JobData = MeasureJob | StubMeasureJob;

/** A worker's measure result as sent, or null when it is not one (it came over the network: checked, not trusted). */
export function measureOutcome(v: unknown): MeasureOutcome | null {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  const numbers = (x: unknown) => Array.isArray(x) && x.every((c) => typeof c === "number" && Number.isFinite(c) && c >= 0);
  if (!(o.costs === null || numbers(o.costs)) || !(o.error === null || typeof o.error === "string")) return null;
  if (o.calls !== undefined && !numbers(o.calls)) return null;
  if (typeof o.worker !== "string" || typeof o.device !== "string" || typeof o.fingerprint !== "string" || o.worker === "" || o.fingerprint === "") return null;
  return o as unknown as MeasureOutcome;
}

export class QueueMeasurer implements MeasureFn {
  readonly target: TuningTarget;
  readonly #o: QueueMeasurerOptions;
  readonly #pending = new Map<string, Promise<Finished>>();
  #closed = false;
  /** A refusal that ends the run (a worker of another version); measure throws it from then on. */
  fatal: QueueError | null = null;

  get device(): string {
    return this.#o.device;
  }

  constructor(o: QueueMeasurerOptions) {
    this.#o = o;
    // The farm's fingerprint is what the tuner stamps and resumes by.
    this.target = { ...o.target, fingerprint: () => o.fingerprint };
  }

  jobId(task: TaskSpec, config: Config): string {
    return measureJobId(this.#o.run, this.#o.fingerprint, task.key, config);
  }

  prefetch(task: TaskSpec, configs: readonly Config[]): void {
    const fresh = configs.filter((c) => !this.#pending.has(this.jobId(task, c)));
    if (fresh.length > 0 && !this.#closed && !this.fatal) this.#send(task, fresh);
  }

  async measure(task: TaskSpec, config: Config): Promise<MeasureResult> {
    if (this.fatal) throw this.fatal;
    const id = this.jobId(task, config);
    if (!this.#pending.has(id)) this.#send(task, [config]);
    const f = await this.#pending.get(id)!;
    this.#pending.delete(id);
    return this.#result(id, f);
  }

  #result(job: string, f: Finished): MeasureResult {
    if (f.state === "missing") return { costs: null, error: "job lost: the queue was closed before it finished" };
    if (f.state === "failed") {
      if (/^version mismatch/.test(f.reason)) {
        this.fatal = new QueueError(f.reason);
        throw this.fatal;
      }
      return { costs: null, error: `job failed: ${f.reason}`, origin: { worker: f.worker ?? "unknown", device: this.#o.device, job } };
    }
    const v = measureOutcome(f.value);
    if (v === null) return { costs: null, error: `job ${job} came back without a measurement (${JSON.stringify(f.value)?.slice(0, 80)})`, origin: { worker: f.worker ?? "unknown", device: this.#o.device, job } };
    return {
      costs: v.costs, ...(v.calls ? { calls: v.calls } : {}), error: v.error,
      fingerprint: v.fingerprint, origin: { worker: v.worker, device: v.device, job },
    };
  }

  #data(task: TaskSpec, config: Config): JobData {
    const o = this.#o;
    if (o.stubDelayMs !== undefined) return { kind: "measure-stub", version: o.version, run: o.run, task: { key: task.key }, config, delayMs: o.stubDelayMs };
    return { kind: "measure", version: o.version, run: o.run, task: taskSpec(task), config, repeats: o.repeats, minRepeatMs: o.minRepeatMs, flush: o.flush };
  }

  /** Adds the configs' jobs in one round trip; each config's promise resolves with its job's outcome. */
  #send(task: TaskSpec, configs: readonly Config[]): void {
    const o = this.#o;
    const jobs = configs.map((c) => ({ id: this.jobId(task, c), data: this.#data(task, c) }));
    const queue = o.client.queue(o.device);
    const add = async (list: typeof jobs): Promise<void> => {
      try {
        await o.client.redis.multi().sadd(RUN_PREFIX + o.run, ...list.map((j) => j.id)).expire(RUN_PREFIX + o.run, KEEP_S).exec();
        await queue.addBulk(list.map((j) => ({
          name: j.data.kind, data: j.data,
          opts: { jobId: j.id, attempts: 1, removeOnComplete: { age: KEEP_S }, removeOnFail: { age: KEEP_S } },
        })));
      } catch (e) {
        throw new QueueError(`cannot send jobs to ${o.device} on ${o.client.url.display}: ${(e as Error).message.split("\n")[0]}`);
      }
    };
    const added = add(jobs);
    for (const j of jobs) {
      const p = (async (): Promise<Finished> => {
        await added;
        for (;;) {
          const f = await o.client.wait(o.device, j.id);
          // Gone without a trace (Redis lost its data): send it again, unless closing.
          if (f.state !== "missing" || this.#closed) return f;
          await add([j]);
        }
      })();
      p.catch(() => {}); // a failed send is reported by the measure() that awaits it; nobody may, after a stop
      this.#pending.set(j.id, p);
    }
  }

  close(): void {
    this.#closed = true;
  }
}

/**
 * A restarted tuner's first step: every job its run sent that the log does not hold yet is
 * awaited (those still queued or running finish first) and written to the log, in the order
 * they were sent, exactly as the tuner would have written it. Nothing is sent again.
 * Returns how many records were written.
 */
export async function recoverRun(o: { client: QueueClient; device: string; run: string; log: string; fingerprint: string; onWarning?: (m: string) => void }): Promise<number> {
  const ids = await o.client.redis.smembers(RUN_PREFIX + o.run);
  if (ids.length === 0) return 0;
  const records = readLog(o.log, { onWarning: o.onWarning });
  const loggedJobs = new Set(records.map((r) => r.job).filter((j): j is string => j !== undefined));
  const loggedTrials = new Set(records.filter((r) => isCurrentRecord(r, o.fingerprint)).map((r) => `${r.task}\0${configKey(r.config)}`));
  const withSpec = new Set(records.filter((r) => r.spec !== undefined).map((r) => r.task));
  const queue = o.client.queue(o.device);
  const open: { id: string; data: JobData; at: number }[] = [];
  for (const id of ids) {
    if (loggedJobs.has(id)) continue;
    const job = await Job.fromId(queue, id);
    if (!job) continue;
    const data = job.data as JobData;
    if (loggedTrials.has(`${data.task.key}\0${configKey(data.config)}`)) continue;
    open.push({ id, data, at: job.timestamp });
  }
  open.sort((a, b) => a.at - b.at);
  let written = 0;
  for (const j of open) {
    const f = await o.client.wait(o.device, j.id);
    if (f.state === "missing") continue;
    if (f.state === "failed" && /^version mismatch/.test(f.reason)) throw new QueueError(f.reason);
    const v = f.state === "completed" ? measureOutcome(f.value) : null;
    const why = f.state === "failed" ? `job failed: ${f.reason}` : "job came back without a measurement";
    const rec = makeRecord(j.data.task.key, j.data.config, v ? v.costs : null, v ? v.error : why, v ? v.fingerprint : o.fingerprint);
    const line: TuneRecord = {
      ...rec, worker: v ? v.worker : (f as { worker: string | null }).worker ?? "unknown", device: o.device, job: j.id,
      ...(j.data.kind === "measure" && !withSpec.has(j.data.task.key) ? { spec: j.data.task } : {}),
    };
    withSpec.add(j.data.task.key);
    appendRecord(o.log, line);
    written++;
  }
  return written;
}
