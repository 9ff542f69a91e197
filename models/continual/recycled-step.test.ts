/**
 * The compiled continual graphs on the default executor (native: outputs written into
 * recycled buffers, train/recycle.ts) against the same graphs on the reference
 * interpreter: several momentum steps with a quadratic penalty and a tracker, and a
 * gradient sum over batches (EWC's Fisher) against the closed form. A tiny MLP 3-4-2.
 */
import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { defaultExecutor } from "../../train/executable.ts";
import { SGD } from "../../train/optim/sgd.ts";
import { ContinualMlp } from "./model.ts";
import { compileGradients, compileGradientSum, rowCrossEntropy, TrainStep } from "./program.ts";
import type { TermContext } from "./program.ts";
import { quadraticPenalty, siTracker } from "./terms.ts";

const interp = { executor: "interpreted" as const };
const arr = (t: Tensor) => Array.from(t.data as Float32Array);
const rand = (n: number, rng: Rng) => Array.from({ length: n }, () => rng.uniform(-1, 1));
const meanCe = (c: TermContext) => rowCrossEntropy(c.logits, c.inputs.mask!, c.inputs.y!, c.model.classes).mul(c.inputs.w!).sum();

/** Batch k of 4 rows of the 3-feature, 2-class toy data, seeded by k. */
function batch(k: number): Record<string, Tensor> {
  const rng = new Rng(100 + k), n = 4;
  return {
    x: Tensor.fromArray(rand(n * 3, rng), [n, 3], "f32"), y: Tensor.fromArray(Array.from({ length: n }, (_, i) => (i + k) % 2), [n], "i32"),
    w: Tensor.fromArray(new Array(n).fill(1 / n), [n], "f32"), mask: Tensor.zeros([n, 2], "f32"),
  };
}

/** Penalty inputs for quadraticPenalty(m, "q"). */
function penalty(m: ContinualMlp): Record<string, Tensor> {
  const rng = new Rng(7), out: Record<string, Tensor> = { "q.lambda": Tensor.fromArray([0.5], [], "f32") };
  m.params.forEach((p, k) => {
    out[`q.omega.${k}`] = Tensor.fromArray(rand(p.value.size, rng).map(Math.abs), p.shape, "f32");
    out[`q.anchor.${k}`] = Tensor.fromArray(rand(p.value.size, rng), p.shape, "f32");
  });
  return out;
}

describe("continual graphs on the default executor", () => {
  test("steps with momentum, a penalty and a tracker match the interpreter, through recycled buffers", async () => {
    const run = async (exec: { executor?: "interpreted" }) => {
      const m = new ContinualMlp(3, [4], 2, 1);
      const step = await TrainStep.create(m, [{ ...quadraticPenalty(m, "q"), trackers: [siTracker] }], new SGD({ lr: 0.2, momentum: 0.9 }), exec);
      const pen = penalty(m), losses: number[] = [];
      for (let k = 0; k < 6; k++) {
        if (k === 3) step.resetOptimizer(); // fresh slots are fed from outside, not from recycled buffers
        losses.push(step.run({ ...batch(k), ...pen }));
      }
      const kept = m.snapshot();
      return { losses, weights: kept.map(arr), tracker: step.tracker("si.omega").map(arr), step };
    };
    const want = await run(interp), got = await run({});
    got.losses.forEach((l, i) => expect(l).toBeCloseTo(want.losses[i]!, 5));
    got.weights.flat().forEach((w, i) => expect(w).toBeCloseTo(want.weights.flat()[i]!, 5));
    got.tracker.flat().forEach((w, i) => expect(w).toBeCloseTo(want.tracker.flat()[i]!, 5));
    if (defaultExecutor() === "compiled") expect(got.step.recycledRuns).toBe(4);
  });

  test("a gradient sum over batches equals the sum of per-batch gradients (squared: EWC's Fisher)", async () => {
    const m = new ContinualMlp(3, [4], 2, 2);
    const perBatch = await compileGradients(m, meanCe, { post: (g) => g.square(), exec: interp });
    const want = m.params.map((p) => new Float64Array(p.value.size));
    for (let k = 0; k < 5; k++) perBatch(batch(k)).forEach((g, j) => arr(g).forEach((v, i) => (want[j]![i] += v)));
    for (const exec of [interp, {}]) {
      const sum = await compileGradientSum(m, meanCe, { post: (g) => g.square(), exec });
      const batches = [0, 1, 2, 3, 4].map(batch);
      const got = sum(batches);
      got.forEach((g, j) => arr(g).forEach((v, i) => expect(v).toBeCloseTo(want[j]![i]!, 5)));
      // A second pass starts from zero again.
      sum(batches).forEach((g, j) => arr(g).forEach((v, i) => expect(v).toBeCloseTo(want[j]![i]!, 5)));
    }
  });
});
