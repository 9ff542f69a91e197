import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { LatheError, ShapeError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Booster, DMatrix, XGBoostError, xgboostNative, xgboostOf, xgboostVersion, type BoosterParams, type XGBoostNative } from "./xgboost.ts";

const dir = mkdtempSync(join(tmpdir(), "lathe-xgboost-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REG: BoosterParams = { objective: "reg:squarederror", nthread: 1, max_depth: 4, eta: 0.3, seed: 7 };

/** y = 3·x0 − 2·x1 + noise; x2 is an irrelevant feature. */
function regression(rng: Rng, rows: number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(rows * 3);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < 3; j++) x[i * 3 + j] = rng.float();
    y[i] = 3 * x[i * 3]! - 2 * x[i * 3 + 1]! + 0.05 * rng.normal();
  }
  return { x, y };
}

/** Query groups of items whose true relevance is 2·x0 + x1 − x2. */
function ranking(rng: Rng, groups: number, size: number) {
  const rows = groups * size;
  const x = new Float32Array(rows * 4);
  const relevance = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < 4; j++) x[i * 4 + j] = rng.float();
    relevance[i] = 2 * x[i * 4]! + x[i * 4 + 1]! - x[i * 4 + 2]!;
  }
  return { x, relevance, rows, sizes: new Uint32Array(groups).fill(size) };
}

const rmse = (a: Float32Array, b: Float32Array): number => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length);

/** Share of item pairs within each group that `score` orders like `truth`. */
function pairwiseAccuracy(score: Float32Array, truth: Float32Array, sizes: Uint32Array): number {
  let right = 0;
  let pairs = 0;
  let start = 0;
  for (const size of sizes) {
    for (let i = start; i < start + size; i++) {
      for (let j = i + 1; j < start + size; j++) {
        if (truth[i] === truth[j]) continue;
        pairs++;
        if (Math.sign(score[i]! - score[j]!) === Math.sign(truth[i]! - truth[j]!)) right++;
      }
    }
    start += size;
  }
  return right / pairs;
}

function trainedRegressor(rounds = 20) {
  const { x, y } = regression(new Rng(3), 200);
  const d = DMatrix.fromArray(x, 200, 3, { labels: y });
  const b = new Booster(REG, [d]);
  return { d, b, done: b.train(d, rounds) };
}

describe("xgboostVersion", () => {
  test("reports the library's version", () => {
    const v = xgboostVersion();
    expect(v).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number(v.split(".")[0])).toBeGreaterThanOrEqual(1);
  });
});

describe("regression round trip", () => {
  test("fits y = 3·x0 − 2·x1 + noise, and saved models predict identically", async () => {
    const rng = new Rng(42);
    const train = regression(rng, 600);
    const held = regression(rng, 300);
    const dtrain = DMatrix.fromArray(train.x, 600, 3, { labels: train.y });
    const dtest = DMatrix.fromArray(held.x, 300, 3, { labels: held.y });
    expect([dtrain.rows, dtrain.cols]).toEqual([600, 3]);

    const model = new Booster(REG);
    const lines: string[] = [];
    await model.train(dtrain, 80, { evals: [[dtrain, "train"], [dtest, "test"]], onRound: (_, text) => lines.push(text) });
    expect(model.boostedRounds).toBe(80);
    expect(model.numFeatures).toBe(3);
    expect(lines).toHaveLength(80);
    expect(lines[79]).toMatch(/^\[79\]\ttrain-rmse:[\d.]+\ttest-rmse:[\d.]+$/);

    const pred = model.predict(dtest);
    expect(pred).toBeInstanceOf(Float32Array);
    expect(pred).toHaveLength(300);
    const spread = Math.sqrt(held.y.reduce((s, v) => s + v * v, 0) / 300 - (held.y.reduce((s, v) => s + v, 0) / 300) ** 2);
    expect(rmse(pred, held.y)).toBeLessThan(0.15 * spread);
    // The eval line's test-rmse is XGBoost's own measure of the same thing.
    expect(Number(/test-rmse:([\d.]+)/.exec(model.evaluate([[dtest, "test"]]))![1])).toBeCloseTo(rmse(pred, held.y), 3);

    for (const ext of [".json", ".ubj"]) {
      const path = join(dir, `model${ext}`);
      model.saveModel(path);
      const loaded = Booster.loadModel(path, { nthread: 1 });
      expect(loaded.boostedRounds).toBe(80);
      expect(loaded.predict(dtest)).toEqual(pred);
      loaded.dispose();
    }
    expect(readFileSync(join(dir, "model.json"), "utf8")).toMatch(/^\{"learner":/);
    for (const format of ["json", "ubj"] as const) {
      const bytes = model.toBuffer(format);
      const loaded = Booster.fromBuffer(bytes);
      expect(loaded.predict(dtest)).toEqual(pred);
      expect(Buffer.from(loaded.toBuffer(format)).equals(bytes)).toBe(true); // toEqual walks 100k+ bytes slowly
      loaded.dispose();
    }
    // A loaded model keeps training where it stopped.
    const more = Booster.fromBuffer(model.toBuffer());
    const rounds: number[] = [];
    await more.train(dtrain, 3, { onRound: (i, text) => (expect(text).toBe(""), rounds.push(i)) });
    expect(rounds).toEqual([80, 81, 82]);
    expect(more.boostedRounds).toBe(83);
    for (const x of [more, model, dtrain, dtest]) x.dispose();
  });

  test("outputMargin returns the raw margin (differs from the probability for logistic)", async () => {
    const { x, y } = regression(new Rng(5), 200);
    const labels = y.map((v) => (v > 0.5 ? 1 : 0));
    const d = DMatrix.fromArray(x, 200, 3, { labels });
    const b = new Booster({ objective: "binary:logistic", nthread: 1, max_depth: 3 }, [d]);
    await b.train(d, 10);
    const p = b.predict(d);
    const m = b.predict(d, { outputMargin: true });
    for (let i = 0; i < 200; i++) expect(p[i]).toBeCloseTo(1 / (1 + Math.exp(-m[i]!)), 5);
    b.dispose();
    d.dispose();
  });
});

describe("rank:pairwise", () => {
  test("orders the items within held-out groups as the true relevance does", async () => {
    const rng = new Rng(11);
    const train = ranking(rng, 40, 12);
    const held = ranking(rng, 20, 12);
    // Graded labels (0..4), as a tuning log's ranks would be, weighted per group.
    const grades = train.relevance.map((r) => Math.max(0, Math.min(4, Math.floor(r + 1.5))));
    const dtrain = DMatrix.fromArray(train.x, train.rows, 4, {
      labels: grades,
      groups: train.sizes,
      weights: new Float32Array(40).fill(1),
    });
    const dtest = DMatrix.fromArray(held.x, held.rows, 4, { groups: held.sizes });
    const model = new Booster({ objective: "rank:pairwise", nthread: 1, max_depth: 4, eta: 0.2, seed: 1, eval_metric: ["ndcg@5", "map"] }, [dtrain]);
    let last = "";
    await model.train(dtrain, 60, { evals: [[dtrain, "train"]], onRound: (_, text) => (last = text) });
    expect(last).toMatch(/^\[59\]\ttrain-ndcg@5:[\d.]+\ttrain-map:[\d.]+$/);
    const scores = model.predict(dtest);
    expect(pairwiseAccuracy(scores, held.relevance, held.sizes)).toBeGreaterThan(0.9);
    // Random scores sit near 0.5, so the threshold above means something.
    const random = new Float32Array(held.rows).map(() => rng.float());
    expect(pairwiseAccuracy(random, held.relevance, held.sizes)).toBeLessThan(0.65);
    model.dispose();
    dtrain.dispose();
    dtest.dispose();
  });
});

describe("errors carry XGBoost's text and never crash", () => {
  test("an unknown objective", async () => {
    const { x, y } = regression(new Rng(1), 50);
    const d = DMatrix.fromArray(x, 50, 3, { labels: y });
    const bad = new Booster({ objective: "no:such", nthread: 1 }, [d]);
    const err = await bad.train(d, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XGBoostError);
    expect((err as Error).message).toMatch(/Unknown objective function: `no:such`/);
    expect((err as Error).message).not.toMatch(/Stack trace/);
    expect(() => bad.predict(d)).toThrow(/Unknown objective function/);
    bad.dispose();
    d.dispose();
  });

  test("a malformed parameter value", async () => {
    const { x, y } = regression(new Rng(1), 50);
    const d = DMatrix.fromArray(x, 50, 3, { labels: y });
    const b = new Booster({ nthread: 1, max_depth: "deep" });
    await expect(b.train(d, 1)).rejects.toThrow(/Invalid Parameter format for max_depth expect int but value='deep'/);
    b.dispose();
    d.dispose();
  });

  test("wrong-sized labels, weights and groups", () => {
    const x = new Float32Array(20);
    expect(() => DMatrix.fromArray(x, 10, 2, { labels: new Float32Array(7) })).toThrow(ShapeError);
    expect(() => DMatrix.fromArray(x, 10, 2, { weights: new Float32Array(9) })).toThrow(/weights needs 10 values/);
    expect(() => DMatrix.fromArray(x, 10, 2, { groups: new Uint32Array([4, 4]) })).toThrow(/summing to the 10 rows/);
    expect(() => DMatrix.fromArray(x, 10, 2, { groups: new Uint32Array([5, 5]), weights: new Float32Array(10) })).toThrow(/one per group/);
    expect(() => DMatrix.fromArray(x, 10, 3)).toThrow(/needs 30 features, got 20/);
    // The binding checks on its own too: XGBoost refuses the labels.
    const x2 = xgboostNative();
    const h = x2.dmatrixCreate(x, 10, 2, NaN);
    expect(() => x2.dmatrixSetFloatInfo(h, "label", new Float32Array(7))).toThrow(/XGDMatrixSetFloatInfo failed: .*Incorrect size for labels/);
    x2.dmatrixFree(h);
  });

  test("training without labels, and features XGBoost cannot take", async () => {
    const { x } = regression(new Rng(2), 30);
    const d = DMatrix.fromArray(x, 30, 3);
    const b = new Booster({ nthread: 1 }, [d]);
    await expect(b.train(d, 2)).rejects.toThrow(/XGBoosterUpdateOneIter failed in round 0: .*labels/);
    expect(() => DMatrix.fromArray(new Float32Array([1, Infinity]), 1, 2)).toThrow(/Input data contains `inf`/);
    // Predicting on a matrix with more columns than the model knows.
    const y = new Float32Array(30);
    const d2 = DMatrix.fromArray(x, 30, 3, { labels: y });
    await b.train(d2, 1);
    const wide = DMatrix.fromArray(new Float32Array(8), 2, 4);
    expect(() => b.predict(wide)).toThrow(/Number of columns does not match/);
    for (const o of [b, d, d2, wide]) o.dispose();
  });

  test("bad model files and buffers", () => {
    expect(() => Booster.loadModel(join(dir, "absent.json"))).toThrow(/XGBoosterLoadModel failed: .*absent\.json/);
    const junk = join(dir, "junk.json");
    writeFileSync(junk, '{"not": "a model"}');
    expect(() => Booster.loadModel(junk)).toThrow(XGBoostError);
    expect(() => Booster.fromBuffer(new TextEncoder().encode("garbage"))).toThrow(/wrong model format/);
    expect(() => Booster.fromBuffer(new Uint8Array(0))).toThrow(/empty/);
    expect(() => Booster.loadModel(join(dir, "model.bin"))).toThrow(/\.json or \.ubj/);
    const b = new Booster({ nthread: 1 });
    expect(() => b.saveModel(join(dir, "no", "such", "dir", "m.json"))).toThrow(XGBoostError);
    b.dispose();
  });

  test("nthread is required, by type and at run time", () => {
    // @ts-expect-error nthread is missing
    expect(() => new Booster({ objective: "reg:squarederror" })).toThrow(/explicit nthread/);
    expect(() => new Booster({ nthread: 0 })).toThrow(/nthread must be an integer >= 1/);
    expect(() => new Booster({ nthread: 1, eta: NaN })).toThrow(/eta must be a string or a finite number/);
  });

  test("the binding misused directly throws instead of crashing", () => {
    type Untyped = Record<keyof XGBoostNative, (...args: unknown[]) => unknown>;
    const raw = xgboostNative() as unknown as Untyped;
    const d = xgboostNative().dmatrixCreate(new Float32Array(4), 2, 2, NaN);
    const b = xgboostNative().boosterCreate([d], ["nthread"], ["1"]);
    expect(xgboostNative().dmatrixShape(d)).toEqual([2, 2]);
    for (const fake of [undefined, null, 3, "d", {}, b]) {
      expect(() => raw.dmatrixShape(fake)).toThrow(TypeError);
      expect(() => raw.boosterPredict(b, fake, false)).toThrow(TypeError);
    }
    for (const fake of [undefined, {}, d]) expect(() => raw.boosterPredict(fake, d, false)).toThrow(TypeError);
    expect(() => raw.dmatrixCreate(new Float64Array(4), 2, 2, NaN)).toThrow(/Float32Array/);
    expect(() => raw.dmatrixCreate(new Float32Array(4), 2.5, 2, NaN)).toThrow(RangeError);
    expect(() => raw.dmatrixCreate(new Float32Array(4), 3, 2, NaN)).toThrow(/needs 6 features, got 4/);
    expect(() => raw.dmatrixSetUIntInfo(d, "group", new Int32Array([2]))).toThrow(/Uint32Array/);
    expect(() => raw.boosterCreate([d], ["nthread", "eta"], ["1"])).toThrow(/differ in length/);
    expect(() => raw.boosterSaveToBuffer(b, "xml")).toThrow(/"json" or "ubj"/);
    expect(() => raw.boosterTrain(b, d, -1, [], [])).toThrow(RangeError);
    expect(() => raw.boosterTrain(b, d, 1, [], [], 5)).toThrow(/onRound must be a function/);
    xgboostNative().boosterFree(b);
    xgboostNative().dmatrixFree(d);
    expect(() => raw.dmatrixShape(d)).toThrow(/disposed/);
    expect(() => raw.boosterPredict(b, d, false)).toThrow(/disposed/);
  });

  test("an addon built without libxgboost says what to install", () => {
    expect(() => xgboostOf({})).toThrow(LatheError);
    expect(() => xgboostOf({})).toThrow(/apt-get install libxgboost-dev/);
    expect(xgboostOf({ xgboost: xgboostNative() })).toBe(xgboostNative());
  });
});

describe("dispose", () => {
  test("using a disposed booster or matrix throws; dispose is idempotent", async () => {
    const { d, b, done } = trainedRegressor(2);
    await done;
    b.dispose();
    b.dispose();
    expect(b.disposed).toBe(true);
    expect(() => b.predict(d)).toThrow(/Booster\.predict: the Booster has been disposed/);
    await expect(b.train(d, 1)).rejects.toThrow(LatheError);
    expect(() => b.toBuffer()).toThrow(/disposed/);
    d.dispose();
    const b2 = new Booster({ nthread: 1 });
    expect(() => b2.predict(d)).toThrow(/Booster\.predict data: the DMatrix has been disposed/);
    expect(() => new Booster({ nthread: 1 }, [d])).toThrow(/disposed/);
    b2.dispose();
  });

  test("disposing a booster during training stops it; disposing its data waits for it", async () => {
    const { d, b, done } = trainedRegressor(100_000);
    const other = new Booster(REG);
    expect(() => other.predict(d)).toThrow(/in use by a running Booster\.train/);
    expect(() => b.predict(d)).toThrow(/busy in train/);
    d.dispose(); // deferred: the training thread still reads it
    b.dispose();
    await expect(done).rejects.toThrow(/disposed during training/);
    other.dispose();
  });
});

describe("train runs off the event loop", () => {
  test("a setInterval keeps ticking while many rounds train, and rounds report in order", async () => {
    const { x, y } = regression(new Rng(9), 1500);
    const d = DMatrix.fromArray(x, 1500, 3, { labels: y });
    const b = new Booster({ ...REG, max_depth: 6, eta: 0.05 }, [d]);
    let ticks = 0;
    let ticksWhileBusy = 0;
    const timer = setInterval(() => {
      ticks++;
      // The booster refuses calls only while its training thread runs.
      try {
        b.boostedRounds;
      } catch {
        ticksWhileBusy++;
      }
    }, 2);
    const seen: number[] = [];
    const t0 = performance.now();
    try {
      await b.train(d, 200, { evals: [[d, "train"]], onRound: (i) => seen.push(i) });
    } finally {
      clearInterval(timer);
    }
    const ms = performance.now() - t0;
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(ticksWhileBusy).toBeGreaterThanOrEqual(3);
    expect(ticks).toBeGreaterThanOrEqual(ticksWhileBusy);
    expect(ms).toBeGreaterThan(20);
    b.dispose();
    d.dispose();
  });

  test("boosters on separate data train concurrently and match a sequential run", async () => {
    const { x, y } = regression(new Rng(6), 300);
    const make = () => {
      const d = DMatrix.fromArray(x, 300, 3, { labels: y });
      return { d, b: new Booster(REG, [d]) };
    };
    const runs = [make(), make(), make()];
    await Promise.all(runs.map(({ d, b }) => b.train(d, 20)));
    const solo = make();
    await solo.b.train(solo.d, 20);
    const want = solo.b.predict(solo.d);
    for (const { d, b } of [...runs, solo]) {
      expect(b.predict(d)).toEqual(want);
      b.dispose();
      d.dispose();
    }
  });

  test("an onRound that throws stops training and train() rejects with its error", async () => {
    const { x, y } = regression(new Rng(4), 100);
    const d = DMatrix.fromArray(x, 100, 3, { labels: y });
    const b = new Booster(REG);
    const boom = new Error("progress bar broke");
    // The worker sees the stop request between rounds, some rounds after round 2's callback
    // throws (callbacks run later, on the JS thread): with 5000 short rounds it is always
    // still running then, so "stopped early" holds without a race on timing.
    await expect(b.train(d, 5000, { onRound: (i) => { if (i === 2) throw boom; } })).rejects.toBe(boom);
    // Stopped early, and the booster is usable again.
    expect(b.boostedRounds).toBeLessThan(5000);
    expect(b.predict(d)).toHaveLength(100);
    b.dispose();
    d.dispose();
  });
});
