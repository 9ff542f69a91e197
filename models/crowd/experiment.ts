/**
 * The crowd-labelling experiment (`lathe experiment crowd [--quick] [--seeds 0,1,2]`):
 * simulated crowds over real images, every aggregator's label error, online Dawid–Skene
 * per batch, classifiers trained on the aggregated labels, and relabelling a budget of
 * items by each strategy (random, entropy, CENT). Figures and bars follow
 * ../shared/design/EXPERIMENTS.md (`<dataset>.error.<method>`,
 * `<dataset>.relabel.<strategy>.<budget>.fixed`, `<dataset>.classifier.<labels>.accuracy`).
 *
 * Data: scikit-learn's digits (1,797 items; skipped with the reason when python3-sklearn's
 * data file is missing), 10 simulated annotators of the four kinds, 3 labels per item, in
 * 6 batches; Fashion-MNIST (60k train / 10k test; skipped when missing), 50 annotators,
 * 3–5 labels per item, batches of 1,000 items. The crowd's labels are drawn from each
 * annotator's confusion row for the item's true class (the image's label).
 *
 * Classifiers: digits — RbfSvm(C = 10, gamma "scale"), k-fold cross-validation against the
 * true labels (the cross-check with scikit-learn's SVC runs on the same folds and labels);
 * Fashion-MNIST — MlpClassifier ("mlp", [128]) on the aggregated posteriors (soft labels),
 * fixed epochs, accuracy on the test set. Nothing is tuned: C and the epochs are fixed, so
 * no split serves model selection and the test data only give the reported figures.
 * CENT scores each item with out-of-fold classifier probabilities (k-fold over the
 * training items, the model never scores items it was trained on).
 *
 * Time (2-core machine): --quick (digits, 1 seed, 2 folds, 200 Nyström components, plus a
 * 2,000/1,000 Fashion-MNIST subset with 20 annotators) measured 56 s wall. The full run
 * (3 seeds, 5 folds, 600 components, full Fashion-MNIST) is not measured end to end; see
 * the report's notes for the per-part timings measured when it was written.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { permutation, takeRows } from "../data/index.ts";
import { loadFashionMnist, loadSklearnDigits, missingFashionMnistFile, missingSklearnDigits } from "../data/index.ts";
import { ExperimentReport, type ExperimentOptions } from "../lib/experiment.ts";
import { linePlot, type Datum } from "../lib/plot.ts";
import {
  DawidSkene, GLAD, LabelSet, MACE, MajorityVote, MlpClassifier, OneCoinDawidSkene, OnlineDawidSkene, RbfSvm, Wawa,
  budgetFor, errorsFixed, labelError, makeAnnotator, pickItems, relabel, truthOracle,
  type Annotator, type AnnotatorKind, type CrowdResult, type RelabelStrategy,
} from "./index.ts";

const METHODS = ["mv", "wawa", "one-coin", "ds", "glad", "mace", "online-ds"] as const;
type Method = (typeof METHODS)[number];
const STRATEGIES: readonly RelabelStrategy[] = ["random", "entropy", "cent"];
const BUDGETS = [0.05, 0.1, 0.2] as const;
const SVC_SCRIPT = fileURLToPath(new URL("./testdata/svc_reference.py", import.meta.url));
const PYTHON = "/usr/bin/python3";

/** Sizes only tests set (a tiny run). */
export interface CrowdSizes {
  /** Use only the first `items` digits (default all). */
  readonly items?: number;
  /** Skip Fashion-MNIST (default: skipped only when its files are missing). */
  readonly skipFmnist?: boolean;
}

interface Crowd {
  readonly labels: LabelSet;
  readonly batches: readonly LabelSet[];
  readonly annotators: readonly Annotator[];
}

/** A crowd over items with known true classes: each item gets R ∈ [rMin, rMax] distinct annotators. */
function simulateOver(truth: Int32Array, K: number, workers: Readonly<Record<AnnotatorKind, number>>, rMin: number, rMax: number, batchSize: number, seed: number): Crowd {
  const rng = new Rng(seed);
  const annotators: Annotator[] = [];
  for (const kind of ["good", "biased", "spammer", "adversarial"] as const) for (let k = 0; k < workers[kind]; k++) annotators.push(makeAnnotator(kind, K, rng));
  const W = annotators.length, I = truth.length;
  const item: number[] = [], worker: number[] = [], label: number[] = [], start: number[] = [];
  const pool = Array.from({ length: W }, (_, w) => w);
  for (let i = 0; i < I; i++) {
    start.push(item.length);
    const R = rng.int(rMin, rMax + 1);
    for (let r = 0; r < R; r++) {
      const j = r + rng.int(0, W - r);
      [pool[r], pool[j]] = [pool[j]!, pool[r]!];
      const w = pool[r]!, conf = annotators[w]!.confusion;
      let u = rng.float(), l = K - 1;
      for (let c = 0; c < K - 1; c++) { u -= conf[truth[i]! * K + c]!; if (u < 0) { l = c; break; } }
      item.push(i); worker.push(w); label.push(l);
    }
  }
  start.push(item.length);
  const names = (n: number) => Array.from({ length: n }, (_, k) => String(k));
  const sizes = { numWorkers: W, numClasses: K, workers: names(W), classes: names(K) };
  const ix = { item: Int32Array.from(item), worker: Int32Array.from(worker), label: Int32Array.from(label) };
  const labels = LabelSet.fromIndices(ix, { ...sizes, numItems: I, items: names(I) });
  const batches: LabelSet[] = [];
  for (let lo = 0; lo < I; lo += batchSize) {
    const hi = Math.min(I, lo + batchSize), a = start[lo]!, b = start[hi]!;
    batches.push(LabelSet.fromIndices({ item: ix.item.subarray(a, b), worker: ix.worker.subarray(a, b), label: ix.label.subarray(a, b) }, { ...sizes, numItems: hi, items: names(hi) }));
  }
  return { labels, batches, annotators };
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const oneHot = (labels: ArrayLike<number>, K: number): Float64Array => {
  const q = new Float64Array(labels.length * K);
  for (let i = 0; i < labels.length; i++) q[i * K + labels[i]!] = 1;
  return q;
};
const asResult = (labels: Int32Array, posteriors: Float64Array, K: number): CrowdResult => ({ numItems: labels.length, numClasses: K, labels, posteriors });

/** How a data set's classifier is trained and scored. */
interface Task {
  readonly name: string;
  readonly K: number;
  /** Accuracy of a classifier trained on these labels (posteriors, items × K), scored against the truth. */
  accuracy(r: CrowdResult): Promise<number>;
  /** Out-of-fold probabilities (items × K) of a classifier trained on these labels (for CENT). */
  oofProba(r: CrowdResult): Promise<Float64Array>;
  /** scikit-learn's accuracy on the same labels and folds, or null with why. */
  sklearn?(r: CrowdResult): { accuracy: number | null; why?: string };
}

function folds(n: number, k: number, seed: number): number[][] {
  const order = permutation(n, new Rng(seed + 7919));
  return Array.from({ length: k }, (_, f) => order.filter((_, j) => j % k === f));
}

function svmTask(x: Tensor, truth: Int32Array, K: number, k: number, components: number, epochs: number, seed: number): Task {
  const n = truth.length, F = folds(n, k, seed);
  const trainOf = (f: number) => F.flatMap((idx, g) => (g === f ? [] : idx));
  const fit = (rows: number[], labels: ArrayLike<number>) =>
    new RbfSvm({ C: 10, components, epochs, seed, numClasses: K }).fit(takeRows(x, rows), Int32Array.from(rows, (i) => labels[i]!));
  return {
    name: "digits", K,
    async accuracy(r) {
      let right = 0;
      for (let f = 0; f < k; f++) {
        const svm = await fit(trainOf(f), r.labels);
        const pred = await svm.predict(takeRows(x, F[f]!));
        F[f]!.forEach((i, j) => { if (pred[j] === truth[i]) right++; });
      }
      return right / n;
    },
    async oofProba(r) {
      const out = new Float64Array(n * K);
      for (let f = 0; f < k; f++) {
        const svm = await fit(trainOf(f), r.labels);
        const p = await svm.predictProba(takeRows(x, F[f]!));
        F[f]!.forEach((i, j) => out.set(p.subarray(j * K, (j + 1) * K), i * K));
      }
      return out;
    },
    sklearn(r) {
      if (!existsSync(PYTHON)) return { accuracy: null, why: `${PYTHON} is missing` };
      const d = x.data as Float32Array, f = x.size / n;
      const rows = (idx: number[]) => idx.map((i) => Array.from(d.subarray(i * f, (i + 1) * f)));
      let right = 0;
      for (let fo = 0; fo < k; fo++) {
        const tr = trainOf(fo), te = F[fo]!;
        const spec = { xTrain: rows(tr), yTrain: tr.map((i) => r.labels[i]!), xTest: rows(te), yTest: te.map((i) => truth[i]!), C: 10, weights: null };
        const p = spawnSync(PYTHON, [SVC_SCRIPT], { input: JSON.stringify(spec), encoding: "utf8", maxBuffer: 1 << 26 });
        if (p.status !== 0) return { accuracy: null, why: `scikit-learn's SVC did not run (${(p.stderr || String(p.error)).trim().split("\n").pop()}): install python3-sklearn` };
        right += (JSON.parse(p.stdout) as { accuracy: number }).accuracy * te.length;
      }
      return { accuracy: right / n };
    },
  };
}

function mlpTask(xTrain: Tensor, xTest: Tensor, yTest: Int32Array, K: number, k: number, epochs: number, seed: number): Task {
  const n = xTrain.shape[0]!, F = folds(n, k, seed);
  const fit = (rows: number[] | null, post: Float64Array) => {
    const x = rows ? takeRows(xTrain, rows) : xTrain;
    const q = rows ? Float64Array.from({ length: rows.length * K }, (_, j) => post[rows[Math.floor(j / K)]! * K + (j % K)]!) : post;
    return new MlpClassifier({ arch: "mlp", hidden: [128], epochs, seed }).fitSoft(x, q, K);
  };
  return {
    name: "fmnist", K,
    async accuracy(r) {
      const pred = await (await fit(null, r.posteriors)).predict(xTest);
      let right = 0;
      for (let i = 0; i < yTest.length; i++) if (pred[i] === yTest[i]) right++;
      return right / yTest.length;
    },
    async oofProba(r) {
      const out = new Float64Array(n * K);
      for (let f = 0; f < k; f++) {
        const clf = await fit(F.flatMap((idx, g) => (g === f ? [] : idx)), r.posteriors);
        const p = await clf.predictProba(takeRows(xTrain, F[f]!));
        F[f]!.forEach((i, j) => { for (let c = 0; c < K; c++) out[i * K + c] = p[j * K + c]!; });
      }
      return out;
    },
  };
}

interface DatasetRun {
  errors: Record<Method, number[]>;
  onlineCurve: { labelsSeen: number; error: number }[];
  labelsTotal: number;
  numItems: number;
  accuracy: Record<string, number[]>;
  fixed: Record<string, number[]>;
  relabelAcc: Record<string, number[]>;
  errorsBefore: number[];
  sklearn: (number | null)[];
  lathe: number[];
  times: Record<string, number>;
}

async function runDataset(task: Task, truth: Int32Array, crowd: Crowd, seed: number, out: DatasetRun, report: ExperimentReport, first: boolean, quick: boolean): Promise<void> {
  const K = task.K, t0 = performance.now();
  const time = (what: string, t: number) => { out.times[what] = (out.times[what] ?? 0) + (performance.now() - t) / 1000; };
  const fits: Record<Exclude<Method, "online-ds">, () => Promise<CrowdResult>> = {
    mv: () => new MajorityVote().fit(crowd.labels),
    wawa: () => new Wawa().fit(crowd.labels),
    "one-coin": () => new OneCoinDawidSkene({ maxIter: 100 }).fit(crowd.labels),
    ds: () => new DawidSkene({ maxIter: 100 }).fit(crowd.labels),
    glad: () => new GLAD({ maxIter: quick ? 20 : 50 }).fit(crowd.labels),
    mace: () => new MACE({ seed, restarts: quick ? 2 : 10 }).fit(crowd.labels),
  };
  const results = {} as Record<Method, CrowdResult>;
  for (const m of Object.keys(fits) as Exclude<Method, "online-ds">[]) {
    const t = performance.now();
    results[m] = await fits[m]();
    time(`aggregate ${m}`, t);
    out.errors[m].push(labelError(results[m].labels, truth));
  }
  const online = new OnlineDawidSkene();
  let seen = 0;
  const t1 = performance.now();
  for (const b of crowd.batches) {
    await online.partialFit(b);
    seen += b.numLabels;
    const labels = online.labels();
    if (first) out.onlineCurve.push({ labelsSeen: seen, error: labelError(labels, truth.subarray(0, labels.length)) });
  }
  time("aggregate online-ds", t1);
  results["online-ds"] = asResult(online.labels(), online.posteriors(), K);
  out.errors["online-ds"].push(labelError(results["online-ds"].labels, truth));
  out.labelsTotal = seen;
  out.numItems = truth.length;

  const t2 = performance.now();
  const trueResult = asResult(truth, oneHot(truth, K), K);
  for (const [name, r] of [["true", trueResult], ["mv", results.mv], ["ds", results.ds], ["online-ds", results["online-ds"]]] as const) {
    (out.accuracy[name] ??= []).push(await task.accuracy(r));
  }
  time("classifiers", t2);

  const t3 = performance.now();
  const ds = results.ds, oracle = truthOracle(truth);
  out.errorsBefore.push(ds.labels.reduce((e, l, i) => e + (l !== truth[i] ? 1 : 0), 0));
  const proba = await task.oofProba(ds);
  time("cent out-of-fold", t3);
  const t4 = performance.now();
  const relabelled: Record<string, CrowdResult> = {};
  for (const s of STRATEGIES) {
    for (const b of BUDGETS) {
      const picks = pickItems(ds, { strategy: s, budget: budgetFor(b, ds.numItems), proba, seed });
      const after = relabel(ds, oracle, picks);
      relabelled[`${s}.${b}`] = after;
      (out.fixed[`${s}.${b}`] ??= []).push(errorsFixed(ds.labels, after.labels, truth));
      (out.relabelAcc[`${s}.${b}`] ??= []).push(await task.accuracy(after));
    }
  }
  time("relabel + classifiers", t4);
  if (task.sklearn) {
    const best = bestInformative(out.fixed, out.fixed["random.0.1"]!.length - 1);
    const r = relabelled[`${best}.0.1`]!;
    const t5 = performance.now();
    const sk = task.sklearn(r);
    time("sklearn SVC", t5);
    if (sk.why) report.note(`${task.name}: scikit-learn's SVC reference is null: ${sk.why}`);
    out.sklearn.push(sk.accuracy);
    out.lathe.push(out.relabelAcc[`${best}.0.1`]!.at(-1)!);
  }
  time("total", t0);
}

function bestInformative(fixed: Record<string, number[]>, at?: number): RelabelStrategy {
  const val = (s: string) => (at === undefined ? mean(fixed[`${s}.0.1`]!) : fixed[`${s}.0.1`]![at]!);
  return val("cent") > val("entropy") ? "cent" : "entropy";
}

const newRun = (): DatasetRun => ({
  errors: Object.fromEntries(METHODS.map((m) => [m, []])) as unknown as Record<Method, number[]>,
  onlineCurve: [], labelsTotal: 0, numItems: 0, accuracy: {}, fixed: {}, relabelAcc: {}, errorsBefore: [], sklearn: [], lathe: [], times: {},
});

const pct = (b: number) => `${Math.round(b * 100)}%`;
const budgetName = (b: number) => String(Math.round(b * 100));

export async function run(opts: ExperimentOptions, sizes: CrowdSizes = {}): Promise<ExperimentReport> {
  const seeds = opts.seeds ?? (opts.quick ? [0] : [0, 1, 2]);
  if (seeds.length === 0) throw new LatheError("crowd: needs at least one seed");
  const report = new ExperimentReport("crowd", { seeds });
  const q = opts.quick;
  const tiny = sizes.items !== undefined;
  const kFolds = q ? 2 : 5, components = q ? 200 : 600, svmEpochs = q ? 150 : 300;
  const runs = new Map<string, DatasetRun>();

  // Digits.
  const whyDigits = missingSklearnDigits();
  if (whyDigits) report.note(`digits skipped: ${whyDigits}`);
  else {
    const all = loadSklearnDigits();
    const n = Math.min(sizes.items ?? all.x.shape[0]!, all.x.shape[0]!);
    const rows = Array.from({ length: n }, (_, i) => i);
    const x = takeRows(all.x, rows), truth = Int32Array.from((all.y.data as Int32Array).subarray(0, n));
    const batch = Math.ceil(n / 6);
    report.note(`digits: ${n} images (8×8), 10 classes; 10 simulated annotators (4 good, 3 biased, 2 spammers, 1 adversarial), 3 labels per item from distinct annotators, online DS in ${Math.ceil(n / batch)} batches of ${batch} items`);
    report.note(`digits classifier: RbfSvm(C = 10, gamma "scale", ${components} Nyström components, ${svmEpochs} full-batch epochs), ${kFolds}-fold cross-validation (seeded folds), accuracy against the true labels on the held-out folds; scikit-learn's SVC(C = 10, rbf, gamma "scale") on the same folds and labels via testdata/svc_reference.py. C and epochs are fixed, not tuned, so no split served model selection`);
    report.note(`CENT: out-of-fold probabilities of the same classifier (${kFolds}-fold over the labelled items, trained on the DS labels), never a model trained on the items it scores; relabelling asks a truth oracle and starts from the DS posteriors`);
    const out = newRun();
    runs.set("digits", out);
    for (const [s, seed] of seeds.entries()) {
      const crowd = simulateOver(truth, 10, { good: 4, biased: 3, spammer: 2, adversarial: 1 }, 3, 3, batch, seed);
      await runDataset(svmTask(x, truth, 10, kFolds, components, svmEpochs, seed), truth, crowd, seed, out, report, s === 0, q);
    }
  }

  // Fashion-MNIST.
  const whyF = missingFashionMnistFile();
  if (sizes.skipFmnist || tiny) report.note("fmnist skipped in this tiny test run");
  else if (whyF) report.note(`fmnist skipped: ${whyF} is missing (apt-get install dataset-fashion-mnist)`);
  else {
    const [nTr, nTe, W, batch, epochs] = q ? [2000, 1000, 20, 250, 10] : [60000, 10000, 50, 1000, 10];
    const train = loadFashionMnist({ split: "train", limit: nTr }), test = loadFashionMnist({ split: "test", limit: nTe });
    const flat = (t: Tensor) => new Tensor(t.data, [t.shape[0]!, 784], t.dtype);
    const truth = Int32Array.from(train.y.data as Int32Array), yTest = Int32Array.from(test.y.data as Int32Array);
    const workers = { good: Math.round(W * 0.4), biased: Math.round(W * 0.3), spammer: Math.round(W * 0.2), adversarial: W - Math.round(W * 0.4) - Math.round(W * 0.3) - Math.round(W * 0.2) };
    report.note(`fmnist: ${nTr} train / ${nTe} test images; ${W} simulated annotators (${workers.good} good, ${workers.biased} biased, ${workers.spammer} spammers, ${workers.adversarial} adversarial), 3–5 labels per item, online DS in batches of ${batch} items`);
    report.note(`fmnist classifier: MlpClassifier ("mlp", hidden [128], ${epochs} epochs, fixed, not tuned) trained on the aggregated posteriors (soft labels) of the train split; accuracy on the test split, which served nothing else; CENT uses ${kFolds}-fold out-of-fold MLP probabilities on the train split`);
    const out = newRun();
    runs.set("fmnist", out);
    for (const [s, seed] of seeds.entries()) {
      const crowd = simulateOver(truth, 10, workers, 3, 5, batch, seed);
      await runDataset(mlpTask(flat(train.x), flat(test.x), yTest, 10, kFolds, epochs, seed), truth, crowd, seed, out, report, s === 0, q);
    }
  }
  if (q) report.note(`quick: ${seeds.length} seed(s), ${kFolds} folds (full: 5), ${components} SVM components and ${svmEpochs} epochs (full: 600 and 300), MACE 2 restarts and GLAD 20 iterations (full: 10 and 50), Fashion-MNIST cut to 2,000 train / 1,000 test with 20 annotators and batches of 250 (full: 60k/10k, 50 annotators, batches of 1,000)`);

  // Tables and metrics.
  const names = [...runs.keys()];
  if (names.length === 0) return report;
  const errT = report.table(`Label error (mean over ${seeds.length} seed(s))`, ["method", ...names]);
  for (const m of METHODS) errT.row(m, ...names.map((d) => mean(runs.get(d)!.errors[m])));
  for (const d of names) for (const m of METHODS) report.metric(`${d}.error.${m}`, mean(runs.get(d)!.errors[m]));

  for (const d of names) {
    const r = runs.get(d)!;
    const t = report.table(`${d}: online DS after each batch (seed ${seeds[0]})`, ["batch", "labels seen", "online-ds error", "mv (all labels)", "ds (all labels)"]);
    r.onlineCurve.forEach((p, b) => t.row(b + 1, p.labelsSeen, p.error, mean(r.errors.mv), mean(r.errors.ds)));
    report.metric(`${d}.online-ds.error_by_batch`, r.onlineCurve.map((p) => p.error));
  }

  const accT = report.table("Classifier accuracy by training labels", ["labels", ...names]);
  for (const l of ["true", "mv", "ds", "online-ds"]) accT.row(l, ...names.map((d) => { const a = runs.get(d)!.accuracy[l]; return a ? mean(a) : null; }));
  for (const d of names) for (const l of ["true", "mv", "ds", "online-ds"]) report.metric(`${d}.classifier.${l}.accuracy`, mean(runs.get(d)!.accuracy[l]!));

  for (const d of names) {
    const r = runs.get(d)!;
    const t = report.table(`${d}: relabelling from DS labels (${Math.round(mean(r.errorsBefore))} label errors before)`, ["strategy", "budget", "items", "errors fixed", "classifier accuracy"]);
    const n = r.fixed;
    for (const s of STRATEGIES) for (const b of BUDGETS) {
      const key = `${s}.${b}`;
      t.row(s, pct(b), budgetFor(b, r.numItems), mean(n[key]!), mean(r.relabelAcc[key]!));
      report.metric(`${d}.relabel.${s}.${budgetName(b)}.fixed`, mean(n[key]!));
      report.metric(`${d}.classifier.ds-relabel-${s}-${budgetName(b)}.accuracy`, mean(r.relabelAcc[key]!));
    }
  }

  // Bars.
  const bar = (what: string, value: number | null, met: boolean | null) => report.note(`bar ${met === null ? "not measured" : met ? "met" : "NOT met"}: ${what}${value === null ? "" : ` (${value.toFixed(3)})`}`);
  for (const d of names) {
    const r = runs.get(d)!, mv = mean(r.errors.mv), ds = mean(r.errors.ds), on = mean(r.errors["online-ds"]);
    report.metric(`${d}.ratio.ds_over_mv`, ds / mv).metric(`${d}.ratio.online-ds_over_mv`, on / mv);
    bar(`${d}: DS label error ≤ 0.7 × MV's (ratio)`, ds / mv, ds <= 0.7 * mv);
    bar(`${d}: online DS after the last batch ≤ 0.75 × MV's (ratio)`, on / mv, on <= 0.75 * mv);
    const best = bestInformative(r.fixed);
    const ratio = mean(r.fixed["random.0.1"]!) > 0 ? mean(r.fixed[`${best}.0.1`]!) / mean(r.fixed["random.0.1"]!) : null;
    report.metric(`${d}.relabel.best_over_random.10`, ratio);
    bar(`${d}: relabelling 10% by ${best} fixes ≥ 2.5 × as many errors as random (ratio)`, ratio, ratio === null ? null : ratio >= 2.5);
    const acc10 = mean(r.relabelAcc[`${best}.0.1`]!);
    if (d === "digits") {
      bar(`digits: kernel SVM on DS labels with 10% relabelled (${best}) ≥ 0.96 accuracy (${kFolds}-fold)`, acc10, acc10 >= 0.96);
      const sk = r.sklearn.every((v) => v !== null) ? mean(r.sklearn as number[]) : null;
      report.metric("digits.classifier.sklearn-svc.accuracy", sk);
      report.metric("digits.classifier.lathe-svm.accuracy", mean(r.lathe));
      bar("digits: Lathe SVM within 1 point of scikit-learn's SVC on the same labels (difference)", sk === null ? null : Math.abs(mean(r.lathe) - sk), sk === null ? null : Math.abs(mean(r.lathe) - sk) <= 0.01);
    } else {
      bar(`${d}: MLP on DS labels with 10% relabelled (${best}) > 0.90 test accuracy${q ? " (quick subset: not comparable)" : ""}`, acc10, acc10 > 0.9);
    }
    report.note(`${d} timings (s, all seeds): ${Object.entries(r.times).map(([k, v]) => `${k} ${v.toFixed(1)}`).join("; ")}`);
  }

  // Plots.
  const d0 = names[0]!, r0 = runs.get(d0)!;
  const curve: Datum[] = [];
  for (const p of r0.onlineCurve) curve.push({ labels: p.labelsSeen, error: p.error, method: "online DS (after each batch)" });
  for (const [m, label] of [["mv", "majority vote (all labels)"], ["ds", "batch DS (all labels)"]] as const) {
    const e = r0.errors[m][0]!;
    curve.push({ labels: r0.onlineCurve[0]!.labelsSeen, error: e, method: label }, { labels: r0.labelsTotal, error: e, method: label });
  }
  report.plot("error-vs-labels", await linePlot({
    title: `${d0}: label error vs labels seen (seed ${seeds[0]})`,
    x: { field: "labels", title: "labels seen" }, y: { field: "error", title: "label error" },
    color: { field: "method", title: "method" }, data: curve, points: true,
  }));
  const accData: Datum[] = [];
  for (const s of STRATEGIES) {
    accData.push({ budget: 0, accuracy: mean(r0.accuracy.ds!), strategy: s });
    for (const b of BUDGETS) accData.push({ budget: b * 100, accuracy: mean(r0.relabelAcc[`${s}.${b}`]!), strategy: s });
  }
  report.plot("accuracy-vs-budget", await linePlot({
    title: `${d0}: classifier accuracy vs relabel budget`,
    x: { field: "budget", title: "items relabelled (%)" }, y: { field: "accuracy", title: "accuracy", zero: false },
    color: { field: "strategy", title: "strategy" }, data: accData, points: true,
  }));
  return report;
}
