/**
 * One GIM module training in its own thread (started by async.ts through worker-boot.mjs):
 * it rebuilds its module from the config's seed, compiles its step, then for every batch
 * from upstream takes one step and passes its output maps (with its parameters after that
 * step) downstream through a bounded queue. At the end of the stream it forwards the end,
 * and reports its losses and parameters. Any error escapes as the worker's 'error' event.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Tensor } from "../../runtime/tensor.ts";
import type { Item, Report, WorkerInit } from "./messages.ts";
import { buildModule } from "./modules.ts";
import { BoundedSender, Receiver } from "./queue.ts";
import { moduleTrainer } from "./steps.ts";

async function run(init: WorkerInit): Promise<void> {
  const mod = buildModule(init.cfg, init.index);
  const trainer = await moduleTrainer(init.cfg, mod, { executor: init.executor });
  const up = new Receiver<Item>(init.upstream);
  const down = init.downstream ? new BoundedSender<Item>(init.downstream, init.capacity) : null;
  parentPort!.postMessage({ kind: "ready", memoryBytes: trainer.memoryBytes } satisfies Report);
  const losses: number[] = [], times: number[] = [];
  const t0 = performance.now();
  for (;;) {
    const item = await up.next();
    if (item.kind === "end") break;
    if (init.failAtStep === losses.length) throw new Error(`deliberate failure before step ${losses.length}`);
    const input = new Tensor(item.data, item.shape, "f32");
    losses.push(trainer.step(input));
    times.push((performance.now() - t0) / 1000);
    if (down) {
      const out = await trainer.forward(input);
      const data = Float32Array.from(out.data as Float32Array);
      await down.send({ kind: "batch", data, shape: out.shape }, [data.buffer]);
    }
    up.ack();
  }
  // The receiver closes the channel when it reads the end, so nothing posted is dropped.
  if (down) await down.send({ kind: "end" });
  up.close();
  const params = trainer.parameters.map((p) => Float32Array.from(p.value.data as Float32Array));
  parentPort!.postMessage({ kind: "done", losses, times, params } satisfies Report, params.map((p) => p.buffer));
}

await run(workerData as WorkerInit);
