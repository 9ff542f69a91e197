import { describe, expect, test } from "vitest";
import { configKey, makeRecord } from "../../compiler/autotune/log.ts";
import { TableMeasurer, chanceMet, tableOf } from "./index.ts";

describe("bench tune-replay", () => {
  const table = new Map<string, number | null>([[configKey({ a: 1 }), 0.002], [configKey({ a: 2 }), null]]);

  test("TableMeasurer replays a table's cost, times lognormal noise; failures and unknown configs are errors", async () => {
    const exact = new TableMeasurer(table, 0, 1);
    expect(await exact.measure(null, { a: 1 })).toEqual({ costs: [0.002], error: null });
    expect((await exact.measure(null, { a: 2 })).error).toMatch(/failed when the table was measured/);
    expect((await exact.measure(null, { a: 3 })).error).toMatch(/not in the table/);
    const noisy = new TableMeasurer(table, 0.03, 1);
    const costs = await Promise.all(Array.from({ length: 200 }, async () => (await noisy.measure(null, { a: 1 })).costs![0]!));
    const logs = costs.map((c) => Math.log(c / 0.002));
    const mean = logs.reduce((s, x) => s + x, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / logs.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(sd).toBeGreaterThan(0.024);
    expect(sd).toBeLessThan(0.036);
  });

  test("tableOf: a config's cost is the median of its records' costs; failures alone give null", () => {
    const recs = [
      makeRecord("t", { a: 1 }, [3, 1, 2]), // median 2
      makeRecord("t", { a: 1 }, [5, 5, 5]),
      makeRecord("t", { a: 1 }, [4]),
      makeRecord("t", { a: 1 }, null, "crash"),
      makeRecord("t", { a: 2 }, null, "build failed"),
      makeRecord("t", { a: 3 }, [7]),
    ];
    const t = tableOf(recs, configKey);
    expect(t.get(configKey({ a: 1 }))).toBe(4); // median of 2, 5, 4
    expect(t.get(configKey({ a: 2 }))).toBeNull();
    expect(t.get(configKey({ a: 3 }))).toBe(7);
  });

  test("chanceMet: the share of k-seed subsets whose medians meet the bar", () => {
    expect(chanceMet([5, 5, 5, 5, 5, 5], [97, 97, 97, 97, 97, 97], 5)).toBe(1);
    expect(chanceMet([50, 50, 50, 50, 50, 50], [60, 60, 60, 60, 60, 60], 5)).toBe(0);
    // One seed of six breaks the bar; the median of any five is still met.
    expect(chanceMet([5, 5, 5, 5, 5, 90], [97, 97, 97, 97, 97, 10], 5)).toBe(1);
    // Three of six break it: a 5-subset meets it only when it holds at most two of them.
    const p = chanceMet([5, 5, 5, 90, 90, 90], [97, 97, 97, 10, 10, 10], 5);
    expect(p).toBeGreaterThan(0.4);
    expect(p).toBeLessThan(0.6); // exactly 3 of the 6 five-subsets: 0.5
    expect(chanceMet([5], [97], 5)).toBe(1); // fewer seeds than k: the bar itself
  });
});
