import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { checkGraphGrad } from "../../../test/helpers/graph-grad-check.ts";
import { compile } from "../../driver/compile.ts";
import { lowerGraph } from "../../targets/cpu/graph.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import type { Out } from "./testing.ts";
import { Rng, expectClose, opFailure, rand, run1, vjpOf, vjpValues } from "./testing.ts";

const idx = (data: number[]) => ({ shape: [data.length], data, dtype: "i32" as const });

/** The reference: a plain loop adding each row into its segment's row (ids outside [0, s) dropped). */
function segmentSumRef(data: { data: ArrayLike<number>; shape: readonly number[] }, ids: readonly number[], s: number): Out {
  const row = data.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(s * row);
  ids.forEach((id, p) => {
    if (id < 0 || id >= s) return;
    for (let k = 0; k < row; k++) out[id * row + k] += data.data[p * row + k]!;
  });
  return { shape: [s, ...data.shape.slice(1)], data: out };
}

describe("segment_sum", () => {
  test("rows summed by unsorted ids; empty segments are 0; ids outside [0, s) dropped", () => {
    const x = rand(new Rng(1), [7, 3]);
    const ids = [2, 0, 2, 4, 0, -1, 5];
    expectClose(run1("segment_sum", [x, idx(ids)], { num_segments: 5 }), segmentSumRef(x, ids, 5));
    const v = { shape: [4], data: [1, 10, 100, 1000] };
    expectClose(run1("segment_sum", [v, idx([1, 1, 0, 1])], { num_segments: 3 }), { shape: [3], data: [100, 1011, 0] });
  });

  test("rank-3 rows, i64 ids, integer data", () => {
    const x = rand(new Rng(2), [6, 2, 3]);
    const ids = [1, 1, 0, 3, 1, 0];
    expectClose(run1("segment_sum", [x, { ...idx(ids), dtype: "i64" }], { num_segments: 4 }), segmentSumRef(x, ids, 4));
    const n = { shape: [3], data: [5, 6, 7], dtype: "i32" as const };
    const got = run1("segment_sum", [n, idx([0, 0, 1])], { num_segments: 2 });
    expectClose(got, { shape: [2], data: [11, 7] });
  });

  test("the number of segments from a like input, symbolic sizes, one graph for every size", () => {
    const b = new GraphBuilder();
    const x = b.input("x", ["n", 2], "f64"), ids = b.input("ids", ["n"], "i32"), like = b.input("like", ["s"], "f64");
    const y = b.op1("segment_sum", [x, ids, like]);
    expect(y.type).toEqual({ shape: ["s", 2], dtype: "f64" });
    const g = b.build([y]);
    const rng = new Rng(3);
    for (const [n, s] of [[5, 3], [11, 7], [0, 2]] as const) {
      const xv = rand(rng, [n, 2]);
      const iv = Array.from({ length: n }, () => rng.int(0, s));
      const [out] = interpret(g, [xv, { data: iv, shape: [n] }, { data: new Float64Array(s), shape: [s] }]).outputs;
      expectClose(out!, segmentSumRef(xv, iv, s));
    }
    // A static like must agree with an explicit num_segments.
    const b2 = new GraphBuilder();
    expect(b2.op1("segment_sum", [b2.input("x", [4]), b2.input("i", [4], "i32"), b2.input("l", [6, 2])], { num_segments: 6 }).type.shape).toEqual([6]);
  });

  test("shape and dtype errors name the node", () => {
    expect(opFailure("segment_sum", [[[4, 2]], [[4], "i32"]]).message).toMatch(/n1 \(segment_sum\): num_segments must be ≥ 0/);
    expect(opFailure("segment_sum", [[[4, 2]], [[4], "f32"]], { num_segments: 3 }).message).toMatch(/n1 \(segment_sum\): segment_ids must be an integer tensor, got f32\[4\]/);
    expect(opFailure("segment_sum", [[[4, 2]], [[5], "i32"]], { num_segments: 3 }).message).toMatch(/n1 \(segment_sum\): segment_ids i32\[5\] must have one id per row of data f32\[4, 2\]/);
    expect(opFailure("segment_sum", [[[4, 2]], [[4, 1], "i32"]], { num_segments: 3 }).message).toMatch(/n1 \(segment_sum\): segment_ids i32\[4, 1\] must be a vector/);
    expect(opFailure("segment_sum", [[[]], [[1], "i32"]], { num_segments: 3 }).message).toMatch(/n1 \(segment_sum\): data f32\[\] must have rank ≥ 1/);
    expect(opFailure("segment_sum", [[[4], "bool"], [[4], "i32"]], { num_segments: 3 }).message).toMatch(/n1 \(segment_sum\): arithmetic on bool/);
    expect(opFailure("segment_sum", [[[4]], [[4], "i32"], [[5]]], { num_segments: 3 }).message).toMatch(/n1 \(segment_sum\): num_segments 3 disagrees with like f32\[5\]/);
    expect(opFailure("segment_sum", [[[4]]], { num_segments: 3 }).message).toMatch(/n1 \(segment_sum\): takes 2 inputs/);
    expect(opFailure("segment_sum", [[["n"]], [["m"], "i32"]], { num_segments: 3 }).message).toMatch(/one id per row/);
  });

  test("VJP is a gather of the gradient by segment_ids; none for the ids or like", () => {
    checkVjp("segment_sum", [{ shape: [6, 3] }, { shape: [6], dtype: "i32", data: [2, 0, 2, 3, 0, 2] }], { num_segments: 4 });
    checkVjp("segment_sum", [{ shape: [5] }, { shape: [5], dtype: "i32", data: [1, 1, 1, 0, 1] }, { shape: [3] }]);
    const [gx, gi] = vjpValues("segment_sum", [{ shape: [4], data: [1, 2, 3, 4] }, idx([2, 0, 2, 1])], { num_segments: 3 }, [{ shape: [3], data: [10, 20, 30] }]);
    expectClose(gx!, { shape: [4], data: [30, 10, 30, 20] });
    expect(gi).toBeNull();
    expect(vjpOf("segment_sum", [{ shape: ["n", 2], dtype: "f32" }, { shape: ["n"], dtype: "i32" }, { shape: ["s"], dtype: "f32" }])).toEqual(["f32[n, 2]", null, null]);
  });

  test("through autodiff in a graph: d/dx of Σ (segment_sum(x²) · w)", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [5, 2], "f64"), ids = b.input("ids", [5], "i32"), w = b.input("w", [3, 2], "f64");
    const s = b.op1("segment_sum", [b.op1("mul", [x, x]), ids], { num_segments: 3 });
    const loss = b.op1("sum", [b.op1("mul", [s, w])], { axes: [] });
    const rng = new Rng(5);
    checkGraphGrad(b.build([loss]), [rand(rng, [5, 2]), { data: [0, 2, 2, 1, 0], shape: [5] }, rand(rng, [3, 2])], [0, 2]);
  });

  test("the compiled cpu kernel equals the interpreter (static and symbolic sizes)", async () => {
    const rng = new Rng(7);
    const b = new GraphBuilder();
    const x = b.input("x", ["n", 3], "f32"), ids = b.input("ids", ["n"], "i32"), like = b.input("like", ["s"], "f32");
    const b1 = b.op1("segment_sum", [x, ids, like]);
    const g = b.build([b1]);
    const sb = new GraphBuilder();
    const sx = sb.input("x", [37, 4], "f64"), si = sb.input("ids", [37], "i32");
    const sg = sb.build([sb.op1("segment_sum", [sb.op1("exp", [sx]), si], { num_segments: 9 })]);
    const [mod, smod] = await Promise.all([compile(g, "cpu"), compile(sg, "cpu")]);
    for (const [n, s] of [[50, 7], [1000, 33], [3, 5]] as const) {
      const xv = rand(rng, [n, 3]);
      const iv = Array.from({ length: n }, () => rng.int(0, s));
      const want = interpret(g, [xv, { data: iv, shape: [n] }, { data: new Float64Array(s), shape: [s] }]).outputs[0]!;
      const [got] = mod.run([Tensor.fromArray(xv.data, [n, 3], "f32"), Tensor.fromArray(iv, [n], "i32"), Tensor.zeros([s], "f32")]);
      expectClose({ shape: [...got!.shape], data: Float64Array.from(got!.toArray()) }, want, { atol: 1e-5, rtol: 1e-5 });
    }
    const xv = rand(rng, [37, 4]);
    const iv = Array.from({ length: 37 }, () => rng.int(-2, 11)); // some dropped
    const want = interpret(sg, [xv, { data: iv, shape: [37] }]).outputs[0]!;
    const [got] = smod.run([Tensor.fromArray(xv.data, [37, 4], "f64"), Tensor.fromArray(iv, [37], "i32")]);
    expectClose({ shape: [...got!.shape], data: Float64Array.from(got!.toArray()) }, want, { atol: 1e-12, rtol: 1e-12 });
    expectClose(want, segmentSumRef({ shape: [37, 4], data: xv.data.map(Math.exp) }, iv, 9), { atol: 1e-12, rtol: 1e-12 });
  });
  test("on cpu it is the one-pass scatter kernel (targets/cpu/extern-kernels.ts), also inside a fused chain, for i64 ids, rank-3 rows and integer data", async () => {
    const rng = new Rng(11);
    const b = new GraphBuilder();
    const x = b.input("x", ["n", 2, 3], "f32"), ids = b.input("ids", ["n"], "i64"), like = b.input("like", ["s"], "f32");
    // segment means: the sums divided by the counts, with elementwise ops before and after.
    const sums = b.op1("segment_sum", [b.op1("tanh", [x]), ids, like]);
    const counts = b.op1("segment_sum", [b.op1("ones_like", [b.op1("slice", [x], { starts: [0, 0], ends: [1, 1], axes: [1, 2] })]), ids, like]);
    const g = b.build([b.op1("relu", [b.op1("div", [sums, b.op1("maximum", [counts, b.constant("one", Float32Array.of(1), [])])])])]);
    const ib = new GraphBuilder();
    const xi = ib.input("x", [9, 2], "i32"), ii = ib.input("ids", [9], "i32");
    const gi = ib.build([ib.op1("segment_sum", [xi, ii], { num_segments: 4 })]);
    const lowered = lowerGraph(g);
    expect(lowered.kernels.filter((k) => k.external?.includes("segment_sum_scatter"))).toHaveLength(2);
    const [mod, imod] = await Promise.all([compile(g, "cpu"), compile(gi, "cpu")]);
    for (const [n, s] of [[40, 6], [5, 9], [1, 1]] as const) {
      const xv = rand(rng, [n, 2, 3]);
      const iv = Array.from({ length: n }, () => rng.int(-1, s + 1)); // some dropped (−1 and s)
      const want = interpret(g, [xv, { data: iv, shape: [n] }, { data: new Float64Array(s), shape: [s] }]).outputs[0]!;
      const [got] = mod.run([Tensor.fromArray(xv.data, [n, 2, 3], "f32"), Tensor.fromArray(iv, [n], "i64"), Tensor.zeros([s], "f32")]);
      expectClose({ shape: [...got!.shape], data: Float64Array.from(got!.toArray()) }, want, { atol: 1e-5, rtol: 1e-5 });
    }
    const xv = Array.from({ length: 18 }, () => rng.int(-50, 50)), iv = [0, 3, 3, 1, 0, 2, 3, 3, 0];
    const want = interpret(gi, [{ data: xv, shape: [9, 2] }, { data: iv, shape: [9] }]).outputs[0]!;
    const [got] = imod.run([Tensor.fromArray(xv, [9, 2], "i32"), Tensor.fromArray(iv, [9], "i32")]);
    expect([...got!.toArray()]).toEqual([...want.data]);
  });

  test("gather then segment_sum runs as one cpu kernel (no gathered rows), equal to the interpreter; a bad index is an error", async () => {
    const rng = new Rng(13);
    const b = new GraphBuilder();
    const table = b.input("table", ["r", 3], "f64"), at = b.input("at", ["n"], "i32"), ids = b.input("ids", ["n"], "i64"), like = b.input("like", ["s"], "f64");
    const g = b.build([b.op1("segment_sum", [b.op1("gather", [b.op1("exp", [table]), at]), ids, like])]);
    const lowered = lowerGraph(g);
    expect(lowered.kernels.map((k) => k.external ?? "").filter((e) => e.includes("gather_segment_sum"))).toHaveLength(1);
    expect(lowered.kernels.some((k) => k.external?.includes("segment_sum_scatter"))).toBe(false);
    const mod = await compile(g, "cpu");
    for (const [r, n, s] of [[5, 40, 6], [1, 3, 2], [12, 1, 1]] as const) {
      const tv = rand(rng, [r, 3]);
      const av = Array.from({ length: n }, () => rng.int(-r, r)); // negative indices count from the end
      const iv = Array.from({ length: n }, () => rng.int(-1, s + 1)); // some dropped
      const want = interpret(g, [tv, { data: av, shape: [n] }, { data: iv, shape: [n] }, { data: new Float64Array(s), shape: [s] }]).outputs[0]!;
      const [got] = mod.run([Tensor.fromArray(tv.data, [r, 3], "f64"), Tensor.fromArray(av, [n], "i32"), Tensor.fromArray(iv, [n], "i64"), Tensor.zeros([s], "f64")]);
      expectClose({ shape: [...got!.shape], data: Float64Array.from(got!.toArray()) }, want, { atol: 1e-12, rtol: 1e-12 });
      const gathered = { shape: [n, 3], data: Float64Array.from(av.flatMap((a) => [0, 1, 2].map((c) => Math.exp(tv.data[((a + r) % r) * 3 + c]!)))) };
      expectClose(want, segmentSumRef(gathered, iv, s), { atol: 1e-12, rtol: 1e-12 });
    }
    expect(() => mod.run([Tensor.zeros([4, 3], "f64"), Tensor.fromArray([0, 4], [2], "i32"), Tensor.fromArray([0, 0], [2], "i64"), Tensor.zeros([1], "f64")]))
      .toThrow(/gather index 4 is outside \[-4, 4\)/);
  });
});
