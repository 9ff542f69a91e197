/**
 * `lathe cluster DATA.npy|DATA.csv --method kmeans|gmm|nmm --k K`: clusters the points
 * (rows) of DATA and prints the cluster sizes and the time taken; `--labels TRUE.npy`
 * adds ACC, NMI and ARI against the true classes, `-o LABELS.npy` writes each point's
 * cluster (i32 [n]), `--save MODEL/` keeps the fitted model and `--model MODEL/` labels
 * the data with a saved one instead of fitting.
 *
 * L2C (learning to cluster, models/cluster/l2c.ts) is trained on generated sets, not fitted
 * to DATA: `lathe cluster train --method l2c --data points2d -o MODEL/` trains and saves
 * the network with the best validation MR; `lathe cluster SET.npy --model MODEL/` (or
 * `--method l2c --model MODEL/`) clusters one set without being told k and prints k and P(k).
 *
 * Everything is read and checked (models/cluster/input.ts) before anything is fitted or
 * written; bad input is one LatheError line naming the file and the row, column or field,
 * and leaves no output. Outputs are written atomically, the labels first, then the model.
 */
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import cliProgress from "cli-progress";
import { Command } from "commander";
import { LatheError } from "../../core/errors.ts";
import { writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { checkFitInput, checkModelFits, CLUSTER_METHODS, gmm, kmeans, loadGmm, loadKmeans, readModelManifest, readPoints, readTrueLabels } from "../../models/cluster/index.ts";
import type { ClusterFit, ClusterMethod, ClusterModel, CovarianceType, FitProgress, Points } from "../../models/cluster/index.ts";
import { clusterScores, type ClusterScores } from "../../models/lib/cluster-metrics.ts";
import { loadNmm, nmm } from "../../models/cluster/nmm.ts";
import { isL2cModelDir, loadL2c, saveL2c } from "../../models/cluster/l2c-save.ts";
import { trainL2c } from "../../models/cluster/l2c.ts";

/** What the CLI hands every method's fit. */
interface FitOptions {
  readonly k: number;
  readonly seed: number;
  readonly nInit?: number;
  readonly maxIter?: number;
  readonly covarianceType?: CovarianceType;
  /** nmm: the points are images of h × w pixels (a CNN, augmentations, the consistency term). */
  readonly image?: { readonly h: number; readonly w: number };
  /** nmm: training epochs. */
  readonly epochs?: number;
  readonly onProgress: FitProgress;
}

type Method =
  | { readonly kind: "ready"; readonly describe: string; fit(points: Points, o: FitOptions): Promise<{ fit: ClusterFit; model: ClusterModel }>; load(dir: string): ClusterModel }
  | { readonly kind: "unavailable"; readonly describe: string };

const opt = <K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : { [key]: v } as { [P in K]?: V });

/**
 * The methods by name. A method plugs in with a `ready` entry (fit → { fit, model } and
 * load(dir) → model); one not wired yet is `unavailable` ("method X is not available yet").
 */
export const METHODS: Readonly<Record<ClusterMethod, Method>> = {
  kmeans: {
    kind: "ready", describe: "k-means (k-means++ init, Lloyd steps)",
    fit: (p, o) => kmeans(p, { k: o.k, seed: o.seed, onProgress: o.onProgress, ...opt("nInit", o.nInit), ...opt("maxIter", o.maxIter) }),
    load: loadKmeans,
  },
  gmm: {
    kind: "ready", describe: "Gaussian mixture by EM (--covariance full|diag)",
    fit: (p, o) => gmm(p, { k: o.k, seed: o.seed, onProgress: o.onProgress, ...opt("nInit", o.nInit), ...opt("maxIter", o.maxIter), ...opt("covarianceType", o.covarianceType) }),
    load: loadGmm,
  },
  nmm: {
    kind: "ready", describe: "neural mixture model, EM by backpropagation (--image HxW for images, --epochs)",
    fit: (p, o) => nmm(p, { k: o.k, seed: o.seed, onProgress: o.onProgress, ...opt("image", o.image), ...opt("epochs", o.epochs), ...opt("restarts", o.nInit) }),
    load: loadNmm,
  },
};

function methodOf(name: string): Extract<Method, { kind: "ready" }> {
  if (!Object.hasOwn(METHODS, name)) throw new LatheError(`unknown method "${name}"; one of ${CLUSTER_METHODS.join(", ")}`);
  const m = METHODS[name as ClusterMethod];
  if (m.kind === "unavailable") throw new LatheError(`method ${name} is not available yet`);
  return m;
}

export interface ClusterCliOptions {
  /** Required unless `model` is given (then it must agree with the saved model). */
  readonly method?: string;
  /** Required unless `model` is given (then it must agree with the saved model). */
  readonly k?: number;
  readonly seed?: number;
  readonly nInit?: number;
  readonly maxIter?: number;
  readonly covariance?: string;
  /** nmm: "HxW" when the rows are images. */
  readonly image?: string;
  /** nmm: training epochs. */
  readonly epochs?: number;
  /** Where to write the labels (.npy, i32 [n]). */
  readonly out?: string;
  /** True labels (.npy) to score against. */
  readonly labels?: string;
  readonly save?: string;
  readonly model?: string;
  /** Draw a progress bar on a terminal (default true). */
  readonly progress?: boolean;
}

export interface ClusterCliResult {
  readonly method: ClusterMethod;
  readonly labels: Int32Array;
  readonly sizes: readonly number[];
  readonly seconds: number;
  readonly scores?: ClusterScores;
  /** The files and directories written, in order. */
  readonly written: readonly string[];
}

/** Fails early (before any fitting) when `file` could not be written: its directory is missing. */
function checkWritable(file: string, what: string): void {
  const parent = dirname(resolve(file));
  if (!existsSync(parent) || !statSync(parent).isDirectory()) throw new LatheError(`${what} ${file}: the directory ${parent} does not exist`);
}

/** A progress bar on stderr, drawn only on a terminal and only once a fit has run for a second. */
function progressBar(enabled: boolean, label: string): { onProgress: FitProgress; stop(): void } {
  const started = Date.now();
  let bar: cliProgress.SingleBar | null = null;
  return {
    onProgress: (done, total, note) => {
      if (!enabled || !process.stderr.isTTY) return;
      if (!bar) {
        if (Date.now() - started < 1000) return;
        bar = new cliProgress.SingleBar({ format: ` ${label} |{bar}| {percentage}% | {note}`, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
        bar.start(total, done, { note: note ?? "" });
      }
      bar.setTotal(total);
      bar.update(done, { note: note ?? "" });
    },
    stop: () => bar?.stop(),
  };
}

/** Runs `lathe cluster`; `log` gets the report lines. */
export async function runCluster(dataPath: string, o: ClusterCliOptions, log: (line: string) => void = console.log): Promise<ClusterCliResult> {
  // Resolve the method and every input before fitting or writing anything.
  let methodName: string;
  let manifestK: number | undefined;
  if (o.model !== undefined) {
    if (o.save !== undefined) throw new LatheError("--save and --model together: a reloaded model is not refitted; copy the model directory instead");
    const m = readModelManifest(o.model);
    if (o.method !== undefined && o.method !== m.method) throw new LatheError(`--method ${o.method}, but ${o.model} holds a ${m.method} model`);
    if (o.k !== undefined && o.k !== m.k) throw new LatheError(`--k ${o.k}, but ${o.model} holds a model with k = ${m.k}`);
    methodName = m.method;
    manifestK = m.k;
  } else {
    if (o.method === undefined) throw new LatheError(`--method is required (one of ${CLUSTER_METHODS.join(", ")}) unless --model is given`);
    methodName = o.method;
  }
  const method = methodOf(methodName);
  if (o.covariance !== undefined && methodName !== "gmm") throw new LatheError("--covariance works with --method gmm only");
  if (o.covariance !== undefined && o.covariance !== "full" && o.covariance !== "diag") throw new LatheError(`--covariance must be full or diag, got "${o.covariance}"`);
  for (const [flag, v] of [["--image", o.image], ["--epochs", o.epochs]] as const) {
    if (v !== undefined && methodName !== "nmm") throw new LatheError(`${flag} works with --method nmm only`);
  }
  const image = imageOption(o.image);
  const epochs = o.epochs;
  if (o.model === undefined && o.k === undefined) throw new LatheError("--k is required unless --model is given");

  const points = readPoints(dataPath);
  let model: ClusterModel | null = null;
  if (o.model !== undefined) {
    model = method.load(o.model);
    checkModelFits(model, points, o.model, dataPath);
  } else {
    checkFitInput(points, o.k!, dataPath);
  }
  const truth = o.labels !== undefined ? readTrueLabels(o.labels, points.n, dataPath) : null;
  if (o.out !== undefined) checkWritable(o.out, "-o");
  if (o.save !== undefined) checkWritable(o.save, "--save");

  const k = manifestK ?? o.k!;
  const started = performance.now();
  let labels: Int32Array, summary: string;
  if (model) {
    labels = await model.predict(points);
    summary = `${methodName}: labelled ${points.n} points × ${points.d} features with the model in ${o.model} (k = ${k})`;
  } else {
    const bar = progressBar(o.progress ?? true, methodName);
    let r: { fit: ClusterFit; model: ClusterModel };
    try {
      r = await method.fit(points, {
        k, seed: o.seed ?? 0, onProgress: bar.onProgress,
        ...opt("nInit", o.nInit), ...opt("maxIter", o.maxIter), ...opt("covarianceType", o.covariance as CovarianceType | undefined),
        ...opt("image", image), ...opt("epochs", epochs),
      });
    } finally {
      bar.stop();
    }
    model = r.model;
    labels = r.fit.labels;
    summary = `${methodName}: ${points.n} points × ${points.d} features, k = ${k}: ${r.fit.iterations} iterations${r.fit.converged ? " (converged)" : " (not converged)"}, objective ${r.fit.objective.toPrecision(6)}`;
  }
  const seconds = (performance.now() - started) / 1000;
  log(`${summary}; ${seconds.toFixed(2)} s`);

  const sizes = new Array<number>(k).fill(0);
  for (const l of labels) sizes[l]!++;
  log(`cluster sizes: ${sizes.map((s, j) => `${j}: ${s}`).join(", ")}`);
  let scores: ClusterScores | undefined;
  if (truth) {
    scores = clusterScores(labels, truth);
    log(`against ${o.labels}: ACC ${scores.acc.toFixed(4)}  NMI ${scores.nmi.toFixed(4)}  ARI ${scores.ari.toFixed(4)}`);
  }

  const written: string[] = [];
  if (o.out !== undefined) { writeNpy(o.out, new Tensor(labels, [labels.length], "i32")); written.push(o.out); }
  if (o.save !== undefined) { model.save(o.save); written.push(o.save); }
  if (written.length > 0) log(`wrote ${written.join(", ")}`);
  return { method: methodName as ClusterMethod, labels, sizes, seconds, ...(scores ? { scores } : {}), written };
}

export interface L2cTrainCliOptions {
  readonly method: string;
  readonly data: string;
  readonly out: string;
  readonly steps?: number;
  readonly minutes?: number;
  readonly seed?: number;
  readonly arch?: string;
  readonly batchSize?: number;
  readonly setSize?: number;
  readonly progress?: boolean;
}

/** `lathe cluster train`: trains L2C on generated sets and saves it (checks everything before training). */
export async function runL2cTrain(o: L2cTrainCliOptions, log: (line: string) => void = console.log): Promise<{ bestMr: number; steps: number }> {
  if (o.method !== "l2c") throw new LatheError(`cluster train: --method must be l2c (the other methods fit DATA directly), got "${o.method}"`);
  if (o.data !== "points2d") throw new LatheError(`cluster train: --data ${o.data} is not available yet; use points2d`);
  if (o.arch !== undefined && o.arch !== "small" && o.arch !== "paper") throw new LatheError(`--arch must be small or paper, got "${o.arch}"`);
  if (o.minutes !== undefined && !(o.minutes > 0)) throw new LatheError(`--minutes must be a positive number, got ${o.minutes}`);
  checkWritable(o.out, "-o");
  const bar = progressBar(o.progress ?? true, "l2c");
  let r: Awaited<ReturnType<typeof trainL2c>>;
  try {
    r = await trainL2c({
      seed: o.seed ?? 0, onProgress: bar.onProgress, ...opt("arch", o.arch as "small" | "paper" | undefined), ...opt("steps", o.steps),
      ...opt("batchSize", o.batchSize), ...opt("maxSeconds", o.minutes === undefined ? undefined : o.minutes * 60),
      ...(o.setSize === undefined ? {} : { sets: { n: o.setSize } }),
    });
  } finally {
    bar.stop();
  }
  saveL2c(r.model, o.out, { data: o.data, steps: r.steps, bestStep: r.bestStep, bestMr: r.bestMr });
  log(`l2c: ${r.steps} steps on ${o.data} sets; best validation MR ${r.bestMr.toFixed(4)} at step ${r.bestStep} (untrained ${r.validation[0]!.mr.toFixed(4)})`);
  log(`wrote ${o.out}`);
  return { bestMr: r.bestMr, steps: r.steps };
}

/** `lathe cluster SET --model L2C_MODEL/`: one set, k not given. */
export async function runL2cCluster(dataPath: string, o: ClusterCliOptions, log: (line: string) => void = console.log): Promise<{ k: number; pk: Float64Array; labels: Int32Array; scores?: ClusterScores }> {
  if (o.model === undefined) throw new LatheError("--method l2c needs --model MODEL/ (train one with `lathe cluster train --method l2c`)");
  for (const [flag, v] of [["--k", o.k], ["--save", o.save], ["--image", o.image], ["--epochs", o.epochs], ["--covariance", o.covariance]] as const) {
    if (v !== undefined) throw new LatheError(`${flag} does not apply to l2c (it finds k itself)`);
  }
  const model = loadL2c(o.model);
  const points = readPoints(dataPath);
  if (points.d !== model.d) throw new LatheError(`${dataPath}: ${points.d} features per point, the l2c model in ${o.model} takes ${model.d}`);
  const truth = o.labels !== undefined ? readTrueLabels(o.labels, points.n, dataPath) : null;
  if (o.out !== undefined) checkWritable(o.out, "-o");
  const r = await model.cluster(points);
  log(`l2c: ${points.n} points: k = ${r.k}; P(k) ${Array.from(r.pk, (p, i) => `${i + 1}: ${p.toFixed(3)}`).join(", ")}`);
  let scores: ClusterScores | undefined;
  if (truth) {
    scores = clusterScores(r.labels, truth);
    log(`against ${o.labels}: MR ${(1 - scores.acc).toFixed(4)}  NMI ${scores.nmi.toFixed(4)}`);
  }
  if (o.out !== undefined) { writeNpy(o.out, new Tensor(r.labels, [r.labels.length], "i32")); log(`wrote ${o.out}`); }
  return { ...r, ...(scores ? { scores } : {}) };
}

/** --image HxW: the points are images of H rows × W columns (their product must be the feature count, checked with the data). */
function imageOption(v: string | undefined): { h: number; w: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)x(\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new LatheError(`--image must be HxW (e.g. 28x28), got "${v}"`);
  return { h: Number(m[1]), w: Number(m[2]) };
}

/**
 * An integer option (commander hands strings); a bad one is a LatheError, so it is one
 * line through main() like every other bad input. k's range is checked with the data.
 */
function intOption(name: string, v: string | undefined, min: number | null): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v))) throw new LatheError(`${name} must be an integer, got "${v}"`);
  const n = Number(v);
  if (min !== null && n < min) throw new LatheError(`${name} must be ≥ ${min}, got ${n}`);
  return n;
}

/**
 * `lathe cluster train`. The root program parses options after subcommands too, so
 * `--method`, `-o`, `--seed` and `--no-progress` land on `cluster` (which declares them)
 * and are read from there with optsWithGlobals; the train-only options are declared here.
 */
function l2cTrainCommand(): Command {
  return new Command("train")
    .description("train a learning-to-cluster network on generated sets (--method l2c --data points2d -o MODEL/) and save it")
    .requiredOption("--data <kind>", "points2d (2-D Gaussian clusters, k = 1…5)")
    .option("--steps <n>", "training steps (default 1000)")
    .option("--minutes <m>", "stop after this many minutes of training")
    .option("--arch <name>", "small (2 layers of 32 units, default) or paper (14 layers of 144)")
    .option("--batch-size <n>", "sets per step (default 32)")
    .option("--set-size <n>", "points per set (default 72)")
    .action(async (_local: unknown, cmd: Command) => {
      const raw = cmd.optsWithGlobals<{ method?: string; data: string; out?: string; steps?: string; minutes?: string; arch?: string; batchSize?: string; setSize?: string; seed?: string; progress?: boolean }>();
      if (raw.method === undefined) throw new LatheError("cluster train: --method l2c is required");
      if (raw.out === undefined) throw new LatheError("cluster train: -o MODEL/ is required");
      const minutes = raw.minutes === undefined ? undefined : Number(raw.minutes);
      if (minutes !== undefined && !(minutes > 0)) throw new LatheError(`--minutes must be a positive number, got "${raw.minutes}"`);
      await runL2cTrain({
        method: raw.method, data: raw.data, out: raw.out, ...opt("arch", raw.arch), ...opt("minutes", minutes), ...opt("progress", raw.progress),
        ...opt("steps", intOption("--steps", raw.steps, 1)), ...opt("batchSize", intOption("--batch-size", raw.batchSize, 1)),
        ...opt("setSize", intOption("--set-size", raw.setSize, 2)), ...opt("seed", intOption("--seed", raw.seed, 0)),
      });
    });
}

export function clusterCommand(): Command {
  return new Command("cluster")
    .description("cluster the rows of DATA (.npy [points, features] or .csv), print cluster sizes and time, and with --labels ACC/NMI/ARI")
    .argument("<data>", ".npy (2-D, any numeric dtype) or .csv (numbers; an optional header line)")
    .option("--method <name>", `one of: ${Object.entries(METHODS).map(([n, m]) => `${n} — ${m.describe}`).join("; ")}; l2c — learning to cluster, k not given (with --model; train one with \`lathe cluster train\`)`)
    .option("--k <k>", "number of clusters")
    .option("--seed <s>", "random seed (default 0)")
    .option("--n-init <n>", "restarts; the best is kept (default 1)")
    .option("--max-iter <n>", "most iterations per restart (kmeans 300, gmm 100)")
    .option("--covariance <type>", "gmm: full or diag (default full)")
    .option("--image <HxW>", "nmm: the rows are images of H × W pixels (a CNN with augmented views)")
    .option("--epochs <n>", "nmm: training epochs")
    .option("-o, --out <labels.npy>", "write each point's cluster (i32 [n]) here")
    .option("--labels <true.npy>", "true classes (integers [n]): print ACC, NMI and ARI")
    .option("--save <dir>", "save the fitted model in this directory")
    .option("--model <dir>", "label the data with a saved model instead of fitting")
    .option("--no-progress", "no progress bar")
    .addCommand(l2cTrainCommand())
    .action(async (data: string, raw: Omit<ClusterCliOptions, "k" | "seed" | "nInit" | "maxIter" | "epochs"> & { k?: string; seed?: string; nInit?: string; maxIter?: string; epochs?: string }) => {
      const { k, seed, nInit, maxIter, epochs, ...rest } = raw;
      if (rest.method === "l2c" || (rest.model !== undefined && isL2cModelDir(rest.model))) {
        if (rest.method !== undefined && rest.method !== "l2c") throw new LatheError(`--method ${rest.method}, but ${rest.model} holds an l2c model`);
        await runL2cCluster(data, { ...rest, ...opt("k", intOption("--k", k, null)), ...opt("epochs", intOption("--epochs", epochs, 1)) });
        return;
      }
      await runCluster(data, {
        ...rest, ...opt("k", intOption("--k", k, null)), ...opt("seed", intOption("--seed", seed, 0)),
        ...opt("nInit", intOption("--n-init", nInit, 1)), ...opt("maxIter", intOption("--max-iter", maxIter, 1)),
        ...opt("epochs", intOption("--epochs", epochs, 1)),
      });
    });
}
