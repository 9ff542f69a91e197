/**
 * `lathe experiment <name>`: runs models/<name>/experiment.ts, prints its tables and notes,
 * writes models/results/<name>.json and its plots (../shared/design/EXPERIMENTS.md).
 */
import { Command } from "commander";
import { pathToFileURL } from "node:url";
import { LatheError } from "../../core/errors.ts";
import { hostInfo } from "../../bench/lib/host.ts";
import { hostPeak } from "../../bench/lib/peak.ts";
import { experimentEntry, listExperiments, MODELS_ROOT } from "../../models/lib/discover-experiments.ts";
import { ExperimentReport, RESULTS_DIR, type ExperimentHost, type ExperimentOptions, type Written } from "../../models/lib/experiment.ts";

export interface RunExperimentOptions extends ExperimentOptions {
  /** Where experiments are found (default models/). */
  readonly root?: string;
  /** Where results are written (default models/results/). */
  readonly resultsDir?: string;
  /** The host record (default bench/lib/host.ts's hostInfo() with the measured peak and triad bandwidth, and `quick` set). */
  readonly host?: ExperimentHost;
}

/** Imports the experiment, runs it and writes its results; returns the report and the paths written. */
export async function runExperiment(name: string, opts: RunExperimentOptions): Promise<{ report: ExperimentReport; written: Written }> {
  const entry = experimentEntry(name, opts.root ?? MODELS_ROOT);
  const mod = (await import(pathToFileURL(entry).href)) as { run?: unknown };
  if (typeof mod.run !== "function") throw new LatheError(`${entry} must export run(opts: { quick, seeds? }): Promise<ExperimentReport>`);
  const runOpts: ExperimentOptions = { quick: opts.quick, ...(opts.seeds ? { seeds: [...opts.seeds] } : {}) };
  // The host record (commit, dirty tree, measured peak, as BENCH.md's) of the code that
  // runs: taken before a run that may last hours, during which commits can land.
  const host = opts.host ?? await defaultHost(opts.quick);
  const report: unknown = await mod.run(runOpts);
  if (!(report instanceof ExperimentReport)) throw new LatheError(`${entry}: run() must resolve to an ExperimentReport`);
  if (report.name !== name) throw new LatheError(`${entry}: run() returned a report named "${report.name}"; it must be named after its folder, "${name}"`);
  if (opts.seeds && report.seeds.join(",") !== opts.seeds.join(",")) {
    throw new LatheError(`${entry}: asked for seeds ${opts.seeds.join(", ")}, but the report says it used ${report.seeds.join(", ") || "none"}`);
  }
  return { report, written: report.write(opts.resultsDir ?? RESULTS_DIR, { host, quick: opts.quick }) };
}

async function defaultHost(quick: boolean): Promise<ExperimentHost> {
  const peak = await hostPeak();
  return { ...hostInfo(), peak_gflops_per_core: peak.gflopsPerCore, triad_gbs: peak.triadGBs, quick };
}

/** "0,1,2" → [0, 1, 2]: non-negative integers, at least one, no repeats. */
export function parseSeeds(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new LatheError(`--seeds must be non-negative integers separated by commas, e.g. 0,1,2; got "${text}"`);
  const seeds = parts.map(Number);
  if (new Set(seeds).size !== seeds.length) throw new LatheError(`--seeds repeats a seed: "${text}"`);
  if (seeds.some((s) => !Number.isSafeInteger(s))) throw new LatheError(`--seeds: a seed is too large in "${text}"`);
  return seeds;
}

/** The available experiments, one a line. */
export function experimentList(root: string = MODELS_ROOT): string {
  const names = listExperiments(root);
  return names.length > 0 ? `experiments (models/<name>/experiment.ts):\n${names.map((n) => `  ${n}`).join("\n")}` : "no experiments yet (models/<name>/experiment.ts)";
}

export function experimentCommand(): Command {
  return new Command("experiment")
    .description("run a learning-system experiment from models/<name>/experiment.ts, print its tables and write models/results/<name>.json with its plots (<name>.quick.json with --quick); with no name or --list, list the experiments")
    .argument("[name]", "experiment name, e.g. example")
    .option("--quick", "a small seeded version that runs in a minute or two", false)
    .option("--seeds <list>", "seeds to run, comma-separated (default: the experiment's own)", parseSeeds)
    .option("--list", "list the available experiments", false)
    .action(async (name: string | undefined, opts: { quick: boolean; seeds?: number[]; list: boolean }) => {
      if (opts.list || name === undefined) {
        console.log(experimentList());
        return;
      }
      const { report, written } = await runExperiment(name, { quick: opts.quick, ...(opts.seeds ? { seeds: opts.seeds } : {}) });
      console.log(report.text({ quick: opts.quick }));
      for (const path of [written.json, ...written.plots]) console.log(`wrote ${path}`);
    });
}
