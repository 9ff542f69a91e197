/**
 * The tuner's side of the queue: one BullMQ Queue and QueueEvents per device key, the worker
 * registry, and a collector that hands each job's outcome to whoever waits for it.
 *
 * Outcomes arrive two ways: BullMQ's event stream says at once that a job finished, and a
 * sweep every `pollMs` reads the state of every job still awaited. The sweep is what makes
 * the tuner indifferent to lost events (a Redis restart, a reconnect): a job's state lives
 * in Redis, and is read again until it is final. A job that no longer exists at all (Redis
 * restarted without persistence) is reported "missing" and sent again by the caller.
 */
import { Job, Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { QueueError } from "./errors.ts";
import { parseDeviceKey } from "./device-key.ts";
import { checkQueue, connectionOptions, redisClient, type QueueUrl } from "./queue-url.ts";
import { listWorkers, type WorkerInfo } from "./registry.ts";
import { latheVersion } from "./version.ts";

/** BullMQ's key prefix for Lathe's queues: keys read lathe:<device key>:<…>. */
export const QUEUE_PREFIX = "lathe";

export type Finished =
  | { readonly state: "completed"; readonly value: unknown; readonly worker: string | null }
  | { readonly state: "failed"; readonly reason: string; readonly worker: string | null }
  | { readonly state: "missing" };

/** Rate-limits repeated connection errors to one line per interval. */
export function throttled(log: (line: string) => void, everyMs = 5000): (e: Error) => void {
  let last = 0;
  return (e: Error) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    log(`queue connection: ${e.message.split("\n")[0]} (retrying)`);
  };
}

interface Waiter {
  readonly resolve: (f: Finished) => void;
  /** Sweeps that found no such job; two in a row make it missing. */
  misses: number;
}

class Device {
  readonly queue: Queue;
  readonly events: QueueEvents;
  readonly waiters = new Map<string, Waiter>();
  constructor(readonly key: string, q: QueueUrl, onError: (e: Error) => void, onEvent: (d: Device, id: string) => void) {
    const connection = connectionOptions(q);
    this.queue = new Queue(key, { connection, prefix: QUEUE_PREFIX });
    this.events = new QueueEvents(key, { connection, prefix: QUEUE_PREFIX });
    this.queue.on("error", onError);
    this.events.on("error", onError);
    this.events.on("completed", ({ jobId }) => onEvent(this, jobId));
    this.events.on("failed", ({ jobId }) => onEvent(this, jobId));
  }
}

export interface QueueClientOptions {
  /** How often awaited jobs are read back, ms (default 500). */
  readonly pollMs?: number;
  /** How often the workers of keys with awaited jobs are looked for, ms (default 10 000). */
  readonly watchMs?: number;
  readonly onWarning?: (message: string) => void;
}

export class QueueClient {
  readonly url: QueueUrl;
  readonly redis: Redis;
  readonly #devices = new Map<string, Device>();
  readonly #onError: (e: Error) => void;
  readonly #pollMs: number;
  readonly #watchMs: number;
  readonly #onWarning: (m: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #sweeping = false;
  #lastWatch = Date.now();
  /** Keys whose jobs wait with no live worker (warned once until one is back). */
  readonly #orphaned = new Set<string>();

  private constructor(url: QueueUrl, opts: QueueClientOptions) {
    this.url = url;
    this.#onError = throttled((m) => opts.onWarning?.(m));
    this.redis = redisClient(url, this.#onError);
    this.#pollMs = opts.pollMs ?? 500;
    this.#watchMs = opts.watchMs ?? 10_000;
    this.#onWarning = opts.onWarning ?? (() => {});
  }

  /** Checks the URL (bounded connect timeout, password) and opens the client. */
  static async open(url: QueueUrl, opts: QueueClientOptions = {}): Promise<QueueClient> {
    await checkQueue(url);
    return new QueueClient(url, opts);
  }

  /** The queue of a device key (the key checked first). */
  device(key: string): Device {
    parseDeviceKey(key);
    let d = this.#devices.get(key);
    if (!d) {
      d = new Device(key, this.url, this.#onError, (dev, id) => void this.#check(dev, id));
      this.#devices.set(key, d);
    }
    return d;
  }

  queue(key: string): Queue {
    return this.device(key).queue;
  }

  /** Resolves when job `id` of device `key` is final (or gone). */
  wait(key: string, id: string): Promise<Finished> {
    const d = this.device(key);
    const p = new Promise<Finished>((resolve) => d.waiters.set(id, { resolve, misses: 0 }));
    this.#timer ??= setInterval(() => void this.#sweep(), this.#pollMs);
    void this.#check(d, id);
    return p;
  }

  async #check(d: Device, id: string): Promise<void> {
    const w = d.waiters.get(id);
    if (!w) return;
    let f: Finished | null = null;
    try {
      const job = await Job.fromId(d.queue, id);
      if (!job) {
        if (++w.misses >= 2) f = { state: "missing" };
      } else {
        w.misses = 0;
        const state = await job.getState();
        // The job may have finished between the two reads: read it again now that it is final.
        const final = state === "completed" || state === "failed" ? await Job.fromId(d.queue, id) : undefined;
        const worker = final?.processedBy ?? null;
        if (final && state === "completed") f = { state, value: final.returnvalue, worker };
        else if (final && state === "failed") f = { state, reason: final.failedReason ?? "failed", worker };
      }
    } catch (e) {
      this.#onError(e as Error); // read again at the next sweep
      return;
    }
    if (f && d.waiters.get(id) === w) {
      d.waiters.delete(id);
      w.resolve(f);
    }
  }

  async #sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      for (const d of this.#devices.values()) await Promise.all([...d.waiters.keys()].map((id) => this.#check(d, id)));
      if (Date.now() - this.#lastWatch >= this.#watchMs) {
        this.#lastWatch = Date.now();
        await this.#watch();
      }
    } catch (e) {
      this.#onError(e as Error);
    } finally {
      this.#sweeping = false;
    }
  }

  /** Says when jobs wait for a key that has no live worker, and when one is back. */
  async #watch(): Promise<void> {
    const waiting = [...this.#devices.values()].filter((d) => d.waiters.size > 0).map((d) => d.key);
    if (waiting.length === 0) return;
    const alive = new Set((await this.workers()).map((w) => w.device));
    for (const key of waiting) {
      if (!alive.has(key) && !this.#orphaned.has(key)) {
        this.#orphaned.add(key);
        this.#onWarning(`no worker of ${key} is alive; its jobs wait in the queue until one starts (lathe worker --queue …)`);
      } else if (alive.has(key) && this.#orphaned.delete(key)) this.#onWarning(`a worker of ${key} is back; its jobs go on`);
    }
  }

  async workers(): Promise<WorkerInfo[]> {
    return listWorkers(this.redis);
  }

  /**
   * Waits (up to waitMs) for a live worker of `key`, then checks that every live worker of
   * it runs this Lathe version and measures with one fingerprint; returns them.
   */
  async preflight(key: string, waitMs: number, onWaiting?: (m: string) => void): Promise<WorkerInfo[]> {
    parseDeviceKey(key);
    const deadline = Date.now() + waitMs;
    let said = false;
    for (;;) {
      const all = await this.workers();
      const mine = all.filter((w) => w.device === key);
      if (mine.length > 0) {
        const version = latheVersion();
        const other = mine.find((w) => w.version !== version);
        if (other) throw new QueueError(`worker ${other.id} of ${key} runs Lathe ${other.version}, this process runs ${version}: refused (run one version on the tuner and its workers)`);
        const fps = [...new Set(mine.map((w) => w.fingerprint))];
        if (fps.length > 1) {
          const list = mine.map((w) => `${w.id} ${w.fingerprint}`).join(", ");
          throw new QueueError(`workers of ${key} measure with different compilers or hosts (${list}): their records would not compare; give each kind its own queue server or make the hosts alike`);
        }
        return mine;
      }
      if (Date.now() >= deadline) {
        const alive = [...new Set(all.map((w) => w.device))];
        throw new QueueError(`no worker of ${key} is running on ${this.url.display}${alive.length ? ` (workers alive for: ${alive.join(", ")})` : " (no workers at all)"}; start one with: lathe worker --queue URL`);
      }
      if (!said) onWaiting?.(`waiting up to ${Math.round(waitMs / 1000)} s for a worker of ${key}`);
      said = true;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (const d of this.#devices.values()) {
      for (const w of d.waiters.values()) w.resolve({ state: "missing" });
      d.waiters.clear();
      await Promise.all([d.queue.close(), d.events.close()]).catch(() => {});
    }
    this.#devices.clear();
    this.redis.disconnect();
  }
}
