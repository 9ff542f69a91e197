import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { skipReason } from "../../test/helpers/skip.ts";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import {
  adjustedRandIndex, clusterAccuracy, clusterScores, contingency, matchClusters, misclassificationRate, normalizedMutualInfo, silhouetteScore,
} from "./cluster-metrics.ts";

describe("clustering metrics on hand-worked cases", () => {
  test("a relabelled perfect clustering scores 1 everywhere; label values need not be 0…k−1", () => {
    for (const [pred, truth] of [[[0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 2, 2]], [[5, 5, -1, -1], [10, 10, 3, 3]]]) {
      const s = clusterScores(pred!, truth!);
      expect([s.acc, s.mr, s.ari]).toEqual([1, 0, 1]);
      expect(s.nmi).toBeCloseTo(1, 15); // MI / H in floating point
    }
  });

  test("two clusters over three classes: ACC 4/6, NMI (4/3)ln2/ln6, ARI 8/33", () => {
    const pred = [0, 0, 0, 1, 1, 1], truth = [0, 0, 1, 1, 2, 2];
    // Table rows (clusters) [2 1 0], [0 1 2]: the best matching is 0→0, 1→2, 4 points.
    const c = contingency(pred, truth);
    expect(Array.from(c.counts)).toEqual([2, 1, 0, 0, 1, 2]);
    expect(Array.from(matchClusters(c))).toEqual([0, 2]);
    expect(clusterAccuracy(pred, truth)).toBeCloseTo(4 / 6, 15);
    expect(misclassificationRate(pred, truth)).toBeCloseTo(2 / 6, 15);
    // MI = (2/3) ln 2; H(pred) = ln 2, H(truth) = ln 3.
    expect(normalizedMutualInfo(pred, truth)).toBeCloseTo((2 / 3) * Math.LN2 / ((Math.LN2 + Math.log(3)) / 2), 14);
    // Σ C(nij, 2) = 2, expected 6·3/15 = 1.2, max (6+3)/2 = 4.5: (2 − 1.2)/(4.5 − 1.2).
    expect(adjustedRandIndex(pred, truth)).toBeCloseTo(8 / 33, 14);
  });

  test("more clusters than classes: the unmatched clusters' points are errors", () => {
    const c = contingency([0, 1, 2, 3], [0, 0, 1, 1]);
    const m = Array.from(matchClusters(c));
    expect(m.filter((k) => k === -1)).toHaveLength(2);
    expect(new Set(m.filter((k) => k >= 0))).toEqual(new Set([0, 1]));
    expect(clusterAccuracy([0, 1, 2, 3], [0, 0, 1, 1])).toBe(0.5);
    expect(misclassificationRate([0, 0, 0, 0, 1, 1, 2, 3], [0, 0, 0, 0, 1, 1, 1, 1])).toBe(2 / 8);
  });

  test("one-cluster conventions: both one cluster → NMI 1; exactly one of them → 0", () => {
    expect(normalizedMutualInfo([3, 3, 3], [1, 1, 1])).toBe(1);
    expect(normalizedMutualInfo([0, 0, 0], [0, 1, 2])).toBe(0);
    expect(normalizedMutualInfo([0, 1, 2], [7, 7, 7])).toBe(0);
    expect(adjustedRandIndex([0, 0, 0], [0, 1, 2])).toBe(0);
    expect(adjustedRandIndex([4, 4], [2, 2])).toBe(1);
    expect(clusterAccuracy([0, 0, 0], [0, 1, 2])).toBeCloseTo(1 / 3, 15);
    expect(clusterAccuracy([3, 3, 3], [1, 1, 1])).toBe(1); // a 1 × 1 table
  });

  test("scores do not depend on how clusters are numbered", () => {
    const rng = new Rng(5);
    const truth = Array.from({ length: 50 }, () => rng.int(0, 4)), pred = Array.from({ length: 50 }, () => rng.int(0, 5));
    const perm = [3, 0, 4, 1, 2];
    expect(clusterScores(pred.map((p) => perm[p]!), truth)).toEqual(clusterScores(pred, truth));
  });

  test("bad labels are one-line LatheErrors", () => {
    expect(() => clusterAccuracy([0, 1], [0])).toThrow(LatheError);
    expect(() => clusterAccuracy([0, 1], [0])).toThrow("contingency: 2 predicted labels but 1 true labels");
    expect(() => normalizedMutualInfo([0, 0.5], [0, 1])).toThrow("predicted label 1 is 0.5, not an integer");
  });
});

const PYTHON = "/usr/bin/python3";
const sklearnMissing = ((): string | null => {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (apt-get install python3)`;
  const r = spawnSync(PYTHON, ["-c", "import sklearn, scipy"], { encoding: "utf8" });
  return r.status === 0 ? null : `${PYTHON} has no scikit-learn/scipy (apt-get install python3-sklearn)`;
})();

const SKLEARN = `
import json, sys
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix
out = []
for case in json.load(sys.stdin):
    p, t = np.array(case["pred"]), np.array(case["truth"])
    c = contingency_matrix(t, p)
    r, k = linear_sum_assignment(-c)
    out.append({"acc": float(c[r, k].sum() / len(t)),
                "nmi": float(normalized_mutual_info_score(t, p, average_method="arithmetic")),
                "ari": float(adjusted_rand_score(t, p))})
print(json.dumps(out))
`;

describe("clustering metrics against scikit-learn", () => {
  if (sklearnMissing) console.warn(`skipping the scikit-learn comparison: ${sklearnMissing}`);
  test.skipIf(sklearnMissing !== null)(skipReason(`ACC (scipy's assignment), NMI (arithmetic), ARI on seeded labelings to 1e-12`, sklearnMissing), () => {
    const rng = new Rng(17);
    const cases = [
      { n: 200, kp: 5, kt: 5, agree: 0.6 },
      { n: 300, kp: 8, kt: 4, agree: 0.5 }, // more clusters than classes
      { n: 150, kp: 3, kt: 6, agree: 0.3 }, // fewer clusters than classes
      { n: 500, kp: 10, kt: 10, agree: 0 }, // independent
      { n: 1000, kp: 10, kt: 10, agree: 0.9 },
    ].map(({ n, kp, kt, agree }) => {
      const truth = Array.from({ length: n }, () => rng.int(0, kt));
      const pred = truth.map((t) => (rng.float() < agree ? (t * 7 + 3) % kp : rng.int(0, kp)));
      return { pred, truth };
    });
    const r = spawnSync(PYTHON, ["-c", SKLEARN], { input: JSON.stringify(cases), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const want = JSON.parse(r.stdout) as { acc: number; nmi: number; ari: number }[];
    cases.forEach(({ pred, truth }, i) => {
      const got = clusterScores(pred, truth);
      expect(Math.abs(got.acc - want[i]!.acc), `case ${i} acc`).toBeLessThan(1e-12);
      expect(Math.abs(got.nmi - want[i]!.nmi), `case ${i} nmi`).toBeLessThan(1e-12);
      expect(Math.abs(got.ari - want[i]!.ari), `case ${i} ari`).toBeLessThan(1e-12);
    });
  });
});

describe("silhouette", () => {
  test("a hand-worked case: two pairs on a line and a point alone", () => {
    // Points 0, 1 | 4, 6 | 10 (1-D). Point 0: a = 1, b = min(mean(4, 6), 10) = 5 → 0.8;
    // point 1: a = 1, b = min(4, 9) = 4 → 0.75; point 4: a = 2, b = min(3.5, 6) = 3.5 → 1.5/3.5;
    // point 6: a = 2, b = min(4, 5.5) = 4 → 0.5; point 10 alone → 0.
    const got = silhouetteScore([0, 1, 4, 6, 10], 5, 1, [0, 0, 1, 1, 2]);
    expect(got).toBeCloseTo((0.8 + 0.75 + 1.5 / 3.5 + 0.5 + 0) / 5, 14);
    expect(() => silhouetteScore([0, 1, 2], 3, 1, [0, 0, 0])).toThrow("silhouette: needs 2 to n − 1 = 2 clusters, got 1");
  });
  test.skipIf(sklearnMissing !== null)(skipReason("equals scikit-learn's silhouette_score on seeded 2-D labellings to 1e-12", sklearnMissing), () => {
    const rng = new Rng(5);
    const cases = [[72, 2], [72, 5], [40, 3]].map(([n, k]) => ({
      x: Array.from({ length: n! * 2 }, () => rng.float()), labels: Array.from({ length: n! }, (_, i) => (i < k! ? i : rng.int(0, k!))),
    }));
    const py = "import json, sys\nimport numpy as np\nfrom sklearn.metrics import silhouette_score\n" +
      "print(json.dumps([float(silhouette_score(np.array(c['x']).reshape(-1, 2), np.array(c['labels']))) for c in json.load(sys.stdin)]))";
    const r = spawnSync(PYTHON, ["-c", py], { input: JSON.stringify(cases), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const want = JSON.parse(r.stdout) as number[];
    cases.forEach((c, i) => expect(Math.abs(silhouetteScore(c.x, c.labels.length, 2, c.labels) - want[i]!), `case ${i}`).toBeLessThan(1e-12));
  });
});
