/**
 * The training loop with plugin hooks (Avalanche's BaseStrategy / SupervisedTemplate):
 *
 *   train(exp): beforeTraining → beforeTrainingExp → trainingData → for each epoch:
 *     beforeTrainingEpoch → for each minibatch: beforeTrainingIteration → beforeForward
 *     (plugins may append replayed rows, reweigh rows, restrict logits) → inputs (plugins
 *     feed their graph inputs) → [forward, backward, update: one compiled graph] →
 *     afterForward → afterBackward → afterUpdate → afterTrainingIteration
 *     → afterTrainingEpoch → afterTrainingExp → afterTraining
 *   eval(stream): beforeEval → per experience: beforeEvalExp → predictions → afterEvalExp → afterEval
 *
 * A strategy is this loop plus plugins; plugins compose (e.g. Replay + LwF): their graph
 * terms are summed into one step graph, compiled on the first experience and reused.
 * Forward, backward and update run as one graph, so a plugin changes the loss or the
 * gradient through `graph()` (traced once), not by editing tensors between the phases;
 * the after-hooks see the step's results.
 */
import { LatheError } from "../../core/errors.ts";
import { Rng, permutation } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { ExecOptions } from "../../train/executable.ts";
import { SGD } from "../../train/optim/sgd.ts";
import { MASKED, type ContinualMlp } from "./model.ts";
import type { GraphTerms } from "./program.ts";
import { TrainStep, compileLogits } from "./program.ts";
import type { Benchmark, Experience } from "./scenarios.ts";

/** A training set: rows f32 [n × features], labels and task labels. */
export interface TrainData {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly task: Int32Array;
}

/** One minibatch being assembled: plugins may append rows or change weights and allowed classes. */
export interface Rows {
  readonly x: Float32Array[];
  readonly y: number[];
  readonly task: number[];
  /** Base cross-entropy weight per row; normalised to a mean (÷ rows) unless `weighted` is set. */
  readonly w: number[];
  /** Classes each row's softmax runs over (null: every class). */
  readonly allowed: (readonly number[] | null)[];
  /** How many leading rows came from the experience (the rest were appended by plugins). */
  readonly incoming: number;
  weighted: boolean;
}

export interface EvalResult {
  readonly experience: Experience;
  readonly predictions: Int32Array;
  /** Mean cross-entropy of the (masked) logits. */
  readonly loss: number;
  readonly accuracy: number;
}

type Hook<A extends unknown[] = []> = (s: Strategy, ...args: A) => void | Promise<void>;

export interface Plugin {
  readonly name: string;
  /** Terms for the step graph (called once, when the step is compiled). */
  graph?(s: Strategy): GraphTerms | null;
  /** The training set of an experience (Cumulative, GDumb replace it); plugins apply in order. */
  trainingData?(s: Strategy, exp: Experience, data: TrainData): TrainData | Promise<TrainData>;
  /** Epochs over this experience's training data, given the strategy's (GDumb trains its memory for many). */
  epochs?(s: Strategy, exp: Experience, base: number): number;
  /** Graph inputs for this minibatch (its rows are final). */
  inputs?(s: Strategy, rows: Rows): Record<string, Tensor> | Promise<Record<string, Tensor>>;
  /** What a checkpoint keeps of this plugin between experiences (typed arrays allowed), and how it comes back. */
  state?(): unknown;
  load?(s: Strategy, state: unknown): void;
  /** Replaces argmax-of-logits prediction (iCaRL's nearest mean of exemplars). */
  predict?(s: Strategy, x: Tensor, exp: Experience): Promise<Int32Array>;
  beforeTraining?: Hook<[Experience]>;
  beforeTrainingExp?: Hook<[Experience]>;
  beforeTrainingEpoch?: Hook<[number]>;
  beforeTrainingIteration?: Hook<[Rows]>;
  beforeForward?: Hook<[Rows]>;
  afterForward?: Hook<[number]>;
  afterBackward?: Hook<[number]>;
  afterUpdate?: Hook<[number]>;
  afterTrainingIteration?: Hook<[Rows, number]>;
  afterTrainingEpoch?: Hook<[number]>;
  afterTrainingExp?: Hook<[Experience, TrainData]>;
  afterTraining?: Hook<[Experience]>;
  beforeEval?: Hook<[readonly Experience[]]>;
  beforeEvalExp?: Hook<[Experience]>;
  afterEvalExp?: Hook<[EvalResult]>;
  afterEval?: Hook<[readonly EvalResult[]]>;
}

export interface StrategyOptions {
  readonly lr?: number;
  readonly momentum?: number;
  readonly batchSize?: number;
  readonly epochs?: number;
  readonly evalBatchSize?: number;
  readonly seed?: number;
  readonly exec?: ExecOptions;
}

export const toData = (e: Experience): TrainData => ({ x: e.x.data as Float32Array, y: e.y.data as Int32Array, task: new Int32Array(e.y.size).fill(e.task) });

export function concatData(parts: readonly TrainData[], features: number): TrainData {
  const n = parts.reduce((s, p) => s + p.y.length, 0);
  const x = new Float32Array(n * features), y = new Int32Array(n), task = new Int32Array(n);
  let at = 0;
  for (const p of parts) { x.set(p.x, at * features); y.set(p.y, at); task.set(p.task, at); at += p.y.length; }
  return { x, y, task };
}

export class Strategy {
  readonly lr: number;
  readonly momentum: number;
  readonly batchSize: number;
  readonly epochs: number;
  readonly evalBatchSize: number;
  readonly seed: number;
  readonly exec: ExecOptions;
  /** Reseeded at the start of every experience (from the seed and the experience count), so a resumed run draws the same numbers. */
  rng: Rng;
  /** Experiences trained so far. */
  trained = 0;
  /** Classes of every experience trained so far (including the current one during training). */
  readonly seenClasses = new Set<number>();
  /** The experience being trained (null outside train()). */
  current: Experience | null = null;
  /** Mean loss of each epoch of the last experience. */
  epochLosses: number[] = [];
  private step: TrainStep | null = null;
  /** batchOf's row buffers by row count: a step reads its batch at once, so one buffer per size serves every step. */
  private readonly xScratch = new Map<number, Float32Array>();
  private logitsFn: ((x: Tensor, mask: Tensor) => Tensor) | null = null;

  constructor(readonly model: ContinualMlp, readonly benchmark: Benchmark, readonly plugins: readonly Plugin[] = [], o: StrategyOptions = {}) {
    this.lr = o.lr ?? 0.01;
    this.momentum = o.momentum ?? 0.9;
    this.batchSize = o.batchSize ?? 64;
    this.epochs = o.epochs ?? 1;
    this.evalBatchSize = o.evalBatchSize ?? 1000;
    this.seed = o.seed ?? 0;
    this.exec = o.exec ?? {};
    this.rng = new Rng(this.seed ^ 0x7a11);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new LatheError(`continual: the batch size must be a positive integer, got ${this.batchSize}`);
    if (!Number.isInteger(this.epochs) || this.epochs < 1) throw new LatheError(`continual: epochs must be a positive integer, got ${this.epochs}`);
    if (model.features !== benchmark.features || model.classes < benchmark.numClasses) {
      throw new LatheError(`continual: the model takes ${model.features} features and ${model.classes} classes; ${benchmark.name} has ${benchmark.features} and ${benchmark.numClasses}`);
    }
  }

  /** The compiled step (built on first use, once). */
  async trainStep(): Promise<TrainStep> {
    if (!this.step) {
      const terms = this.plugins.flatMap((p) => { const g = p.graph?.(this); return g ? [g] : []; });
      this.step = await TrainStep.create(this.model, terms, new SGD({ lr: this.lr, momentum: this.momentum }), this.exec);
    }
    return this.step;
  }

  /** Logits of x with additive masks (compiled once). */
  async logits(x: Tensor, mask: Tensor): Promise<Tensor> {
    this.logitsFn ??= await compileLogits(this.model, this.exec);
    return this.logitsFn(x, mask);
  }

  /** Classes a row of `task` may answer: its task's head (task-incremental), else null (all). */
  allowedFor(task: number): readonly number[] | null {
    return this.benchmark.scenario === "task-incremental" ? this.benchmark.taskClasses[task] ?? null : null;
  }

  /** An additive mask [n, classes] for rows' allowed classes. */
  maskFor(allowed: readonly (readonly number[] | null)[]): Tensor {
    const K = this.model.classes, m = new Float32Array(allowed.length * K);
    allowed.forEach((a, i) => {
      if (!a) return;
      m.fill(MASKED, i * K, (i + 1) * K);
      for (const c of a) m[i * K + c] = 0;
    });
    return new Tensor(m, [allowed.length, K], "f32");
  }

  private async hook<K extends keyof Plugin>(name: K, ...args: unknown[]): Promise<void> {
    for (const p of this.plugins) {
      const f = p[name] as ((s: Strategy, ...a: unknown[]) => unknown) | undefined;
      if (f) await f.call(p, this, ...args);
    }
  }

  /** Trains on one experience. */
  async train(exp: Experience): Promise<void> {
    const F = this.model.features;
    this.current = exp;
    this.rng = new Rng((this.seed * 0x9e3779b1 + this.trained * 0x85ebca6b + 1) >>> 0);
    for (const c of exp.classes) this.seenClasses.add(c);
    await this.hook("beforeTraining", exp);
    const step = await this.trainStep();
    step.resetOptimizer();
    await this.hook("beforeTrainingExp", exp);
    let data = toData(exp);
    for (const p of this.plugins) if (p.trainingData) data = await p.trainingData(this, exp, data);
    const n = data.y.length;
    let epochs = this.epochs;
    for (const p of this.plugins) if (p.epochs) epochs = p.epochs(this, exp, epochs);
    if (!Number.isInteger(epochs) || epochs < 1) throw new LatheError(`continual: epochs must be a positive integer, got ${epochs}`);
    this.epochLosses = [];
    for (let epoch = 0; epoch < epochs && n > 0; epoch++) {
      await this.hook("beforeTrainingEpoch", epoch);
      const order = permutation(n, this.rng);
      let sum = 0;
      for (let s = 0; s < n; s += this.batchSize) {
        const idx = order.slice(s, s + this.batchSize);
        const rows: Rows = {
          x: idx.map((i) => data.x.subarray(i * F, (i + 1) * F)), y: idx.map((i) => data.y[i]!), task: idx.map((i) => data.task[i]!),
          w: idx.map(() => 1), allowed: idx.map((i) => this.allowedFor(data.task[i]!)), incoming: idx.length, weighted: false,
        };
        await this.hook("beforeTrainingIteration", rows);
        await this.hook("beforeForward", rows);
        const batch = await this.batchOf(rows);
        const loss = step.run(batch);
        sum += loss * idx.length;
        await this.hook("afterForward", loss);
        await this.hook("afterBackward", loss);
        await this.hook("afterUpdate", loss);
        await this.hook("afterTrainingIteration", rows, loss);
      }
      this.epochLosses.push(sum / n);
      await this.hook("afterTrainingEpoch", epoch);
    }
    await this.hook("afterTrainingExp", exp, data);
    this.trained++;
    await this.hook("afterTraining", exp);
    this.current = null;
  }

  /**
   * The step's inputs for final rows: base inputs, then every plugin's. The x tensor's
   * buffer is reused by the next call with as many rows (no 200 kB allocation per step).
   */
  async batchOf(rows: Rows): Promise<Record<string, Tensor>> {
    const F = this.model.features, n = rows.y.length;
    let x = this.xScratch.get(n);
    if (!x) {
      if (this.xScratch.size >= 8) this.xScratch.clear(); // row counts vary only a little (last batch, replay)
      x = new Float32Array(n * F);
      this.xScratch.set(n, x);
    }
    rows.x.forEach((r, i) => x.set(r, i * F));
    const w = rows.weighted ? rows.w : rows.w.map((v) => v / n);
    const batch: Record<string, Tensor> = {
      x: new Tensor(x, [n, F], "f32"), y: Tensor.fromArray(rows.y, [n], "i32"), w: Tensor.fromArray(w, [n], "f32"), mask: this.maskFor(rows.allowed),
    };
    for (const p of this.plugins) if (p.inputs) Object.assign(batch, await p.inputs(this, rows));
    return batch;
  }

  /** Argmax predictions of x among each row's allowed classes (all rows of experience `exp`). */
  async predictLogits(x: Tensor, exp: Experience): Promise<{ pred: Int32Array; logits: Float32Array }> {
    const n = x.shape[0]!, F = this.model.features, K = this.model.classes;
    const pred = new Int32Array(n), logits = new Float32Array(n * K);
    const allowed = this.allowedFor(exp.task);
    for (let s = 0; s < n; s += this.evalBatchSize) {
      const m = Math.min(this.evalBatchSize, n - s);
      const xb = new Tensor((x.data as Float32Array).subarray(s * F, (s + m) * F), [m, F], "f32");
      const z = (await this.logits(xb, this.maskFor(new Array<readonly number[] | null>(m).fill(allowed)))).data as Float32Array;
      logits.set(z, s * K);
      for (let i = 0; i < m; i++) {
        let best = 0;
        for (let c = 1; c < K; c++) if (z[i * K + c]! > z[i * K + best]!) best = c;
        pred[s + i] = best;
      }
    }
    return { pred, logits };
  }

  /** Evaluates on a stream; returns one result per experience. */
  async eval(stream: readonly Experience[]): Promise<EvalResult[]> {
    await this.hook("beforeEval", stream);
    const out: EvalResult[] = [];
    const K = this.model.classes;
    for (const exp of stream) {
      await this.hook("beforeEvalExp", exp);
      const { pred: argmax, logits } = await this.predictLogits(exp.x, exp);
      const custom = this.plugins.find((p) => p.predict);
      const pred = custom ? await custom.predict!(this, exp.x, exp) : argmax;
      const y = exp.y.data as Int32Array;
      let correct = 0, loss = 0;
      for (let i = 0; i < y.length; i++) {
        if (pred[i] === y[i]) correct++;
        let mx = -Infinity, sum = 0;
        for (let c = 0; c < K; c++) mx = Math.max(mx, logits[i * K + c]!);
        for (let c = 0; c < K; c++) sum += Math.exp(logits[i * K + c]! - mx);
        loss += mx + Math.log(sum) - logits[i * K + y[i]!]!;
      }
      const r: EvalResult = { experience: exp, predictions: pred, loss: y.length ? loss / y.length : 0, accuracy: y.length ? correct / y.length : 0 };
      out.push(r);
      await this.hook("afterEvalExp", r);
    }
    await this.hook("afterEval", out);
    return out;
  }
}
