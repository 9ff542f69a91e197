/**
 * `lathe bench <name>`: runs bench/<name>/index.ts, prints its table, writes its JSON.
 * With `--queue URL --device KEY` a worker of that device key runs it (lathe worker) and its
 * JSON comes back to bench/results/remote/<key>/<name>.json here.
 */
import { Command, Option } from "commander";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { LatheError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import { benchEntry, BENCH_ROOT } from "../../bench/lib/discover.ts";
import { BenchReport, RESULTS_DIR, formatTable, type BenchOptions } from "../../bench/lib/report.ts";
import { hostPeak } from "../../bench/lib/peak.ts";
import { updateReadme } from "../../bench/lib/readme.ts";
import { remoteBench } from "../../compiler/distributed/farm.ts";

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
    .option("--queue <url>", "run it on a worker of a job queue (lathe worker): redis://[:password@]host[:port]; needs --device")
    .option("--device <key>", "with --queue: the device key of the worker to run it, e.g. cpu/x86-64-avx512")
    .option("--wait-workers <s>", "with --queue: how long to wait for a worker of the device key", "60")
    .addOption(new Option("--results-dir <dir>", "where the JSON goes (a worker's bench jobs write into its cache)").hideHelp())
    .action(async (name: string, opts: { quick: boolean; queue?: string; device?: string; waitWorkers: string; resultsDir?: string }) => {
      if ((opts.queue === undefined) !== (opts.device === undefined)) throw new LatheError("--queue and --device go together: the queue's URL and the device key of the worker to run the bench");
      if (opts.queue !== undefined && opts.device !== undefined) {
        const waitS = Number(opts.waitWorkers);
        if (!(Number.isFinite(waitS) && waitS >= 0)) throw new LatheError(`--wait-workers must be a number of seconds >= 0, got "${opts.waitWorkers}"`);
        const r = await remoteBench({ url: opts.queue, device: opts.device, waitMs: waitS * 1000, name, quick: opts.quick, onInfo: (m) => console.log(m) });
        const path = writeRemoteResult(opts.resultsDir ?? join(RESULTS_DIR, "remote"), opts.device, name, opts.quick, r.report);
        console.log(remoteTable(r.report, r.worker));
        console.log(`wrote ${path}`);
        return;
      }
      const { report, path } = await runBench(name, { quick: opts.quick, ...(opts.resultsDir ? { resultsDir: opts.resultsDir } : {}) });
      console.log(report.table());
      console.log(`wrote ${path}`);
      // Full results in the repository's folder: the README's tables follow them (bench/lib/readme.ts).
      if (!opts.quick && opts.resultsDir === undefined && updateReadme()) console.log("README.md: its bench tables regenerated from bench/results/");
    });
}

/** Writes a worker's bench JSON to <dir>/<device key>/<name>[.quick].json atomically; returns the path. */
export function writeRemoteResult(dir: string, device: string, name: string, quick: boolean, report: Readonly<Record<string, unknown>>): string {
  const sub = join(dir, ...device.split("/"));
  mkdirSync(sub, { recursive: true });
  const path = join(sub, `${name}${quick ? ".quick" : ""}.json`);
  writeFileAtomic(path, JSON.stringify(report, null, 2) + "\n");
  return path;
}

/** The rows of a bench JSON that came back from a worker, as a table. */
function remoteTable(report: Readonly<Record<string, unknown>>, worker: string): string {
  const rows = Array.isArray(report.rows) ? (report.rows as Record<string, unknown>[]) : [];
  const host = (report.host ?? {}) as Record<string, unknown>;
  const cell = (v: unknown): string => (v === null || v === undefined ? "-" : String(v));
  return [
    `${cell(report.name)} — ran on worker ${worker}: ${cell(host.cpu)}, ${cell(host.cores)} cores`,
    formatTable(["case", "threads", "metric", "lathe", "baseline", "baseline value", "ratio"], rows.map((r) => [cell(r.case), cell(r.threads), cell(r.metric), cell(r.lathe), cell(r.baseline), cell(r.baseline_value), cell(r.ratio)])),
    ...(Array.isArray(report.notes) ? (report.notes as unknown[]).map((n) => `note: ${String(n)}`) : []),
  ].join("\n");
}
