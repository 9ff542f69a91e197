import { describe, expect, test } from "vitest";
import { autodiff } from "../../compiler/graph/passes/autodiff.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { feeder } from "../../train/feed.ts";
import { lt } from "../../train/lt.ts";
import type { GimConfig } from "./config.ts";
import { DEFAULT_GIM, checkConfig, gridSide } from "./config.ts";
import { negativeInputs, sampleNegatives } from "./infonce.ts";
import { buildModules, moduleParameters, negativeSpecs, stackedLosses } from "./modules.ts";
import { moduleTrainer } from "./steps.ts";

/** A tiny setting: 8×8 images, 4×4 patches at stride 2 (a 3×3 grid), two modules of 3 channels. */
export const TINY: GimConfig = { ...DEFAULT_GIM, image: 8, patch: 4, stride: 2, channels: [3, 3], steps: 1, negatives: 2, batch: 2, lr: 1e-2, seed: 1 };

const images = (rng: Rng, n: number, side: number) => Tensor.fromArray(Array.from({ length: n * side * side }, () => rng.float()), [n, 1, side, side], "f32");

describe("gim modules", () => {
  test("the config: 28×28, 7×7 patches at stride 3 is an 8×8 grid; bad settings are one-line errors naming the field", () => {
    expect(gridSide(DEFAULT_GIM)).toBe(8);
    expect(() => checkConfig({ ...DEFAULT_GIM, patch: 30 })).toThrow(/^gim config: patch: a 30×30 patch is larger than the 28×28 image$/);
    expect(() => checkConfig({ ...DEFAULT_GIM, stride: 0 })).toThrow(/^gim config: stride: must be a positive integer, got 0$/);
    expect(() => checkConfig({ ...DEFAULT_GIM, steps: 8 })).toThrow(/^gim config: steps: 8 prediction steps need more than 8 grid rows; the grid has 8$/);
    expect(() => checkConfig({ ...DEFAULT_GIM, channels: [] })).toThrow(/channels: needs at least one module/);
    expect(checkConfig(TINY)).toBe(TINY);
    expect(() => buildModules({ ...TINY, steps: 3 })).toThrow(/^gim config: steps: 3 prediction steps need more than 3 grid rows; the grid has 3$/);
  });

  test("module 2's loss sends no gradient to module 1 through stop_gradient; end to end it does", () => {
    const mods = buildModules(TINY);
    const x = images(new Rng(2), TINY.batch, TINY.image);
    const negs = sampleNegatives(new Rng(3), TINY.batch, gridSide(TINY), TINY.steps, TINY.negatives);
    const specs = negativeSpecs(TINY);
    const gradNorm = (isolate: boolean): number => {
      const traced = lt.trace(() => {
        const negIn = negativeInputs(TINY.steps).map((n) => lt.input(n, specs[n]!.shape, "i32"));
        return stackedLosses(mods, lt.input("x", x.shape), negIn, TINY, isolate);
      });
      const p1 = moduleParameters(mods[0]!).map((p) => traced.trace.params.get(p)!);
      const { graph, grads } = autodiff(traced.graph, traced.outputs[1]!.value, p1);
      const withGrads = { ...graph, outputs: grads };
      const feed = feeder(withGrads, traced.trace)({ x, ...Object.fromEntries(negativeInputs(TINY.steps).map((n, i) => [n, negs[i]!])) }, 0);
      const outs = interpret(withGrads, feed.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs;
      return outs.reduce((a, o) => a + o.data.reduce((s, v) => s + v * v, 0), 0);
    };
    expect(gradNorm(true)).toBe(0);
    expect(gradNorm(false)).toBeGreaterThan(1e-8);
  });

  test("module 2's compiled step updates its own parameters and leaves module 1's untouched", async () => {
    const mods = buildModules(TINY);
    const before = moduleParameters(mods[0]!).map((p) => p.value);
    const own = moduleParameters(mods[1]!).map((p) => p.value.toArray());
    const t2 = await moduleTrainer(TINY, mods[1]!, { executor: "interpreted" });
    expect(new Set(t2.parameters)).toEqual(new Set(moduleParameters(mods[1]!)));
    const t1 = await moduleTrainer(TINY, mods[0]!, { executor: "interpreted" });
    const maps = await t1.forward(images(new Rng(4), TINY.batch, TINY.image));
    expect(maps.shape).toEqual([TINY.batch * 9, 3, 4, 4]);
    expect(Number.isFinite(t2.step(maps))).toBe(true);
    moduleParameters(mods[0]!).forEach((p, k) => expect(p.value).toBe(before[k]));
    expect(moduleParameters(mods[1]!).some((p, k) => p.value.toArray().some((v, i) => v !== own[k]![i]))).toBe(true);
  });
});
