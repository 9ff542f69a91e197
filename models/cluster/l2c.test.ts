import { describe, expect, test } from "vitest";
import { LatheError, ShapeError } from "../../core/errors.ts";
import { isScan } from "../../compiler/graph/scan.ts";
import { Rng } from "../../runtime/random.ts";
import { lt } from "../../train/lt.ts";
import { L2C_PAPER, L2cNetwork } from "./l2c-network.ts";
import { drawBatch2d } from "./l2c-sets.ts";
import { L2cModel, trainL2c } from "./l2c.ts";

// Tiny sets and network so that a few hundred steps run in about a minute on one core.
const ARCH = { kMax: 3, hidden: 16, layers: 1, countHidden: 8, countFc: 16 };
const SETS = { n: 16 };

describe("L2C", () => {
  test("240 seeded Adadelta steps on tiny 2-D sets lower held-out MR versus the untrained network", async () => {
    const seed = 1;
    const untrained = new L2cModel(new L2cNetwork({ ...ARCH, d: 2, seed }));
    const heldOut = drawBatch2d(new Rng(99), 64, { ...SETS, kMax: ARCH.kMax });
    const before = await untrained.meanMr(heldOut);
    const run = await trainL2c({ arch: ARCH, sets: SETS, batchSize: 16, steps: 240, validateEvery: 80, validationSets: 48, seed });
    expect(run.losses).toHaveLength(240);
    // Step 0's validation is the untrained network (same seed, same weights).
    expect(run.validation.map((v) => v.step)).toEqual([0, 80, 160, 240]);
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(run.losses.slice(-40))).toBeLessThan(0.75 * mean(run.losses.slice(0, 40)));
    expect(run.bestMr).toBeLessThan(0.75 * run.validation[0]!.mr);
    const after = await run.model.meanMr(heldOut);
    expect(after).toBeLessThan(0.75 * before);

    // One set through cluster() agrees with the batch; P(k) is a distribution; labels are 0…distinct−1.
    const one = await run.model.cluster({ data: heldOut.x.slice(0, SETS.n * 2), n: SETS.n, d: 2 });
    const [batched] = await run.model.clusterBatch(heldOut.x.slice(0, 2 * SETS.n * 2), 2, SETS.n);
    expect(Array.from(one.labels)).toEqual(Array.from(batched!.labels));
    expect(one.k).toBe(batched!.k);
    expect(one.pk.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(one.k).toBe(1 + one.pk.indexOf(Math.max(...one.pk)));
    expect(Math.max(...one.labels)).toBe(new Set(one.labels).size - 1);
    expect(Math.max(...one.labels)).toBeLessThan(one.k);
  }, 300_000);

  test("bad input: wrong dimension, NaN, an empty set each get one error", async () => {
    const model = new L2cModel(new L2cNetwork({ ...ARCH, d: 2, seed: 0 }));
    await expect(model.cluster({ data: new Float32Array(9), n: 3, d: 3 })).rejects.toThrow(ShapeError);
    await expect(model.cluster({ data: new Float32Array(9), n: 3, d: 3 })).rejects.toThrow("l2c: points have 3 features, the network takes 2");
    await expect(model.cluster({ data: Float32Array.of(0.1, 0.2, NaN, 0.4), n: 2, d: 2 })).rejects.toThrow("l2c: point 1, feature 0 is NaN, not a finite number");
    await expect(model.cluster({ data: new Float32Array(0), n: 0, d: 2 })).rejects.toThrow(LatheError);
    await expect(model.cluster({ data: new Float32Array(0), n: 0, d: 2 })).rejects.toThrow("l2c: the set is empty; it needs at least one point");
    await expect(trainL2c({ steps: 0 })).rejects.toThrow("l2c: steps must be a positive integer, got 0");
    await expect(trainL2c({ lr: -1 })).rejects.toThrow("l2c: lr must be a positive number, got -1");
    await expect(trainL2c({ arch: { hidden: 0 } })).rejects.toThrow("l2c: arch.hidden must be a positive integer, got 0");
  });

  test("the paper's network traces: 14 residual BDLSTM layers of 144 units, one scan per direction", () => {
    const net = new L2cNetwork({ ...L2C_PAPER, d: 2, seed: 0 });
    const { graph, outputs } = lt.trace(() => { const o = net.apply(lt.input("x", [2, 72, 2])); return [o.countLogits, ...o.heads]; });
    expect(outputs.map((o) => o.shape)).toEqual([[2, 5], [2, 72, 1], [2, 72, 2], [2, 72, 3], [2, 72, 4], [2, 72, 5]]);
    // 14 residual layers + the count head, two directions each.
    expect(graph.nodes.filter(isScan)).toHaveLength(2 * 15);
    const lstmWeights = net.parameters().filter((p) => p.name.startsWith("l2c.bdlstm") && p.name.includes("w_hh"));
    expect(lstmWeights).toHaveLength(28);
    expect(lstmWeights[0]!.value.shape).toEqual([4 * 144, 144]);
  });
});
