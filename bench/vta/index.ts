/**
 * The VTA-style accelerator on ResNet-18's convolution layers (batch 1, 224×224 input):
 * each layer is lowered through the accelerator schedule and run on fsim with two virtual
 * threads (latency hiding) and with one. Rows per layer:
 *   GEMM utilisation, vthread 2 vs vthread 1 (ratio = the gain from latency hiding);
 *   cycles vs the core's compute-bound limit (useful MACs / 256 per cycle; ratio ≤ 1);
 *   simulated time at an assumed 100 MHz clock vs the cpu target's float conv2d
 *   (compileGraph, measured in this run; ratio = the simulated speedup).
 * Cycles are fsim's timing model (compiler/targets/vta/fsim.ts), not RTL cycles.
 */
import os from "node:os";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { compileGraphs } from "../../compiler/targets/cpu/graph.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { DEFAULT_PARAMS } from "../../compiler/targets/vta/params.ts";
import type { ConvLayer } from "../../compiler/targets/vta/layer.ts";
import { convLayer } from "../../compiler/targets/vta/layer.ts";
import { runLayer } from "../../compiler/targets/vta/run.ts";
import { formatReports, layerReport, type LayerReport } from "../../compiler/targets/vta/report.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, median } from "../lib/report.ts";

const CLOCK_HZ = 100e6;
const rng = new Rng(18);

const conv = (name: string, c: number, h: number, o: number, k: number, s: number): ConvLayer => {
  const p = (k - 1) >> 1;
  return convLayer({ name, n: 1, c, h, w: h, o, kh: k, kw: k, strideH: s, strideW: s, pads: [p, p, p, p], shift: 8, relu: true });
};

/** ResNet-18's distinct convolutions. */
export const RESNET18: readonly ConvLayer[] = [
  conv("conv1 7x7/2", 3, 224, 64, 7, 2),
  conv("layer1 3x3", 64, 56, 64, 3, 1),
  conv("layer2 3x3/2", 64, 56, 128, 3, 2),
  conv("layer2 3x3", 128, 28, 128, 3, 1),
  conv("layer2 1x1/2", 64, 56, 128, 1, 2),
  conv("layer3 3x3/2", 128, 28, 256, 3, 2),
  conv("layer3 3x3", 256, 14, 256, 3, 1),
  conv("layer3 1x1/2", 128, 28, 256, 1, 2),
  conv("layer4 3x3/2", 256, 14, 512, 3, 2),
  conv("layer4 3x3", 512, 7, 512, 3, 1),
  conv("layer4 1x1/2", 256, 14, 512, 1, 2),
];

/** The same layer as a float conv2d + relu graph for the cpu target. */
function floatGraph(l: ConvLayer): Graph {
  const b = new GraphBuilder();
  const x = b.input("x", [l.n, l.c, l.h, l.w]);
  const w = b.constant("w", Float32Array.from({ length: l.o * l.c * l.kh * l.kw }, () => rng.uniform(-0.1, 0.1)), [l.o, l.c, l.kh, l.kw]);
  return b.build([b.op1("relu", [b.op1("conv2d", [x, w], { strides: [l.strideH, l.strideW], pads: [...l.pads] })])]);
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("vta");
  const layers = opts.quick ? RESNET18.filter((l) => /layer[13] 3x3$|layer2 3x3$/.test(l.name)) : RESNET18;
  const threads = Math.min(2, os.cpus().length);
  report.note(`accelerator: ${DEFAULT_PARAMS.batch}×${DEFAULT_PARAMS.blockIn}×${DEFAULT_PARAMS.blockOut} int8 GEMM core, default buffers; cycles from fsim's timing model (not RTL), ` +
    `time at an assumed ${CLOCK_HZ / 1e6} MHz clock; cpu baseline: float32 conv2d+relu compiled by compileGraph, ${threads} threads, median of ${opts.quick ? 3 : 7} runs`);
  report.note("compute-bound limit: useful MACs / 256 MACs per cycle (the first layer's 3 input channels fill 3 of 16 lanes, so it cannot approach it)");

  const compiled = await compileGraphs(layers.map(floatGraph));
  const reports: LayerReport[] = [];
  const bars: string[] = [];
  for (const [k, l] of layers.entries()) {
    const x = Int8Array.from({ length: l.n * l.c * l.h * l.w }, () => rng.int(-128, 128));
    const w = Int8Array.from({ length: l.o * l.c * l.kh * l.kw }, () => rng.int(-128, 128));
    const [one, two] = [1, 2].map((vthreads) => runLayer(l, x, w, { vthreads }));
    const r1 = layerReport(l, DEFAULT_PARAMS, one!.stats, one!.tiling), r2 = layerReport(l, DEFAULT_PARAMS, two!.stats, two!.tiling);
    if (!one!.out.every((v, i) => v === two!.out[i])) throw new Error(`${l.name}: vthread 1 and 2 disagree`);
    reports.push(r1, r2);
    const pct = (u: number) => Number((100 * u).toFixed(2));
    report.row({ case: `${l.name} ${r2.shape}: GEMM utilization`, threads: 1, metric: "% (vthread 2)", better: "higher",
      lathe: pct(r2.gemmUtilization), baseline: "vthread 1 (no latency hiding)", baselineValue: pct(r1.gemmUtilization) });
    report.row({ case: `${l.name}: cycles`, threads: 1, metric: "cycles (vthread 2)", better: "lower",
      lathe: r2.cycles, baseline: "compute-bound limit", baselineValue: r2.computeBoundCycles });
    const g = compiled[k]!;
    g.setNumThreads(threads);
    const input = [new Tensor(Float32Array.from(x, (v) => v / 128), [l.n, l.c, l.h, l.w], "f32")];
    g.run(input);
    const times: number[] = [];
    for (let i = 0; i < (opts.quick ? 3 : 7); i++) {
      const t0 = process.hrtime.bigint();
      g.run(input);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    report.row({ case: `${l.name}: time`, threads, metric: "ms (simulated at 100 MHz)", better: "lower",
      lathe: Number(((r2.cycles / CLOCK_HZ) * 1e3).toFixed(3)), baseline: "cpu target f32", baselineValue: Number(median(times).toFixed(3)) });
    if (/^layer[12] 3x3$/.test(l.name)) {
      const met = r2.gemmUtilization >= 0.85 && r2.cycles < r1.cycles;
      bars.push(`bar (≥ 85% GEMM utilisation with latency hiding, and a gain over none) on ${l.name} ${r2.shape}: ` +
        `${pct(r2.gemmUtilization)}% vs ${pct(r1.gemmUtilization)}% without — ${met ? "met" : "NOT met"}`);
    }
  }
  for (const b of bars) report.note(b);
  console.log(formatReports(reports));
  return report;
}
