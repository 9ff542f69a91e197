import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { lt } from "../../train/index.ts";
import { MajorityVote } from "./aggregators.ts";
import { LabelSet } from "./labels.ts";
import { digamma, MACE } from "./mace.ts";
import type { MaceMethod, MaceStart } from "./mace.ts";
import { labelError, simulateCrowd } from "./simulate.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const T = 360_000; // the first test to use a graph compiles it (several minutes when the host is busy)

const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = "") => {
  expect(got.length, what).toBe(want.length);
  for (let k = 0; k < want.length; k++) {
    if (!(Math.abs(got[k]! - want[k]!) <= tol)) expect.fail(`${what}[${k}]: got ${got[k]}, want ${want[k]} (tol ${tol})`);
  }
};

describe("MACE", () => {
  test("digamma in the graph matches known values", async () => {
    const f = lt.compile(({ x }) => digamma(x), { x: { shape: ["n"], dtype: "f64" } });
    const y = await f({ x: Tensor.fromArray([0.5, 1, 2, 10, 10.5, 1e3], [6], "f64") });
    const gamma = 0.5772156649015329;
    // ψ(½) = −γ − 2 ln 2, ψ(1) = −γ, ψ(2) = 1 − γ, ψ(10) = H₉ − γ, ψ(10.5) = ψ(½) + Σ_{j<10} 1/(j + ½), ψ(1000) from the series.
    const h9 = [1, 2, 3, 4, 5, 6, 7, 8, 9].reduce((s, k) => s + 1 / k, 0);
    const half = -gamma - 2 * Math.LN2;
    const want = [half, -gamma, 1 - gamma, h9 - gamma, half + Array.from({ length: 10 }, (_, j) => 1 / (j + 0.5)).reduce((a, b) => a + b, 0), 6.907255195648812];
    expectClose(y.toArray(), want, 1e-11, "digamma");
  }, T);

  test("unanimous labels: MACE (vb, the default) returns them with high confidence; em only as the argmax", async () => {
    const ls = LabelSet.fromTriples(["i1", "i2", "i3", "i4"].flatMap((i) => ["u", "v", "w"].map((w) => [i, w, "b"] as const)), { classes: ["a", "b", "c"] });
    const vb = await new MACE().fit(ls);
    expect([...vb.labels]).toEqual([1, 1, 1, 1]);
    for (let i = 0; i < 4; i++) expect(vb.posteriors[i * 3 + 1]).toBeGreaterThan(0.99);
    for (const c of vb.competence) expect(c).toBeGreaterThan(0.5);
    // Maximum likelihood cannot tell "everyone knows the truth b" from "everyone spams b"
    // (ξ_w = b explains the data as well): smoothed EM drifts to the spamming explanation and
    // keeps b only as a weak argmax. The Beta/Dirichlet priors of vb are what rule it out.
    const em = await new MACE({ method: "em" }).fit(ls);
    expect([...em.labels]).toEqual([1, 1, 1, 1]);
    for (let i = 0; i < 4; i++) expect(em.posteriors[i * 3 + 1]).toBeGreaterThan(1 / 3);
  }, T);

  test("two spammers among good workers: lowest competence, and fewer errors than majority vote (seeded)", async () => {
    const sim = simulateCrowd({ numItems: 300, numClasses: 3, workers: { good: 4, spammer: 2 }, labelsPerItem: 4, seed: 1 });
    const mv = labelError((await new MajorityVote().fit(sim.labels)).labels, sim.truth);
    const errs: number[] = [];
    for (const method of ["vb", "em"] as const) {
      const r = await new MACE({ method, restarts: 3 }).fit(sim.labels);
      expect(Math.max(...r.competence.subarray(4)), method).toBeLessThan(Math.min(...r.competence.subarray(0, 4)));
      expect(Math.max(...r.competence.subarray(4)), method).toBeLessThan(0.1); // spammers: θ near 0
      const e = labelError(r.labels, sim.truth);
      expect(e, method).toBeLessThan(mv);
      errs.push(e);
    }
    // The seeded numbers, so a change is seen: MV 60/300 wrong, MACE vb 43, em 40.
    expect([mv, ...errs].map((e) => Math.round(e * 300))).toEqual([60, 43, 40]);
  }, T);

  test("one spammer among four good workers: the lowest competence and fewer errors than majority vote, for every seed 1-6", async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const sim = simulateCrowd({ numItems: 200, numClasses: 3, workers: { good: 4, spammer: 1 }, labelsPerItem: 4, seed });
      const r = await new MACE({ restarts: 3 }).fit(sim.labels);
      const mv = await new MajorityVote().fit(sim.labels);
      expect(r.competence[4], `seed ${seed}`).toBeLessThan(Math.min(...r.competence.subarray(0, 4)));
      expect(labelError(r.labels, sim.truth), `seed ${seed}`).toBeLessThan(labelError(mv.labels, sim.truth));
    }
  }, T);

  test("restarts: the result is the run with the highest log-likelihood among the seeded starts", async () => {
    const ls = simulateCrowd({ numItems: 60, numClasses: 3, workers: { good: 2, biased: 1, spammer: 2 }, labelsPerItem: 3, seed: 4 }).labels;
    const mace = new MACE({ restarts: 4, maxIter: 10, seed: 3 });
    const starts = mace.starts(ls.numWorkers, ls.numClasses);
    expect(starts).toHaveLength(4);
    const runs = await Promise.all(starts.map((s) => mace.fit(ls, s)));
    const best = runs.reduce((b, r, k) => (r.logLikelihood > runs[b]!.logLikelihood ? k : b), 0);
    const r = await mace.fit(ls);
    expect(r.restart).toBe(best);
    expect([...r.posteriors]).toEqual([...runs[best]!.posteriors]);
    expect(new Set(runs.map((x) => x.logLikelihood.toFixed(12))).size).toBeGreaterThan(1); // the starts differ
  }, T);

  test("options and starts are checked", async () => {
    expect(() => new MACE({ method: "gibbs" as MaceMethod })).toThrow(/method/);
    expect(() => new MACE({ restarts: 0 })).toThrow(/restarts/);
    expect(() => new MACE({ alpha: 0 })).toThrow(/alpha/);
    expect(() => new MACE({ smoothing: -1 })).toThrow(LatheError);
    const ls = LabelSet.fromTriples([["i", "u", "x"], ["i", "v", "y"]]);
    await expect(new MACE().fit(ls, { theta: [1, 0.5], strategy: [0.5, 0.5, 0.5, 0.5] })).rejects.toThrow(/θ/);
    await expect(new MACE().fit(ls, { theta: [0.5], strategy: [0.5, 0.5] })).rejects.toThrow(/start/);
  }, T);
});

const PYTHON = "/usr/bin/python3";
const REFERENCE = fileURLToPath(new URL("./testdata/mace_reference.py", import.meta.url));
const numpyMissing = ((): string | null => {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ["-c", "import numpy"], { encoding: "utf8" });
  return r.status === 0 ? null : `${PYTHON} has no numpy (${(r.stderr || "").trim().split("\n").at(-1)})`;
})();

interface Opts { method: MaceMethod; maxIter: number; tol: number; alpha: number; beta: number; strategyPrior: number; smoothing: number }
interface Reference { posteriors: number[]; competence: number[]; strategy: number[]; logLikelihood: number; iterations: number; converged: boolean }
function numpyMace(ls: LabelSet, opts: Opts, start: MaceStart): Reference {
  const input = JSON.stringify({
    item: [...ls.item], worker: [...ls.worker], label: [...ls.label],
    numItems: ls.numItems, numWorkers: ls.numWorkers, numClasses: ls.numClasses, ...opts,
    theta: [...(start.theta as Float64Array)], strategy: [...(start.strategy as Float64Array)],
  });
  const r = spawnSync(PYTHON, [REFERENCE], { input, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`mace_reference.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Reference;
}

describe("MACE against a NumPy reference of the same update rules", () => {
  if (numpyMissing) console.warn(`skipping the MACE NumPy reference test: ${numpyMissing}`);
  test.skipIf(numpyMissing !== null)(skipReason("posteriors, competences and strategies to 1e-6, from the same start", numpyMissing !== null && NEEDS.numpy), async () => {
    const base = { alpha: 0.5, beta: 0.5, strategyPrior: 10 };
    const sim1 = simulateCrowd({ numItems: 120, numClasses: 3, workers: { good: 3, biased: 2, spammer: 2, adversarial: 1 }, labelsPerItem: 4, seed: 11 }).labels;
    const sim2 = simulateCrowd({ numItems: 80, numClasses: 4, workers: { good: 2, biased: 3, spammer: 1 }, labelsPerItem: 3, seed: 12 }).labels;
    const odd = LabelSet.fromIndices({ item: [0, 0, 0, 1, 2, 2, 4], worker: [0, 1, 2, 1, 0, 2, 1], label: [1, 1, 0, 0, 1, 0, 1] }, { numItems: 5, numWorkers: 4, numClasses: 2 });
    const crowds: { ls: LabelSet; opts: Opts }[] = [
      { ls: sim1, opts: { ...base, method: "vb", maxIter: 20, tol: 0, smoothing: 0.01 / 3 } },
      { ls: sim1, opts: { ...base, method: "em", maxIter: 20, tol: 0, smoothing: 0.01 / 3 } },
      { ls: sim2, opts: { ...base, method: "vb", maxIter: 50, tol: 1e-6, alpha: 2, beta: 1, strategyPrior: 1, smoothing: 0.01 } },
      { ls: sim2, opts: { ...base, method: "em", maxIter: 15, tol: 0, smoothing: 0.3 } },
      // Items labelled by different numbers of workers, an unlabelled item, a worker without labels.
      { ls: odd, opts: { ...base, method: "vb", maxIter: 30, tol: 0, smoothing: 0.005 } },
      { ls: odd, opts: { ...base, method: "em", maxIter: 30, tol: 0, smoothing: 0.005 } },
    ];
    for (const { ls, opts } of crowds) {
      const mace = new MACE({ ...opts, restarts: 1, seed: 5 });
      const start = mace.starts(ls.numWorkers, ls.numClasses)[0]!;
      const want = numpyMace(ls, opts, start);
      const got = await mace.fit(ls, start);
      const what = `${opts.method} on ${ls.numItems} items`;
      expect(got.iterations, what).toBe(want.iterations);
      expect(got.converged, what).toBe(want.converged);
      expectClose(got.posteriors, want.posteriors, 1e-6, `${what}: posteriors`);
      expectClose(got.competence, want.competence, 1e-6, `${what}: competence`);
      expectClose(got.strategy, want.strategy, 1e-6, `${what}: strategy`);
      expect(Math.abs(got.logLikelihood - want.logLikelihood), what).toBeLessThan(1e-6 * Math.max(1, Math.abs(want.logLikelihood)));
    }
  }, T);
});
