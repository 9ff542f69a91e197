/** Test support for the queue: local-farm.ts's server and processes, with settings for quick tests. */
import { startLocalWorker, type LatheProcess } from "./local-farm.ts";

export { LatheProcess, LocalRedis as TestRedis, REDIS_MISSING, freePort, hasRedis } from "./local-farm.ts";

/** A worker with quick stall detection (1 s lock) and one kernel thread; resolves once it serves its key. */
export function startTestWorker(url: string, args: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<LatheProcess & { id: string }> {
  return startLocalWorker(url, ["--lock-ms", "1000", "--threads", "1", ...args], env);
}
