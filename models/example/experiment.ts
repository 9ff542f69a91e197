/**
 * The template experiment: least squares on seeded synthetic data, solved in closed form
 * (the baseline) and by full-batch gradient descent compiled with Lathe (compileLossStep).
 * Run it with `lathe experiment example [--quick] [--seeds 0,1,2]`; it takes a second or two.
 *
 * Copy this folder to models/<name>/ to start a real experiment. What a real one must do
 * (../shared/design/EXPERIMENTS.md):
 * - Export `run({ quick, seeds })` returning an ExperimentReport named after the folder.
 *   `--quick` is a small seeded version that finishes in a minute or two.
 * - Compute the baselines in the same run, on the same data and seeds. A peer library that
 *   is not installed gives null in the table and the metric, and a note saying what to install.
 * - Make every choice made on data (here the learning rate; elsewhere hyperparameters,
 *   early stopping, a probe's regularisation) on a validation split, never on the test
 *   set, and say in a note which split served what.
 * - Use the seeds it is given (opts.seeds, else its own default) for everything random,
 *   and report figures over all of them.
 * - Put the figures an issue's bars name in `metrics`, under the names EXPERIMENTS.md lists.
 */
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { compileLossStep, lt, optim, Parameter } from "../../train/index.ts";
import { ExperimentReport, type ExperimentOptions } from "../lib/experiment.ts";
import { linePlot, type Datum } from "../lib/plot.ts";

const DIM = 8;
const NOISE = 0.1;
const LEARNING_RATES = [0.01, 0.03, 0.1, 0.3];

interface Split {
  /** Row-major [n, DIM]. */
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly n: number;
}

/** y = x·w* + noise, x and w* standard normal; the same seed gives the same data everywhere. */
function synthetic(seed: number, sizes: readonly number[]): { readonly wTrue: Float64Array; readonly splits: Split[] } {
  const rng = new Rng(seed);
  const wTrue = Float64Array.from({ length: DIM }, () => rng.normal());
  const splits = sizes.map((n) => {
    const x = Float64Array.from({ length: n * DIM }, () => rng.normal());
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < DIM; j++) s += x[i * DIM + j]! * wTrue[j]!;
      y[i] = s + NOISE * rng.normal();
    }
    return { x, y, n };
  });
  return { wTrue, splits };
}

const mse = (w: ArrayLike<number>, d: Split): number => {
  let total = 0;
  for (let i = 0; i < d.n; i++) {
    let r = -d.y[i]!;
    for (let j = 0; j < DIM; j++) r += d.x[i * DIM + j]! * w[j]!;
    total += r * r;
  }
  return total / d.n;
};

const distance = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let j = 0; j < DIM; j++) s += (a[j]! - b[j]!) ** 2;
  return Math.sqrt(s);
};

/** The least-squares solution of the normal equations (xᵀx) w = xᵀy, by Cholesky, in float64. */
function closedForm(d: Split): Float64Array {
  const a = new Float64Array(DIM * DIM), b = new Float64Array(DIM);
  for (let i = 0; i < d.n; i++) {
    for (let j = 0; j < DIM; j++) {
      const xj = d.x[i * DIM + j]!;
      b[j]! += xj * d.y[i]!;
      for (let k = 0; k <= j; k++) a[j * DIM + k]! += xj * d.x[i * DIM + k]!;
    }
  }
  // a = L·Lᵀ in place (lower triangle), then L z = b, Lᵀ w = z.
  for (let j = 0; j < DIM; j++) {
    for (let k = 0; k < j; k++) a[j * DIM + j]! -= a[j * DIM + k]! ** 2;
    a[j * DIM + j] = Math.sqrt(a[j * DIM + j]!);
    for (let i = j + 1; i < DIM; i++) {
      for (let k = 0; k < j; k++) a[i * DIM + j]! -= a[i * DIM + k]! * a[j * DIM + k]!;
      a[i * DIM + j]! /= a[j * DIM + j]!;
    }
  }
  const w = Float64Array.from(b);
  for (let i = 0; i < DIM; i++) {
    for (let k = 0; k < i; k++) w[i]! -= a[i * DIM + k]! * w[k]!;
    w[i]! /= a[i * DIM + i]!;
  }
  for (let i = DIM - 1; i >= 0; i--) {
    for (let k = i + 1; k < DIM; k++) w[i]! -= a[k * DIM + i]! * w[k]!;
    w[i]! /= a[i * DIM + i]!;
  }
  return w;
}

const meanOf = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

export async function run(opts: ExperimentOptions): Promise<ExperimentReport> {
  const seeds = opts.seeds ?? (opts.quick ? [0] : [0, 1, 2]);
  if (seeds.length === 0) throw new LatheError("example: needs at least one seed");
  const [nTrain, nVal, nTest] = opts.quick ? [256, 128, 256] : [2048, 512, 2048];
  const steps = opts.quick ? 40 : 150;
  const report = new ExperimentReport("example", { seeds });
  report.note(`synthetic least squares: x ~ N(0, I_${DIM}), y = x·w* + ${NOISE}·N(0, 1), w* ~ N(0, I); ${nTrain} train / ${nVal} validation / ${nTest} test examples per seed`);
  report.note(`gradient descent: ${steps} full-batch SGD steps from w = 0; learning rate chosen from ${LEARNING_RATES.join(", ")} by validation MSE; the test split is used only for the reported figures`);

  // One compiled step serves every seed and learning rate: the batch dim is symbolic and lr is a graph input.
  const w = new Parameter("w", Tensor.zeros([DIM]));
  const optimizer = new optim.SGD({ lr: LEARNING_RATES[0]! });
  const compileStart = performance.now();
  const step = await compileLossStep(({ x, y }) => x!.mul(lt.param(w)).sum([1]).sub(y!).square().mean(), optimizer, {
    x: { shape: ["n", DIM] },
    y: { shape: ["n"] },
  });
  report.note(`compiling the training step (forward, backward, SGD update) took ${Math.round(performance.now() - compileStart)} ms`);

  const rows = { closed: [] as number[][], gd: [] as number[][] };
  const chosen: number[] = [];
  const curves: Datum[] = [];
  for (const [s, seed] of seeds.entries()) {
    const { wTrue, splits } = synthetic(seed, [nTrain, nVal, nTest]);
    const [train, val, test] = splits as [Split, Split, Split];

    const wClosed = closedForm(train);
    rows.closed.push([mse(wClosed, train), mse(wClosed, val), mse(wClosed, test), distance(wClosed, wTrue)]);

    const batch = { x: new Tensor(Float32Array.from(train.x), [nTrain, DIM], "f32"), y: new Tensor(Float32Array.from(train.y), [nTrain], "f32") };
    let best: { lr: number; val: number; w: number[] } | null = null;
    for (const lr of LEARNING_RATES) {
      w.value = Tensor.zeros([DIM]);
      optimizer.lr = lr;
      for (let k = 0; k < steps; k++) {
        const loss = step(batch); // the loss before this step's update
        if (s === 0) curves.push({ step: k, loss, series: `gradient descent, lr ${lr}` });
      }
      const wGd = w.value.toArray();
      const valMse = mse(wGd, val);
      if (best === null || valMse < best.val) best = { lr, val: valMse, w: wGd };
    }
    chosen.push(best!.lr);
    rows.gd.push([mse(best!.w, train), best!.val, mse(best!.w, test), distance(best!.w, wTrue)]);
    if (s === 0) {
      const closedTrain = rows.closed[0]![0]!;
      curves.push({ step: 0, loss: closedTrain, series: "closed form" }, { step: steps - 1, loss: closedTrain, series: "closed form" });
    }
  }

  const avg = (which: number[][], col: number): number => meanOf(which.map((r) => r[col]!));
  const table = report.table(`Least squares, mean over ${seeds.length} seed(s)`, ["method", "learning rate", "train MSE", "validation MSE", "test MSE", "‖w − w*‖"]);
  table.row("closed form (normal equations)", null, avg(rows.closed, 0), avg(rows.closed, 1), avg(rows.closed, 2), avg(rows.closed, 3));
  table.row(`gradient descent (${steps} steps, Lathe)`, chosen.every((lr) => lr === chosen[0]) ? chosen[0]! : `${chosen.join(", ")} (per seed)`, avg(rows.gd, 0), avg(rows.gd, 1), avg(rows.gd, 2), avg(rows.gd, 3));

  report.metric("closed_form.test_mse", avg(rows.closed, 2));
  report.metric("gd.test_mse", avg(rows.gd, 2));

  report.plot("loss", await linePlot({
    title: `Training loss, seed ${seeds[0]}`,
    x: { field: "step", title: "step" },
    y: { field: "loss", title: "training MSE", scale: "log" },
    color: { field: "series", title: "method" },
    data: curves,
  }));
  return report;
}
