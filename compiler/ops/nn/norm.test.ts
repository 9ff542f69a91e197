import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import { getOp } from "../registry.ts";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import type { Arr } from "./testing.ts";
import { Rng, expectClose, inferTypes, rand, runOp, size } from "./testing.ts";

/** Statistics per channel along `axis` (population variance), by explicit loops. */
function channelStats(x: Arr, axis: number): { mean: number[]; variance: number[]; channel: (flat: number) => number } {
  const inner = size(x.shape.slice(axis + 1)), C = x.shape[axis]!;
  const channel = (flat: number) => Math.floor(flat / inner) % C;
  const sums = new Array(C).fill(0), counts = new Array(C).fill(0);
  for (let i = 0; i < x.data.length; i++) { sums[channel(i)] += x.data[i]!; counts[channel(i)]++; }
  const mean = sums.map((s, c) => s / counts[c]);
  const sq = new Array(C).fill(0);
  for (let i = 0; i < x.data.length; i++) sq[channel(i)] += (x.data[i]! - mean[channel(i)]) ** 2;
  return { mean, variance: sq.map((s, c) => s / counts[c]), channel };
}

describe("batch_norm (inference)", () => {
  const rng = new Rng(31);
  test("equals (x − mean)/√(var + ε)·scale + bias per channel", () => {
    const x = rand(rng, [2, 3, 2, 2]), scale = rand(rng, [3]), bias = rand(rng, [3]), mean = rand(rng, [3]), variance = rand(rng, [3], 0.1, 2);
    const got = runOp("batch_norm", [x, scale, bias, mean, variance], { epsilon: 1e-3 })[0]!;
    const want = Array.from(x.data, (v, i) => {
      const c = Math.floor(i / 4) % 3;
      return ((v - mean.data[c]!) / Math.sqrt(variance.data[c]! + 1e-3)) * scale.data[c]! + bias.data[c]!;
    });
    expectClose(got, { data: want, shape: x.shape });
  });
  test("a scale of the wrong size names the node", () => {
    expect(() => inferTypes("batch_norm", [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [3] }, { shape: [3] }, { shape: [3] }], {}, "bn"))
      .toThrow(/node bn \(batch_norm\): scale must be \[3\], got f64\[4\]/);
  });
  test("VJP (all five inputs)", () => {
    const variance = { shape: [2], data: [0.5, 1.3] };
    checkVjp("batch_norm", [{ shape: [2, 2, 2, 2] }, { shape: [2] }, { shape: [2] }, { shape: [2] }, variance], { epsilon: 1e-3 });
  });
});

describe("batch_norm_train", () => {
  const rng = new Rng(32);
  for (const [shape, axis] of [[[3, 2, 2, 3], 1], [[4, 3], -1], [[2, 3, 4], 2]] as const) {
    test(`shape [${shape.join(", ")}] axis ${axis}: y, batch mean and biased batch variance equal the loops`, () => {
      const x = rand(rng, shape), C = shape.at(axis)!;
      const scale = rand(rng, [C]), bias = rand(rng, [C]);
      const [y, mean, variance] = runOp("batch_norm_train", [x, scale, bias], { axis, epsilon: 1e-5 });
      const a = axis < 0 ? shape.length + axis : axis;
      const st = channelStats(x, a);
      expectClose(mean!, { data: st.mean, shape: [C] });
      expectClose(variance!, { data: st.variance, shape: [C] });
      const want = Array.from(x.data, (v, i) => {
        const c = st.channel(i);
        return ((v - st.mean[c]!) / Math.sqrt(st.variance[c]! + 1e-5)) * scale.data[c]! + bias.data[c]!;
      });
      expectClose(y!, { data: want, shape });
    });
  }
  test("VJP through y, the batch mean and the batch variance", () =>
    checkVjp("batch_norm_train", [{ shape: [3, 2, 2] }, { shape: [2] }, { shape: [2] }], { epsilon: 1e-3 }));
  test("VJP with the channel axis last", () =>
    checkVjp("batch_norm_train", [{ shape: [4, 3] }, { shape: [3] }, { shape: [3] }], { axis: -1 }));
  test("the VJP graph also works with a symbolic batch size", () => {
    // Same cotangents through a graph whose batch is "n": the gradients must not depend on it being static.
    const rng2 = new Rng(5);
    const x = rand(rng2, [3, 2]), scale = rand(rng2, [2]), bias = rand(rng2, [2]);
    const gy = rand(rng2, [3, 2]), gm = rand(rng2, [2]), gv = rand(rng2, [2]);
    const grads = (batch: number | string) => {
      const b = new GraphBuilder();
      const ins = [b.input("x", [batch, 2], "f64"), b.input("s", [2], "f64"), b.input("b", [2], "f64")];
      b.op("batch_norm_train", ins);
      const node = b.build([]).nodes.at(-1)!;
      const gs = [b.input("gy", [batch, 2], "f64"), b.input("gm", [2], "f64"), b.input("gv", [2], "f64")];
      const out = getOp("batch_norm_train").vjp({ node, b }, gs) as NonNullable<ReturnType<typeof b.input>>[];
      return interpret(b.build(out), [x, scale, bias, gy, gm, gv]).outputs;
    };
    const fixed = grads(3), symbolic = grads("n");
    fixed.forEach((g, k) => expectClose(symbolic[k]!, g));
  });
});

describe("layer_norm", () => {
  const rng = new Rng(33);
  for (const axis of [-1, 1]) {
    test(`axis ${axis} on [2, 3, 4] equals the loop`, () => {
      const shape = [2, 3, 4], x = rand(rng, shape);
      const a = axis < 0 ? shape.length + axis : axis;
      const inner = size(shape.slice(a));
      const scale = rand(rng, shape.slice(a)), bias = rand(rng, shape.slice(a));
      const got = runOp("layer_norm", [x, scale, bias], { axis, epsilon: 1e-5 })[0]!;
      const want: number[] = [];
      for (let r = 0; r < x.data.length / inner; r++) {
        const row = Array.from(x.data).slice(r * inner, (r + 1) * inner);
        const m = row.reduce((s, v) => s + v, 0) / inner;
        const v = row.reduce((s, u) => s + (u - m) ** 2, 0) / inner;
        row.forEach((u, k) => want.push(((u - m) / Math.sqrt(v + 1e-5)) * scale.data[k]! + bias.data[k]!));
      }
      expectClose(got, { data: want, shape });
    });
  }
  test("scale of the wrong shape names the node", () => {
    expect(() => inferTypes("layer_norm", [{ shape: [2, 3, 4] }, { shape: [3, 4] }, { shape: [4] }], {}, "ln"))
      .toThrow(/node ln \(layer_norm\): scale must be \[4\] \(x's shape from axis 2\), got f64\[3, 4\]/);
  });
  test("VJP (last axis)", () => checkVjp("layer_norm", [{ shape: [2, 4] }, { shape: [4] }, { shape: [4] }]));
  test("VJP (two trailing axes)", () => checkVjp("layer_norm", [{ shape: [2, 2, 3] }, { shape: [2, 3] }, { shape: [2, 3] }], { axis: 1, epsilon: 1e-3 }));
  test("VJP (axis 0: everything normalized, nothing summed for scale and bias)", () =>
    checkVjp("layer_norm", [{ shape: [2, 3] }, { shape: [2, 3] }, { shape: [2, 3] }], { axis: 0 }));
});
