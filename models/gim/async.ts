/**
 * Asynchronous GIM: one worker thread per module (worker.ts), chained by bounded queues
 * (queue.ts): the main thread feeds image batches to module 1, module m feeds its output
 * maps to module m+1. Module m+1 starts on the first batch while module m is still
 * learning, as the paper allows. The clock starts once every worker has compiled its step.
 *
 * A worker that fails (an error, or an exit before its report) rejects the run with a
 * GimWorkerError naming the module and the error; every other worker is terminated, and
 * the run settles only after all of them have exited, so no thread outlives it.
 */
import { MessageChannel, Worker } from "node:worker_threads";
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { ExecutorKind } from "../../train/executable.ts";
import { defaultExecutor } from "../../train/executable.ts";
import type { GimConfig } from "./config.ts";
import type { Item, Report, WorkerInit } from "./messages.ts";
import type { GimModule } from "./modules.ts";
import { moduleParameters } from "./modules.ts";
import { BoundedSender } from "./queue.ts";
import type { TrainResult } from "./train.ts";
import { imageBatches } from "./train.ts";

export class GimWorkerError extends LatheError {}

export interface AsyncOptions {
  readonly executor?: ExecutorKind;
  /** Messages a queue holds before its sender waits (default 2). */
  readonly capacity?: number;
  /** Make module `module` (0-based) fail before step `step`: tests the failure path. */
  readonly failAt?: { readonly module: number; readonly step: number };
}

const live = new Set<Worker>();
/** Worker threads of GIM runs still alive (zero once every run has settled). */
export const liveWorkers = (): number => live.size;

export async function trainAsync(cfg: GimConfig, mods: readonly GimModule[], images: Tensor, epochs: number, opts: AsyncOptions = {}): Promise<TrainResult> {
  const batches = imageBatches(images, cfg, epochs); // checks the data before any thread starts
  const capacity = opts.capacity ?? 2, m = mods.length;
  const channels = Array.from({ length: m }, () => new MessageChannel());
  const boot = new URL("./worker-boot.mjs", import.meta.url), module = new URL("./worker.ts", import.meta.url).href;
  const workers: Worker[] = [];
  const exited: Promise<void>[] = [];
  let fail!: (e: Error) => void;
  const failed = new Promise<never>((_, rej) => { fail = rej; });
  failed.catch(() => undefined);
  const ready: Promise<number>[] = [], done: Promise<Report & { kind: "done" }>[] = [];
  for (let k = 0; k < m; k++) {
    const init: WorkerInit = {
      module, cfg, index: k, executor: opts.executor ?? defaultExecutor(), capacity,
      upstream: channels[k]!.port2, downstream: k + 1 < m ? channels[k + 1]!.port1 : null,
      failAtStep: opts.failAt?.module === k ? opts.failAt.step : null,
    };
    const transfer = [init.upstream, ...(init.downstream ? [init.downstream] : [])];
    const w = new Worker(boot, { workerData: init, transferList: transfer });
    workers.push(w);
    live.add(w);
    let onReady!: (b: number) => void, onDone!: (r: Report & { kind: "done" }) => void;
    ready.push(new Promise((res) => { onReady = res; }));
    done.push(new Promise((res) => { onDone = res; }));
    let reported = false;
    w.on("message", (r: Report) => {
      if (r.kind === "ready") onReady(r.memoryBytes);
      else { reported = true; onDone(r); }
    });
    w.on("error", (e: Error) => fail(new GimWorkerError(`gim: the worker of module ${k + 1} failed: ${e.message.split("\n")[0]}`)));
    exited.push(new Promise((res) => w.once("exit", (code) => {
      live.delete(w);
      if (!reported) fail(new GimWorkerError(`gim: the worker of module ${k + 1} exited (code ${code}) before reporting`));
      res();
    })));
  }
  const stopAll = async () => {
    channels[0]!.port1.close(); // the feed's port, so nothing of this run keeps the event loop alive
    await Promise.all(workers.map((w) => w.terminate()));
    await Promise.all(exited);
  };
  try {
    const memoryBytes = await Promise.race([Promise.all(ready), failed]);
    const t0 = performance.now();
    const feed = new BoundedSender<Item>(channels[0]!.port1, capacity);
    const send = async () => {
      for (const x of batches) {
        const data = x.data as Float32Array;
        await feed.send({ kind: "batch", data, shape: x.shape }, [data.buffer as ArrayBuffer]);
      }
      await feed.send({ kind: "end" });
    };
    await Promise.race([send(), failed]);
    const reports = await Promise.race([Promise.all(done), failed]);
    const seconds = (performance.now() - t0) / 1000;
    await Promise.race([Promise.all(exited), failed]);
    reports.forEach((r, k) => moduleParameters(mods[k]!).forEach((p, j) => { p.value = new Tensor(r.params[j]!, p.shape, "f32"); }));
    return { losses: reports.map((r) => r.losses), times: reports.map((r) => r.times), seconds, memoryBytes };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
