/**
 * End-to-end training. The blob MLP runs on the default executor (the native whole-graph
 * compiler, or the interpreter under LATHE_TRAIN_INTERPRET=1), and its SGD step is checked
 * against gradients from the interpreter; the larger CNN runs on the interpreter, whose
 * compile time is nil.
 */
import { describe, expect, test } from "vitest";
import { batches } from "../models/data/batches.ts";
import type { Dataset } from "../models/data/dataset.ts";
import { subset } from "../models/data/dataset.ts";
import { minMaxScale } from "../models/data/normalize.ts";
import { blobs } from "../models/data/synthetic.ts";
import { Rng } from "../runtime/random.ts";
import { Tensor } from "../runtime/tensor.ts";
import { valueAndGrad } from "./grad.ts";
import { crossEntropy } from "./losses.ts";
import type { Tracer } from "./lt.ts";
import { BatchNorm, Conv2d, Dropout, Linear, Sequential } from "./nn/index.ts";
import { Adam, SGD } from "./optim/index.ts";
import { compileForward, compileStep } from "./step.ts";
import { accuracy } from "./metrics.ts";

const INTERP = { executor: "interpreted" } as const;


const blobData = (): { train: Dataset; test: Dataset } => {
  const all = blobs({ n: 150, centers: [[0, 0], [6, 0], [3, 5]], std: 1, seed: 5 });
  const scaled = { x: minMaxScale(all.x, { perFeature: true }), y: all.y };
  const idx = Array.from({ length: 150 }, (_, i) => i);
  return { train: subset(scaled, idx.slice(0, 120)), test: subset(scaled, idx.slice(120)) };
};

describe("training", () => {
  test("a tiny MLP on Gaussian blobs reaches ≥ 95% held-out accuracy in a few Adam steps", async () => {
    const { train, test: held } = blobData();
    const rng = new Rng(1);
    const model = new Sequential(new Linear(2, 16, { rng }), (h: Tracer) => h.relu(), new Linear(16, 3, { rng }));
    const step = await compileStep(model, crossEntropy, new Adam({ lr: 0.05 }), { x: { shape: ["batch", 2] }, y: { shape: ["batch"], dtype: "i32" } });
    const predict = await compileForward(model, { shape: ["batch", 2] });
    const before = accuracy(predict(held.x), held.y);
    const losses: number[] = [];
    for (let epoch = 0; epoch < 5; epoch++) for (const b of batches(train, 30, rng)) losses.push(step(b));
    expect(step.steps).toBe(20);
    const after = accuracy(predict(held.x), held.y);
    expect(after, `accuracy ${before} → ${after}, losses ${losses.map((l) => l.toFixed(3)).join(" ")}`).toBeGreaterThanOrEqual(0.95);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 3);
  });

  test("an SGD step moves every parameter by −lr · its gradient (gradient from grad() of the same loss)", async () => {
    const { train } = blobData();
    const rng = new Rng(2);
    const l1 = new Linear(2, 5, { rng }), l2 = new Linear(5, 3, { rng });
    const model = new Sequential(l1, (h: Tracer) => h.tanh(), l2);
    const lr = 0.3;
    const step = await compileStep(model, crossEntropy, new SGD({ lr }), { x: { shape: ["batch", 2] }, y: { shape: ["batch"], dtype: "i32" } });
    expect(step.parameters).toEqual([l1.weight, l1.bias, l2.weight, l2.bias]);
    const batch = subset(train, [0, 1, 2, 3, 4, 5, 6, 7]);
    const lossOf = valueAndGrad((x, y, w1, b1, w2, b2) => crossEntropy(x!.matmul(w1!).add(b1!).tanh().matmul(w2!).add(b2!), y!), INTERP);
    for (let s = 0; s < 2; s++) {
      const params = step.parameters.map((p) => p.value);
      const { value, grads } = await lossOf(batch.x, batch.y, ...params);
      expect(step(batch)).toBeCloseTo(value, 5);
      step.parameters.forEach((p, k) => {
        const want = params[k]!.toArray().map((v, i) => v - lr * grads[k + 2]!.toArray()[i]!);
        p.value.toArray().forEach((v, i) => expect(Math.abs(v - want[i]!), `${p.name}[${i}] after step ${s + 1}`).toBeLessThan(1e-6));
        expect(p.value.toArray()).not.toEqual(params[k]!.toArray());
      });
    }
  });

  test("a small CNN with BatchNorm and Dropout trains on bar images (vertical vs horizontal)", async () => {
    // 6×6 images with one bright row (class 0) or column (class 1) plus noise.
    const rng = new Rng(3);
    const n = 16, x = new Float32Array(n * 36), y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 2;
      const at = rng.int(0, 6);
      for (let p = 0; p < 36; p++) x[i * 36 + p] = 0.2 * rng.float() + ((y[i] === 0 ? Math.floor(p / 6) : p % 6) === at ? 1 : 0);
    }
    const data = { x: new Tensor(x, [n, 1, 6, 6], "f32"), y: new Tensor(y, [n], "i32") };
    const model = new Sequential(
      new Conv2d(1, 4, 3, { padding: 1, rng }), new BatchNorm(4), (h: Tracer) => h.relu().maxPool2d({ kernel: [2, 2] }),
      (h: Tracer) => h.reshape([0, -1]), new Dropout(0.1, 7), new Linear(36, 2, { rng }),
    );
    const step = await compileStep(model, crossEntropy, new Adam({ lr: 0.05 }), { x: { shape: ["batch", 1, 6, 6] }, y: { shape: ["batch"], dtype: "i32" } }, INTERP);
    const bn = model.layers[1] as BatchNorm;
    const losses = Array.from({ length: 8 }, () => step(data));
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 2);
    expect(bn.runningMean.value.toArray().some((v) => v !== 0)).toBe(true);
    const predict = await compileForward(model, { shape: ["batch", 1, 6, 6] }, INTERP);
    expect(accuracy(predict(data.x), data.y)).toBe(1);
  });
});
