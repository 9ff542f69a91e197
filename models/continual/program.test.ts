/**
 * The compiled step's pieces against hand-computed cases, on models small enough to
 * work by hand (1–2 features, 2–3 classes, no hidden layer), run by the graph interpreter.
 */
import { describe, expect, test } from "vitest";
import { Tensor } from "../../runtime/tensor.ts";
import { SGD } from "../../train/optim/sgd.ts";
import { ContinualMlp } from "./model.ts";
import { compileGradients, rowCrossEntropy, TrainStep } from "./program.ts";
import { agemProjection, distillation, gemProjection, logitRegression, quadraticPenalty, sigmoidDistillation, siTracker } from "./terms.ts";

const exec = { executor: "interpreted" as const };
const f32 = (v: number[], shape: number[]) => Tensor.fromArray(v, shape, "f32");
const arr = (t: Tensor) => Array.from(t.data as Float32Array);

/** A 1-feature, 2-class linear model with weights W = [[w0, w1]], b = [b0, b1]. */
function tiny(w: number[], b: number[]): ContinualMlp {
  const m = new ContinualMlp(1, [], 2, 0);
  m.params[0]!.value = f32(w, [1, 2]);
  m.params[1]!.value = f32(b, [2]);
  return m;
}

/** A batch whose base cross-entropy has weight 0, so only the plugins' terms move the weights. */
const silent = (n: number, K = 2) => ({ x: f32(new Array(n).fill(0), [n, 1]), y: Tensor.fromArray(new Array(n).fill(0), [n], "i32"), w: f32(new Array(n).fill(0), [n]), mask: f32(new Array(n * K).fill(0), [n, K]) });

/** Penalty inputs: Ω and θ̄ per weight of `tiny`. */
const penaltyInputs = (name: string, omega: number[][], anchor: number[][], lambda: number) => ({
  [`${name}.omega.0`]: f32(omega[0]!, [1, 2]), [`${name}.omega.1`]: f32(omega[1]!, [2]),
  [`${name}.anchor.0`]: f32(anchor[0]!, [1, 2]), [`${name}.anchor.1`]: f32(anchor[1]!, [2]), [`${name}.lambda`]: f32([lambda], []),
});

describe("continual step graphs", () => {
  test("the base loss is Σ w_i CE_i with additive masks, and one SGD step matches the closed form", async () => {
    const m = tiny([0.5, -0.5], [0.1, 0.2]);
    const step = await TrainStep.create(m, [], new SGD({ lr: 0.1 }), exec);
    const x = [1, -2], y = [1, 0], w = [0.25, 0.75];
    // Row 1 masks class 1 away: its CE is −log 1 = 0.
    const mask = [0, 0, 0, -1e9];
    const loss = step.run({ x: f32(x, [2, 1]), y: Tensor.fromArray(y, [2], "i32"), w: f32(w, [2]), mask: f32(mask, [2, 2]) });
    const z0 = [0.5 + 0.1, -0.5 + 0.2];
    const p0 = z0.map((z) => Math.exp(z) / (Math.exp(z0[0]!) + Math.exp(z0[1]!)));
    expect(loss).toBeCloseTo(0.25 * -Math.log(p0[1]!), 6);
    // dL/dz for row 0 = w0 (p − onehot(1)); row 1 contributes nothing.
    const gz = [0.25 * p0[0]!, 0.25 * (p0[1]! - 1)];
    expect(arr(m.params[0]!.value)).toEqual([0.5 - 0.1 * gz[0]! * 1, -0.5 - 0.1 * gz[1]! * 1].map((v) => expect.closeTo(v, 6)));
    expect(arr(m.params[1]!.value)).toEqual([0.1 - 0.1 * gz[0]!, 0.2 - 0.1 * gz[1]!].map((v) => expect.closeTo(v, 6)));
  });

  test("momentum slots persist between steps and resetOptimizer starts them at zero", async () => {
    const m = tiny([0, 0], [0, 0]);
    const step = await TrainStep.create(m, [quadraticPenalty(m, "q")], new SGD({ lr: 0.1, momentum: 0.9 }), exec);
    // Penalty (θ − 1)² on w0 only: g = 2(θ − 1).
    const inp = { ...silent(1), ...penaltyInputs("q", [[1, 0], [0, 0]], [[1, 0], [0, 0]], 1) };
    step.run(inp); // g = −2, buf = −2, θ = 0.2
    step.run(inp); // g = −1.6, buf = 0.9·−2 − 1.6 = −3.4, θ = 0.2 + 0.34 = 0.54
    expect(arr(m.params[0]!.value)[0]).toBeCloseTo(0.54, 6);
    step.resetOptimizer();
    step.run(inp); // g = −0.92, buf = −0.92, θ = 0.632
    expect(arr(m.params[0]!.value)[0]).toBeCloseTo(0.632, 6);
  });

  test("quadratic penalty λ Σ Ω (θ − θ̄)²: value and update", async () => {
    const m = tiny([1, 2], [3, -1]);
    const step = await TrainStep.create(m, [quadraticPenalty(m, "ewc")], new SGD({ lr: 0.05 }), exec);
    const om = [[0.5, 2], [1, 0]], an = [[0, 1], [2, 5]];
    const loss = step.run({ ...silent(3), ...penaltyInputs("ewc", om, an, 3) });
    expect(loss).toBeCloseTo(3 * (0.5 * 1 + 2 * 1 + 1 * 1 + 0), 5);
    expect(arr(m.params[0]!.value)).toEqual([1 - 0.05 * 3 * 2 * 0.5 * 1, 2 - 0.05 * 3 * 2 * 2 * 1].map((v) => expect.closeTo(v, 6)));
    expect(arr(m.params[1]!.value)).toEqual([3 - 0.05 * 3 * 2 * 1, -1].map((v) => expect.closeTo(v, 6)));
  });

  test("EWC's empirical Fisher on a 1-feature, 2-class model equals the closed form", async () => {
    const m = tiny([0.3, -0.2], [0.05, 0]);
    const grads = await compileGradients(m, (c) => rowCrossEntropy(c.logits, c.inputs.mask!, c.inputs.y!, 2).mul(c.inputs.w!).sum(), { post: (g) => g.square(), exec });
    const xs = [1.5, -0.5, 2], ys = [0, 1, 1];
    const F = [0, 0, 0, 0];
    for (let i = 0; i < 3; i++) {
      const g = grads({ x: f32([xs[i]!], [1, 1]), y: Tensor.fromArray([ys[i]!], [1], "i32"), w: f32([1], [1]), mask: f32([0, 0], [1, 2]) });
      [...arr(g[0]!), ...arr(g[1]!)].forEach((v, k) => (F[k] += v / 3));
    }
    // dCE/dW_c = x (p_c − [y = c]), dCE/db_c = p_c − [y = c].
    const want = [0, 0, 0, 0];
    for (let i = 0; i < 3; i++) {
      const z = [0.3 * xs[i]! + 0.05, -0.2 * xs[i]!];
      const p1 = 1 / (1 + Math.exp(z[0]! - z[1]!)), p = [1 - p1, p1];
      for (let c = 0; c < 2; c++) {
        const d = p[c]! - (ys[i] === c ? 1 : 0);
        want[c] += (xs[i]! * d) ** 2 / 3;
        want[2 + c] += d ** 2 / 3;
      }
    }
    F.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 6));
  });

  test("A-GEM projects a conflicting gradient onto the reference's normal plane and leaves an agreeing one", async () => {
    // Penalty (θ − θ̄)² with Ω = ½ gives g = θ − θ̄: here g = (1, 0 | 0, 0).
    for (const [ref, want] of [
      [[-1, 1, 0, 0], [0.5, 0.5, 0, 0]], // g·r = −1 < 0: g − (−1/2) r
      [[1, 1, 0, 0], [1, 0, 0, 0]], // g·r = 1 ≥ 0: unchanged
      [[0, 0, 0, 0], [1, 0, 0, 0]], // no reference yet
    ] as const) {
      const m = tiny([1, 0], [0, 0]);
      const step = await TrainStep.create(m, [quadraticPenalty(m, "q"), agemProjection(m)], new SGD({ lr: 1 }), exec);
      step.run({ ...silent(1), ...penaltyInputs("q", [[0.5, 0.5], [0.5, 0.5]], [[0, 0], [0, 0]], 1), "agem.ref.0": f32([ref[0], ref[1]], [1, 2]), "agem.ref.1": f32([ref[2], ref[3]], [2]) });
      const moved = [...arr(m.params[0]!.value), ...arr(m.params[1]!.value)].map((v, k) => [1, 0, 0, 0][k]! - v);
      moved.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 6));
    }
  });

  test("GEM's QP on 2 constraints matches the hand solution", async () => {
    // g = (1, 0, 0, 0) (as above). Constraints g1 = (−1, 1, 0, 0), g2 = (−1, −1, 0, 0):
    // min ½‖z − g‖² s.t. g1·z ≥ 0, g2·z ≥ 0 → z = 0 (both active: −z0 ≥ |z1|, and z closest to g is 0).
    // Second case g1 = (−1, 1, 0, 0), g2 = (0, 1, 0, 0): only g1 binds → z = (½, ½, 0, 0).
    for (const [G, want] of [
      [[[-1, 1, 0, 0], [-1, -1, 0, 0]], [0, 0, 0, 0]],
      [[[-1, 1, 0, 0], [0, 1, 0, 0]], [0.5, 0.5, 0, 0]],
      [[[1, 0, 0, 0], [0, 1, 0, 0]], [1, 0, 0, 0]],
    ] as const) {
      const m = tiny([1, 0], [0, 0]);
      const step = await TrainStep.create(m, [quadraticPenalty(m, "q"), gemProjection(m, { iterations: 200, memoryStrength: 0 })], new SGD({ lr: 1 }), exec);
      step.run({
        ...silent(1), ...penaltyInputs("q", [[0.5, 0.5], [0.5, 0.5]], [[0, 0], [0, 0]], 1),
        "gem.G.0": f32(G.flatMap((r) => [r[0], r[1]]), [2, 1, 2]), "gem.G.1": f32(G.flatMap((r) => [r[2], r[3]]), [2, 2]),
      });
      const moved = [...arr(m.params[0]!.value), ...arr(m.params[1]!.value)].map((v, k) => [1, 0, 0, 0][k]! - v);
      moved.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 3));
    }
  });

  test("SI's tracker accumulates −g·Δθ (= lr·g² under plain SGD)", async () => {
    const m = tiny([1, 0], [0, 0]);
    const step = await TrainStep.create(m, [{ ...quadraticPenalty(m, "q"), trackers: [siTracker] }], new SGD({ lr: 0.1 }), exec);
    const inp = { ...silent(1), ...penaltyInputs("q", [[1, 1], [1, 1]], [[0, 2], [0, 0]], 1) };
    step.run(inp); // g = 2(θ − θ̄) = (2, −4, 0, 0)
    expect(arr(step.tracker("si.omega")[0]!)).toEqual([0.4, 1.6].map((v) => expect.closeTo(v, 6)));
    step.run(inp); // θ = (0.8, 0.4): g = (1.6, −3.2)
    expect(arr(step.tracker("si.omega")[0]!)).toEqual([0.4 + 0.1 * 1.6 ** 2, 1.6 + 0.1 * 3.2 ** 2].map((v) => expect.closeTo(v, 5)));
  });

  test("LwF's KL at temperature T, DER's logit regression and iCaRL's sigmoid loss match their formulas", async () => {
    const m = new ContinualMlp(1, [], 3, 0);
    m.params[0]!.value = f32([1, -1, 0.5], [1, 3]);
    m.params[1]!.value = f32([0, 0.5, 0], [3]);
    const xs = [1, 2];
    const z = xs.map((x) => [x, -x + 0.5, 0.5 * x]);
    const zold = [[0.2, 0.1, 3], [-1, 1, 0]];
    const base = { x: f32(xs, [2, 1]), y: Tensor.fromArray([2, 1], [2], "i32"), w: f32([0, 0], [2]), mask: f32(new Array(6).fill(0), [2, 3]) };
    const T = 2;
    const lwf = await TrainStep.create(m, [distillation(m, T)], new SGD({ lr: 0 }), exec);
    const got = lwf.run({ ...base, "lwf.z": f32(zold.flat(), [2, 3]), "lwf.mask": f32([0, 0, -1e9], [3]), "lwf.alpha": f32([0.7], []) });
    const soft = (v: number[]) => { const e = v.map((u) => Math.exp(u / T)); const s = e.reduce((a, b) => a + b); return e.map((u) => u / s); };
    const kl = z.map((zi, i) => { const q = soft(zold[i]!.slice(0, 2)), p = soft(zi.slice(0, 2)); return q.reduce((s, qc, c) => s + qc * Math.log(qc / p[c]!), 0); });
    expect(got).toBeCloseTo(0.7 * (kl[0]! + kl[1]!) / 2, 5);

    const der = await TrainStep.create(m, [logitRegression(m)], new SGD({ lr: 0 }), exec);
    const dz = [[1, 1, 1], [0, 0, 0]];
    const gotDer = der.run({ ...base, "der.z": f32(dz.flat(), [2, 3]), "der.w": f32([0.3, 0.1], [2]) });
    const mse = z.map((zi, i) => zi.reduce((s, v, c) => s + (v - dz[i]![c]!) ** 2, 0) / 3);
    expect(gotDer).toBeCloseTo(0.3 * mse[0]! + 0.1 * mse[1]!, 5);

    const icarl = await TrainStep.create(m, [sigmoidDistillation(m)], new SGD({ lr: 0 }), exec);
    const gotIcarl = icarl.run({ ...base, "icarl.z": f32(zold.flat(), [2, 3]), "icarl.old": f32([1, 0, 0], [3]), "icarl.seen": f32([1, 1, 0], [3]) });
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const ys = [2, 1];
    const bce = z.map((zi, i) => [0, 1].reduce((s, c) => {
      const t = c === 0 ? sig(zold[i]![0]!) : ys[i] === c ? 1 : 0;
      return s - t * Math.log(sig(zi[c]!)) - (1 - t) * Math.log(1 - sig(zi[c]!));
    }, 0));
    expect(gotIcarl).toBeCloseTo((bce[0]! + bce[1]!) / 2, 5);
  });
});
