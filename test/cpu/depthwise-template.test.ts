/**
 * The blocked depthwise convolution's template (depthwise_conv2d_nchwc, compiler/targets/cpu/
 * schedules/templates.ts): every config of a small space computes what the interpreter
 * computes, and its shape follows the host description (vector lanes, registers).
 */
import { describe, expect, test } from "vitest";
import { extractTasks, taskSpec } from "../../compiler/autotune/task.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { cpuTarget } from "../../compiler/targets/cpu/index.ts";
import { hostVectorBytes } from "../../compiler/targets/cpu/host.ts";
import { lowerTask, taskGraph, taskTemplate } from "../../compiler/targets/cpu/task-template.ts";
import { Rng } from "../../runtime/random.ts";
import { printCppModule } from "../../compiler/codegen/cpp/print.ts";
import { hasAsan, runUnderAsan } from "./asan-harness.ts";
import { NEEDS, skipReason } from "../helpers/skip.ts";

/** depthwise 3×3, stride 2, asymmetric pads, + bias + ReLU6: a 3×3 output, so the space is small. */
function task(lanes: number) {
  const b = new GraphBuilder();
  const dw = b.op1("depthwise_conv2d_nchwc", [b.input("x", [1, 2, 5, 7, lanes]), b.input("w", [2, 1, 3, 3, 1, lanes])], { strides: [2, 2], pads: [1, 0, 1, 1], block: lanes });
  const y = b.op1("relu", [b.op1("add", [dw, b.input("bias", [1, 2, 1, 1, lanes])])]);
  return taskSpec(extractTasks(b.build([b.op1("minimum", [y, b.constant("six", Float32Array.of(6), [])])]))[0]!);
}

describe("depthwise template", () => {
  test("every config of a small space equals the interpreter", async () => {
    const lanes = hostVectorBytes() / 4;
    const t = task(lanes);
    const tpl = taskTemplate(t)!;
    expect(tpl.kind).toBe("depthwise");
    const configs = Array.from({ length: tpl.space.size }, (_, i) => tpl.space.get(i));
    // tiles 1x1, 3x1, 1x3, 3x3 × unroll 0/1/2 × par 1/2 × pad 0/1
    expect(configs).toHaveLength(48);
    const funcs = configs.map((c, k) => lowerTask(t, c, `dw${k}`));
    const mod = await cpuTarget.build(funcs);
    const rng = new Rng(17);
    const data = t.inputs.map((ty) => Float32Array.from({ length: (ty.shape as number[]).reduce((a, b) => a * b, 1) }, () => rng.uniform(-4, 4)));
    const want = interpret(taskGraph(t), data.map((d, i) => ({ data: d, shape: t.inputs[i]!.shape as number[] }))).outputs[0]!;
    const outType = t.types[t.outputs[0]!]!;
    funcs.forEach((f, k) => {
      const out = new Float32Array(want.data.length).fill(Number.NaN);
      mod.run(f.name, [
        ...data.map((d, i) => ({ data: d, shape: t.inputs[i]!.shape as number[], dtype: "f32" as const })),
        { data: out, shape: outType.shape as number[], dtype: "f32" },
      ]);
      for (let i = 0; i < out.length; i++) {
        if (!(Math.abs(out[i]! - want.data[i]!) <= 1e-4 * (1 + Math.abs(want.data[i]!)))) expect.fail(`config ${JSON.stringify(configs[k])}: element ${i} is ${out[i]}, the interpreter's ${want.data[i]}`);
      }
    });
  }, 300_000);

  test("the register tile follows the host description: AVX2 (8 lanes, 16 registers) and AVX-512 (16 lanes, 32)", () => {
    for (const [vectorBytes, lanes, maxAcc] of [[32, 8, 12], [64, 16, 28]] as const) {
      const b = new GraphBuilder();
      const g = b.build([b.op1("depthwise_conv2d_nchwc", [b.input("x", [1, 3, 28, 28, lanes]), b.input("w", [3, 1, 3, 3, 1, lanes])], { pads: [1, 1, 1, 1], block: lanes })]);
      const tpl = taskTemplate(taskSpec(extractTasks(g)[0]!), vectorBytes)!;
      expect(tpl.kind).toBe("depthwise");
      const tiles = tpl.space.values[tpl.space.names.indexOf("tile")]!.map((s) => String(s).split("x").map(Number));
      // Accumulators stay within the register file less room for the weight and input vectors.
      expect(tiles.every(([ow, oh]) => ow! * oh! <= maxAcc)).toBe(true);
      expect(tiles.some(([ow, oh]) => ow === 7 && oh === 4)).toBe(vectorBytes === 64);
      expect(tpl.defaultConfig).toEqual({ tile: "7x1", unroll: 2, par: 1, pad: 1 });
      // A block of two vectors halves the columns that fit.
      const b2 = new GraphBuilder();
      const g2 = b2.build([b2.op1("depthwise_conv2d_nchwc", [b2.input("x", [1, 3, 28, 32, 2 * lanes]), b2.input("w", [3, 1, 3, 3, 1, 2 * lanes])], { pads: [1, 1, 1, 1], block: 2 * lanes })]);
      const tpl2 = taskTemplate(taskSpec(extractTasks(g2)[0]!), vectorBytes)!;
      const ow = Number(String(tpl2.defaultConfig!["tile"]).split("x")[0]);
      expect(ow * 2).toBeLessThanOrEqual(maxAcc);
      expect(tpl2.defaultConfig!["tile"]).toBe(vectorBytes === 32 ? "4x1" : "8x1");
    }
  });

  test.skipIf(!hasAsan)(skipReason("column tiles with tails and the padded plane per channel block stay inside every buffer (AddressSanitizer)", !hasAsan && NEEDS.asan), async () => {
    const lanes = hostVectorBytes() / 4;
    const b = new GraphBuilder();
    const g = b.build([b.op1("depthwise_conv2d_nchwc", [b.input("x", [1, 2, 4, 13, lanes]), b.input("w", [2, 1, 3, 3, 1, lanes])], { pads: [1, 1, 1, 1], block: lanes })]);
    const t = taskSpec(extractTasks(g)[0]!);
    const tpl = taskTemplate(t)!;
    // OW = 13: only 1 divides it among the tiles; 4 … 8 leave tails.
    const tiles = tpl.space.values[tpl.space.names.indexOf("tile")]!.filter((x) => String(x).endsWith("x1"));
    expect(tiles).toEqual(["1x1", "4x1", "5x1", "6x1", "7x1", "8x1"]);
    for (const [k, tile] of tiles.entries()) {
      for (const pad of [0, 1]) {
        const f = lowerTask(t, { ...tpl.defaultConfig!, tile, pad }, `tile${k}_${pad}`);
        const r = await runUnderAsan(printCppModule([f]), f);
        expect(r.report, `tile ${tile} pad ${pad}`).toBe("");
        expect(r.ok).toBe(true);
      }
    }
  }, 300_000);
});
