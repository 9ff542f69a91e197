/**
 * `lathe tune <model> --target cpu|webgpu --trials N --log tune.jsonl [--model xgb|sa|random]`:
 * extracts the model's tuning tasks (the fused groups compileGraph will build, identical ones
 * merged), splits the trials across them by estimated run time (FLOPs × kernels sharing the
 * task), tunes each with measurements in a child process and appends every measurement to the
 * log. Running the same command again resumes: the log counts toward each task's trials.
 * `lathe compile --tuning-log tune.jsonl` then builds with the best config of each task.
 *
 * With `--target webgpu` the tasks are the graph's fused groups as the webgpu graph compiler
 * builds them (extractTasks on the loaded graph, keys "webgpu/…"), the tunable ones those with
 * a static matmul/batch_matmul anchor (compiler/targets/webgpu/tuning-target.ts), and the
 * candidates run on Dawn in the measuring child (webgpu/measure-worker.ts), checked against
 * the interpreter. --threads, --no-cache-flush, --layout and --isa are cpu-only.
 *
 * With `--queue redis://… --device cpu/x86-64-avx2` (or `webgpu/<adapter>` with --target
 * webgpu) the trials are measured by the queue's workers of that device key instead
 * (compiler/distributed): each batch is sent as jobs, the
 * results are written to the log by this process alone, tasks are planned at the device's
 * vector width, and a restarted run first collects the jobs its earlier run left behind.
 */
import { Command, Option } from "commander";
import cliProgress from "cli-progress";
import { LatheError } from "../../core/errors.ts";
import { cpuGraphLowering, type GraphLayout } from "../../compiler/targets/cpu/graph.ts";
import { applyIsa, isaOption, layoutOption } from "./compile.ts";
import { readLog } from "../../compiler/autotune/log.ts";
import { Measurer } from "../../compiler/autotune/measure.ts";
import { extractTasks, taskSpec, type TaskSpec } from "../../compiler/autotune/task.ts";
import { taskTemplate } from "../../compiler/targets/cpu/task-template.ts";
import type { TaskTemplate, TuningTarget } from "../../compiler/autotune/tuning-target.ts";
import { webgpuTuning } from "../../compiler/targets/webgpu/tuning-target.ts";
import { TransferModel } from "../../compiler/autotune/transfer.ts";
import { allocateTrials, SEARCH_KINDS, tuneTask, type SearchKind } from "../../compiler/autotune/tuner.ts";
import { collect, loadModel, parseDims, parsePairs } from "../load-model.ts";
import { cpuTuning } from "../../compiler/targets/cpu/task-template.ts";
import type { MeasureFn } from "../../compiler/autotune/measure.ts";
import { collectEarlierJobs, openTuningFarm, type TuningFarm } from "../../compiler/distributed/farm.ts";

export interface TuneCommandOptions {
  readonly target: string;
  /** The cpu ISA (--isa), as for compile. */
  readonly isa?: string;
  readonly trials: string;
  readonly log: string;
  readonly model: string;
  readonly seed: string;
  readonly batch: string;
  readonly repeats: string;
  readonly minRepeatMs: string;
  readonly threads: string;
  readonly transfer: string[];
  readonly dim: string[];
  readonly const: string[];
  readonly progress: boolean;
  readonly cacheFlush: boolean;
  readonly layout?: string;
  /** --queue URL --device KEY: measure on the queue's workers of KEY. */
  readonly queue?: string;
  readonly device?: string;
  readonly waitWorkers: string;
  /** Test-only (hidden): measure-stub jobs of this many ms instead of real measurements. */
  readonly stubDelayMs?: string;
}

/** Where `lathe tune --queue` sends its trials (compiler/distributed/farm.ts). */
export interface QueueTuning {
  readonly url: string;
  readonly device: string;
  readonly waitMs: number;
  readonly stubDelayMs?: number;
}

export interface PlannedTask {
  readonly task: TaskSpec;
  readonly template: TaskTemplate;
  /** Kernels of the model that share this task. */
  readonly weight: number;
  readonly trials: number;
}

const intOption = (v: string, name: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new LatheError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
};

/** The targets `lathe tune` can tune, with their tuner interfaces. */
const TUNING_TARGETS: ReadonlyMap<string, TuningTarget> = new Map([["cpu", cpuTuning], ["webgpu", webgpuTuning]]);

/** The model's tunable tasks with their trial budgets (tasks without a template are listed in `skipped`). */
export async function planTuning(model: string, trials: number, opts: Pick<TuneCommandOptions, "dim" | "const"> & { layout?: GraphLayout; target?: "cpu" | "webgpu" } = { dim: [], const: [] }): Promise<{ planned: PlannedTask[]; skipped: string[] }> {
  const { graph } = await loadModel(model, { dims: parseDims(opts.dim), constFiles: parsePairs(opts.const, "--const") });
  const webgpu = opts.target === "webgpu";
  // The graph each target's compiler lowers (cpu: with the same layout; webgpu: as loaded,
  // compileGraphWebGpu fuses it as is), so task keys match at compile time.
  const tasks = webgpu ? extractTasks(graph, "webgpu") : extractTasks(cpuGraphLowering(graph, { layout: opts.layout ?? "auto" }), "cpu");
  const templateOf = (t: TaskSpec): TaskTemplate | null => (webgpu ? webgpuTuning.template(t) : taskTemplate(t));
  const withTemplate = tasks.map((t) => ({ t, template: templateOf(taskSpec(t)) }));
  const tunable = withTemplate.filter((x): x is { t: typeof x.t; template: TaskTemplate } => x.template !== null);
  const budget = allocateTrials(trials, tunable.map((x) => ({ weight: x.template.flops * x.t.weight, cap: x.template.space.size })));
  return {
    planned: tunable.map((x, i) => ({ task: taskSpec(x.t), template: x.template, weight: x.t.weight, trials: budget[i]! })),
    skipped: withTemplate.filter((x) => x.template === null).map((x) => x.t.key),
  };
}

export function tuneCommand(): Command {
  return new Command("tune")
    .description("auto-tune a model's kernels: measure schedule configs per task and append them to a tuning log")
    .argument("<model>", "a graph text file (.lg) or an ONNX model (.onnx)")
    .option("--target <name>", `code generation target (${[...TUNING_TARGETS.keys()].join(", ")})`, "cpu")
    .option("--trials <n>", "measurements in all, split across tasks by estimated run time", "200")
    .requiredOption("--log <file>", "the tuning log (JSON lines; appended to, and resumed from)")
    .option("--model <kind>", `search: ${SEARCH_KINDS.join(", ")} (xgb: XGBoost cost model; sa: annealing on measurements; random)`, "xgb")
    .option("--seed <n>", "random seed", "0")
    .option("--batch <n>", "configs per batch (the cost model is refit after each)", "64")
    .option("--repeats <n>", "timed runs per config (the median counts)", "5")
    .option("--min-repeat-ms <ms>", "minimum ms of a config's timed runs together: short kernels repeat within each run until it lasts ms / repeats (0: one call per run)", "50")
    .option("--threads <n>", "kernel threads while measuring (0: every core)", "0")
    .option("--transfer <log>", "an earlier tuning log to seed new tasks' first batch from (repeatable)", collect, [])
    .option("--dim <name=size>", "fix a symbolic input dimension of an ONNX model (repeatable)", collect, [])
    .option("--const <name=file.npy>", "data for a graph-text constant declared without inline data (repeatable)", collect, [])
    .option("--no-progress", "no progress bar (one line per task instead)")
    .option("--no-cache-flush", "time kernels with warm caches (default: caches evicted before every timed run, as inside a whole network)")
    .addOption(layoutOption())
    .addOption(isaOption())
    .option("--queue <url>", "measure on the workers of a job queue (lathe worker; their --threads set the kernel threads): redis://[:password@]host[:port], rediss:// for TLS; needs --device")
    .option("--device <key>", "with --queue: the workers' device key, e.g. cpu/x86-64-avx2 (lathe queue status lists them)")
    .option("--wait-workers <s>", "with --queue: how long to wait for a worker of the device key", "60")
    .addOption(new Option("--stub-delay-ms <ms>", "with --queue: measure-stub jobs (a deterministic cost after this delay, no build) for tests and bench/queue").hideHelp())
    .action(async (model: string, opts: TuneCommandOptions) => {
      applyIsa(opts.isa);
      if ((opts.queue === undefined) !== (opts.device === undefined)) throw new LatheError("--queue and --device go together: the queue's URL and the device key whose workers measure");
      const waitS = Number(opts.waitWorkers);
      if (!(Number.isFinite(waitS) && waitS >= 0)) throw new LatheError(`--wait-workers must be a number of seconds >= 0, got "${opts.waitWorkers}"`);
      const queue: QueueTuning | undefined = opts.queue !== undefined && opts.device !== undefined
        ? { url: opts.queue, device: opts.device, waitMs: waitS * 1000, ...(opts.stubDelayMs !== undefined ? { stubDelayMs: intOption(opts.stubDelayMs, "stub-delay-ms", 0) } : {}) }
        : undefined;
      if (!TUNING_TARGETS.has(opts.target)) throw new LatheError(`lathe tune: unknown target "${opts.target}" (available: ${[...TUNING_TARGETS.keys()].join(", ")})`);
      if (opts.target === "webgpu") {
        const cpuOnly = [
          [opts.isa !== undefined, "--isa"], [opts.layout !== undefined, "--layout"],
          [opts.threads !== "0", "--threads"], [!opts.cacheFlush, "--no-cache-flush"],
        ] as const;
        const given = cpuOnly.filter(([on]) => on).map(([, f]) => f);
        if (given.length > 0) throw new LatheError(`lathe tune: target "webgpu" does not take ${given.join(", ")} (cpu-target options)`);
      }
      if (!(SEARCH_KINDS as readonly string[]).includes(opts.model)) throw new LatheError(`--model must be one of ${SEARCH_KINDS.join(", ")}, got "${opts.model}"`);
      const trials = intOption(opts.trials, "trials", 0);
      const seed = intOption(opts.seed, "seed", 0);
      const batch = intOption(opts.batch, "batch", 1);
      const repeats = intOption(opts.repeats, "repeats", 1);
      const threads = intOption(opts.threads, "threads", 0);
      const minRepeatMs = Number(opts.minRepeatMs);
      if (!(Number.isFinite(minRepeatMs) && minRepeatMs >= 0)) throw new LatheError(`--min-repeat-ms must be a number >= 0, got "${opts.minRepeatMs}"`);
      await runTune(model, { ...opts, target: opts.target as "cpu" | "webgpu", trials, seed, batch, repeats, minRepeatMs, threads, model: opts.model as SearchKind, layout: (opts.layout ?? "auto") as GraphLayout, queue });
    });
}

export async function runTune(
  model: string,
  o: { target?: "cpu" | "webgpu"; trials: number; log: string; model: SearchKind; seed: number; batch: number; repeats: number; minRepeatMs?: number; transfer: string[]; dim: string[]; const: string[]; progress: boolean; cacheFlush?: boolean; threads?: number; layout?: GraphLayout; queue?: QueueTuning },
): Promise<void> {
  const warn = (m: string) => process.stderr.write(`lathe tune: warning: ${m}\n`);
  const webgpu = o.target === "webgpu";
  if (webgpu && o.queue === undefined) return tuneWith(model, o, new Measurer({ target: webgpuTuning, repeats: o.repeats, minRepeatMs: o.minRepeatMs }), warn);
  if (o.queue === undefined) return tuneWith(model, o, new Measurer({ target: cpuTuning, repeats: o.repeats, minRepeatMs: o.minRepeatMs, threads: o.threads ?? 0, flushCache: o.cacheFlush ?? true }), warn);
  const farm: TuningFarm = await openTuningFarm({
    url: o.queue.url, device: o.queue.device, waitMs: o.queue.waitMs, log: o.log, target: webgpu ? webgpuTuning : cpuTuning,
    repeats: o.repeats, minRepeatMs: o.minRepeatMs ?? 50, flush: o.cacheFlush ?? true, ...(o.queue.stubDelayMs !== undefined ? { stubDelayMs: o.queue.stubDelayMs } : {}),
    onInfo: (m) => console.log(m), onWarning: warn,
  });
  // Tasks and templates at the workers' vector width: the kernels are built there, not here.
  const vectorBytes = process.env.LATHE_VECTOR_BYTES;
  process.env.LATHE_VECTOR_BYTES = String(farm.vectorBytes);
  try {
    const ids = farm.workers.map((w) => w.id);
    console.log(`queue ${farm.client.url.display}: ${ids.length} worker(s) of ${o.queue.device} (${ids.join(", ")}), run ${farm.run}`);
    const recovered = await collectEarlierJobs(farm, o.log, warn);
    if (recovered > 0) console.log(`collected ${recovered} measurement(s) that finished after the last run stopped`);
    await tuneWith(model, o, farm.measurer, warn);
  } finally {
    if (vectorBytes === undefined) delete process.env.LATHE_VECTOR_BYTES;
    else process.env.LATHE_VECTOR_BYTES = vectorBytes;
    await farm.close();
  }
}

async function tuneWith(
  model: string,
  o: { target?: "cpu" | "webgpu"; trials: number; log: string; model: SearchKind; seed: number; batch: number; transfer: string[]; dim: string[]; const: string[]; progress: boolean; layout?: GraphLayout },
  measurer: MeasureFn,
  warn: (m: string) => void,
): Promise<void> {
  const { planned, skipped } = await planTuning(model, o.trials, o);
  console.log(`${planned.length} tunable task(s), ${skipped.length} without a template (default schedule); ${o.trials} trials, log ${o.log}`);
  let transfer: TransferModel | undefined;
  // Transfer learns from the logs' records of this target's tasks only (features of its kernels).
  const prefix = `${measurer.target.name}/`;
  const earlier = o.transfer.flatMap((f) => readLog(f, { onWarning: warn })).filter((r) => r.task.startsWith(prefix));
  if (earlier.length > 0) {
    transfer = (await TransferModel.train(earlier, { target: measurer.target, seed: o.seed })) ?? undefined;
    console.log(transfer ? `transfer model: ${transfer.records} measurements of ${transfer.tasks} task(s)` : "transfer: the logs hold too few measurements with task specs; not used");
  }
  const bars = o.progress && process.stderr.isTTY
    ? new cliProgress.MultiBar({ format: " {task} |{bar}| {value}/{total} trials | best {best} GFLOP/s | left ~{left}", hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic)
    : null;
  const started = Date.now();
  let measuredAll = 0;
  const remainingAll = () => planned.reduce((s, p) => s + p.trials, 0);
  const summary: string[] = [];
  try {
    let doneBefore = 0;
    for (const p of planned) {
      const name = p.task.key.split("/").slice(1, 2).join("").slice(0, 28).padEnd(28);
      const bar = bars?.create(p.trials, 0, { task: name, best: "-", left: "?" });
      const r = await tuneTask(p.task, {
        trials: p.trials, log: o.log, measurer, model: o.model, seed: o.seed, batch: o.batch, transfer, onWarning: warn,
        space: p.template.space, flops: p.template.flops, ...(p.template.defaultConfig ? { defaultConfig: p.template.defaultConfig } : {}),
        onMeasured: (pr) => {
          measuredAll++;
          const perTrial = (Date.now() - started) / 1000 / measuredAll;
          const left = Math.max(0, remainingAll() - doneBefore - pr.done) * perTrial;
          bar?.update(pr.done, { best: pr.bestGflops === null ? "-" : pr.bestGflops.toFixed(2), left: `${Math.round(left)}s` });
        },
      });
      doneBefore += p.trials;
      bar?.update(r.history.length);
      const line = `${p.task.key} ×${p.weight}: ${r.history.length} trials (${r.measuredNow} now), best ${r.best ? `${r.best.gflops.toFixed(2)} GFLOP/s ${JSON.stringify(r.best.config)}` : "none succeeded"}`;
      summary.push(line);
      if (!bars) console.log(line);
    }
  } finally {
    bars?.stop();
    measurer.close();
    transfer?.dispose();
  }
  if (bars) for (const l of summary) console.log(l);
  console.log(`compile with: lathe compile ${model}${o.target === "webgpu" ? " --target webgpu" : ""} --tuning-log ${o.log} -o <dir>`);
}
