import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { DawidSkene } from "./aggregators.ts";
import { budgetFor, centScores, entropyScores, errorsFixed, labelErrors, pickItems, relabel, truthOracle } from "./relabel.ts";
import { simulateCrowd } from "./simulate.ts";
import { RbfSvm } from "./svm.ts";

const T = 120_000;

const post = (rows: number[][]) => ({ numItems: rows.length, numClasses: rows[0]!.length, posteriors: Float64Array.from(rows.flat()) });

describe("relabelling strategies", () => {
  test("entropy picks the items of highest posterior entropy (a direct computation), ties to the lowest index", () => {
    const rng = new Rng(4), I = 50, K = 4;
    const rows = Array.from({ length: I }, () => {
      const r = Array.from({ length: K }, () => rng.float() ** 3);
      const s = r.reduce((a, b) => a + b, 0);
      return r.map((v) => v / s);
    });
    rows[7] = [0.25, 0.25, 0.25, 0.25]; rows[3] = [0.25, 0.25, 0.25, 0.25]; // a tie at the maximum
    const r = post(rows);
    const h = rows.map((p) => -p.reduce((a, v) => a + (v > 0 ? v * Math.log(v) : 0), 0));
    const want = h.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 10).map(([, i]) => i);
    expect([...pickItems(r, { strategy: "entropy", budget: 10 })]).toEqual(want);
    expect(want.slice(0, 2)).toEqual([3, 7]);
    [...entropyScores(r)].forEach((v, i) => expect(v).toBeCloseTo(h[i]!, 12));
    // CENT = CE(q, p) + H(q): with p = q it is 2·H(q).
    [...centScores(r, r.posteriors)].forEach((v, i) => expect(v).toBeCloseTo(2 * h[i]!, 9));
  });

  test("random is a seeded sample without repeats; candidates, exclusions and budgets are honoured", () => {
    const r = post(Array.from({ length: 30 }, (_, i) => [i / 30, 1 - i / 30]));
    const a = pickItems(r, { strategy: "random", budget: 8, seed: 2 });
    expect([...a]).toEqual([...pickItems(r, { strategy: "random", budget: 8, seed: 2 })]);
    expect(new Set(a).size).toBe(8);
    expect([...a]).not.toEqual([...pickItems(r, { strategy: "random", budget: 8, seed: 3 })]);
    // Online: a share of the arriving batch (items 10..19), never an item relabelled before.
    const batch = Array.from({ length: 10 }, (_, k) => 10 + k);
    const budget = budgetFor(0.3, batch.length);
    expect(budget).toBe(3);
    for (const strategy of ["random", "entropy"] as const) {
      const picks = pickItems(r, { strategy, budget, candidates: batch, exclude: [15] });
      expect(picks.length).toBe(3);
      for (const i of picks) { expect(batch).toContain(i); expect(i).not.toBe(15); }
    }
    // Entropy over items 10..19 (q0 = i/30): highest nearest 0.5, i.e. items 14, 16, 13 once 15 is excluded.
    expect([...pickItems(r, { strategy: "entropy", budget: 3, candidates: batch, exclude: [15] })]).toEqual([14, 16, 13]);
    expect(() => pickItems(r, { strategy: "cent", budget: 2 })).toThrow(LatheError);
    expect(() => pickItems(r, { strategy: "entropy", budget: 31 })).toThrow(LatheError);
  });

  test("the oracle sets exactly the picked items to one-hot truth, fixing exactly their errors", () => {
    const r = post([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.5, 0.5], [0.2, 0.8]]);
    const truth = [0, 0, 1, 1, 0];
    const before = [0, 1, 1, 0, 1]; // items 1, 3, 4 wrong
    const out = relabel(r, truthOracle(truth), [1, 2, 3]);
    expect([...out.posteriors]).toEqual([0.9, 0.1, 1, 0, 0, 1, 0, 1, 0.2, 0.8]);
    expect([...out.labels]).toEqual([0, 0, 1, 1, 1]);
    expect([...r.posteriors]).toEqual([0.9, 0.1, 0.4, 0.6, 0.3, 0.7, 0.5, 0.5, 0.2, 0.8]); // the input is not changed
    expect(errorsFixed(before, out.labels, truth)).toBe(2); // items 1 and 3: the picked items that were wrong
    expect(labelErrors(out.labels, truth)).toBe(1);
  });

  test("on a seeded crowd with spammers, entropy and CENT fix strictly more errors than random at the same budget", async () => {
    const K = 3, I = 300;
    const crowd = simulateCrowd({ numItems: I, numClasses: K, workers: { good: 3, biased: 1, spammer: 4 }, labelsPerItem: 3, seed: 21 });
    const ds = await new DawidSkene().fit(crowd.labels);
    const errors = labelErrors(ds.labels, crowd.truth);
    expect(errors).toBeGreaterThan(30);
    // Features that carry the truth (overlapping Gaussian blobs per class), and a classifier
    // trained on the aggregated labels, predicting each half out of fold.
    const rng = new Rng(5), x = new Float32Array(I * 2);
    const centers = [[0, 0], [2.5, 0], [1.25, 2.2]];
    for (let i = 0; i < I; i++) for (let d = 0; d < 2; d++) x[2 * i + d] = centers[crowd.truth[i]!]![d]! + 0.7 * rng.normal();
    const proba = new Float64Array(I * K);
    const half = (lo: number, hi: number) => Array.from({ length: hi - lo }, (_, k) => lo + k);
    const rows = (idx: number[]) => new Tensor(Float32Array.from(idx.flatMap((i) => [x[2 * i]!, x[2 * i + 1]!])), [idx.length, 2], "f32");
    for (const [fit, held] of [[half(0, I / 2), half(I / 2, I)], [half(I / 2, I), half(0, I / 2)]] as const) {
      const svm = await new RbfSvm({ C: 1, components: 100, epochs: 150, seed: 0, numClasses: K }).fit(rows(fit), fit.map((i) => ds.labels[i]!), undefined);
      const p = await svm.predictProba(rows(held));
      held.forEach((i, r) => proba.set(p.subarray(r * K, (r + 1) * K), i * K));
    }
    const budget = 30, oracle = truthOracle(crowd.truth);
    const fixed = (strategy: "random" | "entropy" | "cent") =>
      errorsFixed(ds.labels, relabel(ds, oracle, pickItems(ds, { strategy, budget, proba, seed: 1 })).labels, crowd.truth);
    const counts = { random: fixed("random"), entropy: fixed("entropy"), cent: fixed("cent") };
    console.log(`crowd ${I} items, ${errors} DS errors, budget ${budget}: errors fixed ${JSON.stringify(counts)}`);
    expect(counts.entropy).toBeGreaterThan(counts.random);
    expect(counts.cent).toBeGreaterThan(counts.random);
  }, T);
});
