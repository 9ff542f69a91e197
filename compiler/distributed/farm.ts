/**
 * What `lathe tune --queue URL --device KEY` and `lathe bench NAME --queue URL --device KEY`
 * open before they start: the key checked, the queue reached (bounded connect timeout, the
 * password checked), a live worker of the key awaited, its version and fingerprint checked;
 * for tuning, the run's earlier jobs collected into the log (recoverRun).
 */
import { randomBytes } from "node:crypto";
import type { TuningTarget } from "../autotune/tuning-target.ts";
import { QueueClient, type Finished } from "./client.ts";
import { parseDeviceKey } from "./device-key.ts";
import { QueueError } from "./errors.ts";
import type { BenchJob, BenchOutcome } from "./protocol.ts";
import { QueueMeasurer, recoverRun, KEEP_S } from "./queue-measurer.ts";
import { parseQueueUrl } from "./queue-url.ts";
import { runIdFor } from "./run-id.ts";
import type { WorkerInfo } from "./registry.ts";
import { latheVersion } from "./version.ts";

export interface FarmOptions {
  readonly url: string;
  readonly device: string;
  /** How long to wait for a worker of the key, ms. */
  readonly waitMs: number;
  readonly onInfo?: (m: string) => void;
  readonly onWarning?: (m: string) => void;
}

/** Checks the key, reaches the queue and waits for the key's workers (QueueClient.preflight). */
export async function openFarm(o: FarmOptions): Promise<{ client: QueueClient; workers: WorkerInfo[] }> {
  parseDeviceKey(o.device); // an unknown key is reported before anything is reached
  const client = await QueueClient.open(parseQueueUrl(o.url), { onWarning: o.onWarning });
  try {
    return { client, workers: await client.preflight(o.device, o.waitMs, o.onInfo) };
  } catch (e) {
    await client.close();
    throw e;
  }
}

export interface TuningFarm {
  readonly client: QueueClient;
  readonly measurer: QueueMeasurer;
  readonly workers: readonly WorkerInfo[];
  /** The vector width the device's kernels are scheduled for (the tuner plans tasks with it). */
  readonly vectorBytes: number;
  readonly run: string;
  close(): Promise<void>;
}

export interface TuningFarmOptions extends FarmOptions {
  /** The tuning log (the run id derives from it; the run's finished jobs are collected into it). */
  readonly log: string;
  /** The templates the tuner searches (cpuTuning at the device's vector width, or webgpuTuning); its name must be the device key's target. */
  readonly target: TuningTarget;
  readonly repeats: number;
  readonly minRepeatMs: number;
  readonly flush: boolean;
  readonly stubDelayMs?: number;
}

/** The farm and measurer of a distributed tuning run, before any task is planned. */
export async function openTuningFarm(o: TuningFarmOptions): Promise<TuningFarm> {
  const key = parseDeviceKey(o.device);
  if (key.target === "vta") throw new QueueError(`tuning runs on cpu and webgpu device keys (cpu/x86-64-…, webgpu/<adapter>); ${o.device} workers take bench jobs only`);
  if (key.target !== o.target.name) throw new QueueError(`device key ${o.device} is a ${key.target} device, but the tuner searches ${o.target.name} templates (lathe tune --target ${key.target})`);
  const { client, workers } = await openFarm(o);
  const fingerprint = workers[0]!.fingerprint;
  const run = runIdFor(o.log, o.device);
  const measurer = new QueueMeasurer({
    client, device: o.device, run, version: latheVersion(), fingerprint, target: o.target,
    repeats: o.repeats, minRepeatMs: o.minRepeatMs, flush: o.flush, ...(o.stubDelayMs !== undefined ? { stubDelayMs: o.stubDelayMs } : {}),
  });
  return {
    client, measurer, workers, vectorBytes: workers[0]!.vectorBytes, run,
    close: async () => {
      measurer.close();
      await client.close();
    },
  };
}

/** Collects the run's jobs that finished after the tuner stopped (see recoverRun); returns how many. */
export function collectEarlierJobs(farm: TuningFarm, log: string, onWarning?: (m: string) => void): Promise<number> {
  return recoverRun({ client: farm.client, device: farm.measurer.device, run: farm.run, log, fingerprint: farm.workers[0]!.fingerprint, ...(onWarning ? { onWarning } : {}) });
}

/** Runs benchmark `name` on a worker of `device` and returns its JSON and who ran it. */
export async function remoteBench(o: FarmOptions & { name: string; quick: boolean }): Promise<BenchOutcome> {
  const { client } = await openFarm(o);
  try {
    const id = `b-${randomBytes(12).toString("hex")}`;
    const data: BenchJob = { kind: "bench", version: latheVersion(), name: o.name, quick: o.quick };
    await client.queue(o.device).add("bench", data, { jobId: id, attempts: 1, removeOnComplete: { age: KEEP_S }, removeOnFail: { age: KEEP_S } });
    o.onInfo?.(`sent bench ${o.name} to ${o.device} (job ${id}); waiting for its result`);
    const f: Finished = await client.wait(o.device, id);
    if (f.state === "missing") throw new QueueError(`bench job ${id} vanished from the queue (Redis restarted without persistence?)`);
    if (f.state === "failed") throw new QueueError(`bench ${o.name} on ${o.device} failed${f.worker ? ` (worker ${f.worker})` : ""}: ${f.reason}`);
    const v = f.value as Partial<BenchOutcome> | null;
    if (typeof v !== "object" || v === null || typeof v.report !== "object" || v.report === null || typeof v.worker !== "string") {
      throw new QueueError(`bench job ${id} came back without a report (${JSON.stringify(f.value)?.slice(0, 80)})`);
    }
    return v as BenchOutcome;
  } finally {
    await client.close();
  }
}
