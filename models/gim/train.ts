/**
 * Training GIM's modules, in one thread or one worker thread per module, on the same
 * batches and negatives (so both give the same parameters), and the end-to-end baselines.
 *
 * Sequential: for each batch, module 1 steps and produces its output maps, module 2 steps
 * on them, and so on: the same work as the asynchronous run, done one module at a time.
 * The timers start after every step has compiled, so wall times compare training alone.
 */
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { permutation } from "../data/batches.ts";
import type { ExecOptions } from "../../train/executable.ts";
import type { GimConfig } from "./config.ts";
import type { GimModule } from "./modules.ts";
import { moduleTrainer } from "./steps.ts";

export interface TrainResult {
  /** Loss per module per step (before each update). */
  readonly losses: readonly (readonly number[])[];
  /** Seconds since training started at which each loss was taken. */
  readonly times: readonly (readonly number[])[];
  readonly seconds: number;
  /** Planned bytes of each module's step (memory.ts). */
  readonly memoryBytes: readonly number[];
}

/** Images [n, H, W] or [n, 1, H, W] as batches [B, 1, H, W], reshuffled every epoch from the config's seed; partial batches dropped. */
export function imageBatches(images: Tensor, cfg: GimConfig, epochs: number): Generator<Tensor> {
  // Checked here, eagerly: a generator body would only run (and fail) after the steps compiled.
  const n = images.shape[0] ?? 0, side = cfg.image, row = side * side;
  if (images.size !== n * row) throw new LatheError(`gim: images must be [n, ${side}, ${side}] or [n, 1, ${side}, ${side}], got [${images.shape.join(", ")}]`);
  if (n < cfg.batch) throw new LatheError(`gim: the data set has ${n} image(s), fewer than one batch of ${cfg.batch}`);
  return shuffledBatches(images, cfg, epochs);
}

function* shuffledBatches(images: Tensor, cfg: GimConfig, epochs: number): Generator<Tensor> {
  const n = images.shape[0]!, side = cfg.image, row = side * side;
  const rng = new Rng(cfg.seed * 31 + 7), src = images.data as Float32Array;
  for (let e = 0; e < epochs; e++) {
    const order = permutation(n, rng);
    for (let b = 0; b + cfg.batch <= n; b += cfg.batch) {
      const out = new Float32Array(cfg.batch * row);
      for (let k = 0; k < cfg.batch; k++) out.set(src.subarray(order[b + k]! * row, (order[b + k]! + 1) * row), k * row);
      yield new Tensor(out, [cfg.batch, 1, side, side], "f32");
    }
  }
}

export async function trainSequential(cfg: GimConfig, mods: readonly GimModule[], images: Tensor, epochs: number, opts: ExecOptions = {}): Promise<TrainResult> {
  const batches = imageBatches(images, cfg, epochs);
  const trainers = [];
  for (const mod of mods) trainers.push(await moduleTrainer(cfg, mod, opts));
  const losses: number[][] = mods.map(() => []), times: number[][] = mods.map(() => []);
  const t0 = performance.now();
  for (const x of batches) {
    let input = x;
    for (const [m, t] of trainers.entries()) {
      losses[m]!.push(t.step(input));
      times[m]!.push((performance.now() - t0) / 1000);
      if (m + 1 < trainers.length) input = await t.forward(input);
    }
  }
  return { losses, times, seconds: (performance.now() - t0) / 1000, memoryBytes: trainers.map((t) => t.memoryBytes) };
}
