/** What `lathe queue status` shows: the live workers and each device key's queue depths. */
import type { QueueClient } from "./client.ts";
import { knownDevices, type WorkerInfo } from "./registry.ts";

export interface QueueDepth {
  readonly device: string;
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly completed: number;
  readonly failed: number;
}

export interface QueueStatus {
  readonly server: string;
  readonly workers: readonly WorkerInfo[];
  readonly queues: readonly QueueDepth[];
}

export async function queueStatus(client: QueueClient): Promise<QueueStatus> {
  const info = await client.redis.info("server");
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
  const workers = await client.workers();
  const devices = [...new Set([...(await knownDevices(client.redis)), ...workers.map((w) => w.device)])].sort();
  const queues = await Promise.all(devices.map(async (device) => {
    const c = await client.queue(device).getJobCounts("wait", "prioritized", "active", "delayed", "completed", "failed");
    return { device, waiting: (c.wait ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
  }));
  return { server: `${client.url.display} (Redis ${version})`, workers, queues };
}
