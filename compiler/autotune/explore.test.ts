import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { configKey, type Config } from "./log.ts";
import { defineSpace } from "./space.ts";
import { Explorer, NearestModel, RandomModel, XGBModel, tune, type CostModel } from "./explore.ts";
import { MeasurementError } from "./measure.ts";

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const D = ["x", "y", "z", "w", "v"];
/** 10·10·8·5 = 4000 configs. */
const space = defineSpace({ knobs: { a: range(10), b: range(10), c: range(8).map((x) => 2 ** x), d: D } });

/** A smooth bowl (non-integer centre, uneven weights so values rarely tie) plus a sharp +2 plateau of 16 configs. */
function objective(c: Config): number {
  const a = c["a"] as number, b = c["b"] as number, lc = Math.log2(c["c"] as number), d = D.indexOf(c["d"] as string);
  let v = -((a - 5.3) ** 2 / 20 + (b - 3.4) ** 2 / 17.3) - (lc - 4.6) ** 2 / 9.1 - (d - 1.2) ** 2 / 7.7;
  if ((a === 6 || a === 7) && (b === 2 || b === 3) && lc === 5) v += 2;
  return v;
}
const sorted = range(space.size).map((i) => objective(space.get(i))).sort((x, y) => y - x);
const top1 = sorted[Math.floor(space.size / 100) - 1]!; // the 40th best value
const optimum = sorted[0]!;

/** Predicts the true objective: the annealing should then pick near-optimal configs. */
class OracleModel implements CostModel {
  async fit(): Promise<void> {}
  predict(configs: readonly Config[]): Float32Array {
    return Float32Array.from(configs, objective);
  }
}

describe("Explorer", () => {
  test("batches never contain measured or duplicate configs", () => {
    const ex = new Explorer(space, new RandomModel(new Rng(2)), { batchSize: 64, rng: new Rng(2), steps: 30 });
    const measured = new Set<string>();
    for (let round = 0; round < 10; round++) {
      const batch = ex.nextBatch(measured);
      expect(batch).toHaveLength(64);
      const keys = batch.map(configKey);
      expect(new Set(keys).size).toBe(64);
      for (const k of keys) expect(measured.has(k)).toBe(false);
      keys.forEach((k) => measured.add(k));
    }
  });

  test("the oracle's model picks concentrate on good configs; an ε share is random", () => {
    const ex = new Explorer(space, new OracleModel(), { batchSize: 100, epsilon: 0.2, rng: new Rng(4), steps: 200, parallel: 16 });
    const batch = ex.nextBatch(new Set());
    expect(batch).toHaveLength(100);
    expect(ex.lastOrigins.filter((o) => o === "random")).toHaveLength(20);
    const model = batch.filter((_, i) => ex.lastOrigins[i] === "model").map(objective);
    const random = batch.filter((_, i) => ex.lastOrigins[i] === "random").map(objective);
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(model)).toBeGreaterThan(mean(random) + 0.3);
    expect(Math.max(...model)).toBe(optimum);
    // default ε = 0.05: round(0.05 · 64) = 3 random picks
    const ex2 = new Explorer(space, new OracleModel(), { rng: new Rng(4), steps: 20 });
    expect(ex2.nextBatch(new Set())).toHaveLength(64);
    expect(ex2.lastOrigins.filter((o) => o === "random")).toHaveLength(3);
  });

  test("an uninformed model gets a space-filling batch: each knob's values dealt out evenly", () => {
    const model = new XGBModel(space, { seed: 3 });
    expect(model.informed).toBe(false);
    const ex = new Explorer(space, model, { batchSize: 64, rng: new Rng(3), steps: 10 });
    const measured = new Set([configKey(space.get(0)), configKey(space.get(1))]);
    const batch = ex.nextBatch(measured);
    expect(batch).toHaveLength(64);
    expect(new Set(batch.map(configKey)).size).toBe(64);
    for (const c of batch) expect(measured.has(configKey(c))).toBe(false);
    const spread = batch.filter((_, i) => ex.lastOrigins[i] === "spread");
    expect(ex.lastOrigins.filter((o) => o === "random")).toHaveLength(3); // the ε share stays random
    expect(spread).toHaveLength(61); // no collisions for this seed: a dropped pick would unbalance a knob
    space.names.forEach((name, k) => {
      const n = space.values[k]!.length;
      for (const v of space.values[k]!) {
        const count = spread.filter((c) => c[name] === v).length;
        expect(count).toBeGreaterThanOrEqual(Math.floor(61 / n));
        expect(count).toBeLessThanOrEqual(Math.ceil(61 / n));
      }
    });
    // Uniform random picks of 61 configs leave some knob value with a count off by more
    // than one (a check that the test above can fail).
    const rng = new Rng(3);
    const uniform = Array.from({ length: 61 }, () => space.random(rng));
    const balanced = space.names.every((name, k) => space.values[k]!.every((v) => Math.abs(uniform.filter((c) => c[name] === v).length - 61 / space.values[k]!.length) < 1));
    expect(balanced).toBe(false);
    model.dispose();
  });

  test("a model counts as informed once fitted; then the annealing picks", async () => {
    const xgb = new XGBModel(space, { seed: 1, rounds: 5 });
    const sa = new NearestModel(space, new Rng(1));
    expect([xgb.informed, sa.informed]).toEqual([false, false]);
    const configs = range(20).map((i) => space.get(i * 97));
    for (const m of [xgb, sa]) await m.fit(configs, configs.map(objective));
    expect([xgb.informed, sa.informed]).toEqual([true, true]);
    const ex = new Explorer(space, xgb, { batchSize: 16, rng: new Rng(1), steps: 10 });
    ex.nextBatch(new Set(configs.map(configKey)));
    expect(ex.lastOrigins.filter((o) => o === "model")).toHaveLength(15);
    xgb.dispose();
  });

  test("a nearly exhausted space gives what is left, then nothing", () => {
    const small = defineSpace({ knobs: { x: range(5), y: range(4) } });
    const ex = new Explorer(small, new RandomModel(new Rng(1)), { batchSize: 8, rng: new Rng(1), steps: 5 });
    const measured = new Set<string>();
    const sizes: number[] = [];
    for (;;) {
      const b = ex.nextBatch(measured);
      if (b.length === 0) break;
      sizes.push(b.length);
      for (const c of b) {
        expect(measured.has(configKey(c))).toBe(false);
        measured.add(configKey(c));
      }
    }
    expect(sizes).toEqual([8, 8, 4]);
    expect(measured.size).toBe(20);
  });

  test("rejects bad options", () => {
    const m = new RandomModel();
    expect(() => new Explorer(space, m, { batchSize: 0 })).toThrow();
    expect(() => new Explorer(space, m, { epsilon: 1.5 })).toThrow();
    expect(() => new Explorer(space, m, { parallel: 0 })).toThrow();
  });
});

describe("tune", () => {
  test.each([1, 2, 3])("XGBoost-guided search reaches the top 1%% and the optimum quickly (seed %i)", async (seed) => {
    const model = new XGBModel(space, { seed, rounds: 30 });
    const r = await tune(space, objective, model, { trials: 160, batchSize: 32, rng: new Rng(seed) });
    model.dispose();
    expect(r.history).toHaveLength(160);
    expect(new Set(r.history.map((h) => configKey(h.config))).size).toBe(160);
    const firstTop = r.history.findIndex((h) => h.score >= top1);
    const firstOpt = r.history.findIndex((h) => h.score >= optimum);
    expect(firstTop).toBeGreaterThanOrEqual(0);
    expect(firstTop).toBeLessThan(128);
    expect(firstOpt).toBeGreaterThanOrEqual(0); // observed ≤ 93 over seeds 1–6
    expect(r.best!.score).toBe(optimum);
  });

  test("random search (RandomModel) does worse on the same budget", async () => {
    let wins = 0;
    for (const seed of [1, 2, 3]) {
      const rnd = await tune(space, objective, new RandomModel(new Rng(seed)), { trials: 160, batchSize: 32, rng: new Rng(seed) });
      if (rnd.best!.score < optimum) wins++;
    }
    expect(wins).toBe(3);
  });

  test("failed measurements are kept in the history and never best", async () => {
    const small = defineSpace({ knobs: { x: range(6), y: range(6) } });
    const r = await tune(
      small,
      (c) => {
        if ((c["x"] as number) === 5) throw new MeasurementError("build failed");
        return (c["x"] as number) + (c["y"] as number);
      },
      new XGBModel(small, { seed: 1, rounds: 10 }),
      { trials: 36, batchSize: 10, rng: new Rng(1) },
    );
    expect(r.history).toHaveLength(36);
    expect(r.history.filter((h) => h.score === -Infinity)).toHaveLength(6);
    expect(r.best!.config).toEqual({ x: 4, y: 5 });
  });

  test("any other exception from measuring is a bug: it stops tuning instead of counting as a failed config", async () => {
    const small = defineSpace({ knobs: { x: range(6), y: range(6) } });
    const seen: Config[] = [];
    const bug = tune(
      small,
      (c) => {
        seen.push(c);
        if ((c["x"] as number) === 5) throw new TypeError("Cannot read properties of undefined (reading 'costs')");
        return (c["x"] as number) + (c["y"] as number);
      },
      new RandomModel(new Rng(2)),
      { trials: 36, batchSize: 10, rng: new Rng(1) },
    );
    await expect(bug).rejects.toThrow(TypeError);
    await expect(bug).rejects.toThrow(/reading 'costs'/);
    expect(seen.at(-1)!["x"]).toBe(5); // it stopped at the first such config
    // A LatheError that is not a MeasurementError (e.g. the tuning log cannot be written) surfaces too.
    await expect(tune(small, () => { throw new LatheError("tune.log: cannot append: ENOSPC"); }, new RandomModel(new Rng(2)), { trials: 4, batchSize: 2, rng: new Rng(1) }))
      .rejects.toThrow(/ENOSPC/);
  });
});
