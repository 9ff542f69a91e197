/** `lathe bench <name>`: runs bench/<name>/index.ts, prints its table, writes its JSON. */
import { Command } from "commander";
import { pathToFileURL } from "node:url";
import { LatheError } from "../../core/errors.ts";
import { benchEntry, BENCH_ROOT } from "../../bench/lib/discover.ts";
import { BenchReport, RESULTS_DIR, type BenchOptions } from "../../bench/lib/report.ts";
import { hostPeak } from "../../bench/lib/peak.ts";

export interface RunBenchOptions extends BenchOptions {
  readonly root?: string;
  readonly resultsDir?: string;
  /** false: skip measuring the host's peak (tests). */
  readonly peak?: boolean;
}

/** Imports the benchmark, runs it and writes its report; returns the report and the JSON path. */
export async function runBench(name: string, opts: RunBenchOptions): Promise<{ report: BenchReport; path: string }> {
  const entry = benchEntry(name, opts.root ?? BENCH_ROOT);
  const mod = (await import(pathToFileURL(entry).href)) as { run?: unknown };
  if (typeof mod.run !== "function") throw new LatheError(`${entry} must export run(opts): Promise<BenchReport>`);
  // The peak is measured first, on a quiet machine, and checked against every GFLOP/s row.
  const peak = opts.peak === false ? null : await hostPeak();
  const report: unknown = await mod.run({ quick: opts.quick });
  if (!(report instanceof BenchReport)) throw new LatheError(`${entry}: run() must resolve to a BenchReport`);
  report.setRun({ quick: opts.quick, peak });
  try {
    return { report, path: report.write(opts.resultsDir ?? RESULTS_DIR) };
  } catch (e) {
    // The figures are still worth seeing: the table, then why the run failed.
    throw e instanceof LatheError ? new LatheError(`${report.table()}\n${e.message}`) : e;
  }
}

export function benchCommand(): Command {
  return new Command("bench")
    .description("run a benchmark from bench/<name>/, print its table and write bench/results/<name>.json (<name>.quick.json with --quick); a figure above the measured peak, a baseline slower on more threads or a wrong output fails the run")
    .argument("<name>", "benchmark name, e.g. gemm")
    .option("--quick", "small sizes and few repeats (a smoke run)", false)
    .action(async (name: string, opts: { quick: boolean }) => {
      const { report, path } = await runBench(name, { quick: opts.quick });
      console.log(report.table());
      console.log(`wrote ${path}`);
    });
}
