import { describe, expect, test } from "vitest";
import { backwardTransfer, confusionMatrix, finalAccuracy, forgetting, forwardTransfer, perClassAccuracy } from "./metrics.ts";

// A hand-made 3-experience run: rows after training experience i, columns test experience j.
const R = [
  [0.9, 0.1, 0.0],
  [0.6, 0.8, 0.2],
  [0.5, 0.7, 0.95],
];
const random = [0.1, 0.15, 0.05];

describe("continual metrics on a hand-made accuracy matrix", () => {
  test("ACC is the mean of the last row", () => {
    expect(finalAccuracy(R)).toBeCloseTo((0.5 + 0.7 + 0.95) / 3, 12);
  });
  test("forgetting: best accuracy after learning j minus the last, averaged over j < T−1", () => {
    // j = 0: max(0.9, 0.6) − 0.5 = 0.4; j = 1: 0.8 − 0.7 = 0.1.
    expect(forgetting(R)).toBeCloseTo(0.25, 12);
    // A later row higher than the diagonal counts (max over j ≤ i < T−1).
    expect(forgetting([[0.5, 0, 0], [0.9, 0.8, 0], [0.6, 0.7, 0.9]])).toBeCloseTo(((0.9 - 0.6) + (0.8 - 0.7)) / 2, 12);
  });
  test("BWT: mean of R[T−1][j] − R[j][j]", () => {
    expect(backwardTransfer(R)).toBeCloseTo(((0.5 - 0.9) + (0.7 - 0.8)) / 2, 12);
  });
  test("FWT: mean of R[j−1][j] − b[j] over j ≥ 1", () => {
    expect(forwardTransfer(R, random)).toBeCloseTo(((0.1 - 0.15) + (0.2 - 0.05)) / 2, 12);
  });
  test("one experience: forgetting, BWT and FWT are undefined (null); bad matrices are errors", () => {
    expect(forgetting([[0.7]])).toBeNull();
    expect(backwardTransfer([[0.7]])).toBeNull();
    expect(forwardTransfer([[0.7]], [0.1])).toBeNull();
    expect(() => forgetting([])).toThrow(/empty/);
    expect(() => backwardTransfer([[1, 2], [3]])).toThrow(/row 1 has 1 entries for 2 experiences/);
  });
  test("confusion matrix and per-class accuracy", () => {
    const c = confusionMatrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 2], 4);
    expect(c).toEqual([[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]);
    expect(perClassAccuracy(c)).toEqual([0.5, 2 / 3, 1, null]);
  });
});
