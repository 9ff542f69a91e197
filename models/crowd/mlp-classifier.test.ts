import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Dataset } from "../data/dataset.ts";
import { subset } from "../data/dataset.ts";
import { twoMoons } from "../data/synthetic.ts";
import { loadSklearnDigits, missingSklearnDigits } from "../data/sklearn-digits.ts";
import { MlpClassifier } from "./mlp-classifier.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const T = 120_000;

const accuracy = (pred: ArrayLike<number>, y: ArrayLike<number>): number => {
  let c = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) c++;
  return c / y.length;
};

describe("MlpClassifier", () => {
  test("learns two moons from hard labels; one-hot soft targets give the same model; seeded", async () => {
    const train = twoMoons({ n: 300, noise: 0.1, seed: 1 }), test_ = twoMoons({ n: 200, noise: 0.1, seed: 2 });
    const y = train.y.data as Int32Array;
    const opts = { hidden: [32], epochs: 40, batchSize: 32, lr: 0.01, seed: 4 };
    const clf = await new MlpClassifier(opts).fit(train.x, y);
    expect(accuracy(clf.predict(test_.x), test_.y.data as Int32Array)).toBeGreaterThanOrEqual(0.95);
    expect(clf.losses.at(-1)!).toBeLessThan(clf.losses[0]!);
    const oneHot = Float64Array.from({ length: 600 }, (_, k) => (y[k >> 1] === (k & 1) ? 1 : 0));
    const soft = await new MlpClassifier(opts).fitSoft(train.x, oneHot, 2);
    expect([...soft.logits(test_.x)]).toEqual([...clf.logits(test_.x)]);
    const p = clf.predictProba(test_.x);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 12);
    expect(() => new MlpClassifier({ epochs: 0 })).toThrow(LatheError);
  }, T);

  test("soft targets and weights: rows weighted 0 do not move the model", async () => {
    const train = twoMoons({ n: 200, noise: 0.1, seed: 3 });
    const y = train.y.data as Int32Array;
    const opts = { hidden: [16], epochs: 5, batchSize: 50, lr: 0.01, seed: 1 };
    // Flipped soft targets on rows weighted 0 change nothing.
    const soft = Float64Array.from({ length: 400 }, (_, k) => (y[k >> 1] === (k & 1) ? 0.8 : 0.2));
    const flipped = Float64Array.from(soft, (v, k) => ((k >> 1) % 5 === 0 ? 1 - v : v));
    const w = Float32Array.from({ length: 200 }, (_, i) => (i % 5 === 0 ? 0 : 1));
    const a = await new MlpClassifier(opts).fitSoft(train.x, soft, 2, w);
    const b = await new MlpClassifier(opts).fitSoft(train.x, flipped, 2, w);
    const za = a.logits(train.x), zb = b.logits(train.x);
    for (let k = 0; k < za.length; k++) expect(zb[k]).toBeCloseTo(za[k]!, 5);
  }, T);

  const missing = missingSklearnDigits();
  test.skipIf(missing !== null)(skipReason("the small CNN learns 8×8 digits", missing !== null && NEEDS.sklearn), async () => {
    const all = loadSklearnDigits({ shape: "images" });
    const idx = Array.from({ length: 700 }, (_, i) => i);
    const train = subset(all, idx.slice(0, 500)), test_ = subset(all, idx.slice(500));
    const scale = (d: Dataset): Tensor => new Tensor(Float32Array.from(d.x.data as Float32Array, (p) => p / 16), d.x.shape, "f32");
    const clf = await new MlpClassifier({ arch: "cnn", epochs: 10, batchSize: 32, lr: 0.01, seed: 0 }).fit(scale(train), train.y.data as Int32Array);
    expect(accuracy(clf.predict(scale(test_)), test_.y.data as Int32Array)).toBeGreaterThanOrEqual(0.8); // seeded: 0.85 (chance 0.1)
    // Other widths and a hidden layer after the convolutions.
    const wide = await new MlpClassifier({ arch: "cnn", channels: [4, 12], hidden: [24], epochs: 10, batchSize: 32, lr: 0.01, seed: 0 }).fit(scale(train), train.y.data as Int32Array);
    expect(accuracy(wide.predict(scale(test_)), test_.y.data as Int32Array)).toBeGreaterThanOrEqual(0.8);
    expect(() => new MlpClassifier({ arch: "cnn", channels: [0, 8] })).toThrow(/channels must be positive integers, got \[0,8\]/);
    expect(() => new MlpClassifier({ arch: "cnn", channels: [4] as unknown as [number, number] })).toThrow(/channels must name the two convolutions' widths, got \[4\]/);
  }, T);
});
