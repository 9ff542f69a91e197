/**
 * Each optimizer, run as part of a compiled step graph, against a hand-written JS
 * implementation of its update rule over 3 steps of a tiny least-squares problem
 * whose gradient is written out by hand.
 */
import { describe, expect, test } from "vitest";
import { Rng } from "../runtime/random.ts";
import { Tensor } from "../runtime/tensor.ts";
import { lt } from "./lt.ts";
import type { Optimizer } from "./optim/index.ts";
import { Adadelta, Adam, AdamW, SGD } from "./optim/index.ts";
import { Parameter } from "./parameter.ts";
import { compileLossStep } from "./step.ts";

/** The update rules are what is checked here, so steps run on the reference interpreter. */
const INTERP = { executor: "interpreted" } as const;
const N = 4, D = 3;
const rng = new Rng(11);
const X = Array.from({ length: N * D }, () => rng.uniform(-1, 1));
const Y = Array.from({ length: N }, () => rng.uniform(-1, 1));
const W0 = [0.5, -0.25, 0.75], B0 = [0.1];

/** loss = mean_i (Σ_j x_ij w_j + b − y_i)², and its gradient by hand. */
function lossAndGrad(w: number[], b: number[]): { loss: number; gw: number[]; gb: number[] } {
  const r = Array.from({ length: N }, (_, i) => X.slice(i * D, i * D + D).reduce((s, x, j) => s + x * w[j]!, 0) + b[0]! - Y[i]!);
  return {
    loss: r.reduce((s, v) => s + v * v, 0) / N,
    gw: w.map((_, j) => (2 / N) * r.reduce((s, v, i) => s + v * X[i * D + j]!, 0)),
    gb: [(2 / N) * r.reduce((s, v) => s + v, 0)],
  };
}

/** One parameter's update rule in plain JS: (param, grad, state, t) → param, state updated in place. */
type Rule = (p: number[], g: number[], state: number[][], t: number) => number[];
const zip = (p: number[], f: (i: number) => number) => p.map((_, i) => f(i));

function sgdRule(lr: number, mu = 0, nesterov = false, wd = 0): Rule {
  return (p, g0, [buf], _t) => {
    const g = zip(p, (i) => g0[i]! + wd * p[i]!);
    if (mu === 0) return zip(p, (i) => p[i]! - lr * g[i]!);
    for (let i = 0; i < p.length; i++) buf![i] = mu * buf![i]! + g[i]!;
    return zip(p, (i) => p[i]! - lr * (nesterov ? g[i]! + mu * buf![i]! : buf![i]!));
  };
}
function adamRule(lr: number, b1: number, b2: number, eps: number, wd = 0, decoupled = false): Rule {
  return (p0, g0, [m, v], t) => {
    const p = decoupled ? zip(p0, (i) => p0[i]! * (1 - lr * wd)) : p0;
    const g = decoupled ? g0 : zip(p0, (i) => g0[i]! + wd * p0[i]!);
    return zip(p, (i) => {
      m![i] = b1 * m![i]! + (1 - b1) * g[i]!;
      v![i] = b2 * v![i]! + (1 - b2) * g[i]! * g[i]!;
      const mh = m![i]! / (1 - b1 ** t), vh = v![i]! / (1 - b2 ** t);
      return p[i]! - (lr * mh) / (Math.sqrt(vh) + eps);
    });
  };
}
function adadeltaRule(lr: number, rho: number, eps: number, wd = 0): Rule {
  return (p, g0, [v, u], _t) => zip(p, (i) => {
    const g = g0[i]! + wd * p[i]!;
    v![i] = rho * v![i]! + (1 - rho) * g * g;
    const d = (Math.sqrt(u![i]! + eps) / Math.sqrt(v![i]! + eps)) * g;
    u![i] = rho * u![i]! + (1 - rho) * d * d;
    return p[i]! - lr * d;
  });
}

const close = (got: readonly number[], want: readonly number[], what: string) => {
  expect(got.length, what).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!) <= 1e-6 + 2e-5 * Math.abs(want[i]!), `${what}[${i}]: graph ${g} vs JS ${want[i]}`).toBe(true));
};

const cases: [string, () => Optimizer, Rule, number][] = [
  ["SGD", () => new SGD({ lr: 0.1 }), sgdRule(0.1), 0],
  ["SGD momentum", () => new SGD({ lr: 0.1, momentum: 0.9 }), sgdRule(0.1, 0.9), 1],
  ["SGD Nesterov + weight decay", () => new SGD({ lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.1 }), sgdRule(0.05, 0.8, true, 0.1), 1],
  ["Adam", () => new Adam({ lr: 0.1 }), adamRule(0.1, 0.9, 0.999, 1e-8), 2],
  ["Adam + L2 weight decay", () => new Adam({ lr: 0.05, beta1: 0.8, beta2: 0.99, weightDecay: 0.2 }), adamRule(0.05, 0.8, 0.99, 1e-8, 0.2), 2],
  ["AdamW", () => new AdamW({ lr: 0.1, weightDecay: 0.3 }), adamRule(0.1, 0.9, 0.999, 1e-8, 0.3, true), 2],
  ["Adadelta", () => new Adadelta({ lr: 1, rho: 0.9, epsilon: 1e-3 }), adadeltaRule(1, 0.9, 1e-3), 2],
  ["Adadelta + weight decay", () => new Adadelta({ lr: 0.5, rho: 0.95, epsilon: 1e-2, weightDecay: 0.1 }), adadeltaRule(0.5, 0.95, 1e-2, 0.1), 2],
];

describe("optimizers as graphs match their update rules", () => {
  test.each(cases)("%s, 3 steps", async (_name, make, rule, slots) => {
    const w = new Parameter("w", Tensor.fromArray(W0, [D], "f32"));
    const b = new Parameter("b", Tensor.fromArray(B0, [1], "f32"));
    const opt = make();
    expect(opt.slots).toHaveLength(slots);
    const step = await compileLossStep(({ x, y }) => {
      const pred = x!.mul(lt.param(w)).sum([1]).add(lt.param(b));
      return pred.sub(y!).square().mean();
    }, opt, { x: { shape: ["n", D] }, y: { shape: ["n"] } }, INTERP);
    const batch = { x: Tensor.fromArray(X, [N, D], "f32"), y: Tensor.fromArray(Y, [N], "f32") };

    let jw = [...W0], jb = [...B0];
    const sw = Array.from({ length: slots }, () => new Array<number>(D).fill(0));
    const sb = Array.from({ length: slots }, () => [0]);
    for (let t = 1; t <= 3; t++) {
      const { loss, gw, gb } = lossAndGrad(jw, jb);
      const got = step(batch);
      expect(Math.abs(got - loss), `loss at step ${t}: ${got} vs ${loss}`).toBeLessThan(1e-5 * Math.max(1, loss));
      jw = rule(jw, gw, sw, t);
      jb = rule(jb, gb, sb, t);
      close(w.value.toArray(), jw, `w after step ${t}`);
      close(b.value.toArray(), jb, `b after step ${t}`);
      step.optimizerState(w).forEach((s, k) => close(s.toArray(), sw[k]!, `slot ${opt.slots[k]} of w after step ${t}`));
    }
    expect(step.steps).toBe(3);
    expect(w.value.toArray()).not.toEqual(W0.map(Math.fround));
  });

  test("the learning rate is a graph input: changing it takes effect without recompiling", async () => {
    const w = new Parameter("w", Tensor.fromArray([1], [1], "f32"));
    const opt = new SGD({ lr: 0.5 });
    const step = await compileLossStep(() => lt.param(w).square().sum(), opt, {}, INTERP);
    step({});
    expect(w.value.toArray()).toEqual([0]); // 1 − 0.5·2
    w.value = Tensor.fromArray([1], [1], "f32");
    opt.lr = 0.25;
    step({});
    expect(w.value.toArray()).toEqual([0.5]);
  });

  test("a batch lacking an input the step takes, or holding one it does not, is rejected by name", async () => {
    const w = new Parameter("w", Tensor.fromArray([1, 2], [2], "f32"));
    const step = await compileLossStep(({ x }) => x!.mul(lt.param(w)).sum(), new SGD({ lr: 0.1 }), { x: { shape: [2] } }, INTERP);
    expect(() => step({})).toThrow(/batch lacks the input "x" \(f32\[2\]\)/);
    expect(() => step({ x: Tensor.zeros([2]), z: Tensor.zeros([2]) })).toThrow(/batch has an input "z" the graph does not take \(inputs: x\)/);
    expect(step.steps).toBe(0);
    expect(w.value.toArray()).toEqual([1, 2]);
  });
});
