/**
 * `lathe experiment gim [--quick]`: issue 20's table on Fashion-MNIST.
 *
 * One run trains, on the same batches: GIM's modules in one thread (sequential) and in one
 * worker thread per module (asynchronous; both give the same parameters, train.test.ts),
 * end-to-end CPC (one InfoNCE at the top), the supervised network of the same shape, and
 * keeps a randomly initialised encoder. Each encoder's modules are probed by logistic
 * regression on frozen features (probe.ts: λ chosen on a validation split of the training
 * images), and so are the raw pixels. Columns beside the probes: each step's planned
 * memory (memory.ts) and the wall time of GIM sequential vs asynchronous (training only,
 * after compilation).
 *
 * `--quick` trains on 320 training images for one epoch with 8 channels per module and
 * probes on 500 test images. The full run trains 16-channel modules for 2 epochs on all 60,000
 * (the cpu target's default convolution schedules make a 16-channel batch of 16 images, all
 * three modules, take about 5 s on one core of the 2-core test machine; see docs/gim.md).
 */
import { LatheError } from "../../core/errors.ts";
import { Rng, permutation } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { ExecutorKind } from "../../train/executable.ts";
import { loadFashionMnist, missingFashionMnistFile } from "../data/fashion-mnist.ts";
import { ExperimentReport, type ExperimentOptions } from "../lib/experiment.ts";
import { barPlot, linePlot, type Datum } from "../lib/plot.ts";
import { trainAsync } from "./async.ts";
import type { GimConfig } from "./config.ts";
import { DEFAULT_GIM, checkConfig } from "./config.ts";
import type { GimModule } from "./modules.ts";
import { SupervisedHead, buildModules } from "./modules.ts";
import type { Features } from "./probe.ts";
import { linearProbe } from "./probe.ts";
import { cpcTrainer, stackFeatures, supervisedTrainer } from "./steps.ts";
import { imageBatches, trainSequential } from "./train.ts";

/** Sizes a test can shrink. */
export interface GimExperimentSize {
  readonly trainLimit?: number;
  readonly testLimit?: number;
  readonly epochs?: number;
  readonly config?: Partial<GimConfig>;
  readonly probeEpochs?: number;
  readonly executor?: ExecutorKind;
}

const CLASSES = 10;
const MB = 1024 * 1024;
const r3 = (x: number) => Number(x.toFixed(3));

/** Probe features of every module for `images` [n, 28, 28], batch by batch (the last one padded, its padding dropped). */
async function features(cfg: GimConfig, fn: ReturnType<typeof stackFeatures>, images: Tensor, labels: Int32Array): Promise<Features[]> {
  const n = images.shape[0]!, row = cfg.image * cfg.image, src = images.data as Float32Array;
  const parts: Float32Array[][] = [], widths: number[] = [];
  for (let s = 0; s < n; s += cfg.batch) {
    const take = Math.min(cfg.batch, n - s), x = new Float32Array(cfg.batch * row);
    x.set(src.subarray(s * row, (s + take) * row));
    const outs = await fn({ x: new Tensor(x, [cfg.batch, 1, cfg.image, cfg.image], "f32") });
    outs.forEach((o, m) => { widths[m] = o.shape[1]!; (parts[m] ??= []).push((o.data as Float32Array).slice(0, take * o.shape[1]!)); });
  }
  return parts.map((ps, m) => {
    const data = new Float32Array(n * widths[m]!);
    let off = 0;
    for (const p of ps) { data.set(p, off); off += p.length; }
    return { data, n, d: widths[m]!, labels };
  });
}

/** Image and label batches in a seeded order, partial batches dropped (CPC and supervised training). */
function* labelled(images: Tensor, labels: Int32Array, cfg: GimConfig, epochs: number, seed: number): Generator<[Tensor, Tensor]> {
  const n = labels.length, row = cfg.image * cfg.image, src = images.data as Float32Array, rng = new Rng(seed);
  for (let e = 0; e < epochs; e++) {
    const order = permutation(n, rng);
    for (let b = 0; b + cfg.batch <= n; b += cfg.batch) {
      const x = new Float32Array(cfg.batch * row), y = new Int32Array(cfg.batch);
      for (let k = 0; k < cfg.batch; k++) { const i = order[b + k]!; x.set(src.subarray(i * row, (i + 1) * row), k * row); y[k] = labels[i]!; }
      yield [new Tensor(x, [cfg.batch, 1, cfg.image, cfg.image], "f32"), new Tensor(y, [cfg.batch], "i32")];
    }
  }
}

/** A loss curve thinned to about `points` means of consecutive steps, against the time of each window's end. */
function thin(losses: readonly number[], times: readonly number[], points: number): [number, number][] {
  const w = Math.max(1, Math.floor(losses.length / points)), out: [number, number][] = [];
  for (let s = 0; s + w <= losses.length; s += w) out.push([times[s + w - 1]!, losses.slice(s, s + w).reduce((a, b) => a + b, 0) / w]);
  return out;
}

export async function run(opts: ExperimentOptions, size: GimExperimentSize = {}): Promise<ExperimentReport> {
  const quick = opts.quick, seed = opts.seeds?.[0] ?? 0;
  const report = new ExperimentReport("gim", { seeds: [seed] });
  // One compute thread per JS thread (the issue's setting): the kernels' OpenMP reads this
  // when the first compiled library loads, and an OpenMP team per worker would oversubscribe the cores.
  process.env["OMP_NUM_THREADS"] ??= "1";
  report.note(`OMP_NUM_THREADS=${process.env["OMP_NUM_THREADS"]} for every method (set to 1 by the experiment unless given)`);
  if ((opts.seeds?.length ?? 1) > 1) report.note(`one run per invocation: seed ${seed} used, the other seeds ignored`);
  const cfg = checkConfig({ ...DEFAULT_GIM, channels: quick ? [8, 8, 8] : [16, 16, 16], ...size.config, seed });
  const m = cfg.channels.length, epochs = size.epochs ?? (quick ? 1 : 2), executor = size.executor ?? "compiled";
  const trainLimit = size.trainLimit ?? (quick ? 320 : undefined), testLimit = size.testLimit ?? (quick ? 500 : undefined);
  const missing = missingFashionMnistFile();
  if (missing) {
    report.note(`not run: ${missing} is missing; install it with \`apt-get install dataset-fashion-mnist\``);
    for (const k of ["gim.probe_by_module", "cpc.probe", "supervised.accuracy", "random_encoder.probe", "baseline.raw_pixels_lr", "time.sequential_s", "time.async_s", "memory.gim_max_module_mb", "memory.cpc_mb"]) report.metric(k, null);
    return report;
  }
  const train = loadFashionMnist({ split: "train", ...(trainLimit ? { limit: trainLimit } : {}) });
  const test = loadFashionMnist({ split: "test", ...(testLimit ? { limit: testLimit } : {}) });
  const trainY = train.y.data as Int32Array, testY = test.y.data as Int32Array;
  if (train.x.shape[0]! < cfg.batch) throw new LatheError(`gim experiment: ${train.x.shape[0]} training images, fewer than one batch of ${cfg.batch}`);
  report.note(`Fashion-MNIST: ${train.x.shape[0]} training images (unsupervised training, and the probes' fit and validation split), ${test.x.shape[0]} test images (probe accuracy only)`);
  report.note(`encoder: ${m} modules of ${cfg.channels.join("/")} channels, ${cfg.blocks} residual block(s) each, no batch norm; ${cfg.patch}×${cfg.patch} patches at stride ${cfg.stride}; InfoNCE with ${cfg.steps} steps and ${cfg.negatives} negatives; Adam ${cfg.lr}; batch ${cfg.batch}; ${epochs} epoch(s) for every method`);
  report.note("probe: logistic regression (Lathe graph) on standardised features — each module's patch vectors averaged over the grid's four quadrants; λ from {0, 1e-4, 1e-3, 1e-2} chosen on a 1/6 validation split of the training images, then refit on all of them");

  // GIM, sequential then asynchronous: same batches, same negatives, same parameters.
  const seqMods = buildModules(cfg);
  const seq = await trainSequential(cfg, seqMods, train.x, epochs, { executor });
  const gim = buildModules(cfg);
  const par = await trainAsync(cfg, gim, train.x, epochs, { executor });
  report.note(`wall times: training only (compilation excluded), ${m} modules; asynchronous: ${m} worker threads with 1 compute thread each, bounded queues of 2 batches`);

  // End-to-end CPC and the supervised network, same batches count.
  const cpc = buildModules(cfg);
  const cpcStep = await cpcTrainer(cfg, cpc, { executor });
  for (const x of imageBatches(train.x, cfg, epochs)) cpcStep.step(x);
  const sup = buildModules({ ...cfg, seed: seed + 1 });
  const head = new SupervisedHead(cfg, CLASSES);
  const supStep = await supervisedTrainer(cfg, sup, head, { executor });
  for (const [x, y] of labelled(train.x, trainY, cfg, epochs, seed + 2)) supStep.step(x, y);
  let correct = 0;
  for (let s = 0; s + cfg.batch <= testY.length; s += cfg.batch) {
    const row = cfg.image * cfg.image;
    const x = new Tensor((test.x.data as Float32Array).slice(s * row, (s + cfg.batch) * row), [cfg.batch, 1, cfg.image, cfg.image], "f32");
    const pred = (await supStep.predict(x)).data as Int32Array;
    pred.forEach((p, k) => { if (p === testY[s + k]) correct++; });
  }
  const supervisedAcc = correct / (Math.floor(testY.length / cfg.batch) * cfg.batch);

  // Probes.
  const probeOpts = { classes: CLASSES, epochs: size.probeEpochs ?? (quick ? 10 : 30), executor, seed };
  const probeAll = async (mods: readonly GimModule[]) => {
    const fn = stackFeatures(cfg, mods, { executor });
    const tr = await features(cfg, fn, train.x, trainY), te = await features(cfg, fn, test.x, testY);
    const accs: number[] = [];
    for (let k = 0; k < mods.length; k++) accs.push(r3((await linearProbe(tr[k]!, te[k]!, probeOpts)).accuracy));
    return accs;
  };
  const gimProbe = await probeAll(gim), cpcProbe = await probeAll(cpc), supProbe = await probeAll(sup), randProbe = await probeAll(buildModules(cfg));
  const pixels = (d: Tensor, y: Int32Array): Features => ({ data: d.data as Float32Array, n: y.length, d: cfg.image * cfg.image, labels: y });
  const raw = r3((await linearProbe(pixels(train.x, trainY), pixels(test.x, testY), probeOpts)).accuracy);

  const cols = ["method", ...cfg.channels.map((_, k) => `module ${k + 1}`)];
  const blank = cfg.channels.slice(1).map(() => null);
  report.table("Linear probe accuracy (Fashion-MNIST test)", cols, [
    ["GIM", ...gimProbe], ["CPC end to end", ...cpcProbe], ["random encoder", ...randProbe],
    ["supervised end to end (probed)", ...supProbe], ["raw pixels", ...blank, raw],
  ]);
  report.note(`raw pixels: logistic regression on the 784 standardised pixels (shown in the last column); supervised network's own test accuracy: ${r3(supervisedAcc)}`);
  const gimMax = Math.max(...par.memoryBytes);
  report.table("Training cost", ["method", "step memory (MB)", "wall s"], [
    ...par.memoryBytes.map((b, k): [string, number, number | null] => [`GIM module ${k + 1}`, r3(b / MB), null]),
    ["GIM sequential", r3(gimMax / MB), r3(seq.seconds)], ["GIM asynchronous", r3(gimMax / MB), r3(par.seconds)],
    ["CPC end to end", r3(cpcStep.memoryBytes / MB), null], ["supervised end to end", r3(supStep.memoryBytes / MB), null],
  ]);
  report.metric("gim.probe_by_module", gimProbe).metric("cpc.probe", cpcProbe.at(-1)!).metric("cpc.probe_by_module", cpcProbe)
    .metric("supervised.accuracy", r3(supervisedAcc)).metric("supervised.probe_by_module", supProbe)
    .metric("random_encoder.probe", randProbe.at(-1)!).metric("random_encoder.probe_by_module", randProbe)
    .metric("baseline.raw_pixels_lr", raw).metric("time.sequential_s", r3(seq.seconds)).metric("time.async_s", r3(par.seconds))
    .metric("memory.gim_max_module_mb", r3(gimMax / MB)).metric("memory.cpc_mb", r3(cpcStep.memoryBytes / MB))
    .metric("memory.supervised_mb", r3(supStep.memoryBytes / MB));

  const caveat = quick ? " (quick: a subset and one epoch; the bars are for the full run)" : "";
  const rising = gimProbe.every((a, k) => k === 0 || a >= gimProbe[k - 1]!);
  report.note(`bar (probe rises from module 1 to ${m}): ${gimProbe.join(" → ")} — ${rising ? "MET" : "NOT MET"}${caveat}`);
  report.note(`bar (module-${m} probe ≥ 0.87): ${gimProbe.at(-1)} — ${gimProbe.at(-1)! >= 0.87 ? "MET" : "NOT MET"}${caveat}`);
  report.note(`bar (within 2 points of CPC ${cpcProbe.at(-1)}): ${Math.abs(gimProbe.at(-1)! - cpcProbe.at(-1)!) <= 0.02 || gimProbe.at(-1)! > cpcProbe.at(-1)! ? "MET" : "NOT MET"}${caveat}`);
  report.note(`bar (asynchronous ≥ 1.4× faster): ${r3(seq.seconds / par.seconds)}× — ${seq.seconds >= 1.4 * par.seconds ? "MET" : "NOT MET"}`);
  report.note(`bar (largest GIM module's step memory below CPC's): ${r3(gimMax / MB)} vs ${r3(cpcStep.memoryBytes / MB)} MB — ${gimMax < cpcStep.memoryBytes ? "MET" : "NOT MET"}`);

  const lossData: Datum[] = par.losses.flatMap((l, k) => thin(l, par.times[k]!, 100).map(([t, v]) => ({ seconds: t, loss: v, module: `module ${k + 1}` })));
  report.plot("infonce-loss", await linePlot({ title: "GIM InfoNCE loss per module (asynchronous run)", x: { field: "seconds", title: "wall time (s)" }, y: { field: "loss", title: "InfoNCE loss", zero: false }, color: { field: "module" }, data: lossData }));
  const probeData: Datum[] = [["GIM", gimProbe], ["CPC", cpcProbe], ["random", randProbe], ["supervised", supProbe]]
    .flatMap(([name, accs]) => (accs as number[]).map((a, k) => ({ module: `module ${k + 1}`, accuracy: a, method: name as string })));
  report.plot("probe-accuracy", await barPlot({ title: "Linear probe accuracy per module", x: { field: "module" }, y: { field: "accuracy", title: "test accuracy", zero: false }, color: { field: "method" }, data: probeData }));
  return report;
}
