import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { MajorityVote } from "./aggregators.ts";
import { GLAD, gladObjective } from "./glad.ts";
import { LabelSet } from "./labels.ts";
import { labelError, simulateCrowd } from "./simulate.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const T = 360_000; // the first test to use a graph compiles it (several minutes when the host is busy)

const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = "") => {
  expect(got.length, what).toBe(want.length);
  for (let k = 0; k < want.length; k++) {
    if (!(Math.abs(got[k]! - want[k]!) <= tol)) expect.fail(`${what}[${k}]: got ${got[k]}, want ${want[k]} (tol ${tol})`);
  }
};

describe("GLAD", () => {
  test("unanimous labels: GLAD returns them with high confidence", async () => {
    const ls = LabelSet.fromTriples(["i1", "i2", "i3", "i4"].flatMap((i) => ["u", "v", "w"].map((w) => [i, w, "b"] as const)), { classes: ["a", "b", "c"] });
    const r = await new GLAD().fit(ls);
    expect([...r.labels]).toEqual([1, 1, 1, 1]);
    for (let i = 0; i < 4; i++) expect(r.posteriors[i * 3 + 1]).toBeGreaterThan(0.99);
    expect(r.converged).toBe(true);
    // Agreeing workers gain ability above the prior mean; every β stays positive.
    for (const a of r.alphas) expect(a).toBeGreaterThan(1);
    for (const b of r.betas) expect(b).toBeGreaterThan(0);
  }, T);

  test("two spammers among good workers: lowest abilities, and fewer errors than majority vote (seeded)", async () => {
    // Workers 0-3 good (accuracy 0.7-0.9), 4-5 spammers (uniform answers).
    const sim = simulateCrowd({ numItems: 300, numClasses: 3, workers: { good: 4, spammer: 2 }, labelsPerItem: 4, seed: 1 });
    const r = await new GLAD().fit(sim.labels);
    const mv = await new MajorityVote().fit(sim.labels);
    const good = Math.min(...r.alphas.subarray(0, 4)), spam = Math.max(...r.alphas.subarray(4));
    expect(spam).toBeLessThan(good);
    expect(spam).toBeLessThan(0); // a uniform answerer is right 1/3 of the time: σ(αβ) = 1/3 needs α < 0
    const eg = labelError(r.labels, sim.truth), em = labelError(mv.labels, sim.truth);
    expect(eg).toBeLessThan(em);
    // The seeded numbers, so a change is seen: MV 60/300 wrong, GLAD 42/300.
    expect([em, eg].map((e) => Math.round(e * 300))).toEqual([60, 42]);
  }, T);

  test("one spammer among four good workers: the lowest ability and fewer errors than majority vote, for every seed 1-6", async () => {
    // (With 2 classes and 3 labels per item the gain is not uniform: a weighted vote rarely overturns a 2-1 majority.)
    for (let seed = 1; seed <= 6; seed++) {
      const sim = simulateCrowd({ numItems: 200, numClasses: 3, workers: { good: 4, spammer: 1 }, labelsPerItem: 4, seed });
      const r = await new GLAD().fit(sim.labels);
      const mv = await new MajorityVote().fit(sim.labels);
      expect(r.alphas[4], `seed ${seed}`).toBeLessThan(Math.min(...r.alphas.subarray(0, 4)));
      expect(labelError(r.labels, sim.truth), `seed ${seed}`).toBeLessThan(labelError(mv.labels, sim.truth));
    }
  }, T);

  test("the M-step gradient equals central finite differences of the objective", async () => {
    const sim = simulateCrowd({ numItems: 12, numClasses: 3, workers: { good: 2, biased: 1, spammer: 1 }, labelsPerItem: 3, seed: 5 });
    const ls = sim.labels, I = ls.numItems, W = ls.numWorkers, K = ls.numClasses;
    const rng = new Rng(9);
    const post = new Float64Array(I * K);
    for (let i = 0; i < I; i++) {
      const row = Array.from({ length: K }, () => rng.uniform(0.1, 1)), s = row.reduce((a, b) => a + b, 0);
      row.forEach((x, c) => { post[i * K + c] = x / s; });
    }
    const alpha = Float64Array.from({ length: W }, () => rng.uniform(-1, 2));
    const logBeta = Float64Array.from({ length: I }, () => rng.uniform(-0.5, 1.5));
    const opts = { alphaPriorMean: 0.7, betaPriorMean: 1.2 };
    const at = await gladObjective(ls, post, alpha, logBeta, opts);
    const h = 1e-5;
    const fd = async (x: Float64Array, k: number) => {
      const keep = x[k]!;
      x[k] = keep + h; const up = (await gladObjective(ls, post, alpha, logBeta, opts)).value;
      x[k] = keep - h; const down = (await gladObjective(ls, post, alpha, logBeta, opts)).value;
      x[k] = keep;
      return (up - down) / (2 * h);
    };
    for (let w = 0; w < W; w++) expect(Math.abs(at.gradAlpha[w]! - (await fd(alpha, w)))).toBeLessThan(1e-6);
    for (let i = 0; i < I; i++) expect(Math.abs(at.gradLogBeta[i]! - (await fd(logBeta, i)))).toBeLessThan(1e-6);
    // And the objective itself, summed by hand.
    let q = 0;
    for (let n = 0; n < ls.numLabels; n++) {
      const a = alpha[ls.worker[n]!]! * Math.exp(logBeta[ls.item[n]!]!), s = 1 / (1 + Math.exp(-a)), d = post[ls.item[n]! * K + ls.label[n]!]!;
      q += d * Math.log(s) + (1 - d) * (Math.log(1 - s) - Math.log(K - 1));
    }
    for (const a of alpha) q -= 0.5 * (a - 0.7) ** 2;
    for (const b of logBeta) q -= 0.5 * (b - 1.2) ** 2;
    expect(Math.abs(at.value - q)).toBeLessThan(1e-10);
  }, T);

  test("the padded and masked segment strategies agree", async () => {
    const ls = simulateCrowd({ numItems: 40, numClasses: 3, workers: { good: 3, spammer: 2 }, labelsPerItem: 3, seed: 7 }).labels;
    const a = await new GLAD({ maxIter: 15 }).fit(ls), b = await new GLAD({ maxIter: 15, segments: "masked" }).fit(ls);
    expect(b.iterations).toBe(a.iterations);
    expectClose(b.posteriors, a.posteriors, 1e-9, "posteriors");
    expectClose(b.alphas, a.alphas, 1e-9, "alphas");
  }, T);

  test("options and label sets are checked", async () => {
    expect(() => new GLAD({ maxIter: 0 })).toThrow(LatheError);
    expect(() => new GLAD({ mStepIters: 1.5 })).toThrow(/mStepIters/);
    expect(() => new GLAD({ stepSize: 0 })).toThrow(/stepSize/);
    expect(() => new GLAD({ alphaPriorMean: Number.NaN })).toThrow(/alphaPriorMean/);
    const one = LabelSet.fromTriples([["i", "u", "x"]]);
    await expect(new GLAD().fit(one)).rejects.toThrow(/at least 2 classes/);
    const two = LabelSet.fromTriples([["i", "u", "x"], ["i", "v", "y"]]);
    await expect(new GLAD({ prior: [1, 2, 3] }).fit(two)).rejects.toThrow(/prior/);
  });
});

const PYTHON = "/usr/bin/python3";
const REFERENCE = fileURLToPath(new URL("./testdata/glad_reference.py", import.meta.url));
const numpyMissing = ((): string | null => {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ["-c", "import numpy"], { encoding: "utf8" });
  return r.status === 0 ? null : `${PYTHON} has no numpy (${(r.stderr || "").trim().split("\n").at(-1)})`;
})();

interface Opts { maxIter: number; tol: number; mStepIters: number; mStepTol: number; stepSize: number; alphaPriorMean: number; betaPriorMean: number }
interface Reference { posteriors: number[]; alphas: number[]; betas: number[]; objective: number; iterations: number; converged: boolean }
function numpyGlad(ls: LabelSet, opts: Opts): Reference {
  const input = JSON.stringify({
    item: [...ls.item], worker: [...ls.worker], label: [...ls.label],
    numItems: ls.numItems, numWorkers: ls.numWorkers, numClasses: ls.numClasses, ...opts,
  });
  const r = spawnSync(PYTHON, [REFERENCE], { input, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`glad_reference.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Reference;
}

describe("GLAD against a NumPy reference of the same update rules", () => {
  if (numpyMissing) console.warn(`skipping the GLAD NumPy reference test: ${numpyMissing}`);
  test.skipIf(numpyMissing !== null)(skipReason("posteriors, abilities and difficulties to 1e-6", numpyMissing !== null && NEEDS.numpy), async () => {
    const base = { stepSize: 1, alphaPriorMean: 1, betaPriorMean: 1 };
    const crowds = [
      // A fixed number of iterations and ascent steps from the same (majority-vote) start.
      { ls: simulateCrowd({ numItems: 120, numClasses: 3, workers: { good: 3, biased: 2, spammer: 2, adversarial: 1 }, labelsPerItem: 4, seed: 11 }).labels, opts: { ...base, maxIter: 8, tol: 0, mStepIters: 5, mStepTol: 0 } },
      { ls: simulateCrowd({ numItems: 80, numClasses: 4, workers: { good: 2, biased: 3, spammer: 1 }, labelsPerItem: 3, seed: 12 }).labels, opts: { ...base, maxIter: 6, tol: 0, mStepIters: 3, mStepTol: 0, stepSize: 2, alphaPriorMean: 0.5, betaPriorMean: 0 } },
      // The defaults, run to convergence.
      { ls: simulateCrowd({ numItems: 100, numClasses: 2, workers: { good: 3, spammer: 2 }, labelsPerItem: 3, seed: 13 }).labels, opts: { ...base, maxIter: 100, tol: 1e-6, mStepIters: 25, mStepTol: 1e-2 } },
      // Items labelled by different numbers of workers, an unlabelled item, a worker without labels.
      { ls: LabelSet.fromIndices({ item: [0, 0, 0, 1, 2, 2, 4], worker: [0, 1, 2, 1, 0, 2, 1], label: [1, 1, 0, 0, 1, 0, 1] }, { numItems: 5, numWorkers: 4, numClasses: 2 }), opts: { ...base, maxIter: 10, tol: 0, mStepIters: 4, mStepTol: 0 } },
    ];
    for (const { ls, opts } of crowds) {
      const want = numpyGlad(ls, opts);
      const got = await new GLAD(opts).fit(ls);
      expect(got.iterations).toBe(want.iterations);
      expect(got.converged).toBe(want.converged);
      expectClose(got.posteriors, want.posteriors, 1e-6, "posteriors");
      expectClose(got.alphas, want.alphas, 1e-6, "alphas");
      expectClose(got.betas, want.betas, 1e-6, "betas");
      expect(Math.abs(got.objective - want.objective)).toBeLessThan(1e-6 * Math.max(1, Math.abs(want.objective)));
    }
  }, T);
});
