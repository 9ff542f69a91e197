import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { DawidSkene, MajorityVote, OneCoinDawidSkene, Wawa } from "./aggregators.ts";
import { segmentPlan } from "./graphs.ts";
import { LabelSet } from "./labels.ts";
import { OnlineDawidSkene } from "./online.ts";
import { simulateCrowd } from "./simulate.ts";

describe("segment layouts", () => {
  test("the padded plan covers every row once, in chunks of ⌈√max⌉, and sums like a plain loop", () => {
    const rng = new Rng(2);
    // Unbalanced: segment 0 holds most rows, segment 3 none.
    const ids = Int32Array.from({ length: 60 }, () => (rng.float() < 0.7 ? 0 : [1, 2, 4][rng.int(0, 3)]!));
    const S = 5, p = segmentPlan(ids, S);
    const count = [0, 1, 2, 3, 4].map((s) => ids.filter((x) => x === s).length);
    expect(p.c).toBe(Math.ceil(Math.sqrt(Math.max(...count))));
    expect(p.q).toBe(Math.ceil(Math.max(...count) / p.c));
    expect(p.m).toBe(count.reduce((a, k) => a + Math.ceil(k / p.c), 0));
    const x = Float64Array.from(ids, () => rng.uniform(-1, 1));
    // Evaluate the two levels as the graphs do.
    const level1 = Float64Array.from({ length: p.m }, (_, a) => {
      let s = 0;
      for (let r = 0; r < p.c; r++) if (p.mask1[a * p.c + r]! > 0) s += x[p.idx1[a * p.c + r]!]!;
      return s;
    });
    const sums = Float64Array.from({ length: S }, (_, a) => {
      let s = 0;
      for (let r = 0; r < p.q; r++) if (p.mask2[a * p.q + r]! > 0) s += level1[p.idx2[a * p.q + r]!]!;
      return s;
    });
    const want = new Float64Array(S);
    ids.forEach((s, r) => { want[s]! += x[r]!; });
    for (let s = 0; s < S; s++) expect(sums[s]).toBeCloseTo(want[s]!, 12);
    const used = [...p.idx1].filter((_, k) => p.mask1[k]! > 0).sort((a, b) => a - b);
    expect(used).toEqual(Array.from({ length: 60 }, (_, r) => r));
    expect(() => segmentPlan(new Int32Array(0), 3)).toThrow(/no rows/);
  });

  test("padded gathers and the segment_sum op give the same aggregations (1e-12)", async () => {
    const sim = simulateCrowd({ numItems: 90, numClasses: 3, workers: { good: 3, biased: 2, spammer: 2, adversarial: 1 }, labelsPerItem: 3, batches: 3, seed: 31 });
    const ls = sim.labels;
    const close = (a: Float64Array, b: Float64Array) => {
      expect(a.length).toBe(b.length);
      for (let k = 0; k < a.length; k++) expect(Math.abs(a[k]! - b[k]!)).toBeLessThanOrEqual(1e-12);
    };
    close((await new MajorityVote({ segments: "padded" }).fit(ls)).posteriors, (await new MajorityVote({ segments: "masked" }).fit(ls)).posteriors);
    const wp = await new Wawa({ segments: "padded" }).fit(ls), wm = await new Wawa({ segments: "masked" }).fit(ls);
    close(wp.posteriors, wm.posteriors); close(wp.skills, wm.skills);
    const dp = await new DawidSkene({ segments: "padded", maxIter: 20 }).fit(ls), dm = await new DawidSkene({ segments: "masked", maxIter: 20 }).fit(ls);
    close(dp.posteriors, dm.posteriors); close(dp.confusion, dm.confusion);
    const op = await new OneCoinDawidSkene({ segments: "padded", maxIter: 20 }).fit(ls), om = await new OneCoinDawidSkene({ segments: "masked", maxIter: 20 }).fit(ls);
    close(op.posteriors, om.posteriors); close(op.skills, om.skills);
    const onp = new OnlineDawidSkene({ segments: "padded", maxIter: 20 }), onm = new OnlineDawidSkene({ segments: "masked", maxIter: 20 });
    for (const b of sim.batches) { await onp.partialFit(b); await onm.partialFit(b); }
    close(onp.posteriors(), onm.posteriors());
  }, 120_000);

  test("an empty label set is an error", async () => {
    const empty = LabelSet.fromTriples([], { classes: ["a", "b"] });
    await expect(new DawidSkene().fit(empty)).rejects.toThrow(/DawidSkene: the label set has no labels/);
    await expect(new MajorityVote().fit(empty)).rejects.toThrow(/no labels/);
  });
});
