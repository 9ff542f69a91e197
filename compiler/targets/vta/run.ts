/**
 * Running layers on a simulator: pack the operands into DRAM (pack.ts), lower the schedule
 * to instructions, simulate, unpack the output. `runLayer` is one requantized convolution or
 * dense layer; `runQuantizedGraph` runs a graph from the quantize pass, offloading every
 * qconv2d/qmatmul followed by its requantize to the accelerator and evaluating the rest
 * (quantize, reshape, dequantize, …) with the reference interpreter on the host.
 */
import { LatheError } from "../../../core/errors.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import type { Graph, Node, Value } from "../../graph/graph.ts";
import { interpret } from "../../graph/interpret.ts";
import { encodeUops } from "./isa.ts";
import type { VtaStats } from "./fsim.ts";
import { simulate } from "./fsim.ts";
import type { VtaParams } from "./params.ts";
import { DEFAULT_PARAMS } from "./params.ts";
import type { ConvLayer } from "./layer.ts";
import { convLayer, denseLayer, outH, outW } from "./layer.ts";
import { blockPack, blockUnpack } from "./pack.ts";
import { planFromSchedule } from "./plan.ts";
import type { VtaProgram } from "./lower.ts";
import { lowerPlan } from "./lower.ts";
import { scheduleConv, type Tiling, type VtaSchedule } from "./schedule.ts";
import { chooseTiling } from "./tiling.ts";
import { layerReport, type LayerReport } from "./report.ts";

/** A simulator: program + DRAM image in, DRAM image and statistics out (fsim's signature). */
export type Simulator = (program: VtaProgram, dram: Uint8Array, p: VtaParams) => { dram: Uint8Array; stats: VtaStats };

export const fsimSimulator: Simulator = (prog, dram, p) => simulate(prog.insns, dram, p);

export interface LayerOptions {
  readonly params?: VtaParams;
  /** Tile sizes; chosen by tiling.ts when absent. */
  readonly tiling?: Partial<Tiling>;
  /** Virtual threads (buffer contexts); 2 hides load/store latency. Default 2. */
  readonly vthreads?: number;
  /** A hand-written schedule replaces the default one. */
  readonly schedule?: (l: ConvLayer, p: VtaParams) => VtaSchedule;
  readonly sim?: Simulator;
}

export interface LayerRun {
  /** int8 output, NCHW. */
  readonly out: Int8Array;
  readonly stats: VtaStats;
  readonly program: VtaProgram;
  readonly tiling: Tiling;
}

/** Compiles a layer to a program (schedule → plan → instructions). */
export function compileLayer(l: ConvLayer, opts: LayerOptions = {}): { program: VtaProgram; tiling: Tiling } {
  const p = opts.params ?? DEFAULT_PARAMS;
  const v = opts.tiling?.vthreads ?? opts.vthreads ?? 2;
  const tiling: Tiling = { ...chooseTilingIfNeeded(l, p, v, opts.tiling), vthreads: v };
  const vs = opts.schedule ? opts.schedule(l, p) : scheduleConv(l, tiling, p);
  const plan = planFromSchedule(vs);
  return { program: lowerPlan(plan), tiling: { th: plan.th, tw: plan.tw, tco: plan.tco, tci: plan.tci, vthreads: plan.contexts } };
}

function chooseTilingIfNeeded(l: ConvLayer, p: VtaParams, v: number, t: Partial<Tiling> | undefined): Tiling {
  if (t && t.th !== undefined && t.tw !== undefined && t.tco !== undefined && t.tci !== undefined) return { th: t.th, tw: t.tw, tco: t.tco, tci: t.tci, vthreads: v };
  return { ...chooseTiling(l, p, v), ...t, vthreads: v };
}

/** The DRAM image: micro-ops, packed data and weights, zeroed output. */
export function dramImage(prog: VtaProgram, x: ArrayLike<number>, w: ArrayLike<number>): Uint8Array {
  const { layer: l, params: p } = prog.plan;
  const d = new Uint8Array(prog.dram.size);
  d.set(encodeUops(prog.uops), prog.dram.uop);
  d.set(new Uint8Array(blockPack(x, [l.n, l.c, l.h, l.w], p.batch, p.blockIn).buffer), prog.dram.inp);
  d.set(new Uint8Array(blockPack(w, [l.o, l.c, l.kh, l.kw], p.blockOut, p.blockIn).buffer), prog.dram.wgt);
  return d;
}

/** The NCHW int8 output read back from a DRAM image after the run. */
export function readOutput(prog: VtaProgram, dram: Uint8Array): Int8Array {
  const { layer: l, params: p } = prog.plan;
  const n = Math.ceil(l.n / p.batch) * Math.ceil(l.o / p.blockOut) * outH(l) * outW(l) * p.batch * p.blockOut;
  const packed = new Int8Array(dram.buffer, dram.byteOffset + prog.dram.out, n);
  return blockUnpack(packed, [l.n, l.o, outH(l), outW(l)], p.batch, p.blockOut);
}

export function runLayer(l: ConvLayer, x: ArrayLike<number>, w: ArrayLike<number>, opts: LayerOptions = {}): LayerRun {
  const p = opts.params ?? DEFAULT_PARAMS;
  const { program, tiling } = compileLayer(l, opts);
  const res = (opts.sim ?? fsimSimulator)(program, dramImage(program, x, w), p);
  return { out: readOutput(program, res.dram), stats: res.stats, program, tiling };
}

export interface GraphRun {
  readonly outputs: { data: Float64Array; shape: number[] }[];
  /** Every offloaded layer, in order, with its report (cycles, GEMM utilisation, DRAM traffic). */
  readonly layers: { readonly layer: ConvLayer; readonly stats: VtaStats; readonly tiling: Tiling; readonly report: LayerReport }[];
}

/** One node evaluated by the reference interpreter. */
function hostNode(n: Node, ins: readonly { data: Float64Array; shape: number[] }[]): { data: Float64Array; shape: number[] }[] {
  const b = new GraphBuilder();
  const xs = n.inputs.map((v, k) => b.input(`in${k}`, ins[k]!.shape, v.type.dtype));
  return interpret(b.build(b.op(n.op, xs, n.attrs, n.name)), ins).outputs;
}

/**
 * Runs a quantized graph: every qconv2d/qmatmul + requantize pair on the accelerator
 * (`sim`: the functional simulator by default, or one of runner.ts's hardware simulators),
 * every other node on the host through the reference interpreter.
 */
export async function runQuantizedGraph(
  g: Graph, inputs: readonly { data: ArrayLike<number>; shape: readonly number[] }[], opts: LayerOptions = {},
  sim: "fsim" | "verilator" | "iverilog" | "hls" = "fsim",
): Promise<GraphRun> {
  const vals = new Map<Value, { data: Float64Array; shape: number[] }>();
  g.inputs.forEach((v, k) => vals.set(v, { data: Float64Array.from(inputs[k]!.data), shape: [...inputs[k]!.shape] }));
  for (const c of g.constants) vals.set(c.value, { data: Float64Array.from(c.data as ArrayLike<number>), shape: c.value.type.shape as number[] });
  const uses = new Map<Value, number>();
  for (const n of g.nodes) for (const v of n.inputs) uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const v of g.outputs) uses.set(v, (uses.get(v) ?? 0) + 1);
  const layers: GraphRun["layers"][number][] = [];
  const get = (v: Value) => {
    const x = vals.get(v);
    if (!x) throw new LatheError(`value ${v.name} is not computed before it is used`);
    return x;
  };
  const nodes = g.nodes;
  for (let k = 0; k < nodes.length; k++) {
    const n = nodes[k]!, next = nodes[k + 1];
    const fused = (n.op === "qconv2d" || n.op === "qmatmul") && next?.op === "requantize" && next.inputs[0] === n.outputs[0] && uses.get(n.outputs[0]!) === 1;
    if (!fused) { hostNode(n, n.inputs.map(get)).forEach((r, i) => vals.set(n.outputs[i]!, r)); continue; }
    const [x, w] = n.inputs.map(get) as [{ data: Float64Array; shape: number[] }, { data: Float64Array; shape: number[] }];
    const shift = next.attrs.shift as number, relu = next.attrs.relu as boolean;
    let l: ConvLayer;
    if (n.op === "qconv2d") {
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const [O, , KH, KW] = w.shape as [number, number, number, number];
      const s = n.attrs.strides as readonly number[], pd = n.attrs.pads as readonly number[];
      l = convLayer({ name: n.name, n: N, c: C, h: H, w: W, o: O, kh: KH, kw: KW, strideH: s[0]!, strideW: s[1]!, pads: [pd[0]!, pd[1]!, pd[2]!, pd[3]!], shift, relu });
    } else {
      l = denseLayer(n.name, x.shape[0]!, x.shape[1]!, w.shape[0]!, shift, relu);
    }
    const r = sim === "fsim" ? runLayer(l, x.data, w.data, opts) : await runLayerOn(sim, l, x.data, w.data, opts);
    layers.push({ layer: l, stats: r.stats, tiling: r.tiling, report: layerReport(l, opts.params ?? DEFAULT_PARAMS, r.stats, r.tiling) });
    vals.set(next.outputs[0]!, { data: Float64Array.from(r.out), shape: n.op === "qconv2d" ? [l.n, l.o, outH(l), outW(l)] : [l.n, l.o] });
    k++;
  }
  return { outputs: g.outputs.map(get), layers };
}

/**
 * `runLayer` on one of runner.ts's simulators (fsim, verilator, iverilog, hls). Loaded
 * lazily so the fsim path never loads the hardware generators.
 */
export async function runLayerOn(sim: "fsim" | "verilator" | "iverilog" | "hls", l: ConvLayer, x: ArrayLike<number>, w: ArrayLike<number>, opts: LayerOptions = {}): Promise<LayerRun> {
  const p = opts.params ?? DEFAULT_PARAMS;
  const { runProgram } = await import("./runner.ts");
  const { program, tiling } = compileLayer(l, opts);
  const res = await runProgram(program.insns, dramImage(program, x, w), { sim, params: p });
  return { out: readOutput(program, res.dram), stats: res.stats, program, tiling };
}
