/**
 * Learning to cluster (L2C, Meier et al. 2018): a network trained on many small labelled
 * sets that, for a new set, outputs P(k) for k = 1…k_max and every point's cluster for
 * each k, in one pass, without being told k. Network: l2c-network.ts; loss: l2c-loss.ts;
 * 2-D training sets: l2c-sets.ts.
 *
 *     const { model } = await trainL2c({ steps: 2000, seed: 0 });
 *     const { k, pk, labels } = await model.cluster({ data, n: 72, d: 2 });
 *
 * Training: one compiled step (train/step.ts compileLossStep) for batches of `batchSize`
 * sets of n points, traced once; every step draws a fresh batch from the seeded generator.
 * Adadelta, lr 5 (the paper's). Every `validateEvery` steps the model clusters a fixed
 * validation batch (drawn from its own seed) and the weights with the lowest validation
 * MR so far are kept; they are the model's at the end.
 * Inference: the most likely k, and for it each point's most likely label; labels are
 * renumbered 0…(distinct − 1) in order of first appearance.
 */
import { LatheError, ShapeError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { ExecOptions } from "../../train/executable.ts";
import type { CompiledFunction } from "../../train/jit.ts";
import { jit } from "../../train/jit.ts";
import type { Tracer } from "../../train/lt.ts";
import { Adadelta } from "../../train/optim/adadelta.ts";
import { compileLossStep } from "../../train/step.ts";
import { misclassificationRate } from "../lib/cluster-metrics.ts";
import { l2cLoss } from "./l2c-loss.ts";
import type { L2cArch } from "./l2c-network.ts";
import { L2C_PAPER, L2C_SMALL, L2cNetwork } from "./l2c-network.ts";
import type { Set2dOptions, SetBatch } from "./l2c-sets.ts";
import { drawBatch2d, resolveSet2d } from "./l2c-sets.ts";
import { checkPoints } from "./points.ts";
import type { FitProgress, Points } from "./types.ts";

export interface L2cTrainOptions extends ExecOptions {
  /** "small" (default: 2 layers of 32 units), "paper" (14 layers of 144) or explicit sizes over "small". */
  readonly arch?: "small" | "paper" | Partial<Omit<L2cArch, "d" | "seed">>;
  readonly seed?: number;
  readonly steps?: number;
  /** Sets per batch. */
  readonly batchSize?: number;
  readonly lr?: number;
  /** The 2-D set generator's options (n, std range); its kMax is the network's. */
  readonly sets?: Omit<Set2dOptions, "kMax">;
  readonly validationSets?: number;
  readonly validateEvery?: number;
  /** Stop after this many seconds of training (validating once more), even before `steps`. */
  readonly maxSeconds?: number;
  readonly onProgress?: FitProgress;
}

export interface L2cTraining {
  readonly model: L2cModel;
  /** Steps run (fewer than asked when `maxSeconds` ran out). */
  readonly steps: number;
  /** Loss of every step (before its update). */
  readonly losses: readonly number[];
  /** Validation mean MR after each validation, with its step. */
  readonly validation: readonly { readonly step: number; readonly mr: number }[];
  readonly bestMr: number;
  readonly bestStep: number;
}

/** One set's clustering. */
export interface L2cClustering {
  /** P(k) for k = 1…k_max. */
  readonly pk: Float64Array;
  /** The most likely k. */
  readonly k: number;
  /** Each point's label under that k, renumbered 0…(distinct − 1). */
  readonly labels: Int32Array;
}

const posInt = (v: number, what: string): number => {
  if (!Number.isSafeInteger(v) || v < 1) throw new LatheError(`l2c: ${what} must be a positive integer, got ${v}`);
  return v;
};

export function resolveArch(a: L2cTrainOptions["arch"], d: number, seed: number): L2cArch {
  const base = a === "paper" ? L2C_PAPER : L2C_SMALL;
  const over = typeof a === "object" ? a : {};
  const arch = { ...base, ...over, d, seed };
  for (const f of ["kMax", "hidden", "countHidden", "countFc"] as const) posInt(arch[f], `arch.${f}`);
  if (!Number.isSafeInteger(arch.layers) || arch.layers < 0) throw new LatheError(`l2c: arch.layers must be an integer ≥ 0, got ${arch.layers}`);
  return arch;
}

/** A trained L2C network: clusters sets of points of its dimension. */
export class L2cModel {
  private readonly forwards = new Map<number, CompiledFunction<{ x: { shape: ["sets", number, number] } }, Tracer[]>>();
  constructor(readonly net: L2cNetwork, private readonly exec: ExecOptions = {}) {}

  get d(): number { return this.net.arch.d; }
  get kMax(): number { return this.net.arch.kMax; }

  /** The inference graph for sets of n points, compiled on first use (the count head needs a static n). */
  private forward(n: number) {
    let f = this.forwards.get(n);
    if (!f) {
      f = jit(({ x }) => {
        const { countLogits, heads } = this.net.apply(x);
        // P(k), then each head's label probabilities.
        return [countLogits.softmax(-1), ...heads.map((h) => h.softmax(-1))];
      }, { x: { shape: ["sets", n, this.d] as ["sets", number, number] } }, { training: false, ...this.exec });
      this.forwards.set(n, f);
    }
    return f;
  }

  /** Clusters `count` sets of n points, x row-major [count, n, d] (checked by the caller). */
  async clusterBatch(x: Float32Array, count: number, n: number): Promise<L2cClustering[]> {
    const [pkT, ...heads] = await this.forward(n)({ x: new Tensor(x, [count, n, this.d], "f32") });
    const pk = pkT!.data as Float32Array, K = this.kMax, res: L2cClustering[] = [];
    for (let s = 0; s < count; s++) {
      const p = Float64Array.from(pk.subarray(s * K, (s + 1) * K));
      let k = 1;
      for (let c = 2; c <= K; c++) if (p[c - 1]! > p[k - 1]!) k = c;
      const h = heads[k - 1]!.data as Float32Array, labels = new Int32Array(n), renumber = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const row = (s * n + i) * k;
        let best = 0;
        for (let l = 1; l < k; l++) if (h[row + l]! > h[row + best]!) best = l;
        if (!renumber.has(best)) renumber.set(best, renumber.size);
        labels[i] = renumber.get(best)!;
      }
      res.push({ pk: p, k, labels });
    }
    return res;
  }

  /** Clusters one set. Points must be finite, of the network's dimension, n ≥ 1. */
  async cluster(points: Points): Promise<L2cClustering> {
    if (points.n === 0) throw new LatheError("l2c: the set is empty; it needs at least one point");
    checkPoints(points, "l2c");
    if (points.d !== this.d) throw new ShapeError(`l2c: points have ${points.d} features, the network takes ${this.d}`);
    return (await this.clusterBatch(points.data, 1, points.n))[0]!;
  }

  /** Mean MR of the model's clusterings of `batch` against its labels. */
  async meanMr(batch: SetBatch): Promise<number> {
    const res = await this.clusterBatch(batch.x, batch.count, batch.n);
    return res.reduce((acc, r, s) => acc + misclassificationRate(r.labels, batch.labels.subarray(s * batch.n, (s + 1) * batch.n)), 0) / batch.count;
  }
}

/** Copies of the parameters' current values (a step replaces them). */
const snapshot = (net: L2cNetwork): Tensor[] => net.parameters().map((p) => new Tensor(p.value.data.slice(), p.value.shape, p.value.dtype));

/** Trains L2C on 2-D sets from l2c-sets.ts. */
export async function trainL2c(o: L2cTrainOptions = {}): Promise<L2cTraining> {
  const seed = o.seed ?? 0;
  const arch = resolveArch(o.arch, 2, seed);
  const setOpts: Set2dOptions = { ...o.sets, kMax: arch.kMax };
  const { n } = resolveSet2d(setOpts);
  if (n < 2) throw new LatheError(`l2c: training sets need at least 2 points, got n = ${n}`);
  const steps = posInt(o.steps ?? 1000, "steps"), B = posInt(o.batchSize ?? 32, "batchSize");
  const validationSets = posInt(o.validationSets ?? 64, "validationSets"), every = posInt(o.validateEvery ?? 100, "validateEvery");
  const maxSeconds = o.maxSeconds ?? Infinity;
  if (!(maxSeconds > 0)) throw new LatheError(`l2c: maxSeconds must be a positive number, got ${maxSeconds}`);
  const lr = o.lr ?? 5;
  if (!(Number.isFinite(lr) && lr > 0)) throw new LatheError(`l2c: lr must be a positive number, got ${lr}`);
  const exec: ExecOptions = o.executor ? { executor: o.executor } : {};

  const net = new L2cNetwork(arch);
  const step = await compileLossStep(({ x, labels, k }) => {
    const { countLogits, heads } = net.apply(x!);
    return l2cLoss(countLogits, heads, labels!, k!).loss;
  }, new Adadelta({ lr }), { x: { shape: [B, n, 2] }, labels: { shape: [B, n], dtype: "i32" }, k: { shape: [B], dtype: "i32" } }, exec);
  const model = new L2cModel(net, exec);

  const rng = new Rng(seed ^ 0x2c2c2c2c), valBatch = drawBatch2d(new Rng(seed ^ 0x7a11da7e), validationSets, setOpts);
  const losses: number[] = [], validation: { step: number; mr: number }[] = [];
  let best = { mr: await model.meanMr(valBatch), step: 0, weights: snapshot(net) };
  validation.push({ step: 0, mr: best.mr });
  const started = performance.now();
  let t = 0;
  while (t < steps) {
    t++;
    const last = t === steps || (performance.now() - started) / 1000 >= maxSeconds;
    const b = drawBatch2d(rng, B, setOpts);
    const loss = step({ x: new Tensor(b.x, [B, n, 2], "f32"), labels: new Tensor(b.labels, [B, n], "i32"), k: new Tensor(b.k, [B], "i32") });
    if (!Number.isFinite(loss)) throw new LatheError(`l2c: the loss became ${loss} at step ${t} (lower the learning rate)`);
    losses.push(loss);
    if (t % every === 0 || last) {
      const mr = await model.meanMr(valBatch);
      validation.push({ step: t, mr });
      if (mr < best.mr) best = { mr, step: t, weights: snapshot(net) };
    }
    o.onProgress?.(t, steps, `loss ${loss.toFixed(4)}, best validation MR ${best.mr.toFixed(4)}`);
    if (last) break;
  }
  net.parameters().forEach((p, i) => (p.value = best.weights[i]!));
  return { model, steps: t, losses, validation, bestMr: best.mr, bestStep: best.step };
}
