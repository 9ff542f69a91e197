/**
 * WebGPU throughput: GEMM and a few conv2d layers compiled for webgpu (GPU default
 * schedules: shared-memory tiled matmul, one thread per conv output) on whatever adapter
 * is present, against the cpu target's compiled kernel of the same one-op graph, in the
 * same run. GPU times are dispatch to completion with operands already on the device
 * (the way a compiled graph runs); cpu times call the native graph on host arrays.
 * SwiftShader (a CPU emulator of a GPU) gets small sizes: it runs at a few hundred MFLOP/s.
 */
import { availableParallelism } from "node:os";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { gpuDevice } from "../../compiler/targets/webgpu/device.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, hostInfo, timeSidesSpread } from "../lib/report.ts";
import { crossCheckBaseline } from "../lib/cross-check.ts";
import { compile } from "../../compiler/driver/compile.ts";

interface Case {
  readonly name: string; readonly graph: Graph; readonly inputs: readonly Tensor[]; readonly flops: number;
  /** The gemm bench's case for the same product, which the cpu-target row is checked against. */
  readonly gemmCase?: string;
}

function gemm(n: number): Case {
  const b = new GraphBuilder();
  const x = b.input("a", [n, n]), w = b.input("b", [n, n]);
  return { name: `GEMM N=${n}`, graph: b.build([b.op1("matmul", [x, w])]), inputs: [Tensor.random([n, n], "f32", 1), Tensor.random([n, n], "f32", 2)], flops: 2 * n ** 3, gemmCase: `N=${n}` };
}

function conv(c: number, hw: number, k: number, groups = 1): Case {
  const b = new GraphBuilder();
  const x = b.input("x", [1, c, hw, hw]), w = b.input("w", [c, c / groups, k, k]);
  const y = b.op1("conv2d", [x, w], { pads: [1, 1, 1, 1], groups });
  const name = `conv2d ${groups === c ? "depthwise " : ""}${c}×${hw}×${hw} k${k}`;
  return { name, graph: b.build([y]), inputs: [Tensor.random([1, c, hw, hw], "f32", 3), Tensor.random([c, c / groups, k, k], "f32", 4)], flops: 2 * c * (c / groups) * k * k * hw * hw };
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const device = await gpuDevice();
  const report = new BenchReport("webgpu", hostInfo(device.adapterName));
  const emulated = /swiftshader/i.test(device.adapterName);
  const cases: Case[] = opts.quick
    ? [gemm(256), conv(16, 28, 3)]
    : emulated
      ? [gemm(512), conv(32, 28, 3), conv(64, 14, 3), conv(64, 28, 3, 64)]
      : [gemm(512), gemm(1024), gemm(2048), gemm(4096), conv(64, 56, 3), conv(128, 28, 3), conv(256, 14, 3), conv(64, 56, 3, 64)];
  if (emulated) report.note(`adapter ${device.adapterName} is SwiftShader, a CPU emulator: sizes kept small (GEMM 512 only); GPU figures say nothing about GPU hardware`);
  // Alternating blocks (bench/lib/timing.ts): 5 per side, the GPU's and the cpu target's.
  const blocks = 5, repeats = opts.quick || emulated ? 5 : 15;
  const threads = availableParallelism();
  for (const c of cases) {
    const gpu = await compile(c.graph, "webgpu");
    const cpu = await compile(c.graph, "cpu");
    cpu.setNumThreads(threads);
    const shapes = c.inputs.map((t) => t.shape);
    const ins = c.inputs.map((t, i) => device.upload(t.dtype, t.data, `input ${i}`));
    const outShape = gpu.outputShapes(shapes)[0]!;
    const out = device.alloc("f32", outShape.reduce((a, d) => a * d, 1), "output");
    const cpuOut = [Tensor.zeros(outShape, "f32")];
    const [tg, tc] = await timeSidesSpread([async () => { gpu.runDevice(ins, [out], shapes); await device.sync(); }, () => cpu.runInto(c.inputs, cpuOut)], { repeats, blocks });
    // The two must agree, or the figures mean nothing.
    const got = await device.read(out), want = cpuOut[0]!.data as Float32Array;
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] as number - want[i]!) / (1 + Math.abs(want[i]!)));
    if (err > 1e-3) report.problem(`${c.name}: webgpu and cpu disagree (max rel err ${err.toExponential(2)})`);
    const gf = (s: number) => Number((c.flops / s / 1e9).toPrecision(4));
    // Seconds → GFLOP/s: the slowest block gives the lowest rate.
    report.row({
      case: c.name, threads, metric: "GFLOP/s", better: "higher",
      lathe: gf(tg!.median), latheSpread: { min: gf(tg!.max), max: gf(tg!.min) },
      baseline: "lathe cpu target", baselineValue: gf(tc!.median), baselineSpread: { min: gf(tc!.max), max: gf(tc!.min) },
    });
    if (c.gemmCase) crossCheckBaseline(report, { bench: "gemm", case: c.gemmCase, threads, value: gf(tc!.median), what: `${c.name}'s cpu-target row` });
    for (const b of [...ins, out]) b.buffer.destroy();
  }
  report.note(`lathe = webgpu target on ${device.adapterName}; baseline = the cpu target's compiled kernel of the same graph at ${threads} threads; threads column is the cpu side's`);
  return report;
}
