import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { FASHION_MNIST_DIR, loadFashionMnist, missingFashionMnistFile } from "./fashion-mnist.ts";
import { readIdx } from "./idx.ts";
import { skipReason } from "../../test/helpers/skip.ts";

const missing = missingFashionMnistFile();

describe("Fashion-MNIST", () => {
  test("a missing file gives an error naming it and the Debian package", () => {
    const dir = mkdtempSync(join(tmpdir(), "lathe-fmnist-"));
    try {
      expect(() => loadFashionMnist({ split: "test", dir })).toThrow(
        new RegExp(`${join(dir, "t10k-images-idx3-ubyte.gz").replace(/[.]/g, "\\.")} is missing: install it with \`apt-get install dataset-fashion-mnist\``),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.skipIf(missing !== null)(skipReason("real files: counts, shapes, labels", missing !== null && `${missing} is missing; install: apt-get install dataset-fashion-mnist`), () => {
    // The training images are only checked as raw IDX (u8), to keep the test quick.
    const trainImages = readIdx(join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz"));
    expect([trainImages.dtype, ...trainImages.shape]).toEqual(["u8", 60000, 28, 28]);
    const train = readIdx(join(FASHION_MNIST_DIR, "train-labels-idx1-ubyte.gz"));
    const test_ = loadFashionMnist({ split: "test" });
    expect(train.shape).toEqual([60000]);
    expect(test_.x.shape).toEqual([10000, 28, 28]);
    expect(test_.y.shape).toEqual([10000]);
    expect(test_.x.dtype).toBe("f32");
    for (const labels of [train.toArray(), test_.y.toArray()]) {
      const counts = new Array<number>(10).fill(0);
      labels.forEach((c) => counts[c]!++);
      // Fashion-MNIST is balanced: 6000 / 1000 of each class 0–9.
      expect(counts).toEqual(new Array<number>(10).fill(labels.length / 10));
    }
    const x = test_.x.data as Float32Array;
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < x.length; i++) { lo = Math.min(lo, x[i]!); hi = Math.max(hi, x[i]!); }
    expect([lo, hi]).toEqual([0, 1]);
  });
});
