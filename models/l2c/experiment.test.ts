import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { listExperiments } from "../lib/discover-experiments.ts";
import { METHODS, run } from "./experiment.ts";

const hasSklearn = spawnSync("/usr/bin/python3", ["-c", "import sklearn, threadpoolctl"]).status === 0;

describe("lathe experiment l2c", () => {
  test("is found by `lathe experiment`", () => expect(listExperiments()).toContain("l2c"));
  test("a tiny run reports every method's MR, NMI and k accuracy in EXPERIMENTS.md's names, with its plots", async () => {
    // models/cluster/l2c.test.ts's network and sets, so the two share compiled kernels.
    const report = await run({ quick: true, seeds: [0] }, {
      trainSeconds: 20, steps: 6, testSets: 8, validationSets: 4, n: 16, batchSize: 16,
      arch: { kMax: 3, hidden: 16, layers: 1, countHidden: 8, countFc: 16 },
    });
    const m = report.metrics;
    for (const method of METHODS.filter((x) => x !== "sklearn_kmeans_true_k" || hasSklearn)) {
      expect(m[`points2d.${method}.mr`], method).toBeGreaterThanOrEqual(0);
      expect(m[`points2d.${method}.nmi`], method).toBeGreaterThanOrEqual(0);
    }
    for (const told of ["kmeans_true_k", "sklearn_kmeans_true_k"]) expect(m[`points2d.${told}.k_accuracy`]).toBeNull();
    for (const chooses of ["l2c", "kmeans_silhouette", "random"]) {
      const k = m[`points2d.${chooses}.k_accuracy`] as number;
      expect(k).toBeGreaterThanOrEqual(0);
      expect(k).toBeLessThanOrEqual(1);
    }
    // Lathe's k-means and scikit-learn's, both told k with 10 k-means++ restarts, agree on these sets.
    if (hasSklearn) expect(Math.abs((m["points2d.kmeans_true_k.mr"] as number) - (m["points2d.sklearn_kmeans_true_k.mr"] as number))).toBeLessThan(0.05);
    expect(report.plots).toEqual(["sets", "training-loss", "validation-mr"]);
    expect(report.notes.some((n) => n.startsWith("bar (2-D, not told k: MR ≤ 0.02 and NMI ≥ 0.95)"))).toBe(true);
  }, 600_000);
});
