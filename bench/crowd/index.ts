/**
 * `lathe bench crowd`: the crowd-aggregation bars.
 *
 * Speed (ms per iteration, lower is better): one Dawid–Skene EM iteration (E-step, then
 * M-step) on 100k items × 100 workers × 5 labels per item, 10 classes (quick: 10k items),
 * Lathe's compiled graphs (models/crowd/graphs.ts, the default "masked" segments: segment_sum; on cpu each gather → segment_sum is one hand-written pass) against
 * the same iteration in vectorised NumPy (ds_iteration.py, Debian's python3-numpy) on the
 * same triples and model, both on 1 thread. Inputs (label tensors, segment plans; NumPy's
 * sorts) are built once outside the timed region, as a real EM loop reuses them. Both sides'
 * results are checked against each other (checksums of the posteriors and the new model,
 * 1e-9 relative): a mismatch is a problem and fails the run. Bar: ≥ 2× NumPy's speed.
 *
 * Memory (peak RSS MB, lower is better): bench/crowd/memory.ts in a child process fits
 * DawidSkene for 2 iterations on 10M labels (quick: 1M); baseline "2 GB bar" = 2048 MB.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { compile } from "../../compiler/driver/compile.ts";
import { f64Data } from "../../models/crowd/graphs.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, timeSidesSpread } from "../lib/report.ts";
import { checksum, close, crowd, INSTALL, latheIteration, numpyMissing, prepared, PYTHON, runNumpy, startModel, writeInput } from "./ds.ts";

const MEMORY = fileURLToPath(new URL("./memory.ts", import.meta.url));
const BAR_MB = 2048;

const ms3 = (s: number): number => Number((s * 1e3).toPrecision(4));

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("crowd");
  const items = opts.quick ? 10_000 : 100_000, workers = 100, perItem = 5, K = 10;
  const blocks = 6, perBlock = opts.quick ? 2 : 4;
  const caseName = `ds iteration ${items / 1000}k items × ${workers} workers × ${perItem} labels, K=${K}`;

  // Threads: compiled graphs run OpenMP kernels on Node's main thread, and libgomp's thread
  // count belongs to the calling thread, so any compiled graph's setNumThreads(1) there sets
  // it for the crowd graphs too (as bench/train does); the crowd API exposes no executable.
  const b = new GraphBuilder();
  const threadHandle = await compile(b.build([b.op1("neg", [b.input("t", [1])])]), "cpu");
  threadHandle.setNumThreads(1);
  report.note("threads: Lathe 1 (omp_set_num_threads(1) on Node's main thread through a compiled graph's setNumThreads, which the crowd graphs share); NumPy with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = 1");

  const ls = crowd(items, workers, perItem, K);
  const t = prepared(ls);
  const model = await startModel(t); // the model EM's first iteration starts from
  const lathe = await latheIteration(t, model); // compiles both graphs; the result to check
  const [lt] = await timeSidesSpread([() => latheIteration(t, model)], { repeats: blocks * perBlock, blocks });
  report.note(`Lathe: models/crowd eStep + mStep graphs, "masked" segments (the segment_sum op; on cpu each gather → segment_sum of the E- and M-step runs as one pass, targets/cpu/extern-kernels.ts), label tensors built once outside the timing; ${blocks} blocks × ${perBlock} iterations after a warm-up, figure = median of block medians`);

  const dir = mkdtempSync(join(tmpdir(), "lathe-bench-crowd-"));
  try {
    const missing = numpyMissing();
    const input = join(dir, "ds.bin");
    writeInput(input, ls, model);
    const np = missing ? null : runNumpy(input, blocks, perBlock);
    const common = { case: caseName, threads: 1, metric: "ms per iteration", better: "lower" as const, lathe: ms3(lt!.median), latheSpread: { min: ms3(lt!.min), max: ms3(lt!.max) }, baseline: "numpy" };
    if (np === null || np.median_s === null) {
      report.row({ ...common, baselineValue: null, install: INSTALL });
      report.note(`bar (DS iteration ≥ 2× NumPy on 1 thread): NOT MEASURED — ${missing ?? "numpy missing"}`);
    } else {
      const sums = [
        ["posteriors", np.checksum_post, checksum(f64Data(lathe.post))],
        ["logConf", np.checksum_log_conf, checksum(f64Data(lathe.logConf))],
        ["logPrior", np.checksum_log_prior, checksum(f64Data(lathe.logPrior))],
      ] as const;
      for (const [what, a, c] of sums) {
        if (!close(a, c, 1e-9)) report.problem(`${caseName}: NumPy's ${what} checksum ${a} differs from Lathe's ${c}`);
      }
      report.note(`NumPy ${np.numpy} (${PYTHON}, ${np.formulation}); index sorts outside the timing; same blocks × iterations; it runs after Lathe in its own process; posterior, logConf and logPrior checksums agree with Lathe's to 1e-9 or the run fails`);
      const row = report.row({ ...common, baselineValue: ms3(np.median_s), baselineSpread: { min: ms3(np.min_s!), max: ms3(np.max_s!) } });
      const met = row.ratio !== null && row.ratio >= 2;
      report.note(`bar (DS iteration ≥ 2× NumPy's speed on 1 thread): ${row.ratio}× — ${met ? "MET" : "NOT MET"}${opts.quick ? " (quick size: the bar is for 100k items)" : ""}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Memory, in a child process so the peak is the aggregation's alone.
  const labels = opts.quick ? 1_000_000 : 10_000_000;
  const r = spawnSync(process.execPath, ["--import", "tsx", MEMORY, String(labels)], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    report.problem(`memory run (${MEMORY} ${labels}) failed (${r.status ?? r.signal}): ${(r.stderr ?? "").slice(-2000)}`);
  } else {
    const m = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { labels: number; peak_rss_mb: number; simulate_s: number; fit_s: number };
    const row = report.row({
      case: `DawidSkene 2 iterations, ${m.labels / 1e6}M labels (100 workers, K=10)`, threads: 1, metric: "peak RSS MB", better: "lower",
      lathe: Number(m.peak_rss_mb.toFixed(1)), baseline: "2 GB bar", baselineValue: BAR_MB, scales: false,
    });
    report.note(`memory: ${MEMORY} in its own process, peak RSS = process.resourceUsage().maxRSS (includes simulating the crowd, ${m.simulate_s.toFixed(1)} s, and compiling the graphs); fit ${m.fit_s.toFixed(1)} s; default threads`);
    const met = m.peak_rss_mb < BAR_MB && !opts.quick;
    report.note(`bar (aggregating 10M labels under 2 GB): ${opts.quick ? `not measured at the quick size (${m.labels / 1e6}M labels: ${row.lathe} MB; nothing extrapolated)` : `${row.lathe} MB — ${met ? "MET" : "NOT MET"}`}`);
  }
  return report;
}
