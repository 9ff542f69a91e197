/**
 * Workers announce themselves in Redis: one hash per worker (`lathe:workers:<id>`: device key,
 * host, pid, start time, version, fingerprint, jobs done and failed), rewritten whole by a
 * heartbeat and expiring a few heartbeats after the last one, so a worker killed without
 * warning drops out of `lathe queue status` and of the tuner's checks by itself. The set
 * `lathe:devices` remembers every key a worker has served, for the queue depths.
 */
import type { Redis } from "ioredis";

export const WORKER_PREFIX = "lathe:workers:";
export const DEVICES_KEY = "lathe:devices";

export interface WorkerInfo {
  readonly id: string;
  readonly device: string;
  readonly host: string;
  readonly pid: number;
  /** ISO time the worker started. */
  readonly since: string;
  readonly version: string;
  readonly fingerprint: string;
  /** The vector width its kernels are scheduled for, bytes (cpu workers; 0 elsewhere). */
  readonly vectorBytes: number;
  readonly concurrency: number;
  readonly threads: number;
  /** Jobs finished, and of them those that failed (a rejected payload, a failed measurement). */
  readonly done: number;
  readonly failed: number;
  /** Last heartbeat, ms since the epoch. */
  readonly seen: number;
}

/** Keeps one worker's hash fresh; counters live here and are written whole each beat. */
export class Registration {
  #info: WorkerInfo;
  #timer: NodeJS.Timeout | undefined;
  readonly #redis: Redis;
  readonly #beatMs: number;

  constructor(redis: Redis, info: Omit<WorkerInfo, "done" | "failed" | "seen">, beatMs = 2000) {
    this.#redis = redis;
    this.#info = { ...info, done: 0, failed: 0, seen: Date.now() };
    this.#beatMs = beatMs;
  }

  get info(): WorkerInfo {
    return this.#info;
  }

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat().catch(() => {}), this.#beatMs);
  }

  /** Counts a finished job. */
  count(failed: boolean): void {
    this.#info = { ...this.#info, done: this.#info.done + 1, failed: this.#info.failed + (failed ? 1 : 0) };
  }

  async #beat(): Promise<void> {
    this.#info = { ...this.#info, seen: Date.now() };
    const key = WORKER_PREFIX + this.#info.id;
    const fields = Object.entries(this.#info).flatMap(([k, v]) => [k, String(v)]);
    await this.#redis.multi().hset(key, ...fields).pexpire(key, this.#beatMs * 4).sadd(DEVICES_KEY, this.#info.device).exec();
  }

  /** Stops the heartbeat and removes the hash (a clean exit). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#redis.del(WORKER_PREFIX + this.#info.id).catch(() => {});
  }
}

const num = (s: string | undefined): number => (s === undefined || s === "" ? 0 : Number(s));

/** Every live worker, sorted by device key then id. */
export async function listWorkers(redis: Redis): Promise<WorkerInfo[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", `${WORKER_PREFIX}*`, "COUNT", 1000);
    keys.push(...found);
    cursor = next;
  } while (cursor !== "0");
  const hashes = await Promise.all(keys.map((k) => redis.hgetall(k)));
  return hashes
    .filter((h) => h.id !== undefined && h.device !== undefined)
    .map((h) => ({
      id: h.id!, device: h.device!, host: h.host ?? "?", pid: num(h.pid), since: h.since ?? "", version: h.version ?? "", fingerprint: h.fingerprint ?? "",
      vectorBytes: num(h.vectorBytes), concurrency: num(h.concurrency), threads: num(h.threads), done: num(h.done), failed: num(h.failed), seen: num(h.seen),
    }))
    .sort((a, b) => a.device.localeCompare(b.device) || a.id.localeCompare(b.id));
}

/** Every device key a worker has served. */
export async function knownDevices(redis: Redis): Promise<string[]> {
  return (await redis.smembers(DEVICES_KEY)).sort();
}
