import { describe, expect, test } from "vitest";
import { ShapeError } from "../core/errors.ts";
import { Rng } from "../runtime/random.ts";
import { Tensor } from "../runtime/tensor.ts";
import { interpretedExecutable } from "./executable.ts";
import { grad, valueAndGrad } from "./grad.ts";
import { binaryCrossEntropy, crossEntropy, mse } from "./losses.ts";
import { lt } from "./lt.ts";
import { Parameter } from "./parameter.ts";

/** These tests check the API's meaning, so they run on the reference interpreter (the compiled path is checked in train.test.ts). */
const INTERP = { executor: "interpreted" } as const;
const rand = (n: number, seed: number, lo = -1, hi = 1) => { const r = new Rng(seed); return Array.from({ length: n }, () => r.uniform(lo, hi)); };
const near = (got: readonly number[], want: readonly number[], tol = 1e-5) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `[${i}] ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!))));
};

describe("lt tracing", () => {
  test("x.matmul(w).add(b).relu() builds the graph a hand loop computes", () => {
    const w = new Parameter("w", Tensor.fromArray(rand(6, 1), [3, 2], "f32"));
    const { graph, trace } = lt.trace(() => lt.input("x", ["batch", 3]).matmul(lt.param(w)).add(lt.scalar(0.25)).relu().mul(2));
    expect(graph.nodes.map((n) => n.op)).toEqual(["matmul", "add", "relu", "mul"]);
    expect(graph.outputs[0]!.type.shape).toEqual(["batch", 2]);
    expect([...trace.params.keys()]).toEqual([w]);
    const x = rand(12, 2);
    const [y] = interpretedExecutable(graph).run([Tensor.fromArray(x, [4, 3]), w.value]);
    const W = w.value.toArray();
    const want = Array.from({ length: 8 }, (_, k) => {
      const [i, j] = [Math.floor(k / 2), k % 2];
      const s = [0, 1, 2].reduce((a, m) => a + Math.fround(x[i * 3 + m]!) * W[m * 2 + j]!, 0.25);
      return 2 * Math.max(s, 0);
    });
    near(y!.toArray(), want);
  });

  test("numbers become constants of the other operand's dtype", () => {
    const { graph } = lt.trace(() => lt.input("x", [2], "f64").rsub(1).div(4));
    expect(graph.constants.map((c) => c.value.type.dtype)).toEqual(["f64", "f64"]);
    const [y] = interpretedExecutable(graph).run([Tensor.fromArray([3, -1], [2], "f64")]);
    expect(y!.toArray()).toEqual([-0.5, 0.5]);
  });

  test("misuse is diagnosed", () => {
    expect(() => lt.input("x", [2])).toThrow(/needs an active trace/);
    const other = lt.trace(() => lt.input("x", [2])).outputs[0]!;
    expect(() => lt.trace(() => lt.input("y", [2]).add(other))).toThrow(/belong to different traces/);
    expect(() => lt.trace(() => [lt.input("x", [2]), lt.input("x", [2])])).toThrow(/already has an input named x/);
    expect(() => lt.trace(() => lt.input("x", [2, 3]).matmul(lt.input("y", [2, 3])))).toThrow(ShapeError);
    const p = new Parameter("p", Tensor.zeros([2]));
    expect(() => lt.trace(() => { lt.assign(p, lt.input("x", [2])); return lt.scalar(0); })).toThrow(/p is trainable/);
  });
});

describe("argmin", () => {
  test("matches a plain JS argmin on data with ties (the first minimum wins), along each axis", () => {
    const r = new Rng(11), rows = 6, cols = 5;
    const x = Array.from({ length: rows * cols }, () => r.int(0, 3));
    const at = (i: number, j: number) => x[i * cols + j]!;
    const first = (n: number, get: (k: number) => number) => { let b = 0; for (let k = 1; k < n; k++) if (get(k) < get(b)) b = k; return b; };
    const byRow = Array.from({ length: rows }, (_, i) => first(cols, (j) => at(i, j)));
    const byCol = Array.from({ length: cols }, (_, j) => first(rows, (i) => at(i, j)));
    const { graph } = lt.trace(() => { const v = lt.input("x", [rows, cols]); return [v.argmin(1), v.argmin(0, true), v.argmin(-1, true)]; });
    expect(graph.outputs.map((o) => [o.type.dtype, o.type.shape])).toEqual([["i32", [rows]], ["i32", [1, cols]], ["i32", [rows, 1]]]);
    const [a, b, c] = interpretedExecutable(graph).run([Tensor.fromArray(x, [rows, cols])]);
    expect(a!.toArray()).toEqual(byRow);
    expect(b!.toArray()).toEqual(byCol);
    expect(c!.toArray()).toEqual(byRow);
    expect(byRow.some((j, i) => Array.from({ length: cols }, (_, k) => k).some((k) => k > j && at(i, k) === at(i, j)))).toBe(true); // ties occurred
  });
});

describe("grad", () => {
  test("d Σ(x·y + eˣ) = (y + eˣ, x): closed form, and valueAndGrad's value", async () => {
    const f = (x: ReturnType<typeof lt.input>, y: ReturnType<typeof lt.input>) => x.mul(y).add(x.exp()).sum();
    const x = Tensor.fromArray(rand(6, 3), [2, 3], "f64"), y = Tensor.fromArray(rand(6, 4), [2, 3], "f64");
    const [gx, gy] = await grad(f, INTERP)(x, y);
    const xv = x.toArray(), yv = y.toArray();
    near(gx!.toArray(), xv.map((v, i) => yv[i]! + Math.exp(v)), 1e-12);
    near(gy!.toArray(), xv, 1e-12);
    const { value } = await valueAndGrad(f, INTERP)(x, y);
    expect(value).toBeCloseTo(xv.reduce((s, v, i) => s + v * yv[i]! + Math.exp(v), 0), 12);
  });

  test("a non-scalar function is rejected", async () => {
    await expect(grad((x) => x.exp(), INTERP)(Tensor.zeros([3]))).rejects.toThrow(/must be a scalar/);
  });
});

describe("losses against JS formulas", () => {
  test("cross_entropy from logits and integer labels", async () => {
    const logits = rand(12, 5, -3, 3), labels = [2, 0, 3];
    const want = labels.reduce((s, c, i) => {
      const row = logits.slice(i * 4, i * 4 + 4);
      return s + Math.log(row.reduce((a, v) => a + Math.exp(v), 0)) - row[c]!;
    }, 0) / 3;
    const { value, grads } = await valueAndGrad((z, y) => crossEntropy(z, y), INTERP)(Tensor.fromArray(logits, [3, 4], "f64"), Tensor.fromArray(labels, [3], "i32"));
    expect(value).toBeCloseTo(want, 12);
    // d/dz = (softmax(z) − onehot) / rows
    const g = grads[0]!.toArray();
    for (let i = 0; i < 3; i++) {
      const row = logits.slice(i * 4, i * 4 + 4), z = row.reduce((a, v) => a + Math.exp(v), 0);
      row.forEach((v, j) => expect(g[i * 4 + j]).toBeCloseTo((Math.exp(v) / z - (j === labels[i] ? 1 : 0)) / 3, 12));
    }
  });

  test("binary_cross_entropy is stable for large logits and has the right gradient at 0", async () => {
    const z = [0, 100, -100, 2.5, -1], y = [1, 0, 0, 1, 0.3];
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const want = z.reduce((s, v, i) => s + Math.max(v, 0) - v * y[i]! + Math.log1p(Math.exp(-Math.abs(v))), 0) / z.length;
    const { value, grads } = await valueAndGrad((a, b) => binaryCrossEntropy(a, b), INTERP)(Tensor.fromArray(z, [5], "f32"), Tensor.fromArray(y, [5], "f32"));
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeCloseTo(want, 5);
    near(grads[0]!.toArray(), z.map((v, i) => (sig(v) - y[i]!) / z.length), 1e-6);
  });

  test("mse", async () => {
    const p = rand(6, 7), t = rand(6, 8);
    const { value, grads } = await valueAndGrad((a, b) => mse(a, b), INTERP)(Tensor.fromArray(p, [2, 3], "f64"), Tensor.fromArray(t, [2, 3], "f64"));
    expect(value).toBeCloseTo(p.reduce((s, v, i) => s + (v - t[i]!) ** 2, 0) / 6, 12);
    near(grads[0]!.toArray(), p.map((v, i) => (2 * (v - t[i]!)) / 6), 1e-12);
  });
});

