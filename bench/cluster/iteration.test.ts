/**
 * `lathe bench cluster`'s scikit-learn side (sklearn_iter.py) computes the same iteration as
 * Lathe's graphs on a tiny seeded set: one Lloyd step's new centres, one full-covariance GMM
 * EM step's new means, both from the same start. Correctness only; no timing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { emStepper } from "../../models/cluster/gmm.ts";
import { kmeansData, kmeansPlusPlus, lloydIteration } from "../../models/cluster/kmeans.ts";
import { blobs } from "../../models/data/synthetic.ts";
import type { Points } from "../../models/cluster/types.ts";
import { skipReason } from "../../test/helpers/skip.ts";
import { relDiff, sklearnMissing, startSklearn } from "./index.ts";

const missing = sklearnMissing();
const dir = mkdtempSync(join(tmpdir(), "lathe-bench-cluster-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const set = blobs({ n: 240, centers: 3, dim: 6, std: 1.5, box: 4, seed: 9 });
const points: Points = { data: set.x.data as Float32Array, n: 240, d: 6 };

describe.skipIf(missing !== null)(skipReason("sklearn_iter.py against Lathe's iterations", missing), () => {
  it("one Lloyd step gives the same new centres", async () => {
    const data = await kmeansData(points, 3);
    const centers = await kmeansPlusPlus(data, new Rng(1));
    const lathe = await lloydIteration(data, centers);
    const sk = await startSklearn("lloyd", new Tensor(points.data, [240, 6], "f32"), new Tensor(centers, [3, 6], "f32"), dir);
    try {
      expect(relDiff(lathe.centers, sk.first)).toBeLessThanOrEqual(1e-5);
      expect(await sk.side.once()).toBeGreaterThan(0);
    } finally { sk.side.close(); }
  }, 120_000);

  it("one full-covariance EM step gives the same new means", async () => {
    const means = Float64Array.from([-3, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0]);
    const stepper = await emStepper(points, { k: 3, covarianceType: "full" }, means);
    await stepper.step();
    const sk = await startSklearn("gmm", new Tensor(Float64Array.from(points.data), [240, 6], "f64"), new Tensor(means, [3, 6], "f64"), dir);
    try {
      expect(relDiff(stepper.means(), sk.first)).toBeLessThanOrEqual(1e-9);
    } finally { sk.side.close(); }
  }, 120_000);
});
