import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import type { Example } from "./buffers.ts";
import { checkCapacity, Memory } from "./buffers.ts";

const ex = (i: number, y = i % 4): Example => ({ x: new Float32Array([i]), y, task: 0 });

describe("replay memories", () => {
  test("reservoir keeps every example with probability capacity / n (χ² over 4,000 seeded runs)", () => {
    const n = 50, cap = 10, runs = 4000, hits = new Array<number>(n).fill(0);
    const rng = new Rng(123);
    for (let r = 0; r < runs; r++) {
      const m = new Memory(cap);
      for (let i = 0; i < n; i++) m.offerReservoir(ex(i), rng);
      expect(m.size).toBe(cap);
      for (const e of m.items) hits[e.x[0]!]!++;
    }
    // Expected count per example runs·cap/n = 800; χ² with 49 degrees of freedom: the 0.999
    // quantile is 85.4, so a uniform sampler fails this one time in a thousand (never, seeded).
    const expected = (runs * cap) / n;
    const chi2 = hits.reduce((s, h) => s + (h - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(85.4);
    // Not uniform (e.g. keeping the first ten) fails it by far.
    const biased = hits.map((_, i): number => (i < cap ? runs : 0));
    expect(biased.reduce((s: number, h) => s + (h - expected) ** 2 / expected, 0)).toBeGreaterThan(85.4);
  });

  test("class-balanced memory gives each seen class an equal share and shrinks old classes", () => {
    const rng = new Rng(1), m = new Memory(10);
    m.updateClassBalanced(Array.from({ length: 40 }, (_, i) => ex(i, i % 2)), rng); // classes 0, 1
    expect([...m.classCounts()]).toEqual([[0, 5], [1, 5]]);
    const before = new Set(m.items.filter((e) => e.y === 0));
    m.updateClassBalanced(Array.from({ length: 40 }, (_, i) => ex(100 + i, 2 + (i % 2))), rng); // classes 2, 3
    expect([...m.classCounts()]).toEqual([[0, 3], [1, 3], [2, 2], [3, 2]]);
    // Class 0's examples are a subset of what it held: shrunk, not resampled.
    expect(m.items.filter((e) => e.y === 0).every((e) => before.has(e))).toBe(true);
  });

  test("GDumb's greedy memory stays class-balanced within one example", () => {
    const rng = new Rng(2), m = new Memory(12);
    for (let i = 0; i < 30; i++) m.offerGreedy(ex(i, 0), rng, 1);
    expect([...m.classCounts()]).toEqual([[0, 12]]);
    for (let i = 0; i < 30; i++) m.offerGreedy(ex(100 + i, 1 + (i % 2)), rng, 3);
    expect([...m.classCounts()]).toEqual([[0, 4], [1, 4], [2, 4]]);
  });

  test("impossible memory sizes are refused with the valid range", () => {
    expect(() => checkCapacity(0, "replay")).toThrow(/positive integer/);
    expect(() => checkCapacity(5000, "replay", 1200)).toThrow(/exceeds the 1200 training examples; valid: 1..1200/);
    expect(() => new Memory(2.5)).toThrow(/positive integer/);
  });
});
