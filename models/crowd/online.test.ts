import { describe, expect, test } from "vitest";
import { DawidSkene, MajorityVote } from "./aggregators.ts";
import { LabelSet } from "./labels.ts";
import { OnlineDawidSkene } from "./online.ts";
import { labelError, simulateCrowd } from "./simulate.ts";

const T = 120_000;

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
};

describe("OnlineDawidSkene", () => {
  test("given everything as one batch it equals batch DS (to 1e-6)", async () => {
    const sims = [
      simulateCrowd({ numItems: 150, numClasses: 3, workers: { good: 3, spammer: 3, biased: 2, adversarial: 1 }, labelsPerItem: 4, seed: 21 }).labels,
      // Named triples whose items are not in first-seen = index order within the labels.
      LabelSet.fromTriples([["b", "u", "1"], ["a", "v", "0"], ["b", "v", "1"], ["a", "u", "1"], ["c", "w", "0"], ["c", "u", "0"], ["a", "w", "0"]]),
    ];
    for (const ls of sims) {
      for (const opts of [{}, { smoothing: 0.3, maxIter: 7 }]) {
        const batch = await new DawidSkene(opts).fit(ls);
        const online = new OnlineDawidSkene(opts);
        const rep = await online.partialFit(ls);
        expect(rep.rho).toBe(1);
        expect(rep.iterations).toBe(batch.iterations);
        expect(rep.converged).toBe(batch.converged);
        expect(maxDiff(online.posteriors(), batch.posteriors)).toBeLessThanOrEqual(1e-6);
        expect([...online.labels()]).toEqual([...batch.labels]);
        const m = online.model()!;
        expect(maxDiff(m.confusion, batch.confusion)).toBeLessThanOrEqual(1e-6);
        expect(maxDiff(m.prior, batch.prior)).toBeLessThanOrEqual(1e-6);
      }
    }
  }, T);

  test("a stream: posteriors for every item seen after each batch; step sizes (t + τ)^−κ; beats majority vote", async () => {
    const sim = simulateCrowd({ numItems: 400, numClasses: 3, workers: { good: 4, spammer: 4, biased: 2 }, labelsPerItem: 5, batches: 8, seed: 5 });
    const online = new OnlineDawidSkene();
    const rhos: number[] = [];
    for (const [t, batch] of sim.batches.entries()) {
      const rep = await online.partialFit(batch);
      rhos.push(rep.rho);
      expect(rep.batch).toBe(t);
      const I = batch.numItems;
      expect(online.numItems).toBe(I);
      expect(online.seenItems().length).toBe(I);
      const p = online.posteriors();
      expect(p.length).toBe(I * 3);
      for (let i = 0; i < I; i++) expect(Math.abs(p[3 * i]! + p[3 * i + 1]! + p[3 * i + 2]! - 1)).toBeLessThan(1e-12);
    }
    expect(rhos.map((r) => r.toFixed(4))).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((t) => Math.pow(t, -0.7).toFixed(4)));
    const mv = labelError((await new MajorityVote().fit(sim.labels)).labels, sim.truth);
    const on = labelError(online.labels(), sim.truth);
    const ds = labelError((await new DawidSkene().fit(sim.labels)).labels, sim.truth);
    expect(on).toBeLessThan(mv);
    // Seeded: MV, online DS and batch DS errors (×400 items).
    expect([mv, on, ds].map((e) => Math.round(e * 400))).toEqual([93, 41, 41]);
  }, T);

  test("named batches extend the tables; new workers and items; refresh off keeps old posteriors", async () => {
    const b1 = LabelSet.fromTriples([["x", "u", "cat"], ["x", "v", "cat"], ["y", "u", "dog"], ["y", "v", "dog"]]);
    const b2 = LabelSet.fromTriples([["z", "w", "dog"], ["z", "u", "dog"], ["x", "w", "cat"]], { extend: b1 });
    for (const refresh of [true, false]) {
      const o = new OnlineDawidSkene({ refresh });
      await o.partialFit(b1);
      const before = o.posteriors();
      const rep = await o.partialFit(b2);
      expect(rep.touchedItems).toBe(2); // z and x
      expect(o.numItems).toBe(3);
      expect([...o.labels()]).toEqual([0, 1, 1]);
      const after = o.posteriors();
      if (!refresh) expect([after[2], after[3]]).toEqual([before[2], before[3]]); // y untouched, kept
      expect(o.model()!.confusion.length).toBe(3 * 2 * 2);
    }
    const o = new OnlineDawidSkene();
    await o.partialFit(b1);
    await expect(o.partialFit(LabelSet.fromTriples([["q", "u", "cat"]], { classes: ["cat", "dog"] }))).rejects.toThrow(/items do not extend/);
    await expect(o.partialFit(LabelSet.fromTriples([["x", "u", "cow"]], { extend: b1 }))).rejects.toThrow(/classes/);
    expect(() => new OnlineDawidSkene({ tau: 0.5 })).toThrow(/tau/);
    expect(() => new OnlineDawidSkene({ kappa: 2 })).toThrow(/kappa/);
  }, T);
});
