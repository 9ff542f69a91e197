import { describe, expect, test } from "vitest";
import { barMet, bestCurve, randomUntil, trialsPerSeed, trialsToReach, tuneCases } from "./tune-cases.ts";

describe("bench tune scoring", () => {
  test("trialsToReach: the first trial at or above the target, 1-based; trials + 1 when never", () => {
    expect(trialsToReach([1, 3, 3, 5], 3)).toBe(2);
    expect(trialsToReach([1, 3, 3, 5], 0.5)).toBe(1);
    expect(trialsToReach([1, 3, 3, 5], 6)).toBe(5);
  });

  test("trialsPerSeed targets 95% of the other search's final best, seed by seed", () => {
    const xgb = [[10, 20, 100], [50, 60, 60]];
    const random = [[10, 96, 96], [58, 58, 58]];
    // seed 1: 95 needs trial 2 of random (96 ≥ 95); seed 2: 57 is reached at trial 1.
    expect(trialsPerSeed(random, xgb)).toEqual([2, 1]);
    expect(trialsPerSeed(xgb, xgb)).toEqual([3, 2]);
  });

  test("barMet compares medians: guided at most half of random", () => {
    expect(barMet([10, 20, 30], [40, 60, 97])).toBe(true); // 20 ≤ 30
    expect(barMet([10, 30, 35], [40, 60, 97])).toBe(true); // 30 ≤ 30
    expect(barMet([10, 31, 35], [40, 60, 97])).toBe(false);
  });

  test("bestCurve: best so far, failures as 0", () => {
    expect(bestCurve([{ score: 2 }, { score: -Infinity }, { score: 5 }, { score: 3 }])).toEqual([2, 2, 5, 5]);
  });

  test("randomUntil runs on a budget at a time until the target or the cap", async () => {
    // A resumable search whose n-th trial scores scores[n - 1]; runs records each requested length.
    const scores = Array.from({ length: 40 }, (_, i) => (i === 22 ? 9 : 1));
    const runs: number[] = [];
    const run = async (n: number) => { runs.push(n); return scores.slice(0, n).map((score) => ({ score })); };
    expect(await randomUntil(run, 10, 40, 5)).toHaveLength(30); // reached at trial 23: stops after the third budget
    expect(runs).toEqual([10, 20, 30]);
    runs.length = 0;
    const never = await randomUntil(run, 10, 35, 10);
    expect(runs).toEqual([10, 20, 30, 35]); // the cap cuts the last step
    expect(trialsToReach(never, 10)).toBe(36); // cap + 1: not within the cap
    runs.length = 0;
    await randomUntil(run, 10, 40, 1); // reached in the budget: nothing more
    expect(runs).toEqual([10]);
    runs.length = 0;
    const short = await randomUntil(async (n) => { runs.push(n); return scores.slice(0, Math.min(n, 15)).map((score) => ({ score })); }, 10, 40, 10);
    expect(short).toHaveLength(15); // a 15-config space ran out: no more steps
    expect(runs).toEqual([10, 20]);
  });

  test("LATHE_TUNE_CASES filters the cases by name part", () => {
    const before = process.env.LATHE_TUNE_CASES;
    try {
      process.env.LATHE_TUNE_CASES = "conv";
      expect(tuneCases(false).map((c) => c.name)).toEqual(["resnet18-conv3x3-c128-28"]);
      delete process.env.LATHE_TUNE_CASES;
      expect(tuneCases(true).map((c) => c.name)).toEqual(["gemm-256", "resnet18-conv3x3-c64-14"]);
    } finally {
      if (before === undefined) delete process.env.LATHE_TUNE_CASES;
      else process.env.LATHE_TUNE_CASES = before;
    }
  });
});
