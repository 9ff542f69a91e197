/**
 * `lathe continual --benchmark split-fmnist --strategy ewc`: runs a continual-learning
 * strategy (or several with --compare a,b,c) over a benchmark's stream with the issue's
 * protocol (MLP 784-256-256-10, SGD lr 0.01 momentum 0.9, a fresh optimiser per
 * experience, batch 64, 1 epoch per experience) and prints ACC, forgetting, BWT and FWT.
 * `--json` writes EXPERIMENTS.md's format (metrics `<benchmark>.<strategy>.final_acc`,
 * `.forgetting`, `.bwt`), `--csv DIR` the metrics and accuracy matrices, `--html` a report
 * with plots; `--checkpoint FILE` saves after each experience and resumes from it.
 *
 * Every name and size is checked before any data are read or any training starts; bad
 * input is one LatheError line listing the valid values.
 */
import { dirname, resolve } from "node:path";
import { existsSync, statSync } from "node:fs";
import cliProgress from "cli-progress";
import { Command } from "commander";
import { LatheError } from "../../core/errors.ts";
import { hostInfo } from "../../bench/lib/host.ts";
import { BENCHMARKS, checkBenchmarkName, loadBenchmark } from "../../models/continual/benchmarks.ts";
import { buildReport, TextLogger, textTable, writeCsv, writeHtml, writeJson } from "../../models/continual/loggers.ts";
import { STRATEGIES, buildPlugins, parseStrategy } from "../../models/continual/registry.ts";
import type { RunResult } from "../../models/continual/runner.ts";
import { runStrategy } from "../../models/continual/runner.ts";
import type { Plugin, Strategy } from "../../models/continual/strategy.ts";

export interface ContinualCliOptions {
  readonly benchmark: string;
  readonly strategy?: string;
  readonly compare?: string;
  readonly epochs?: number;
  readonly seed?: number;
  readonly batchSize?: number;
  readonly lr?: number;
  readonly hidden?: readonly number[];
  readonly memory?: number;
  readonly ewcLambda?: number;
  /** EWC: examples per experience the Fisher is estimated on, or "all" (default 1,024). */
  readonly ewcFisherSamples?: number | "all";
  readonly siLambda?: number;
  /** GDumb's epochs over its memory per experience (default GDUMB_EPOCHS, 128). */
  readonly gdumbEpochs?: number;
  readonly trainLimit?: number;
  readonly testLimit?: number;
  readonly online?: number;
  readonly json?: string;
  readonly csv?: string;
  readonly html?: string;
  readonly checkpoint?: string;
  readonly interpret?: boolean;
  readonly progress?: boolean;
  readonly verbose?: boolean;
  readonly log?: (line: string) => void;
}

function checkOutput(file: string | undefined, what: string): void {
  if (file === undefined) return;
  const dir = dirname(resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LatheError(`${what} ${file}: the directory ${dir} does not exist`);
}

/** A progress bar over the current experience's minibatches (a TTY only). */
function progressPlugin(label: string): Plugin {
  let bar: cliProgress.SingleBar | null = null, done = 0;
  return {
    name: "progress",
    beforeTrainingExp(s: Strategy, exp) {
      if (!process.stderr.isTTY) return;
      done = 0;
      bar = new cliProgress.SingleBar({ format: ` ${label} exp ${s.trained + 1} |{bar}| {value}/{total} batches`, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
      bar.start(Math.ceil(exp.y.size / s.batchSize) * s.epochs, 0);
    },
    afterTrainingIteration() { bar?.update(++done); },
    afterTrainingExp() { bar?.stop(); bar = null; },
  };
}

export async function runContinual(o: ContinualCliOptions): Promise<RunResult[]> {
  const log = o.log ?? ((line: string) => console.log(line));
  checkBenchmarkName(o.benchmark);
  if (o.strategy !== undefined && o.compare !== undefined) throw new LatheError("give --strategy or --compare, not both");
  const specs = o.compare !== undefined ? o.compare.split(",").map((s) => s.trim()) : [o.strategy ?? "naive"];
  for (const s of specs) parseStrategy(s);
  if (new Set(specs).size !== specs.length) throw new LatheError(`--compare lists a strategy twice: ${o.compare}`);
  checkOutput(o.json, "--json");
  checkOutput(o.html, "--html");
  checkOutput(o.checkpoint, "--checkpoint");
  if (o.checkpoint !== undefined && specs.length > 1) throw new LatheError("--checkpoint resumes one strategy; use it with --strategy, not --compare");

  const seed = o.seed ?? 0;
  const b = loadBenchmark(o.benchmark, { seed, ...(o.trainLimit ? { trainLimit: o.trainLimit } : {}), ...(o.testLimit ? { testLimit: o.testLimit } : {}), ...(o.online ? { online: o.online } : {}) });
  const trainSize = b.train.reduce((s, e) => s + e.y.size, 0);
  const params = { ...(o.memory !== undefined ? { memory: o.memory } : {}), ...(o.ewcLambda !== undefined ? { ewcLambda: o.ewcLambda } : {}), ...(o.ewcFisherSamples !== undefined ? { ewcFisherSamples: o.ewcFisherSamples } : {}), ...(o.siLambda !== undefined ? { siLambda: o.siLambda } : {}), ...(o.gdumbEpochs !== undefined ? { gdumbEpochs: o.gdumbEpochs } : {}) };
  for (const s of specs) buildPlugins(s, params, trainSize); // memory sizes, before any training
  log(`${b.name}: ${b.scenario}, ${b.train.length} training experiences (${trainSize} examples), ${b.test.length} test experiences (${b.test.reduce((s, e) => s + e.y.size, 0)} examples)`);

  const results: RunResult[] = [];
  for (const spec of specs) {
    const plugins: Plugin[] = [...(o.verbose ? [new TextLogger(log)] : []), ...(o.progress === false ? [] : [progressPlugin(spec)])];
    const r = await runStrategy(b, spec, {
      ...params, seed, hidden: o.hidden ?? [256, 256], epochs: o.epochs ?? 1, lr: o.lr ?? 0.01, momentum: 0.9, batchSize: o.batchSize ?? 64,
      ...(o.checkpoint ? { checkpoint: o.checkpoint } : {}), ...(o.interpret ? { exec: { executor: "interpreted" as const } } : {}), plugins,
    });
    results.push(r);
    log(`${spec}: ACC ${r.summary.finalAcc.toFixed(4)} (${r.summary.seconds.reduce((a, c) => a + c, 0).toFixed(1)} s training)`);
  }
  log("");
  log(textTable(results));

  const written: string[] = [];
  if (o.csv !== undefined) written.push(...writeCsv(o.csv, results));
  if (o.json !== undefined || o.html !== undefined) {
    const report = await buildReport(results, {
      seeds: [seed],
      notes: [`${b.name}: ${trainSize} training / ${b.test.reduce((s, e) => s + e.y.size, 0)} test examples; MLP ${[b.features, ...(o.hidden ?? [256, 256]), b.numClasses].join("-")}, SGD lr ${o.lr ?? 0.01} momentum 0.9 (fresh per experience), batch ${o.batchSize ?? 64}, ${o.epochs ?? 1} epoch(s) per experience`],
    });
    if (o.json !== undefined) { writeJson(o.json, report, { ...hostInfo(), quick: false }); written.push(o.json); }
    if (o.html !== undefined) { writeHtml(o.html, report); written.push(o.html); }
  }
  if (written.length > 0) log(`wrote ${written.join(", ")}`);
  return results;
}

function intOption(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v))) throw new LatheError(`${name} must be an integer, got "${v}"`);
  const n = Number(v);
  if (n < min) throw new LatheError(`${name} must be ≥ ${min}, got ${n}`);
  return n;
}

function fisherSamplesOption(v: string | undefined): number | "all" | undefined {
  if (v === undefined) return undefined;
  if (v.trim() === "all") return "all";
  if (!/^\d+$/.test(v.trim())) throw new LatheError(`--ewc-fisher-samples must be a positive integer or "all", got "${v}"`);
  return intOption("--ewc-fisher-samples", v, 1);
}

function numOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0) throw new LatheError(`${name} must be a non-negative number, got "${v}"`);
  return n;
}

interface RawOptions {
  benchmark: string; strategy?: string; compare?: string; epochs?: string; seed?: string; batchSize?: string; lr?: string; hidden?: string; memory?: string;
  ewcLambda?: string; ewcFisherSamples?: string; siLambda?: string; gdumbEpochs?: string; trainLimit?: string; testLimit?: string; online?: string; json?: string; csv?: string; html?: string; checkpoint?: string;
  interpret?: boolean; progress?: boolean; verbose?: boolean;
}

export function continualCommand(): Command {
  return new Command("continual")
    .description("run continual-learning strategies over a benchmark's stream; print ACC, forgetting, BWT and FWT")
    .requiredOption("--benchmark <name>", `one of ${BENCHMARKS.join(", ")}`)
    .option("--strategy <name>", `one of ${STRATEGIES.join(", ")}; combine plugins with + (e.g. replay+lwf); default naive`)
    .option("--compare <a,b,c>", "run several strategies and print one table")
    .option("--epochs <n>", "epochs per experience (default 1)")
    .option("--seed <s>", "seed of the weights, data order and memories (default 0)")
    .option("--batch-size <n>", "minibatch size (default 64)")
    .option("--lr <x>", "SGD learning rate (default 0.01)")
    .option("--hidden <w1,w2>", "hidden widths of the MLP (default 256,256)")
    .option("--memory <n>", "replay memory size (default: replay 2000, gdumb 4400, er-ace/der/icarl 2000)")
    .option("--ewc-lambda <x>", "EWC's λ (default 100)")
    .option("--ewc-fisher-samples <n|all>", "examples per experience EWC's Fisher is estimated on (default 1024, evenly strided; all: every one)")
    .option("--si-lambda <x>", "SI's λ (default 1)")
    .option("--gdumb-epochs <n>", "GDumb's epochs over its memory per experience (default 128, the paper's MNIST recipe)")
    .option("--train-limit <n>", "use a seeded subsample of this many training examples")
    .option("--test-limit <n>", "use a seeded subsample of this many test examples")
    .option("--online <n>", "online: training experiences cut into sub-experiences of n examples")
    .option("--json <out.json>", "write the results (EXPERIMENTS.md format)")
    .option("--csv <dir>", "write metrics.csv and <strategy>-matrix.csv here")
    .option("--html <report.html>", "write an HTML report with plots")
    .option("--checkpoint <file>", "save after each experience; resume from it when it exists")
    .option("--interpret", "run the graphs in the reference interpreter (no C++ toolchain)")
    .option("--verbose", "a line per experience")
    .option("--no-progress", "no progress bar")
    .action(async (raw: RawOptions) => {
      const hidden = raw.hidden === undefined ? undefined : raw.hidden.split(",").map((h) => intOption("--hidden", h, 1)!);
      const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : ({ [k]: v } as { [P in K]: V }));
      await runContinual({
        benchmark: raw.benchmark, ...opt("strategy", raw.strategy), ...opt("compare", raw.compare),
        ...opt("epochs", intOption("--epochs", raw.epochs, 1)), ...opt("seed", intOption("--seed", raw.seed, 0)),
        ...opt("batchSize", intOption("--batch-size", raw.batchSize, 1)), ...opt("lr", numOption("--lr", raw.lr)), ...opt("hidden", hidden),
        ...opt("memory", intOption("--memory", raw.memory, 1)), ...opt("ewcLambda", numOption("--ewc-lambda", raw.ewcLambda)),
        ...opt("ewcFisherSamples", fisherSamplesOption(raw.ewcFisherSamples)), ...opt("siLambda", numOption("--si-lambda", raw.siLambda)),
        ...opt("gdumbEpochs", intOption("--gdumb-epochs", raw.gdumbEpochs, 1)),
        ...opt("trainLimit", intOption("--train-limit", raw.trainLimit, 1)), ...opt("testLimit", intOption("--test-limit", raw.testLimit, 1)), ...opt("online", intOption("--online", raw.online, 1)),
        ...opt("json", raw.json), ...opt("csv", raw.csv), ...opt("html", raw.html), ...opt("checkpoint", raw.checkpoint),
        interpret: raw.interpret === true, progress: raw.progress !== false, verbose: raw.verbose === true,
      });
    });
}
