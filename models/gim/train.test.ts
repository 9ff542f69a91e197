import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { GimWorkerError, liveWorkers, trainAsync } from "./async.ts";
import type { GimConfig } from "./config.ts";
import { DEFAULT_GIM } from "./config.ts";
import { buildModules, moduleParameters } from "./modules.ts";
import { trainSequential } from "./train.ts";

const TINY: GimConfig = { ...DEFAULT_GIM, image: 8, patch: 4, stride: 2, channels: [3, 3, 3], steps: 1, negatives: 2, batch: 2, lr: 1e-2, seed: 1 };

/** Seeded images with structure to predict: a bright bar at a random row, smooth in x. */
function bars(n: number, seed: number): Tensor {
  const rng = new Rng(seed), s = 8, out = new Float32Array(n * s * s);
  for (let i = 0; i < n; i++) {
    const r = rng.int(0, s), c = rng.int(0, s);
    for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) out[(i * s + y) * s + x] = Math.exp(-((y - r) ** 2) / 4) * (0.5 + 0.5 * Math.cos((x - c) / 2)) + 0.05 * rng.float();
  }
  return new Tensor(out, [n, s, s], "f32");
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("gim training", () => {
  test("a tiny seeded sequential run lowers every module's loss", async () => {
    const mods = buildModules(TINY);
    const r = await trainSequential(TINY, mods, bars(8, 1), 8, { executor: "interpreted" });
    expect(r.losses.map((l) => l.length)).toEqual([32, 32, 32]);
    for (const l of r.losses) expect(mean(l.slice(-8))).toBeLessThan(mean(l.slice(0, 8)));
  }, 120_000);

  test("worker threads with bounded queues give the sequential run's parameters exactly", async () => {
    const seqMods = buildModules(TINY), asyncMods = buildModules(TINY);
    const images = bars(6, 2);
    const seq = await trainSequential(TINY, seqMods, images, 2, { executor: "interpreted" });
    const par = await trainAsync(TINY, asyncMods, images, 2, { executor: "interpreted", capacity: 1 });
    expect(par.losses).toEqual(seq.losses);
    seqMods.forEach((mod, k) => moduleParameters(mod).forEach((p, j) => expect(moduleParameters(asyncMods[k]!)[j]!.value.toArray()).toEqual(p.value.toArray())));
    expect(par.memoryBytes).toEqual(seq.memoryBytes);
    expect(liveWorkers()).toBe(0);
  }, 120_000);

  test("a crashing worker is reported with its module and error; the others stop, no thread is left", async () => {
    const run = trainAsync(TINY, buildModules(TINY), bars(6, 3), 2, { executor: "interpreted", failAt: { module: 1, step: 1 } });
    await expect(run).rejects.toThrow(GimWorkerError);
    await expect(run).rejects.toThrow(/^gim: the worker of module 2 failed: deliberate failure before step 1$/);
    expect(liveWorkers()).toBe(0);
  }, 120_000);

  test("an empty data set is one clear error", async () => {
    await expect(trainSequential(TINY, buildModules(TINY), new Tensor(new Float32Array(0), [0, 8, 8], "f32"), 1))
      .rejects.toThrow(/^gim: the data set has 0 image\(s\), fewer than one batch of 2$/);
    await expect(trainAsync(TINY, buildModules(TINY), new Tensor(new Float32Array(64), [1, 8, 8], "f32"), 1)).rejects.toThrow(/fewer than one batch/);
  });
});
