/**
 * Compiled layers on the generated hardware — HLS C++ C-simulation, Verilator and Icarus —
 * bit for bit against the reference interpreter: a dense layer, 3×3 and 1×1 convolutions
 * at stride 1 and 2, and a small quantized CNN end to end. Each simulator is skipped (with
 * the reason) where it is not installed. The first run builds the hardware (minutes);
 * later runs hit the content-hashed cache. Sizes are small: the RTL is cycle-by-cycle.
 */
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { Rng } from "../../runtime/random.ts";
import { convLayer, denseLayer } from "../../compiler/targets/vta/layer.ts";
import type { ConvLayer } from "../../compiler/targets/vta/layer.ts";
import { runLayerOn, runQuantizedGraph } from "../../compiler/targets/vta/run.ts";
import { simulatorUnavailable } from "../../compiler/targets/vta/runner.ts";
import { SIMULATOR_NEEDS, skipReason } from "../helpers/skip.ts";

const SIMS = ["hls", "verilator", "iverilog"] as const;
const randInt8 = (rng: Rng, n: number): Int8Array => Int8Array.from({ length: n }, () => rng.int(-128, 128));

/** The interpreter's int8 result of one layer (qconv2d or qmatmul, then requantize). */
function reference(l: ConvLayer, x: Int8Array, w: Int8Array, dense: boolean): number[] {
  const b = new GraphBuilder();
  const xs = dense ? [l.n, l.c] : [l.n, l.c, l.h, l.w], ws = dense ? [l.o, l.c] : [l.o, l.c, l.kh, l.kw];
  const X = b.input("x", xs, "i8"), W = b.input("w", ws, "i8");
  const prod = dense ? b.op1("qmatmul", [X, W]) : b.op1("qconv2d", [X, W], { strides: [l.strideH, l.strideW], pads: [...l.pads] });
  const out = b.op1("requantize", [prod], { shift: l.shift, relu: l.relu });
  return Array.from(interpret(b.build([out]), [{ data: x, shape: xs }, { data: w, shape: ws }]).outputs[0]!.data);
}

const layers: { name: string; dense: boolean; l: ConvLayer }[] = [
  { name: "dense 4×40 → 24", dense: true, l: denseLayer("d", 4, 40, 24, 7, false) },
  { name: "conv 3×3 stride 1", dense: false, l: convLayer({ name: "c3s1", n: 1, c: 20, h: 5, w: 5, o: 20, kh: 3, kw: 3, pads: [1, 1, 1, 1], shift: 6 }) },
  { name: "conv 3×3 stride 2", dense: false, l: convLayer({ name: "c3s2", n: 1, c: 16, h: 7, w: 7, o: 16, kh: 3, kw: 3, strideH: 2, strideW: 2, pads: [1, 1, 1, 1], shift: 6, relu: true }) },
  { name: "conv 1×1 stride 1", dense: false, l: convLayer({ name: "c1s1", n: 1, c: 32, h: 4, w: 4, o: 16, kh: 1, kw: 1, pads: [0, 0, 0, 0], shift: 5 }) },
  { name: "conv 1×1 stride 2", dense: false, l: convLayer({ name: "c1s2", n: 1, c: 16, h: 6, w: 6, o: 32, kh: 1, kw: 1, strideH: 2, strideW: 2, pads: [0, 0, 0, 0], shift: 5 }) },
];

// Which simulators this machine has; a missing one's tests are skipped with the reason in their title.
const unavailable = new Map(await Promise.all(SIMS.map(async (s) => [s, await simulatorUnavailable(s)] as const)));

describe.each(SIMS)("on %s", (sim) => {
  const why = unavailable.get(sim);
  if (why) {
    test.skip(skipReason(`the layers on ${sim}`, SIMULATOR_NEEDS[sim] ?? why), () => {});
    return;
  }
  test.each(layers)("$name equals the interpreter bit for bit", async ({ dense, l }) => {
    const rng = new Rng(5);
    const x = randInt8(rng, dense ? l.n * l.c : l.n * l.c * l.h * l.w), w = randInt8(rng, dense ? l.o * l.c : l.o * l.c * l.kh * l.kw);
    const r = await runLayerOn(sim, l, x, w, { vthreads: 2 });
    expect(Array.from(r.out)).toEqual(reference(l, x, w, dense));
  }, 600_000);

  test("a quantized CNN (conv, conv stride 2, dense) equals the interpreter bit for bit", async () => {
    const { quantizeGraph } = await import("../../compiler/graph/passes/quantize.ts");
    const rng = new Rng(11);
    const normal = (n: number, s: number) => Float32Array.from({ length: n }, () => rng.normal() * s);
    const b = new GraphBuilder();
    const x = b.input("x", [1, 3, 6, 6]);
    const h1 = b.op1("relu", [b.op1("conv2d", [x, b.constant("w1", normal(16 * 3 * 9, 0.3), [16, 3, 3, 3])], { pads: [1, 1, 1, 1] })]);
    const h2 = b.op1("relu", [b.op1("conv2d", [h1, b.constant("w2", normal(16 * 16 * 9, 0.1), [16, 16, 3, 3])], { strides: [2, 2], pads: [1, 1, 1, 1] })]);
    const y = b.op1("matmul", [b.op1("reshape", [h2], { shape: [1, 144] }), b.constant("w3", normal(144 * 10, 0.05), [144, 10])]);
    const batch = () => [{ data: Float32Array.from({ length: 108 }, () => rng.uniform(-1, 1)), shape: [1, 3, 6, 6] }];
    const { graph: q } = quantizeGraph(b.build([y]), { calibration: [batch(), batch()] });
    const input = batch();
    const want = interpret(q, input).outputs[0]!;
    const got = await runQuantizedGraph(q, input, { vthreads: 2 }, sim);
    expect(got.layers.length).toBe(3);
    expect(Array.from(got.outputs[0]!.data)).toEqual(Array.from(want.data));
  }, 600_000);
});
