import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { Rng, permutation } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { subset } from "../data/dataset.ts";
import { blobs } from "../data/synthetic.ts";
import { loadSklearnDigits, missingSklearnDigits } from "../data/sklearn-digits.ts";
import { MlpClassifier } from "./mlp-classifier.ts";
import { RbfSvm, confidenceWeights, inverseCholeskyT } from "./svm.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const T = 120_000; // the first test to use a graph compiles it

const accuracy = (pred: ArrayLike<number>, y: ArrayLike<number>): number => {
  let c = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) c++;
  return c / y.length;
};

/** Two concentric circles (radius 1 and 2, noise 0.15): class = the outer circle. */
function circles(n: number, seed: number): { x: Tensor; y: Int32Array } {
  const rng = new Rng(seed), x = new Float32Array(n * 2), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2, a = rng.uniform(0, 2 * Math.PI), r = 1 + c + 0.15 * rng.normal();
    x[2 * i] = r * Math.cos(a); x[2 * i + 1] = r * Math.sin(a); y[i] = c;
  }
  return { x: new Tensor(x, [n, 2], "f32"), y };
}

describe("RbfSvm", () => {
  test("concentric circles: the RBF SVM separates them, a linear model cannot; seeded fits repeat", async () => {
    const train = circles(200, 1), test_ = circles(200, 2);
    const svm = await new RbfSvm({ C: 10, components: 100, seed: 3 }).fit(train.x, train.y);
    const acc = accuracy(await svm.predict(test_.x), test_.y);
    expect(acc).toBeGreaterThanOrEqual(0.95);
    const linear = await new MlpClassifier({ hidden: [], epochs: 50, batchSize: 50, lr: 0.05, seed: 3 }).fit(train.x, train.y);
    expect(accuracy(linear.predict(test_.x), test_.y)).toBeLessThan(0.7);
    const again = await new RbfSvm({ C: 10, components: 100, seed: 3 }).fit(train.x, train.y);
    expect([...(await again.decisionFunction(test_.x))]).toEqual([...(await svm.decisionFunction(test_.x))]);
    const p = await svm.predictProba(test_.x);
    for (let i = 0; i < 200; i++) expect(p[2 * i]! + p[2 * i + 1]!).toBeCloseTo(1, 12);
  }, T);

  test("per-sample weights: zero weight on a class's samples removes that class from the predictions", async () => {
    const d = blobs({ n: 240, centers: 3, dim: 2, std: 0.6, box: 6, seed: 5 });
    const y = d.y.data as Int32Array;
    const plain = await new RbfSvm({ C: 10, components: 120, epochs: 150, seed: 1 }).fit(d.x, y);
    const before = await plain.predict(d.x);
    expect(accuracy(before, y)).toBeGreaterThan(0.9);
    expect(before.filter((c) => c === 0).length).toBeGreaterThan(60);
    const w = Float32Array.from(y, (c) => (c === 0 ? 0 : 1));
    const weighted = await new RbfSvm({ C: 10, components: 120, epochs: 150, seed: 1 }).fit(d.x, y, w);
    const after = await weighted.predict(d.x);
    expect(after.filter((c) => c === 0).length).toBe(0);
    // The other classes are still told apart.
    expect(accuracy(after.filter((_, i) => y[i] !== 0), y.filter((c) => c !== 0))).toBeGreaterThan(0.9);
  }, T);

  test("Nyström pieces: R = C⁻ᵀ whitens the landmark kernel; confidence weights are the max posterior", () => {
    const k = [4, 2, 0.5, 2, 3, 1, 0.5, 1, 2]; // symmetric positive definite
    const r = inverseCholeskyT(k, 3);
    // Rᵀ K R = I (up to the 1e-6 jitter and f32 rounding).
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) s += r[a * 3 + i]! * k[a * 3 + b]! * r[b * 3 + j]!;
      expect(s).toBeCloseTo(i === j ? 1 : 0, 5);
    }
    expect([...confidenceWeights([0.2, 0.8, 0.5, 0.5, 1, 0], 2)]).toEqual([0.800000011920929, 0.5, 1]);
  });
});

const PYTHON = "/usr/bin/python3";
const REFERENCE = fileURLToPath(new URL("./testdata/svc_reference.py", import.meta.url));
const sklearnMissing = ((): string | null => {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ["-c", "import sklearn"], { encoding: "utf8" });
  if (r.status !== 0) return `${PYTHON} has no scikit-learn (${(r.stderr || "").trim().split("\n").at(-1)})`;
  return missingSklearnDigits();
})();

const rowsOf = (t: Tensor): number[][] => {
  const f = t.size / t.shape[0]!, d = t.data as Float32Array;
  return Array.from({ length: t.shape[0]! }, (_, i) => Array.from(d.subarray(i * f, (i + 1) * f)));
};

describe("RbfSvm against scikit-learn's SVC(C=10, kernel='rbf', gamma='scale')", () => {
  if (sklearnMissing) console.warn(`skipping the scikit-learn cross-check: ${sklearnMissing}`);
  test.skipIf(sklearnMissing !== null)(skipReason("digits, 400 train / 200 test: accuracy within 2 points", sklearnMissing !== null && NEEDS.sklearn), async () => {
    const all = loadSklearnDigits();
    const order = permutation(all.y.size, new Rng(1));
    const train = subset(all, order.slice(0, 400)), test_ = subset(all, order.slice(400, 600));
    const yTest = test_.y.data as Int32Array;
    const input = JSON.stringify({ xTrain: rowsOf(train.x), yTrain: [...train.y.data], xTest: rowsOf(test_.x), yTest: [...yTest], C: 10, weights: null });
    const r = spawnSync(PYTHON, [REFERENCE], { input, encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`svc_reference.py failed: ${r.stderr}`);
    const ref = JSON.parse(r.stdout) as { accuracy: number; gamma: number };
    const svm = await new RbfSvm({ C: 10, seed: 0 }).fit(train.x, train.y);
    const acc = accuracy(await svm.predict(test_.x), yTest);
    expect(svm.gamma).toBeCloseTo(ref.gamma, 6);
    console.log(`digits 400/200: Lathe RbfSvm ${acc.toFixed(3)}, scikit-learn SVC ${ref.accuracy.toFixed(3)}`);
    expect(Math.abs(acc - ref.accuracy)).toBeLessThanOrEqual(0.02);
    expect(acc).toBeGreaterThanOrEqual(0.95);
  }, T);
});
