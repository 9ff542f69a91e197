import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { lt } from "../../train/lt.ts";
import type { Sequential } from "../../train/nn/index.ts";
import { Linear } from "../../train/nn/index.ts";
import { compileForward } from "../../train/step.ts";
import { lenet, makeDivisible, mlp, mobilenetV2, resnet18 } from "./index.ts";

const randomImages = (n: number, seed: number) => Tensor.random([n, 28, 28], "f32", seed);

/** Hand-written forward of an MLP from its Linear layers' current weights (W: [in, out]). */
function mlpReference(model: Sequential, x: Tensor): number[][] {
  const linears = model.layers.filter((l): l is Linear => l instanceof Linear);
  const n = x.shape[0]!;
  const flat = x.toArray();
  let rows = Array.from({ length: n }, (_, i) => flat.slice(i * 784, (i + 1) * 784));
  linears.forEach((l, k) => {
    const w = l.weight.value.toArray(), b = l.bias!.value.toArray();
    rows = rows.map((r) => Array.from({ length: l.outFeatures }, (_, j) => {
      let s = b[j]!;
      for (let i = 0; i < l.inFeatures; i++) s += r[i]! * w[i * l.outFeatures + j]!;
      return k + 1 < linears.length ? Math.max(0, s) : s;
    }));
  });
  return rows;
}

const convCount = (model: Sequential, shape: number[]) => {
  const { graph, outputs } = lt.trace(() => model.forward(lt.input("x", shape)));
  return { convs: graph.nodes.filter((n) => n.op === "conv2d").length, shape: outputs[0]!.shape, graph };
};

describe("model zoo", () => {
  test("MLP 784-32-16-10 forward matches a hand-written reference", async () => {
    const model = mlp([784, 32, 16, 10], { rng: new Rng(1) });
    const predict = await compileForward(model, { shape: ["batch", 28, 28] });
    const x = randomImages(3, 7);
    const y = predict(x);
    expect(y.shape).toEqual([3, 10]);
    const ref = mlpReference(model, x).flat();
    y.toArray().forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 4));
  }, 120_000);

  test("LeNet forward: [batch, 10] finite logits, equal to the reference interpreter's", async () => {
    const model = lenet({ rng: new Rng(2) });
    const x = randomImages(2, 3);
    const y = (await compileForward(model, { shape: ["batch", 28, 28] }))(x);
    expect(y.shape).toEqual([2, 10]);
    expect(y.toArray().every(Number.isFinite)).toBe(true);
    const ref = (await compileForward(model, { shape: ["batch", 28, 28] }, { executor: "interpreted" }))(x).toArray();
    y.toArray().forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 4));
    // Two conv layers and the flatten to 16·4·4 = 256 features are what the first Linear expects.
    expect(convCount(model, [2, 28, 28]).convs).toBe(2);
  }, 120_000);

  test("ResNet-18: 20 convolutions (3 of them 1×1 downsamples) and [batch, classes] logits", () => {
    const { convs, shape, graph } = convCount(resnet18({ width: 0.125, classes: 7, rng: new Rng(3) }), [2, 3, 64, 64]);
    expect(convs).toBe(20);
    const ones = graph.nodes.filter((n) => n.op === "conv2d" && n.inputs[1]!.type.shape[2] === 1);
    expect(ones.length).toBe(3);
    expect(shape).toEqual([2, 7]);
    // Full width: 11.69M parameters, as torchvision's resnet18 (BN running stats excluded).
    const full = resnet18({ rng: new Rng(3) }).parameters().filter((p) => p.trainable);
    expect(full.reduce((s, p) => s + p.value.size, 0)).toBe(11_689_512);
  }, 60_000);

  test("MobileNet-v2: 52 convolutions (17 depthwise) and [batch, classes] logits", () => {
    const { convs, shape, graph } = convCount(mobilenetV2({ width: 0.25, classes: 5, rng: new Rng(4) }), [1, 3, 32, 32]);
    expect(convs).toBe(52);
    expect(graph.nodes.filter((n) => n.op === "conv2d" && (n.attrs.groups as number) > 1).length).toBe(17);
    expect(shape).toEqual([1, 5]);
    expect([makeDivisible(32 * 0.25), makeDivisible(24 * 0.25), makeDivisible(1280)]).toEqual([8, 8, 1280]);
  }, 60_000);
});
