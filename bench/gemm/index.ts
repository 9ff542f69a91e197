/**
 * f32 GEMM: Lathe's hand-written schedule (compiler/schedule/templates/gemm.ts) against OpenBLAS, at
 * 1 and 2 threads, in one run (each side's repeats in a block; see below). Both are called through the
 * same native kernel ABI. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset in this
 * process before OpenBLAS loads, so it picks its kernel for this CPU.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "../../compiler/build.ts";
import { compileShared } from "../../compiler/targets/cpu/toolchain.ts";
import { NativeLibrary } from "../../runtime/native.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, median } from "../lib/report.ts";
import { gemmSchedule } from "../../compiler/schedule/templates/gemm.ts";

const SHAPES_FULL = [[128, 128, 128], [256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [257, 1023, 511]] as const;
const SHAPES_QUICK = [[128, 128, 128], [256, 256, 256], [67, 131, 45]] as const;
const BAR = { case: "N=1024", threads: 1, ratio: 0.8 };

async function openblas(report: BenchReport): Promise<NativeLibrary | null> {
  if (!existsSync("/usr/include/x86_64-linux-gnu/cblas.h") && !existsSync("/usr/include/cblas.h") && !existsSync("/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h")) return null;
  for (const v of ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]) {
    if (process.env[v] !== undefined) report.note(`${v} (was ${process.env[v]}) unset for this benchmark so OpenBLAS picks its kernel for this CPU`);
    delete process.env[v];
  }
  const src = readFileSync(fileURLToPath(new URL("./openblas.cc", import.meta.url)), "utf8");
  try {
    const lib = await compileShared(src, ["-I/usr/include/x86_64-linux-gnu/openblas-pthread", "-lopenblas"]);
    return NativeLibrary.open(lib.path);
  } catch (e) {
    report.note(`OpenBLAS wrapper failed to build: ${(e as Error).message.split("\n")[0]}`);
    return null;
  }
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("gemm");
  const blas = await openblas(report);
  const shapes = opts.quick ? SHAPES_QUICK : SHAPES_FULL;
  const repeats = opts.quick ? 3 : 9;
  for (const [M, N, K] of shapes) {
    const { s, args } = gemmSchedule(M, N, K);
    const kernel = await build(s, args, { name: "gemm" });
    const a = Float32Array.from({ length: M * K }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const b = Float32Array.from({ length: K * N }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
    const c = new Float32Array(M * N), c2 = new Float32Array(M * N);
    const lat = [{ data: a, shape: [M, K], dtype: "f32" as const }, { data: b, shape: [K, N], dtype: "f32" as const }];
    const flops = 2 * M * N * K;
    const inner = Math.max(1, Math.round(2e8 / flops)); // keep each sample ≥ ~several ms
    for (const threads of [1, 2]) {
      kernel.module.setNumThreads(threads);
      blas?.setNumThreads(threads);
      const tl: number[] = [], tb: number[] = [];
      const sample = (f: () => void): number => {
        const t0 = process.hrtime.bigint();
        for (let r = 0; r < inner; r++) f();
        return Number(process.hrtime.bigint() - t0) / 1e9 / inner;
      };
      const runLathe = () => kernel.run(a, b, c);
      const runBlas = () => blas!.kernel("openblas_sgemm").call([...lat, { data: c2, shape: [M, N], dtype: "f32" }]);
      // One side's repeats, a pause, then the other's: alternating call by call lets the idle
      // threads of one runtime (OpenMP's and OpenBLAS's both spin while waiting for work) take
      // the core the other side needs, which distorts the two-thread figures of both.
      const pause = () => new Promise((r) => setTimeout(r, 150));
      runLathe();
      for (let r = 0; r < repeats; r++) tl.push(sample(runLathe));
      await pause();
      if (blas) {
        runBlas();
        for (let r = 0; r < repeats; r++) tb.push(sample(runBlas));
        await pause();
      }
      if (blas) {
        let maxErr = 0;
        for (let i = 0; i < c.length; i++) maxErr = Math.max(maxErr, Math.abs(c[i]! - c2[i]!) / (1 + Math.abs(c2[i]!)));
        if (maxErr > 1e-3) report.note(`M=${M} N=${N} K=${K}: Lathe and OpenBLAS disagree (max rel err ${maxErr.toExponential(2)})`);
      }
      const caseName = M === N && N === K ? `N=${M}` : `M=${M} N=${N} K=${K}`;
      const gf = (t: number) => Number((flops / t / 1e9).toFixed(2));
      report.row(blas
        ? { case: caseName, threads, metric: "GFLOP/s", better: "higher", lathe: gf(median(tl)), baseline: "openblas", baselineValue: gf(median(tb)) }
        : { case: caseName, threads, metric: "GFLOP/s", better: "higher", lathe: gf(median(tl)), baseline: "openblas", baselineValue: null, install: "apt-get install libopenblas-dev" });
    }
  }
  report.note("each case runs Lathe's repeats, then OpenBLAS's, with a pause between: idle spinning threads of one runtime distort the other's two-thread figures when calls alternate");
  const bar = report.rows.find((r) => r.case === BAR.case && r.threads === BAR.threads);
  if (bar) report.note(`bar (issue: ≥ ${BAR.ratio}× OpenBLAS at ${BAR.case}, ${BAR.threads} thread): ratio ${bar.ratio ?? "n/a"} — ${bar.ratio !== null && bar.ratio >= BAR.ratio ? "met" : "NOT met"}`);
  return report;
}
