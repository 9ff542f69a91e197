import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { drawBatch2d, drawSet2d } from "./l2c-sets.ts";

describe("L2C 2-D set generator", () => {
  test("statistics of 3000 seeded sets: k uniform in 1…5, points in the unit square, clusters of ≥ 2, std in [0.01, 0.1]", () => {
    const rng = new Rng(7), sets = 3000;
    const kCount = [0, 0, 0, 0, 0, 0];
    const stds: number[] = [];
    let sx = 0, pts = 0, bad = 0, outside = 0;
    for (let s = 0; s < sets; s++) {
      const { points, labels, n, k } = drawSet2d(rng);
      expect(n).toBe(72);
      expect(points.length).toBe(144);
      kCount[k]!++;
      const sizes = new Array<number>(k).fill(0);
      for (let i = 0; i < n; i++) {
        const c = labels[i]!;
        if (!(c >= 0 && c < k)) bad++;
        else sizes[c]!++;
        if (!(points[2 * i]! >= 0 && points[2 * i]! <= 1 && points[2 * i + 1]! >= 0 && points[2 * i + 1]! <= 1)) outside++;
        sx += points[2 * i]!; pts++;
      }
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(2);
      // Per-cluster spread, for clusters of ≥ 12 points whose mean lies in [0.35, 0.65]²: 3 standard
      // deviations from the edges, so clipping is negligible, and the choice does not depend on the spread.
      for (let c = 0; c < k; c++) {
        const xs: number[] = [], ys: number[] = [];
        for (let i = 0; i < n; i++) if (labels[i] === c) { xs.push(points[2 * i]!); ys.push(points[2 * i + 1]!); }
        const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
        if (xs.length < 12 || [mean(xs), mean(ys)].some((v) => v < 0.35 || v > 0.65)) continue;
        const sd = (v: number[]) => { const m = mean(v); return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)); };
        stds.push(Math.sqrt((sd(xs) ** 2 + sd(ys) ** 2) / 2));
      }
    }
    expect(bad).toBe(0);
    expect(outside).toBe(0);
    expect(kCount[0]).toBe(0);
    // Each k has probability 0.2: 3000 draws give a standard error of 0.0073.
    for (let k = 1; k <= 5; k++) expect(Math.abs(kCount[k]! / sets - 0.2)).toBeLessThan(0.03);
    // Centres uniform in the square: the mean coordinate is 0.5.
    expect(Math.abs(sx / pts - 0.5)).toBeLessThan(0.02);
    // Sample std per cluster: within the drawn range (with sampling slack), mean ≈ 0.055 (the range's midpoint).
    expect(stds.length).toBeGreaterThan(300);
    expect(Math.min(...stds)).toBeGreaterThan(0.004);
    expect(Math.max(...stds)).toBeLessThan(0.16);
    const mean = stds.reduce((a, b) => a + b, 0) / stds.length;
    expect(Math.abs(mean - 0.055)).toBeLessThan(0.006);
  });

  test("seeded: the same seed gives the same batch, another seed another; batches hold the sets in order", () => {
    const a = drawBatch2d(new Rng(3), 4, { n: 20 }), b = drawBatch2d(new Rng(3), 4, { n: 20 }), c = drawBatch2d(new Rng(4), 4, { n: 20 });
    expect(a.x).toEqual(b.x);
    expect(a.labels).toEqual(b.labels);
    expect(a.x).not.toEqual(c.x);
    expect(a.x.length).toBe(4 * 20 * 2);
    const rng = new Rng(3);
    const first = drawSet2d(rng, { n: 20 }), second = drawSet2d(rng, { n: 20 });
    expect(Array.from(a.x.subarray(0, 40))).toEqual(Array.from(first.points));
    expect(Array.from(a.x.subarray(40, 80))).toEqual(Array.from(second.points));
    expect([a.k[0], a.k[1]]).toEqual([first.k, second.k]);
  });

  test("options: bad sizes get one-line errors", () => {
    expect(() => drawSet2d(new Rng(0), { n: 8, kMax: 5 })).toThrow(LatheError);
    expect(() => drawSet2d(new Rng(0), { n: 8, kMax: 5 })).toThrow(/8 points cannot hold 5 clusters of at least 2/);
    expect(() => drawSet2d(new Rng(0), { n: 0 })).toThrow(/n must be a positive integer/);
    expect(() => drawSet2d(new Rng(0), { std: [0.1, 0.01] })).toThrow(/std must be a range/);
  });
});
