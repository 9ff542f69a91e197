/**
 * A training step on webgpu — forward, backward, optimizer update, parameters kept on the
 * device — matches the cpu target's compiled step for the same model, data and optimizer.
 */
import { describe, expect, test } from "vitest";
import { blobs } from "../../models/data/synthetic.ts";
import { subset } from "../../models/data/dataset.ts";
import { Rng } from "../../runtime/random.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import { crossEntropy, mse } from "../../train/losses.ts";
import type { Tracer } from "../../train/lt.ts";
import { Linear, Sequential } from "../../train/nn/index.ts";
import { Adam, SGD } from "../../train/optim/index.ts";
import { compileStep } from "../../train/step.ts";
import { compileStepWebGpu } from "../../train/step-webgpu.ts";

const mlp = (seed: number) => {
  const rng = new Rng(seed);
  return new Sequential(new Linear(2, 16, { rng }), (h: Tracer) => h.relu(), new Linear(16, 3, { rng }));
};

function expectClose(a: Tensor, b: Tensor, what: string, tol = 1e-4): void {
  expect(a.shape, what).toEqual(b.shape);
  const x = a.toArray(), y = b.toArray();
  const i = x.findIndex((v, k) => !(Math.abs(v - y[k]!) <= tol * (1 + Math.abs(y[k]!))));
  expect(i, `${what}[${i}]: webgpu ${x[i]}, cpu ${y[i]}`).toBe(-1);
}

describe("training on webgpu", () => {
  const data = blobs({ n: 64, centers: [[0, 0], [3, 0], [1.5, 2.5]], std: 0.7, seed: 11 });
  const batch = (k: number) => subset(data, Array.from({ length: 16 }, (_, i) => (k * 16 + i) % 64));

  test("an MLP step with Adam matches the cpu step (losses, parameters, optimizer slots), parameters staying on the GPU", async () => {
    const cpuModel = mlp(5), gpuModel = mlp(5);
    const spec = { x: { shape: ["batch", 2] }, y: { shape: ["batch"], dtype: "i32" } } as const;
    const cpuStep = await compileStep(cpuModel, crossEntropy, new Adam({ lr: 0.05 }), spec);
    const gpuStep = await compileStepWebGpu(gpuModel, crossEntropy, new Adam({ lr: 0.05 }), spec);
    const before = gpuStep.parameters.map((p) => p.value);
    for (let s = 0; s < 4; s++) {
      const b = batch(s);
      const lc = cpuStep({ x: b.x, y: b.y }), lg = await gpuStep({ x: b.x, y: b.y });
      expect(Math.abs(lc - lg), `step ${s}: cpu loss ${lc}, webgpu loss ${lg}`).toBeLessThan(1e-4 * (1 + Math.abs(lc)));
    }
    expect(gpuStep.steps).toBe(4);
    // Host tensors are untouched until download(): the parameters live on the device.
    gpuStep.parameters.forEach((p, k) => expect(p.value).toBe(before[k]));
    await gpuStep.download();
    gpuStep.parameters.forEach((p, k) => expectClose(p.value, cpuStep.parameters[k]!.value, p.name));
    const slotsGpu = await gpuStep.optimizerState(gpuStep.parameters[0]!);
    cpuStep.optimizerState(cpuStep.parameters[0]!).forEach((t, k) => expectClose(slotsGpu[k]!, t, `slot ${k}`));
  }, 120_000);

  test("an SGD regression step with another batch size matches the cpu step", async () => {
    const make = () => { const rng = new Rng(9); return new Sequential(new Linear(2, 8, { rng }), (h: Tracer) => h.tanh(), new Linear(8, 1, { rng })); };
    const spec = { x: { shape: ["batch", 2] }, y: { shape: ["batch", 1] } } as const;
    const cpuStep = await compileStep(make(), mse, new SGD({ lr: 0.1, momentum: 0.9 }), spec);
    const gpuStep = await compileStepWebGpu(make(), mse, new SGD({ lr: 0.1, momentum: 0.9 }), spec);
    const rng = new Rng(4);
    for (const n of [5, 12, 5]) {
      const b = subset(data, Array.from({ length: n }, () => rng.int(0, 64)));
      const y = b.x.toArray().filter((_, i) => i % 2 === 0).map((v) => Math.sin(v));
      const { Tensor } = await import("../../runtime/tensor.ts");
      const yt = Tensor.fromArray(y, [n, 1], "f32");
      const lc = cpuStep({ x: b.x, y: yt }), lg = await gpuStep({ x: b.x, y: yt });
      expect(Math.abs(lc - lg), `batch ${n}: cpu ${lc}, webgpu ${lg}`).toBeLessThan(1e-4 * (1 + Math.abs(lc)));
    }
    await gpuStep.download();
    gpuStep.parameters.forEach((p, k) => expectClose(p.value, cpuStep.parameters[k]!.value, p.name));
  }, 120_000);
});
