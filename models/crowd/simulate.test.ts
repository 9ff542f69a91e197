import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { labelError, makeAnnotator, simulateCrowd } from "./simulate.ts";

const rowsSumToOne = (m: Float64Array, K: number) => {
  for (let c = 0; c < K; c++) expect(m.subarray(c * K, c * K + K).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
};

describe("simulated crowds", () => {
  test("the four annotator kinds have the stated confusion matrices", () => {
    const rng = new Rng(1), K = 4;
    const good = makeAnnotator("good", K, rng).confusion;
    expect(good[0]).toBeGreaterThanOrEqual(0.7); expect(good[0]).toBeLessThan(0.9);
    for (let c = 0; c < K; c++) for (let l = 0; l < K; l++) expect(good[c * K + l]).toBeCloseTo(c === l ? good[0]! : (1 - good[0]!) / 3, 14);
    const biased = makeAnnotator("biased", K, rng).confusion;
    for (let c = 0; c < K; c++) {
      expect(biased[c * K + c]).toBe(biased[0]);
      expect(biased[c * K + ((c + 1) % K)]).toBeCloseTo(1 - biased[0]!, 14);
    }
    expect([...makeAnnotator("spammer", K, rng).confusion]).toEqual(new Array(16).fill(0.25));
    const adv = makeAnnotator("adversarial", K, rng).confusion;
    expect(adv[5]).toBe(0.3); expect(adv[6]).toBeCloseTo(0.7 / 3, 14);
    for (const m of [good, biased, adv]) rowsSumToOne(m, K);
    expect(() => makeAnnotator("good", 1, rng)).toThrow(LatheError);
  });

  test("seeded, R distinct annotators per item, batches concatenate to the whole", () => {
    const spec = { numItems: 50, numClasses: 3, workers: { good: 3, spammer: 2, adversarial: 1 }, labelsPerItem: 4, batches: 3, seed: 9 };
    const a = simulateCrowd(spec), b = simulateCrowd(spec), c = simulateCrowd({ ...spec, seed: 10 });
    expect([...a.labels.label]).toEqual([...b.labels.label]);
    expect([...a.truth]).toEqual([...b.truth]);
    expect([...a.labels.label]).not.toEqual([...c.labels.label]);
    expect(a.labels.numLabels).toBe(200);
    expect(a.annotators.map((x) => x.kind)).toEqual(["good", "good", "good", "spammer", "spammer", "adversarial"]);
    for (let i = 0; i < 50; i++) {
      const ws = [...a.labels.worker.subarray(i * 4, i * 4 + 4)];
      expect(new Set(ws).size).toBe(4);
      expect([...a.labels.item.subarray(i * 4, i * 4 + 4)]).toEqual([i, i, i, i]);
    }
    expect(a.batches.map((x) => x.numItems)).toEqual([16, 33, 50]);
    const joined = a.batches.reduce((x, y) => x.concat(y));
    expect([...joined.item]).toEqual([...a.labels.item]);
    expect([...joined.worker]).toEqual([...a.labels.worker]);
    expect([...joined.label]).toEqual([...a.labels.label]);
    expect(() => simulateCrowd({ ...spec, labelsPerItem: 7 })).toThrow(/labelsPerItem must be in \[1, 6\]/);
  });

  test("labels follow the confusion matrices (a perfect and an always-wrong custom annotator)", () => {
    const perfect = Float64Array.of(1, 0, 0, 1), wrong = Float64Array.of(0, 1, 1, 0);
    const s = simulateCrowd({ numItems: 40, numClasses: 2, workers: {}, custom: [perfect, wrong], labelsPerItem: 2, seed: 3 });
    for (let n = 0; n < s.labels.numLabels; n++) {
      const t = s.truth[s.labels.item[n]!]!;
      expect(s.labels.label[n]).toBe(s.labels.worker[n] === 0 ? t : 1 - t);
    }
    // A good annotator's empirical accuracy is near its diagonal.
    const g = simulateCrowd({ numItems: 4000, numClasses: 3, workers: { good: 1 }, labelsPerItem: 1, seed: 4 });
    const acc = 1 - labelError(g.labels.label, g.truth);
    expect(Math.abs(acc - g.annotators[0]!.confusion[0]!)).toBeLessThan(0.03);
    expect(() => simulateCrowd({ numItems: 1, numClasses: 2, workers: {}, custom: [Float64Array.of(0.5, 0.6, 0, 1)], labelsPerItem: 1, seed: 1 })).toThrow(/row 0/);
  });
});
