/** Layers against hand-written JS loops (tiny sizes: graphs run through the interpreter). */
import { describe, expect, test } from "vitest";
import { Rng } from "../runtime/random.ts";
import { Tensor } from "../runtime/tensor.ts";
import { interpretedExecutable } from "./executable.ts";
import type { Tracer } from "./lt.ts";
import { lt } from "./lt.ts";
import { BatchNorm, Conv2d, Dropout, Embedding, LSTM, LayerNorm, Linear, Sequential } from "./nn/index.ts";
import { SGD } from "./optim/index.ts";
import { compileLossStep, compileStep } from "./step.ts";
import { feeder } from "./feed.ts";
import { crossEntropy } from "./losses.ts";
import { Adam } from "./optim/index.ts";

const INTERP = { executor: "interpreted" } as const;
const rand = (n: number, seed: number) => { const r = new Rng(seed); return Array.from({ length: n }, () => r.uniform(-1, 1)); };
const near = (got: readonly number[], want: readonly number[], tol = 1e-5) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `[${i}] ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!))));
};

/** Traces `fn(x)` for an input shaped like `x` and runs it, parameters fed from their values (step counter 0). */
function run(x: Tensor, fn: (t: Tracer) => Tracer, training = false): number[] {
  const { graph, trace } = lt.trace(() => fn(lt.input("x", x.shape, x.dtype)), { training });
  return interpretedExecutable(graph).run(feeder(graph, trace)({ x }, 0))[0]!.toArray();
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

describe("layers", () => {
  test("Linear and Sequential: y = relu(x·W1 + b1)·W2 + b2; parameters are found by walking fields", () => {
    const rng = new Rng(1);
    const l1 = new Linear(3, 4, { rng }), l2 = new Linear(4, 2, { rng, bias: false });
    const model = new Sequential(l1, (h) => h.relu(), l2);
    expect(model.parameters()).toEqual([l1.weight, l1.bias, l2.weight]);
    const x = rand(6, 2);
    const [w1, b1, w2] = [l1.weight.value.toArray(), l1.bias!.value.toArray(), l2.weight.value.toArray()];
    // Initial weights are uniform in ±1/√fan_in.
    expect(Math.max(...w1.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(3));
    const want: number[] = [];
    for (let i = 0; i < 2; i++) {
      const h = [0, 1, 2, 3].map((j) => Math.max(0, b1[j]! + [0, 1, 2].reduce((s, k) => s + Math.fround(x[i * 3 + k]!) * w1[k * 4 + j]!, 0)));
      for (let j = 0; j < 2; j++) want.push(h.reduce((s, v, k) => s + v * w2[k * 2 + j]!, 0));
    }
    near(run(Tensor.fromArray(x, [2, 3]), (t) => model.forward(t)), want);
  });

  test("Conv2d with padding, stride and bias matches a direct loop", () => {
    const conv = new Conv2d(2, 3, 3, { stride: 2, padding: 1, rng: new Rng(3) });
    const [N, C, H, W] = [1, 2, 5, 4];
    const x = rand(N * C * H * W, 4).map(Math.fround), w = conv.weight.value.toArray(), bias = conv.bias!.value.toArray();
    const OH = 3, OW = 2, want: number[] = [];
    for (let o = 0; o < 3; o++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
      let s = bias[o]!;
      for (let c = 0; c < C; c++) for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) {
        const [r, k] = [2 * i + p - 1, 2 * j + q - 1];
        if (r >= 0 && r < H && k >= 0 && k < W) s += x[(c * H + r) * W + k]! * w[((o * C + c) * 3 + p) * 3 + q]!;
      }
      want.push(s);
    }
    near(run(Tensor.fromArray(x, [N, C, H, W]), (t) => conv.forward(t)), want);
  });

  test("LayerNorm normalizes the last axis", () => {
    const ln = new LayerNorm(4, { epsilon: 1e-5 });
    ln.scale.value = Tensor.fromArray([1, 2, 0.5, -1], [4]);
    ln.bias.value = Tensor.fromArray([0, 0.1, 0.2, 0.3], [4]);
    const x = rand(8, 5).map(Math.fround);
    const want = [0, 1].flatMap((r) => {
      const row = x.slice(r * 4, r * 4 + 4), m = row.reduce((a, b) => a + b) / 4;
      const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / 4;
      return row.map((e, j) => ((e - m) / Math.sqrt(v + 1e-5)) * [1, 2, 0.5, -1][j]! + [0, 0.1, 0.2, 0.3][j]!);
    });
    near(run(Tensor.fromArray(x, [2, 4]), (t) => ln.forward(t)), want, 1e-4);
  });

  test("Embedding picks rows", () => {
    const e = new Embedding(5, 3, { rng: new Rng(6) });
    const w = e.weight.value.toArray();
    near(run(Tensor.fromArray([4, 0, 4, 2], [2, 2], "i32"), (t) => e.forward(t)), [4, 0, 4, 2].flatMap((r) => w.slice(r * 3, r * 3 + 3)), 0);
  });

  test("LSTM unrolls lstm_cell: matches a JS LSTM (gates i, f, g, o) over 3 steps", () => {
    const [B, T, I, H] = [2, 3, 2, 3];
    const lstm = new LSTM(I, H, { rng: new Rng(7) });
    const x = rand(B * T * I, 8).map(Math.fround);
    const wih = lstm.wIh.value.toArray(), whh = lstm.wHh.value.toArray(), bias = lstm.bias.value.toArray();
    const want = new Array<number>(B * T * H);
    for (let b = 0; b < B; b++) {
      let h = new Array<number>(H).fill(0), c = new Array<number>(H).fill(0);
      for (let t = 0; t < T; t++) {
        const z = Array.from({ length: 4 * H }, (_, r) => bias[r]!
          + [...Array(I).keys()].reduce((s, k) => s + x[(b * T + t) * I + k]! * wih[r * I + k]!, 0)
          + [...Array(H).keys()].reduce((s, k) => s + h[k]! * whh[r * H + k]!, 0));
        c = c.map((cv, j) => sigmoid(z[H + j]!) * cv + sigmoid(z[j]!) * Math.tanh(z[2 * H + j]!));
        h = c.map((cv, j) => sigmoid(z[3 * H + j]!) * Math.tanh(cv));
        h.forEach((v, j) => { want[(b * T + t) * H + j] = v; });
      }
    }
    near(run(Tensor.fromArray(x, [B, T, I]), (t) => lstm.forward(t)), want, 1e-5);
  });

  test("Dropout: identity in inference; in training zeroes about `rate` of the elements, scales the rest by 1/(1 − rate), fresh mask per step", () => {
    const d = new Dropout(0.5, 9);
    const x = Tensor.fromArray(new Array<number>(400).fill(1), [400]);
    expect(run(x, (t) => d.forward(t))).toEqual(new Array<number>(400).fill(1));
    const { graph, trace } = lt.trace(() => d.forward(lt.input("x", [400])), { training: true });
    const exe = interpretedExecutable(graph);
    const step = graph.inputs.find((v) => trace.sources.get(v)!.kind === "step")!;
    const at = (s: number) => exe.run(graph.inputs.map((v) => (v === step ? Tensor.fromArray([s], [], "i32") : x)))[0]!.toArray();
    const a = at(0), b = at(1);
    expect(new Set(a)).toEqual(new Set([0, 2]));
    const kept = a.filter((v) => v === 2).length;
    expect(kept).toBeGreaterThan(160);
    expect(kept).toBeLessThan(240);
    expect(a).not.toEqual(b);
    expect(at(0)).toEqual(a);
  });
});

describe("BatchNorm", () => {
  test("training normalizes with batch statistics; the step updates running mean and (unbiased) variance; inference uses them", async () => {
    const bn = new BatchNorm(2, { momentum: 0.25 });
    const x = rand(12, 10).map((v, i) => Math.fround(v * 2 + (i % 6 < 3 ? 1 : -3))); // [2, 2, 3]: channel 0 then 1 per row
    const xt = Tensor.fromArray(x, [2, 2, 3]);
    const chan = (c: number) => [0, 1].flatMap((n) => x.slice(n * 6 + c * 3, n * 6 + c * 3 + 3));
    const stats = [0, 1].map((c) => {
      const v = chan(c), m = v.reduce((a, b) => a + b) / 6;
      return { m, biased: v.reduce((a, b) => a + (b - m) ** 2, 0) / 6, unbiased: v.reduce((a, b) => a + (b - m) ** 2, 0) / 5 };
    });
    const y = run(xt, (t) => bn.forward(t), true);
    near(y, x.map((v, i) => { const s = stats[Math.floor(i / 3) % 2]!; return (v - s.m) / Math.sqrt(s.biased + 1e-5); }), 1e-4);

    // A step on loss = Σ BN(x)·r: running statistics are state, written back after the step.
    const r = rand(12, 11);
    const step = await compileLossStep(({ x: xi, r: ri }) => bn.forward(xi!).mul(ri!).sum(), new SGD({ lr: 0.1 }),
      { x: { shape: ["n", 2, 3] }, r: { shape: ["n", 2, 3] } }, INTERP);
    expect(step.parameters).toEqual([bn.scale, bn.bias]);
    step({ x: xt, r: Tensor.fromArray(r, [2, 2, 3]) });
    near(bn.runningMean.value.toArray(), stats.map((s) => 0.25 * s.m), 1e-5);
    near(bn.runningVar.value.toArray(), stats.map((s) => 0.75 + 0.25 * s.unbiased), 1e-5);
    // d loss / d bias = Σ r over the channel, so bias moves by −lr times that.
    near(bn.bias.value.toArray(), [0, 1].map((c) => -0.1 * [0, 1].reduce((s, n) => s + r.slice(n * 6 + c * 3, n * 6 + c * 3 + 3).reduce((a, b) => a + b, 0), 0)), 1e-5);

    const [rm, rv, sc, bi] = [bn.runningMean, bn.runningVar, bn.scale, bn.bias].map((p) => p.value.toArray());
    near(run(xt, (t) => bn.forward(t)), x.map((v, i) => { const c = Math.floor(i / 3) % 2; return ((v - rm![c]!) / Math.sqrt(rv![c]! + 1e-5)) * sc![c]! + bi![c]!; }), 1e-4);
  });
});

describe("recurrent training", () => {
  test("Embedding → LSTM → Linear learns to recall the first token of a sequence", async () => {
    const rng = new Rng(12);
    const [B, T, V] = [12, 3, 3];
    const tokens = Array.from({ length: B * T }, (_, i) => (i % T === 0 ? Math.floor(i / T) % V : rng.int(0, V)));
    const labels = Array.from({ length: B }, (_, b) => tokens[b * T]!);
    const emb = new Embedding(V, 4, { rng }), lstm = new LSTM(4, 6, { rng }), head = new Linear(6, V, { rng });
    // The last hidden state: slice the final step of the [batch, steps, hidden] output.
    const model = new Sequential(emb, lstm, (h: Tracer) => h.slice([T - 1], [T], [1]).squeeze([1]), head);
    const step = await compileStep(model, crossEntropy, new Adam({ lr: 0.1 }), { x: { shape: ["batch", T], dtype: "i32" }, y: { shape: ["batch"], dtype: "i32" } }, INTERP);
    expect(step.parameters).toEqual([emb.weight, lstm.wIh, lstm.wHh, lstm.bias, head.weight, head.bias]);
    const batch = { x: Tensor.fromArray(tokens, [B, T], "i32"), y: Tensor.fromArray(labels, [B], "i32") };
    const losses = Array.from({ length: 12 }, () => step(batch));
    expect(losses.at(-1)!, losses.map((l) => l.toFixed(3)).join(" ")).toBeLessThan(losses[0]! / 3);
  });
});
