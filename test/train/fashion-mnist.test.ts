/**
 * The issue's bar: an MLP trained with Lathe's compiled steps on Fashion-MNIST (Debian's
 * dataset-fashion-mnist) reaches ≥ 85% test accuracy within the test suite's budget.
 */
import { describe, expect, test } from "vitest";
import { loadFashionMnist, missingFashionMnistFile } from "../../models/data/fashion-mnist.ts";
import { batches } from "../../models/data/batches.ts";
import { Rng } from "../../runtime/random.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import { Linear, Sequential } from "../../train/nn/index.ts";
import { crossEntropy } from "../../train/losses.ts";
import { Adam } from "../../train/optim/index.ts";
import { compileForward, compileStep } from "../../train/step.ts";
import { accuracy } from "../../train/metrics.ts";

const missing = missingFashionMnistFile();


describe.skipIf(missing !== null)(`Fashion-MNIST${missing ? ` (skipped: ${missing} is missing; apt-get install dataset-fashion-mnist)` : ""}`, () => {
  test("an MLP 784-256-10 trained for three epochs with Adam reaches ≥ 85% test accuracy", async () => {
    const train = loadFashionMnist({ split: "train" });
    const held = loadFashionMnist({ split: "test" });
    const rng = new Rng(42);
    const model = new Sequential((x: Tracer) => x.reshape([0, 784]), new Linear(784, 256, { rng }), (h: Tracer) => h.relu(), new Linear(256, 10, { rng }));
    const step = await compileStep(model, crossEntropy, new Adam({ lr: 1e-3 }), { x: { shape: [128, 28, 28] }, y: { shape: [128], dtype: "i32" } });
    const predict = await compileForward(model, { shape: ["batch", 28, 28] });
    const losses: number[] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      for (const b of batches(train, 128, rng, { dropLast: true })) losses.push(step(b));
    }
    const acc = accuracy(predict(held.x), held.y);
    console.log(`Fashion-MNIST MLP: ${step.steps} steps, last loss ${losses.at(-1)!.toFixed(3)}, test accuracy ${(acc * 100).toFixed(2)}%`);
    expect(acc).toBeGreaterThanOrEqual(0.85);
  }, 300_000);
});
