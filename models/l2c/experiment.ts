/**
 * `lathe experiment l2c [--quick] [--seeds 0]`: issue 18's table on 2-D point sets.
 *
 * L2C (models/cluster/l2c.ts, the small network: 2 residual BDLSTM layers of 32 units) is
 * trained on fresh sets from the 2-D generator (l2c-sets.ts: k uniform in 1…5, n = 72) for a
 * time budget, keeping the weights with the lowest MR on its validation sets (their own
 * seed); it is then scored on held-out test sets drawn from a third seed. Rows, on the same
 * test sets: L2C, not told k; k-means told the true k (the clustering issue's k-means graphs,
 * models/cluster/kmeans.ts, k-means++ with 10 restarts); k-means with k chosen by the
 * silhouette (k = 2…k_max, k = 1 when the best silhouette is below 0.25); random assignment
 * (k uniform in 1…k_max, labels uniform); and scikit-learn's KMeans told k, the same settings, as a
 * cross-check of the k-means row (null with a note where it is not installed). Columns: MR,
 * NMI and the accuracy of the number of clusters (for the rows not told it).
 * Only the 2-D sets are run: the image and speech-like set kinds are not built yet.
 *
 * `--quick`: 60 s of training, 60 test sets.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Rng } from "../../runtime/random.ts";
import { misclassificationRate, normalizedMutualInfo, silhouetteScore } from "../lib/cluster-metrics.ts";
import { ExperimentReport, type ExperimentOptions } from "../lib/experiment.ts";
import { linePlot, renderVegaLite, type Datum, type TopLevelSpec } from "../lib/plot.ts";
import { kmeans } from "../cluster/kmeans.ts";
import { trainL2c, type L2cTrainOptions, type L2cTraining } from "../cluster/l2c.ts";
import { drawBatch2d, type SetBatch } from "../cluster/l2c-sets.ts";

const PYTHON = "/usr/bin/python3";
const SKLEARN_SCRIPT = fileURLToPath(new URL("./sklearn_kmeans.py", import.meta.url));
const KMEANS_RESTARTS = 10;
/** Below this best silhouette, the silhouette row answers k = 1 (the issue's rule). */
const SILHOUETTE_ONE = 0.25;
/** Test sets are drawn from this seed (xor the run's), apart from training's and validation's (l2c.ts). */
const TEST_SEED = 0x7e57;

export const METHODS = ["l2c", "kmeans_true_k", "kmeans_silhouette", "random", "sklearn_kmeans_true_k"] as const;
type Method = (typeof METHODS)[number];
const LABEL: Record<Method, string> = {
  l2c: "L2C (not told k)", kmeans_true_k: "k-means, told the true k", kmeans_silhouette: "k-means, k by silhouette",
  random: "random assignment", sklearn_kmeans_true_k: "scikit-learn KMeans, told the true k",
};
/** Rows that choose k themselves (the others are told it). */
const CHOOSES_K: ReadonlySet<Method> = new Set(["l2c", "kmeans_silhouette", "random"]);

/** Smaller runs than --quick, for tests. */
export interface L2cExperimentSize {
  readonly trainSeconds?: number;
  readonly steps?: number;
  readonly testSets?: number;
  readonly validationSets?: number;
  readonly arch?: L2cTrainOptions["arch"];
  readonly batchSize?: number;
  readonly n?: number;
}

/** Each method's labelling and k for every test set (null: not run). */
type Answers = { labels: Int32Array[]; k: number[] } | null;

const setOf = (b: SetBatch, s: number) => ({ x: b.x.subarray(s * b.n * 2, (s + 1) * b.n * 2), labels: b.labels.subarray(s * b.n, (s + 1) * b.n) });

async function kmeansRows(test: SetBatch, seed: number, kMax: number): Promise<{ trueK: Answers; silhouette: Answers }> {
  const trueK: Int32Array[] = [], sil: Int32Array[] = [], silK: number[] = [];
  for (let s = 0; s < test.count; s++) {
    const { x } = setOf(test, s);
    const points = { data: Float32Array.from(x), n: test.n, d: 2 };
    const k = test.k[s]!;
    trueK.push((await kmeans(points, { k, seed, nInit: KMEANS_RESTARTS })).fit.labels);
    let best: { score: number; labels: Int32Array; k: number } = { score: -Infinity, labels: new Int32Array(test.n), k: 1 };
    for (let c = 2; c <= kMax; c++) {
      const labels = (await kmeans(points, { k: c, seed, nInit: KMEANS_RESTARTS })).fit.labels;
      const distinct = new Set(labels).size;
      const score = distinct >= 2 && distinct < test.n ? silhouetteScore(x, test.n, 2, labels) : -Infinity;
      if (score > best.score) best = { score, labels, k: c };
    }
    if (best.score < SILHOUETTE_ONE) best = { score: best.score, labels: new Int32Array(test.n), k: 1 };
    sil.push(best.labels);
    silK.push(best.k);
  }
  return { trueK: { labels: trueK, k: Array.from(test.k) }, silhouette: { labels: sil, k: silK } };
}

function randomRow(test: SetBatch, seed: number, kMax: number): Answers {
  const rng = new Rng(seed ^ 0x5eed);
  const labels: Int32Array[] = [], k: number[] = [];
  for (let s = 0; s < test.count; s++) {
    const c = rng.int(1, kMax + 1);
    k.push(c);
    labels.push(Int32Array.from({ length: test.n }, () => rng.int(0, c)));
  }
  return { labels, k };
}

/** scikit-learn's KMeans told k, or why it did not run. */
function sklearnRow(test: SetBatch, seed: number): { answers: Answers; version: string } | string {
  const sets = Array.from({ length: test.count }, (_, s) => ({ x: Array.from(setOf(test, s).x), k: test.k[s]! }));
  const r = spawnSync(PYTHON, [SKLEARN_SCRIPT], { input: JSON.stringify({ n: test.n, sets, n_init: KMEANS_RESTARTS, seed }), encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.error || r.status !== 0) {
    const why = (r.stderr || r.error?.message || "").trim().split("\n").at(-1) ?? "";
    return /No module named|ENOENT/.test(why) ? "scikit-learn is not installed (apt-get install python3-sklearn)" : `scikit-learn failed: ${why}`;
  }
  const out = JSON.parse(r.stdout) as { labels: number[][]; version: string };
  return { answers: { labels: out.labels.map((l) => Int32Array.from(l)), k: Array.from(test.k) }, version: out.version };
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
const r4 = (x: number): number => Number(x.toFixed(4));

/** A few test sets coloured by L2C's clusters, one panel each, titled with the true and predicted k. */
async function setsPlot(test: SetBatch, answers: NonNullable<Answers>, count: number): Promise<string> {
  const values: Datum[] = [];
  for (let s = 0; s < Math.min(count, test.count); s++) {
    const { x } = setOf(test, s);
    const panel = `set ${s + 1}: k = ${test.k[s]}, L2C k = ${answers.k[s]}`;
    for (let i = 0; i < test.n; i++) values.push({ panel, x: x[2 * i]!, y: x[2 * i + 1]!, cluster: String(answers.labels[s]![i]) });
  }
  const spec = {
    data: { values },
    facet: { field: "panel", type: "nominal", title: null },
    columns: 3,
    spec: {
      width: 180, height: 180,
      mark: { type: "point", filled: true, size: 30 },
      encoding: {
        x: { field: "x", type: "quantitative", scale: { domain: [0, 1] } },
        y: { field: "y", type: "quantitative", scale: { domain: [0, 1] } },
        color: { field: "cluster", type: "nominal", title: "L2C cluster" },
      },
    },
  };
  return renderVegaLite(spec as unknown as TopLevelSpec);
}

export async function run(opts: ExperimentOptions, size: L2cExperimentSize = {}): Promise<ExperimentReport> {
  const seed = opts.seeds?.[0] ?? 0;
  const report = new ExperimentReport("l2c", { seeds: [seed] });
  const trainSeconds = size.trainSeconds ?? (opts.quick ? 60 : 1200);
  const testSets = size.testSets ?? (opts.quick ? 60 : 300);
  const sets = size.n ? { n: size.n } : {};
  const arch = size.arch ?? "small";

  const t0 = performance.now();
  const training: L2cTraining = await trainL2c({
    arch, seed, steps: size.steps ?? 1_000_000, maxSeconds: trainSeconds, sets,
    ...(size.batchSize ? { batchSize: size.batchSize } : {}), validationSets: size.validationSets ?? 128, validateEvery: 100,
  });
  const trainedSeconds = (performance.now() - t0) / 1000;
  const kMax = training.model.kMax;
  report.note(`data: 2-D sets (k uniform in 1…${kMax}, n = ${sets.n ?? 72}, isotropic Gaussians with σ in [0.01, 0.1] in the unit square); training sets fresh each step, ${size.validationSets ?? 128} validation sets and ${testSets} test sets each from their own seed`);
  report.note(`L2C: ${typeof arch === "string" ? `the "${arch}" network` : "a custom network"}, Adadelta lr 5, ${training.steps} steps of ${size.batchSize ?? 32} sets in a ${trainSeconds} s training budget (${trainedSeconds.toFixed(0)} s with compilation and validation); the weights kept are those with the lowest validation MR (${training.bestMr.toFixed(4)} at step ${training.bestStep}): the validation sets choose, the test sets only score`);

  const test = drawBatch2d(new Rng(seed ^ TEST_SEED), testSets, sets);
  const l2c = await training.model.clusterBatch(test.x, test.count, test.n);
  const answers = new Map<Method, Answers>();
  answers.set("l2c", { labels: l2c.map((r) => r.labels), k: l2c.map((r) => r.k) });
  const km = await kmeansRows(test, seed, kMax);
  answers.set("kmeans_true_k", km.trueK);
  answers.set("kmeans_silhouette", km.silhouette);
  answers.set("random", randomRow(test, seed, kMax));
  const sk = sklearnRow(test, seed);
  if (typeof sk === "string") {
    report.note(`scikit-learn row not run: ${sk}`);
    answers.set("sklearn_kmeans_true_k", null);
  } else {
    report.note(`scikit-learn ${sk.version}: KMeans(k-means++, n_init ${KMEANS_RESTARTS}, random_state ${seed}) told each set's k, one thread`);
    answers.set("sklearn_kmeans_true_k", sk.answers);
  }
  report.note(`k-means rows: models/cluster/kmeans.ts (compiled Lathe graphs), k-means++ with ${KMEANS_RESTARTS} restarts; the silhouette row picks the best of k = 2…${kMax} and answers k = 1 when that silhouette is below ${SILHOUETTE_ONE}`);

  const table = report.table("2-D point sets: held-out test sets", ["method", "MR", "NMI", "k accuracy"]);
  for (const m of METHODS) {
    const a = answers.get(m) ?? null;
    if (a === null) {
      table.row(LABEL[m], null, null, null);
      for (const f of ["mr", "nmi", "k_accuracy"]) report.metric(`points2d.${m}.${f}`, null);
      continue;
    }
    const mr = mean(a.labels.map((l, s) => misclassificationRate(l, setOf(test, s).labels)));
    const nmi = mean(a.labels.map((l, s) => normalizedMutualInfo(l, setOf(test, s).labels)));
    const kAcc = CHOOSES_K.has(m) ? mean(a.k.map((k, s) => (k === test.k[s] ? 1 : 0))) : null;
    table.row(LABEL[m], r4(mr), r4(nmi), kAcc === null ? "(told)" : r4(kAcc));
    report.metric(`points2d.${m}.mr`, mr).metric(`points2d.${m}.nmi`, nmi).metric(`points2d.${m}.k_accuracy`, kAcc);
  }
  const l2cMr = report.metrics["points2d.l2c.mr"] as number, l2cNmi = report.metrics["points2d.l2c.nmi"] as number;
  const quick = opts.quick ? " (quick: a minute of training; the bar is for the full run)" : "";
  report.note(`bar (2-D, not told k: MR ≤ 0.02 and NMI ≥ 0.95): MR ${l2cMr.toFixed(4)}, NMI ${l2cNmi.toFixed(4)} — ${l2cMr <= 0.02 && l2cNmi >= 0.95 ? "MET" : "NOT MET"}${quick}`);

  report.plot("sets", await setsPlot(test, answers.get("l2c")!, 6));
  const window = Math.max(1, Math.floor(training.losses.length / 200));
  const lossData: Datum[] = [];
  for (let i = 0; i + window <= training.losses.length; i += window) lossData.push({ step: i + window, loss: mean(training.losses.slice(i, i + window)) });
  report.plot("training-loss", await linePlot({ title: `L2C training loss (mean over ${window} steps)`, x: { field: "step" }, y: { field: "loss" }, data: lossData }));
  report.plot("validation-mr", await linePlot({ title: "L2C validation MR", x: { field: "step" }, y: { field: "mr", title: "MR" }, data: training.validation.map((v) => ({ step: v.step, mr: v.mr })), points: true }));
  return report;
}
