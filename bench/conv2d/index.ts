/**
 * ResNet-18's distinct convolution layers (batch 1, 224×224 input, f32, 1 thread): Lathe
 * against oneDNN's direct convolution primitive.
 *
 * Lathe compiles each layer as a one-conv graph with a constant weight, as compileGraph
 * lays it out in a network (layout "auto"): the layers whose channels divide by the vector
 * width run as conv2d_nchwc on activations already in the blocked NCHW{b}c layout (the
 * network keeps them blocked between layers; the weight is blocked at compile time), with
 * the config of a short tuning run of the conv template (rows "<layer>") or the template's
 * default config (rows "<layer> default"). conv1 (3 input channels) stays NCHW: pad +
 * im2col + matmul (conv-to-gemm), its matmul task tuned. For reference, rows
 * "<layer> im2col default" time the NCHW im2col + GEMM lowering with its default schedule,
 * from NCHW input to NCHW output.
 *
 * oneDNN (onednn.cc) gets every layout left to it (format_tag::any: it picks its blocked
 * layout for this CPU); the input and weights are reordered into those once, and only the
 * primitive's execution is timed: primitive creation and reorders are not, as in a network
 * whose tensors stay in oneDNN's layout.
 *
 * Timing: per layer, each side runs a block of repeats, with a pause between, then the
 * blocks again in reverse order (the machine is shared; see bench/gemm); medians.
 * The bar (issue 5): tuned Lathe ≥ 0.8× oneDNN on the median layer.
 */
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { foldConstants } from "../../compiler/graph/passes/fold-constants.ts";
import { blockedDataLayout, blockedWeightLayout } from "../../compiler/ops/nn/layout.ts";
import { envCount } from "../lib/env.ts";
import { cpuGraphLowering, lowerGraph } from "../../compiler/targets/cpu/graph.ts";
import { hostVectorBytes } from "../../compiler/targets/cpu/host.ts";
import { Measurer } from "../../compiler/autotune/measure.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, timeSidesSpread } from "../lib/report.ts";
import { loadText, ONEDNN_FLAGS, ONEDNN_INSTALL, vendorShim } from "../lib/vendor.ts";
import { tuneGraph, tuningLogPath } from "../lib/tuned.ts";
import { cpuTuning } from "../../compiler/targets/cpu/task-template.ts";
import { compile } from "../../compiler/driver/compile.ts";

interface Layer { readonly name: string; readonly c: number; readonly o: number; readonly hw: number; readonly k: number; readonly stride: number; readonly pad: number }

/** ResNet-18's distinct conv layers (torchvision's resnet18; each appears once here, whatever its repeat count). */
export const RESNET18_CONVS: readonly Layer[] = [
  { name: "conv1 7×7/2 3→64 @224", c: 3, o: 64, hw: 224, k: 7, stride: 2, pad: 3 },
  { name: "layer1 3×3 64→64 @56", c: 64, o: 64, hw: 56, k: 3, stride: 1, pad: 1 },
  { name: "layer2.0 3×3/2 64→128 @56", c: 64, o: 128, hw: 56, k: 3, stride: 2, pad: 1 },
  { name: "layer2.0 down 1×1/2 64→128 @56", c: 64, o: 128, hw: 56, k: 1, stride: 2, pad: 0 },
  { name: "layer2 3×3 128→128 @28", c: 128, o: 128, hw: 28, k: 3, stride: 1, pad: 1 },
  { name: "layer3.0 3×3/2 128→256 @28", c: 128, o: 256, hw: 28, k: 3, stride: 2, pad: 1 },
  { name: "layer3.0 down 1×1/2 128→256 @28", c: 128, o: 256, hw: 28, k: 1, stride: 2, pad: 0 },
  { name: "layer3 3×3 256→256 @14", c: 256, o: 256, hw: 14, k: 3, stride: 1, pad: 1 },
  { name: "layer4.0 3×3/2 256→512 @14", c: 256, o: 512, hw: 14, k: 3, stride: 2, pad: 1 },
  { name: "layer4.0 down 1×1/2 256→512 @14", c: 256, o: 512, hw: 14, k: 1, stride: 2, pad: 0 },
  { name: "layer4 3×3 512→512 @7", c: 512, o: 512, hw: 7, k: 3, stride: 1, pad: 1 },
];
const QUICK = ["layer1 3×3 64→64 @56", "layer3 3×3 256→256 @14", "layer4.0 down 1×1/2 256→512 @14"];
const BAR = 0.8;

export const outSize = (l: Layer): number => Math.floor((l.hw + 2 * l.pad - l.k) / l.stride) + 1;

/** Deterministic values in [-0.5, 0.5). */
const fill = (n: number, mul: number): Float32Array => Float32Array.from({ length: n }, (_, i) => ((i * mul) % 1000) / 1000 - 0.5);

export function convGraph(l: Layer, w: Float32Array) {
  const b = new GraphBuilder();
  const x = b.input("x", [1, l.c, l.hw, l.hw]);
  const y = b.op1("conv2d", [x, b.constant("w", w, [l.o, l.c, l.k, l.k])], { strides: [l.stride, l.stride], pads: [l.pad, l.pad, l.pad, l.pad] });
  return b.build([y]);
}

/** `data` of `shape` from layout `src` to `dst` (the reference interpreter's layout_transform). */
export function transformData(data: Float32Array, shape: readonly number[], src: string, dst: string): Float32Array {
  const gb = new GraphBuilder();
  const g = gb.build([gb.op1("layout_transform", [gb.input("v", [...shape])], { src, dst })]);
  return Float32Array.from(interpret(g, [{ data, shape: [...shape] }]).outputs[0]!.data);
}

/**
 * The layer as a network runs it: conv2d_nchwc on activations already blocked, when the
 * channels divide by `b` (the weight blocked at compile time, as the layout pass folds it).
 */
export function layerGraph(l: Layer, w: Float32Array, b: number): { g: Graph; blocked: boolean } {
  if (l.c % b !== 0 || l.o % b !== 0) return { g: cpuGraphLowering(convGraph(l, w)), blocked: false };
  const gb = new GraphBuilder();
  const x = gb.input("x", [1, l.c / b, l.hw, l.hw, b]);
  const wb = gb.op1("layout_transform", [gb.constant("w", w, [l.o, l.c, l.k, l.k])], { src: "OIHW", dst: blockedWeightLayout(b, b) });
  const y = gb.op1("conv2d_nchwc", [x, wb], { strides: [l.stride, l.stride], pads: [l.pad, l.pad, l.pad, l.pad], block_in: b, block_out: b });
  return { g: foldConstants(gb.build([y]), { maxElements: Infinity }), blocked: true };
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("conv2d");
  const dnnl = await vendorShim(report, "oneDNN", new URL("./onednn.cc", import.meta.url), ONEDNN_FLAGS);
  const layers = opts.quick ? RESNET18_CONVS.filter((l) => QUICK.includes(l.name)) : RESNET18_CONVS;
  const repeats = opts.quick ? 4 : 10;
  const trials = envCount("LATHE_BENCH_TRIALS", opts.quick ? 4 : 12);
  const log = tuningLogPath("conv2d");
  report.note(`start: ${loadText()} (2-core machine shared with other work; figures are medians)`);
  report.note(`ResNet-18 (torchvision) distinct conv layers, batch 1, f32, no bias; "name k×k/stride in→out @input size"; 1 thread`);
  report.note(`Lathe: compileGraph, weight constant; layers whose channels divide by ${hostVectorBytes() / 4}: conv2d_nchwc timed on blocked activations (as between two layers of a network), else NCHW pad + im2col + matmul; each layer's task tuned with ${trials} trials (XGBoost search, seed 1, 1 kernel thread; log ${log}, re-runs resume from it); "im2col default" rows: the NCHW im2col + GEMM lowering, default schedule, NCHW input to NCHW output`);
  report.note("oneDNN: convolution_forward, algorithm convolution_direct, forward_inference, layouts format_tag::any (its blocked choice, named per layer below); input and weights reordered once; only the primitive's execution timed");

  const measurer = new Measurer({ target: cpuTuning, repeats: 3, threads: 1 });
  const b = hostVectorBytes() / 4;
  const graphs = layers.map((l) => {
    const w = fill(l.o * l.c * l.k * l.k, 104729);
    return { l, w, ...layerGraph(l, w, b) };
  });
  const tunedBy = new Map<Layer, Awaited<ReturnType<typeof tuneGraph>>>();
  try {
    // The tasks of the graph compileGraph builds, as `lathe tune` extracts them.
    for (const { l, g } of graphs) tunedBy.set(l, await tuneGraph(g, { trials, measurer, log, label: l.name }));
  } finally {
    measurer.close();
  }

  const ratios: { name: string; ratio: number }[] = [], defaultRatios: { name: string; ratio: number }[] = [];
  for (const { l, w, g, blocked } of graphs) {
    const oh = outSize(l);
    const t = tunedBy.get(l)!;
    const nchw = convGraph(l, w);
    const [tuned, plain, im2col] = [await compile(g, "cpu", { tuned: t.tuned }), await compile(g, "cpu"), await compile(nchw, "cpu", { layout: "nchw" })];
    for (const m of [tuned, plain, im2col]) m.setNumThreads(1);
    const xData = fill(l.c * l.hw * l.hw, 7919);
    const xPlain = [Tensor.fromArray(xData, [1, l.c, l.hw, l.hw])];
    const x = blocked ? [Tensor.fromArray(transformData(xData, [1, l.c, l.hw, l.hw], "NCHW", blockedDataLayout(b)), [1, l.c / b, l.hw, l.hw, b])] : xPlain;
    const outShape = blocked ? [1, l.o / b, oh, oh, b] : [1, l.o, oh, oh];
    const yT = [Tensor.fromArray(new Float32Array(l.o * oh * oh), outShape)];
    const yP = [Tensor.fromArray(new Float32Array(l.o * oh * oh), outShape)];
    const yI = [Tensor.fromArray(new Float32Array(l.o * oh * oh), [1, l.o, oh, oh])];
    const sides: (() => void)[] = [() => tuned.runInto(x, yT), () => plain.runInto(x, yP), () => im2col.runInto(xPlain, yI)];
    let impl = "";
    if (dnnl) {
      dnnl.setNumThreads(1);
      const yD = new Float32Array(l.o * oh * oh);
      const implBuf = new Uint8Array(128);
      dnnl.kernel("onednn_conv_prepare").call([
        { data: xData, shape: [1, l.c, l.hw, l.hw], dtype: "f32" }, { data: w, shape: [l.o, l.c, l.k, l.k], dtype: "f32" },
        { data: yD, shape: [1, l.o, oh, oh], dtype: "f32" }, { data: Int32Array.of(l.stride, l.pad), shape: [2], dtype: "i32" },
        { data: implBuf, shape: [128], dtype: "u8" },
      ]);
      impl = Buffer.from(implBuf.subarray(0, implBuf.indexOf(0))).toString("latin1");
      const runD = dnnl.kernel("onednn_conv_run");
      sides.push(() => runD.call([]));
      tuned.runInto(x, yT);
      im2col.runInto(xPlain, yI);
      const outs: [string, Float32Array][] = [
        ["tuned", blocked ? transformData(yT[0]!.data as Float32Array, outShape, blockedDataLayout(b), "NCHW") : (yT[0]!.data as Float32Array)],
        ["im2col", yI[0]!.data as Float32Array],
      ];
      for (const [side, got] of outs) {
        let maxErr = 0;
        for (let i = 0; i < yD.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - yD[i]!) / (1 + Math.abs(yD[i]!)));
        if (maxErr > 1e-3) report.problem(`${l.name}: Lathe (${side}) and oneDNN disagree (max rel err ${maxErr.toExponential(2)})`);
      }
    }
    const flops = 2 * l.o * oh * oh * l.c * l.k * l.k;
    const inner = Math.max(1, Math.round(5e7 / flops));
    const timed = await timeSidesSpread(sides, { repeats, inner });
    const secs = timed.map((t) => t.median);
    const gf = (s: number) => Number((flops / s / 1e9).toFixed(2));
    // The slowest block gives the lowest GFLOP/s.
    const spread = (i: number) => ({ min: gf(timed[i]!.max), max: gf(timed[i]!.min) });
    const dv = dnnl ? gf(secs[3]!) : null;
    for (const [suffix, i] of [["", 0], [" default", 1], [" im2col default", 2]] as const) {
      const common = { case: l.name + suffix, threads: 1, metric: "GFLOP/s", better: "higher" as const, lathe: gf(secs[i]!), latheSpread: spread(i), baseline: "onednn" };
      const row = report.row(dv === null ? { ...common, baselineValue: null, install: ONEDNN_INSTALL } : { ...common, baselineValue: dv, baselineSpread: spread(3) });
      if (row.ratio !== null && suffix === "") ratios.push({ name: l.name, ratio: row.ratio });
      if (row.ratio !== null && suffix === " default") defaultRatios.push({ name: l.name, ratio: row.ratio });
    }
    const kernels = lowerGraph(g, { tuned: t.tuned }).kernels;
    const used = `${blocked ? `conv2d_nchwc on NCHW${b}c` : "NCHW im2col + GEMM"}, ${kernels.filter((k) => k.tuned).length} of ${kernels.length} kernels tuned`;
    const cfg = t.tasks.map((x) => `${x.kind} ${JSON.stringify(t.tuned.get(x.key) ?? null)} (best ${x.bestGflops?.toFixed(1) ?? "-"} GFLOP/s in tuning, ${x.size} configs)`).join("; ");
    report.note(`${l.name}: Lathe ${used}: ${cfg || "nothing (no tunable task)"}; oneDNN impl ${impl || "n/a"}; ${(secs[0]! * 1e3).toFixed(3)} ms tuned vs ${dnnl ? (secs[3]! * 1e3).toFixed(3) : "-"} ms oneDNN`);
  }
  report.note(`end: ${loadText()}`);
  // The lower middle for an even count.
  const medianLayer = (rs: typeof ratios) => [...rs].sort((a, b) => a.ratio - b.ratio)[Math.floor((rs.length - 1) / 2)]!;
  const partial = opts.quick ? " (quick run: 3 layers only)" : "";
  if (ratios.length > 0) {
    const mid = medianLayer(ratios);
    report.note(`bar (issue 5: tuned conv2d ≥ ${BAR}× oneDNN on the median ResNet-18 layer): median layer ${mid.name}, ratio ${mid.ratio} — ${mid.ratio >= BAR ? "met" : "NOT met"}${partial}`);
  }
  if (defaultRatios.length > 0) {
    const mid = medianLayer(defaultRatios);
    report.note(`for reference, not the bar: the default schedule's median layer ${mid.name}, ratio ${mid.ratio} (${mid.ratio >= BAR ? "≥" : "<"} ${BAR})${partial}`);
  }
  return report;
}
