/**
 * The VTA-style accelerator on ResNet-18's convolution layers (batch 1, 224×224 input):
 * each layer is lowered through the accelerator schedule and run on fsim with two virtual
 * threads (latency hiding) and with one, and with two under Verilator. Rows per layer:
 *   GEMM utilisation (cycles the multipliers fire, one per GEMM micro-op iteration, / cycles) on fsim,
 *   vthread 2 vs vthread 1 (ratio = the gain from latency hiding);
 *   GEMM utilisation measured in Verilator cycles vs fsim's model (ratio ≈ 1: the model is
 *   calibrated to the RTL, compiler/targets/vta/timing.ts);
 *   cycles vs the core's compute-bound limit (useful MACs / 256 per cycle; ratio ≤ 1);
 *   time: the RTL's cycle count at a stated 100 MHz clock for Xilinx 7-series (the default
 *   configuration synthesizes for xc7 but open tools do not place and route it, so the clock
 *   is stated, not measured) vs the cpu target's float conv2d compiled in this run.
 * Without Verilator the RTL rows are left out with a note.
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
import { runLayer, runLayerOn } from "../../compiler/targets/vta/run.ts";
import { simulatorUnavailable } from "../../compiler/targets/vta/runner.ts";
import { UOP_CYCLES } from "../../compiler/targets/vta/timing.ts";
import { formatReports, layerReport, type LayerReport } from "../../compiler/targets/vta/report.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, timeSidesSpread } from "../lib/report.ts";

/** A stated clock for the 7-series estimate (synthesis only: no open place and route for xc7). */
const XC7_CLOCK_HZ = 100e6;
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
  const noVerilator = await simulatorUnavailable("verilator");
  report.note(`accelerator: ${DEFAULT_PARAMS.batch}×${DEFAULT_PARAMS.blockIn}×${DEFAULT_PARAMS.blockOut} int8 GEMM core, default buffers, DRAM latency ${DEFAULT_PARAMS.dramLatency}; ` +
    `cycles from fsim's model calibrated to the RTL (a pipelined core: one micro-op per cycle, 3 more per instruction to drain) and from Verilator; ` +
    `time = RTL cycles at a stated ${XC7_CLOCK_HZ / 1e6} MHz xc7 clock (not measured); cpu baseline: float32 conv2d+relu compiled by compileGraph in this run (default schedules, not tuned), ${threads} threads, median of 5 blocks of ${opts.quick ? 1 : 3} runs`);
  report.note("compute-bound limit: useful MACs / 256 MACs per cycle (the first layer's 3 input channels fill 3 of 16 lanes, so it cannot approach it)");
  if (noVerilator) report.note(`RTL rows left out: ${noVerilator}`);
  const compiled = await compileGraphs(layers.map(floatGraph));
  const reports: LayerReport[] = [];
  const bars: string[] = [];
  const agree: string[] = [], disagree: string[] = [];
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
    const rtlRun = noVerilator ? null : await runLayerOn("verilator", l, x, w, { vthreads: 2 });
    if (rtlRun && !rtlRun.out.every((v, i) => v === two!.out[i])) throw new Error(`${l.name}: Verilator and fsim disagree`);
    const rtl = rtlRun?.stats ?? null;
    if (rtl) {
      report.row({ case: `${l.name}: GEMM utilization, RTL`, threads: 1, metric: "% (Verilator cycles, vthread 2)", better: "higher",
        lathe: pct(rtl.gemmUtilization), baseline: "fsim model", baselineValue: pct(r2.gemmUtilization) });
      const off = Math.abs(r2.cycles - rtl.cycles) / rtl.cycles;
      agree.push(`${l.name} ${(100 * off).toFixed(2)}%`);
      if (off > 0.05) disagree.push(l.name);
    }
    const cycles = rtl?.cycles ?? r2.cycles;
    report.row({ case: `${l.name}: cycles`, threads: 1, metric: `cycles (${rtl ? "Verilator" : "fsim"}, vthread 2)`, better: "lower",
      lathe: cycles, baseline: "compute-bound limit", baselineValue: r2.computeBoundCycles });
    const g = compiled[k]!;
    g.setNumThreads(threads);
    const input = [new Tensor(Float32Array.from(x, (v) => v / 128), [l.n, l.c, l.h, l.w], "f32")];
    // The cpu side in 5 blocks (bench/lib/timing.ts); the accelerator's side is a cycle count.
    const [cpuTime] = await timeSidesSpread([() => g.run(input)], { repeats: opts.quick ? 5 : 15, blocks: 5, pauseMs: 20 });
    const ms = (sec: number) => Number((sec * 1e3).toFixed(3));
    report.row({ case: `${l.name}: time`, threads, metric: `ms (${rtl ? "RTL" : "fsim"} cycles at a stated ${XC7_CLOCK_HZ / 1e6} MHz xc7 clock)`, better: "lower",
      lathe: Number(((cycles / XC7_CLOCK_HZ) * 1e3).toFixed(3)), baseline: "cpu target f32",
      baselineValue: ms(cpuTime!.median), baselineSpread: { min: ms(cpuTime!.min), max: ms(cpuTime!.max) } });
    if (/^layer[12] 3x3$/.test(l.name)) {
      // The bar asks for the multipliers firing ≥ 85% of cycles; the core counts one busy cycle per multiplying micro-op.
      const busy = rtl ?? two!.stats;
      const firing = busy.gemmBusyCycles / UOP_CYCLES / busy.cycles;
      const met = firing >= 0.85 && r2.cycles < r1.cycles;
      bars.push(`bar (≥ 85% GEMM utilisation with latency hiding, measured in ${rtl ? "Verilator" : "fsim"} cycles, and a gain over none) on ${l.name} ${r2.shape}: ` +
        `the multipliers fire in ${pct(firing)}% of cycles — ${met ? "met" : "NOT met"}`);
    }
  }
  if (agree.length > 0) {
    report.note(`bar (fsim within 5% of the RTL's cycles on every layer): ${disagree.length === 0 ? "met" : `NOT met on ${disagree.join(", ")}`}; |fsim − RTL| / RTL: ${agree.join(", ")}`);
  }
  for (const b of bars) report.note(b);
  console.log(formatReports(reports));
  return report;
}
