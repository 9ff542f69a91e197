/**
 * f32 GEMM C[M,N] = A[M,K]·B[K,N]: Lathe against OpenBLAS and oneDNN, at 1 and 2 threads.
 *
 * Lathe runs two ways: the hand-written schedule (compiler/targets/cpu/schedules/gemm.ts with
 * the host's default register block: the rows whose case is the bare shape) and the gemm template with the configs of a
 * short tuning run of each shape (compile(g, "cpu", { tuned }) on a one-matmul graph; rows
 * "<shape> tuned"). Tuning measures 1 kernel thread; the 2-thread rows use the same config.
 * The tuning log is kept (see tuned.ts) and later runs resume from it.
 *
 * Baselines are C++ shims behind the same kernel ABI (openblas.cc: cblas_sgemm; onednn.cc:
 * dnnl_sgemm). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset in this process before
 * OpenBLAS loads, so it picks its kernel for this CPU.
 *
 * Timing: per shape and thread count, each side runs a block of repeats, with a pause between
 * blocks (alternating call by call lets one runtime's idle spinning threads take the core the
 * other needs); the blocks run in one order, then in reverse, so a drift in the shared
 * machine's load does not favour one side; a side's figure is the median of its samples.
 */
import { existsSync } from "node:fs";
import { envCount } from "../lib/env.ts";
import { build } from "../../compiler/driver/kernel.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { lowerGraph } from "../../compiler/targets/cpu/graph.ts";
import { Measurer } from "../../compiler/autotune/measure.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { NativeLibrary } from "../../runtime/native.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, timeSidesSpread } from "../lib/report.ts";
import { gemmSchedule } from "../../compiler/targets/cpu/schedules/gemm.ts";
import { loadText, ONEDNN_FLAGS, ONEDNN_INSTALL, vendorShim } from "../lib/vendor.ts";
import { tuneGraph, tuningLogPath } from "../lib/tuned.ts";
import { cpuTuning } from "../../compiler/targets/cpu/task-template.ts";
import { compile } from "../../compiler/driver/compile.ts";

type Shape = readonly [M: number, N: number, K: number];

/** GEMMs of real networks (M, N, K); ResNet-18's are its im2col GEMMs (O × OH·OW × C·kh·kw). */
export const ODD_SHAPES: readonly { readonly shape: Shape; readonly from: string }[] = [
  { shape: [64, 3136, 576], from: "ResNet-18 layer1 3×3 conv, 64 ch at 56×56 (im2col)" },
  { shape: [512, 49, 4608], from: "ResNet-18 layer4 3×3 conv, 512 ch at 7×7 (im2col)" },
  { shape: [128, 3072, 768], from: "BERT-base FFN up-projection, 128 tokens" },
];
const SQUARE_FULL = [64, 128, 256, 512, 1024, 2048];
const SHAPES_FULL: readonly Shape[] = [...SQUARE_FULL.map((n) => [n, n, n] as const), [257, 1023, 511], ...ODD_SHAPES.map((o) => o.shape)];
const SHAPES_QUICK: readonly Shape[] = [[128, 128, 128], [256, 256, 256], [67, 131, 45]];
/** The hand schedule's bar (issue 2) and the tuned bars (issue 5). */
const HAND_BAR = { case: "N=1024", threads: 1, ratio: 0.8 };
const TUNED_BARS = [{ case: "N=1024 tuned", threads: 1, ratio: 0.95 }, { case: "N=1024 tuned", threads: 2, ratio: 0.9 }];
const ODD_BAR = 1.0;

/** Below this much work a second thread is not expected to pay (the report's scaling check skips such rows). */
const MIN_SCALING_FLOPS = 20e6;

const caseName = ([M, N, K]: Shape): string => (M === N && N === K ? `N=${M}` : `M=${M} N=${N} K=${K}`);

async function openblas(report: BenchReport): Promise<NativeLibrary | null> {
  if (!existsSync("/usr/include/x86_64-linux-gnu/cblas.h") && !existsSync("/usr/include/cblas.h") && !existsSync("/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h")) return null;
  for (const v of ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]) {
    if (process.env[v] !== undefined) report.note(`${v} (was ${process.env[v]}) unset for this benchmark so OpenBLAS picks its kernel for this CPU`);
    delete process.env[v];
  }
  return vendorShim(report, "OpenBLAS", new URL("./openblas.cc", import.meta.url), ["-I/usr/include/x86_64-linux-gnu/openblas-pthread", "-lopenblas"]);
}

function matmulGraph([M, N, K]: Shape) {
  const b = new GraphBuilder();
  return b.build([b.op1("matmul", [b.input("A", [M, K]), b.input("B", [K, N])])]);
}

interface Side { readonly name: string; readonly run: () => void; setThreads(n: number): void; readonly out: Float32Array }


export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("gemm");
  const blas = await openblas(report);
  const dnnl = await vendorShim(report, "oneDNN", new URL("./onednn.cc", import.meta.url), ONEDNN_FLAGS);
  const shapes = opts.quick ? SHAPES_QUICK : SHAPES_FULL;
  const repeats = opts.quick ? 4 : 10;
  const trials = envCount("LATHE_BENCH_TRIALS", opts.quick ? 4 : 16);
  const log = tuningLogPath("gemm");
  report.note(`start: ${loadText()} (2-core machine shared with other work; figures are medians)`);
  report.note(`tuned rows: gemm template with the best of ${trials} trials per shape (XGBoost search, seed 1, 1 kernel thread), tuning log ${log} (re-runs resume from it); the 2-thread rows reuse the 1-thread config`);
  for (const o of ODD_SHAPES) if (shapes.includes(o.shape)) report.note(`${caseName(o.shape)}: ${o.from}`);

  // Tune every shape first (a child process builds and times the candidates).
  const measurer = new Measurer({ target: cpuTuning, repeats: 3, threads: 1 });
  const tunedBy = new Map<Shape, Awaited<ReturnType<typeof tuneGraph>>>();
  try {
    for (const shape of shapes) tunedBy.set(shape, await tuneGraph(matmulGraph(shape), { trials, measurer, log, label: caseName(shape) }));
  } finally {
    measurer.close();
  }

  const oddCases = new Set(ODD_SHAPES.map((o) => caseName(o.shape)));
  for (const shape of shapes) {
    const [M, N, K] = shape;
    const { s, args } = gemmSchedule(M, N, K);
    const kernel = await build(s, args, { name: "gemm" });
    const g = matmulGraph(shape);
    const t = tunedBy.get(shape)!;
    const tunedGraph = await compile(g, "cpu", { tuned: t.tuned });
    const a = Float32Array.from({ length: M * K }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const b = Float32Array.from({ length: K * N }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
    const outs = [0, 1, 2, 3].map(() => new Float32Array(M * N));
    const args3 = (c: Float32Array) => [{ data: a, shape: [M, K], dtype: "f32" as const }, { data: b, shape: [K, N], dtype: "f32" as const }, { data: c, shape: [M, N], dtype: "f32" as const }];
    const tIn = [Tensor.fromArray(a, [M, K]), Tensor.fromArray(b, [K, N])];
    const tOut = [Tensor.fromArray(new Float32Array(M * N), [M, N])];
    const sides: Side[] = [
      { name: "hand", out: outs[0]!, run: () => kernel.run(a, b, outs[0]!), setThreads: (n) => kernel.module.setNumThreads(n) },
      { name: "tuned", out: tOut[0]!.data as Float32Array, run: () => tunedGraph.runInto(tIn, tOut), setThreads: (n) => tunedGraph.setNumThreads(n) },
    ];
    if (blas) sides.push({ name: "openblas", out: outs[2]!, run: () => blas.kernel("openblas_sgemm").call(args3(outs[2]!)), setThreads: (n) => blas.setNumThreads(n) });
    if (dnnl) sides.push({ name: "onednn", out: outs[3]!, run: () => dnnl.kernel("onednn_sgemm").call(args3(outs[3]!)), setThreads: (n) => dnnl.setNumThreads(n) });
    const flops = 2 * M * N * K;
    const inner = Math.max(1, Math.round(2e8 / flops)); // keep each sample ≥ ~several ms
    const tunedKinds = t.tasks.map((x) => `${x.kind} (${x.size} configs, best ${x.bestGflops?.toFixed(1) ?? "-"} GFLOP/s in tuning)`).join(", ");
    const configs = t.tasks.map((x) => JSON.stringify(t.tuned.get(x.key) ?? null)).join(", ");
    const used = lowerGraph(g, { tuned: t.tuned }).kernels.some((k) => k.tuned);
    report.note(`${caseName(shape)} tuned: ${t.tasks.length > 0 ? `${tunedKinds}; config ${configs}${used ? "" : " (NOT applied by compileGraph)"}` : "no tunable task (default schedule)"}`);
    for (const threads of [1, 2]) {
      const secs = await timeSidesSpread(sides.map((sd) => sd.run), { repeats, inner, pauseMs: 150, prepare: (i) => sides[i]!.setThreads(threads) });
      // Every side against the first vendor result (or the hand kernel's when none is installed).
      const ref = sides.find((x) => x.name === "openblas" || x.name === "onednn") ?? sides[0]!;
      for (const x of sides) {
        if (x === ref) continue;
        let maxErr = 0;
        for (let i = 0; i < x.out.length; i++) maxErr = Math.max(maxErr, Math.abs(x.out[i]! - ref.out[i]!) / (1 + Math.abs(ref.out[i]!)));
        if (maxErr > 1e-3) report.problem(`${caseName(shape)}: ${x.name} and ${ref.name} disagree (max rel err ${maxErr.toExponential(2)})`);
      }
      const toGf = (sec: number) => Number((flops / sec / 1e9).toFixed(2));
      const timing = (name: string) => secs[sides.findIndex((x) => x.name === name)];
      const gf = (name: string): number | null => { const t = timing(name); return t ? toGf(t.median) : null; };
      // The slowest block gives the lowest GFLOP/s.
      const spread = (name: string) => { const t = timing(name)!; return { min: toGf(t.max), max: toGf(t.min) }; };
      for (const [lathe, suffix] of [["hand", ""], ["tuned", " tuned"]] as const) {
        for (const [base, install] of [["openblas", "apt-get install libopenblas-dev"], ["onednn", ONEDNN_INSTALL]] as const) {
          const common = { case: caseName(shape) + suffix, threads, metric: "GFLOP/s", better: "higher" as const, lathe: gf(lathe)!, latheSpread: spread(lathe), baseline: base, scales: 2 * shape[0] * shape[1] * shape[2] >= MIN_SCALING_FLOPS };
          const bv = gf(base);
          report.row(bv === null ? { ...common, baselineValue: null, install } : { ...common, baselineValue: bv, baselineSpread: spread(base) });
        }
      }
    }
  }
  report.note(`end: ${loadText()}`);
  report.note("each shape runs 6 blocks of repeats per side (hand, tuned, OpenBLAS, oneDNN, then the reverse order, alternating) with a pause between; figures are the median block, with the slowest and fastest block in parentheses: idle spinning threads of one runtime distort the other's two-thread figures when calls alternate");
  const ratioOf = (c: string, threads: number, base = "openblas") => report.rows.find((r) => r.case === c && r.threads === threads && r.baseline === base)?.ratio ?? null;
  const verdict = (r: number | null, bar: number) => (r === null ? "n/a" : r >= bar ? "met" : "NOT met");
  const hb = ratioOf(HAND_BAR.case, HAND_BAR.threads);
  if (shapes.some((s) => caseName(s) === HAND_BAR.case)) report.note(`bar (issue 2: hand schedule ≥ ${HAND_BAR.ratio}× OpenBLAS at ${HAND_BAR.case}, ${HAND_BAR.threads} thread): ratio ${hb ?? "n/a"} — ${verdict(hb, HAND_BAR.ratio)}`);
  for (const bar of TUNED_BARS) {
    if (!shapes.some((s) => `${caseName(s)} tuned` === bar.case)) continue;
    const r = ratioOf(bar.case, bar.threads);
    report.note(`bar (issue 5: tuned ≥ ${bar.ratio}× OpenBLAS at N=1024, ${bar.threads} thread${bar.threads > 1 ? "s" : ""}): ratio ${r ?? "n/a"} — ${verdict(r, bar.ratio)}`);
  }
  for (const shape of shapes.filter((s) => oddCases.has(caseName(s)))) {
    for (const threads of [1, 2]) {
      const r = ratioOf(`${caseName(shape)} tuned`, threads);
      report.note(`bar (issue 5: tuned ≥ ${ODD_BAR}× OpenBLAS on odd shapes): ${caseName(shape)}, ${threads} thread${threads > 1 ? "s" : ""}: ratio ${r ?? "n/a"} — ${verdict(r, ODD_BAR)}`);
    }
  }
  return report;
}
