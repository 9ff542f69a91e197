/**
 * The quantize pass: exponents in closed form, calibration through the interpreter,
 * which ops become int8 and where values are dequantized, and the ReLU fusion.
 */
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { calibrate, exponentFor, quantizeGraph } from "../../compiler/graph/passes/quantize.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { compileGraph } from "../../compiler/targets/cpu/graph.ts";

describe("exponents", () => {
  test("smallest e with max|x| / 2^e ≤ 127", () => {
    for (const m of [0.001, 0.5, 1, 126.9, 127, 127.1, 254, 254.1, 1e6]) {
      const e = exponentFor(m);
      expect(m / 2 ** e).toBeLessThanOrEqual(127);
      expect(m / 2 ** (e - 1)).toBeGreaterThan(127);
    }
    expect(exponentFor(0)).toBe(0);
    expect(exponentFor(127)).toBe(0);
    expect(exponentFor(254)).toBe(1);
  });
});

describe("quantizeGraph", () => {
  const rng = new Rng(4);
  const build = () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2, 8]);
    const w = b.constant("w", Float32Array.from({ length: 8 * 4 }, () => rng.uniform(-1, 1)), [8, 4]);
    const h = b.op1("relu", [b.op1("matmul", [x, w])]);
    return { g: b.build([b.op1("softmax", [h], { axis: -1 })]), x };
  };
  const batch = () => [{ data: Float32Array.from({ length: 16 }, () => rng.uniform(-2, 2)), shape: [2, 8] }];

  test("calibration records max |x| of every value over all batches", () => {
    const { g, x } = build();
    const bs = [batch(), batch()];
    const m = calibrate(g, bs);
    const want = Math.max(...bs.flatMap((b) => Array.from(b[0]!.data, Math.abs)));
    expect(m.get(x)).toBeCloseTo(want, 6);
  });

  test("matmul + relu become qmatmul + requantize(relu); softmax reads the dequantized value", () => {
    const { g } = build();
    const bs = [batch(), batch()];
    const { graph, exps } = quantizeGraph(g, { calibration: bs });
    expect(graph.nodes.map((n) => n.op)).toEqual(["quantize", "qmatmul", "requantize", "dequantize", "softmax"]);
    const rq = graph.nodes[2]!;
    expect(rq.attrs.relu).toBe(true);
    const xq = graph.nodes[0]!, wq = graph.constants.find((c) => c.value.type.dtype === "i8")!;
    // shift = e_out − (e_x + e_w), with e_out from the calibrated ReLU output.
    const e = exps.get(rq.outputs[0]!.name)!;
    expect(rq.attrs.shift).toBe(e - (xq.attrs.exp as number) - exps.get(wq.value.name)!);
    expect(wq.value.type.shape).toEqual([4, 8]); // stored output-major, as the core reads weights
    // The int8 graph approximates the float one on a calibration batch.
    const f = interpret(g, bs[0]!).outputs[0]!.data, q = interpret(graph, bs[0]!).outputs[0]!.data;
    for (let i = 0; i < f.length; i++) expect(Math.abs(f[i]! - q[i]!)).toBeLessThan(0.05);
  });

  test("a shift above 15 quantizes the weight coarser instead (a wide dense layer)", () => {
    // x = 1 (e_x = −6), w = 1/256 (e_w = −14), out = 8192/256 = 32 (e_out = −1): the shift
    // would be 19, beyond the ALU immediate's 15; W is quantized at e_out − 15 − e_x = −10.
    const K = 8192;
    const b = new GraphBuilder();
    const w = b.constant("w", new Float32Array(K).fill(1 / 256), [K, 1]);
    const g = b.build([b.op1("matmul", [b.input("x", [1, K]), w])]);
    const ones = [{ data: new Float32Array(K).fill(1), shape: [1, K] }];
    const { graph, exps } = quantizeGraph(g, { calibration: [ones] });
    const rq = graph.nodes.find((n) => n.op === "requantize")!;
    expect(rq.attrs.shift).toBe(15);
    expect(exps.get(graph.constants.find((c) => c.value.type.dtype === "i8")!.value.name)).toBe(-10);
    expect(interpret(graph, ones).outputs[0]!.data[0]).toBe(32);
  });

  test("no calibration data is a LatheError", () => {
    expect(() => quantizeGraph(build().g, { calibration: [] })).toThrow(/calibration batch/);
  });
});

describe("the int8 ops on the cpu target", () => {
  test("a quantized conv → dense graph compiles with compileGraph and equals the interpreter bit for bit", async () => {
    const rng = new Rng(11);
    const normal = (n: number, sd: number) => Float32Array.from({ length: n }, () => rng.normal() * sd);
    const b = new GraphBuilder();
    const x = b.input("x", [1, 3, 12, 12]);
    const w1 = b.constant("w1", normal(16 * 3 * 9, 0.3), [16, 3, 3, 3]);
    const w2 = b.constant("w2", normal(576 * 10, 0.05), [576, 10]);
    const h = b.op1("relu", [b.op1("conv2d", [x, w1], { strides: [2, 2], pads: [1, 1, 1, 1] })]);
    const g = b.build([b.op1("matmul", [b.op1("reshape", [h], { shape: [1, 576] }), w2])]);
    const batch = () => [{ data: Float32Array.from({ length: 432 }, () => rng.uniform(-1, 1)), shape: [1, 3, 12, 12] }];
    const { graph } = quantizeGraph(g, { calibration: [batch(), batch()] });
    const input = batch();
    const want = interpret(graph, input).outputs[0]!.data;
    const compiled = await compileGraph(graph);
    const got = compiled.run([new Tensor(input[0]!.data, [1, 3, 12, 12], "f32")])[0]!;
    expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want));
  }, 120_000);
});
