import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { skipReason } from "../../test/helpers/skip.ts";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { blobs } from "../data/synthetic.ts";
import { clusterAccuracy } from "../lib/cluster-metrics.ts";
import { kmeans, kmeansData, kmeansPlusPlus, lloyd, lloydIteration, loadKmeans } from "./kmeans.ts";
import type { Points } from "./types.ts";

const T = 180_000;
const dir = mkdtempSync(join(tmpdir(), "lathe-kmeans-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pointsOf = (x: { data: unknown; shape: readonly number[] }): Points => ({ data: x.data as Float32Array, n: x.shape[0]!, d: x.shape[1]! });
const randomPoints = (n: number, d: number, seed: number): Points => {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: n * d }, () => rng.uniform(-1, 1)), n, d };
};

describe("k-means", () => {
  test("recovers seeded well-separated blobs exactly, and k-means++ puts one centre in each blob", async () => {
    const set = blobs({ n: 240, centers: 3, dim: 2, std: 0.4, box: 10, seed: 4 });
    const points = pointsOf(set.x), truth = set.y.data as Int32Array;
    const { fit, model, centers } = await kmeans(points, { k: 3, seed: 1 });
    expect(clusterAccuracy(fit.labels, truth)).toBe(1);
    expect(fit.converged).toBe(true);
    expect(fit.k).toBe(3);
    expect(centers).toHaveLength(6);
    expect(model).toMatchObject({ method: "kmeans", k: 3, d: 2 });
    expect(Array.from(await model.predict(points))).toEqual(Array.from(fit.labels));
    const init = await kmeansPlusPlus(await kmeansData(points, 3), new Rng(2));
    const initLabels = await lloydIteration(await kmeansData(points, 3), init);
    expect(clusterAccuracy(initLabels.labels, truth)).toBe(1);
    // Progress: called per iteration and once per restart, never past the total.
    const seen: [number, number][] = [];
    await kmeans(points, { k: 3, seed: 1, nInit: 2, maxIter: 50, onProgress: (done, total) => seen.push([done, total]) });
    expect(seen.at(-1)).toEqual([100, 100]);
    expect(seen.every(([d, t], i) => d <= t && (i === 0 || d >= seen[i - 1]![0]))).toBe(true);
  }, T);

  test("one Lloyd iteration equals a plain f64 computation (labels, means)", async () => {
    const points = randomPoints(300, 3, 7), k = 4;
    const data = await kmeansData(points, k);
    const init = points.data.slice(0, k * 3);
    const step = await lloydIteration(data, init);
    const { n, d, data: xs } = points;
    const sums = new Float64Array(k * d), count = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      let best = 0, bestD = Infinity;
      for (let j = 0; j < k; j++) {
        let s = 0;
        for (let f = 0; f < d; f++) s += (xs[i * d + f]! - init[j * d + f]!) ** 2;
        if (s < bestD) { bestD = s; best = j; }
      }
      expect(step.labels[i], `point ${i}`).toBe(best);
      count[best]!++;
      for (let f = 0; f < d; f++) sums[best * d + f]! += xs[i * d + f]!;
    }
    for (let j = 0; j < k * d; j++) expect(Math.abs(step.centers[j]! - sums[j]! / count[Math.floor(j / d)]!)).toBeLessThan(1e-5);
    expect(step.repaired).toBe(0);
  }, T);

  test("an empty cluster's centre moves to the point farthest from its centre, which leaves its old cluster", async () => {
    // Centres [0, .5], [100, 100] (nobody's nearest), [12, .5]: the second is empty; the farthest
    // point from its own centre is [20, 0] (64.25 from [12, .5]).
    const points: Points = { data: Float32Array.from([0, 0, 0, 1, 10, 0, 10, 1, 20, 0]), n: 5, d: 2 };
    const step = await lloydIteration(await kmeansData(points, 3), Float32Array.from([0, 0.5, 100, 100, 12, 0.5]));
    expect(Array.from(step.labels)).toEqual([0, 0, 2, 2, 2]);
    expect(step.repaired).toBe(1);
    expect(Array.from(step.centers)).toEqual([0, 0.5, 20, 0, 10, 0.5]);
    expect(step.shift).toBeCloseTo(80 ** 2 + 100 ** 2 + 2 ** 2, 3); // centres 2 and 3 moved
  }, T);

  test("bad k and bad points are one-line errors", async () => {
    const points = randomPoints(5, 2, 1);
    await expect(kmeans(points, { k: 6 })).rejects.toThrow("kmeans: k = 6 is more than the 5 points");
    await expect(kmeans(points, { k: 0 })).rejects.toThrow("kmeans: k must be a positive integer, got 0");
    await expect(kmeans(points, { k: 2, nInit: 0 })).rejects.toThrow(LatheError);
    await expect(kmeans({ data: new Float32Array(3), n: 2, d: 2 }, { k: 1 })).rejects.toThrow("points data must be a Float32Array of n·d = 4 numbers, got 3");
  });

  test("save then load: the same centres and labels; bad model directories are one-line errors", async () => {
    const points = randomPoints(100, 2, 3);
    const { fit, model, centers } = await kmeans(points, { k: 3, seed: 5 });
    const m = join(dir, "model");
    model.save(m);
    expect(JSON.parse(readFileSync(join(m, "model.json"), "utf8"))).toMatchObject({ format: "lathe-cluster", version: 1, method: "kmeans", k: 3, d: 2, arrays: ["centers"] });
    const back = loadKmeans(m);
    expect(back).toMatchObject({ method: "kmeans", k: 3, d: 2 });
    expect(Array.from((back as unknown as { centers: Float32Array }).centers)).toEqual(Array.from(centers));
    expect(Array.from(await back.predict(points))).toEqual(Array.from(fit.labels));
    await expect(back.predict({ data: new Float32Array(3), n: 1, d: 3 })).rejects.toThrow("the points have 3 features, the model 2");

    expect(() => loadKmeans(join(dir, "nowhere"))).toThrow(`${join(dir, "nowhere")}: no such model directory`);
    const bad = join(dir, "bad");
    model.save(bad);
    writeFileSync(join(bad, "model.json"), "{ not json");
    expect(() => loadKmeans(bad)).toThrow(/model\.json: not valid JSON/);
    writeFileSync(join(bad, "model.json"), JSON.stringify({ format: "lathe-cluster", version: 1, method: "gmm", k: 3, d: 2 }));
    expect(() => loadKmeans(bad)).toThrow("holds a gmm model, not kmeans");
    writeFileSync(join(bad, "model.json"), JSON.stringify({ format: "lathe-cluster", version: 1, method: "kmeans", k: 4, d: 2 }));
    expect(() => loadKmeans(bad)).toThrow("centers.npy: shape [3, 2], expected [4, 2] (from model.json)");
    writeFileSync(join(bad, "model.json"), JSON.stringify({ format: "lathe-cluster", version: 1, method: "kmeans", k: 0, d: 2 }));
    expect(() => loadKmeans(bad)).toThrow(`field "k" must be a positive integer, got 0`);
    rmSync(join(bad, "model.json"));
    expect(() => loadKmeans(bad)).toThrow("model.json: missing");
  }, T);
});

const PYTHON = "/usr/bin/python3";
const sklearnMissing = ((): string | null => {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (apt-get install python3)`;
  const r = spawnSync(PYTHON, ["-c", "import sklearn"], { encoding: "utf8" });
  return r.status === 0 ? null : `${PYTHON} has no scikit-learn (apt-get install python3-sklearn)`;
})();

const SKLEARN = `
import json, sys
import numpy as np
from sklearn.cluster import KMeans
a = json.load(sys.stdin)
X = np.array(a["x"], dtype=np.float32).reshape(a["n"], a["d"])
init = np.array(a["init"], dtype=np.float32).reshape(a["k"], a["d"])
km = KMeans(n_clusters=a["k"], init=init, n_init=1, max_iter=a["maxIter"], tol=a["tol"], algorithm="lloyd").fit(X)
print(json.dumps({"inertia": float(km.inertia_), "iterations": int(km.n_iter_), "labels": km.labels_.tolist()}))
`;

describe("k-means against scikit-learn", () => {
  if (sklearnMissing) console.warn(`skipping the scikit-learn comparison: ${sklearnMissing}`);
  test.skipIf(sklearnMissing !== null)(skipReason(`the same inertia (1e-4 relative), labels and iterations from the same initial centres`, sklearnMissing), async () => {
    for (const [seed, tol, maxIter] of [[11, 1e-4, 300], [12, 0, 300], [13, 1e-4, 3]] as const) {
      const points = randomPoints(400, 3, seed), k = 4;
      const data = await kmeansData(points, k);
      const init = await kmeansPlusPlus(data, new Rng(seed));
      const ours = await lloyd(data, init, { tol, maxIter });
      const r = spawnSync(PYTHON, ["-c", SKLEARN], { input: JSON.stringify({ x: Array.from(points.data), n: points.n, d: points.d, k, init: Array.from(init), tol, maxIter }), encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const want = JSON.parse(r.stdout) as { inertia: number; iterations: number; labels: number[] };
      expect(Math.abs(ours.inertia - want.inertia) / want.inertia, `seed ${seed}: ${ours.inertia} vs ${want.inertia}`).toBeLessThan(1e-4);
      expect(ours.iterations, `seed ${seed} iterations`).toBe(want.iterations);
      expect(Array.from(ours.labels)).toEqual(want.labels);
    }
  }, T);
});
