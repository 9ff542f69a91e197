/**
 * A small image (or feature-vector) classifier trained on aggregated crowd labels with
 * compiled steps (train/step.ts compileLossStep): an MLP, or a small CNN for square
 * one-channel images (Fashion-MNIST, digits).
 *
 *     const clf = await new MlpClassifier({ hidden: [128], epochs: 10, seed: 0 }).fit(x, labels);
 *     await new MlpClassifier({ arch: "cnn" }).fitSoft(x, ds.posteriors, K);   // soft targets
 *     clf.predict(x), clf.predictProba(x)
 *
 * Loss: the mean over rows of w_i · (−Σ_c q_ic log softmax(z_i)_c), with q the soft targets
 * (posteriors; hard labels become one-hot rows) and w optional per-row weights (default
 * 1). Adam, seeded minibatches (a fresh permutation per epoch), weights initialised from
 * `seed`: the same seed gives the same model. The step is compiled for one static batch of
 * min(batchSize, n) rows, and an epoch's last partial batch is dropped (a fresh permutation
 * leaves out different rows each epoch): static shapes let the cpu target lower the
 * convolutions and their weight gradients to GEMMs (conv-to-gemm.ts), which the symbolic
 * batch size kept as direct loop nests (about 3× slower per CNN epoch on Fashion-MNIST).
 *
 * Architectures (x is [n, ...]; every row is flattened for the MLP):
 * - "mlp": Linear → ReLU per hidden width (default [128]) → Linear to the classes;
 * - "cnn": x as [n, 1, s, s] (s² features per row), Conv 3×3 (c1, default 8) → ReLU →
 *   max-pool 2 → Conv 3×3 (c2, default 16) → ReLU → max-pool 2 → Linear → ReLU per hidden
 *   width (default none) → Linear to the classes (s divisible by 4).
 */
import { LatheError, ShapeError } from "../../core/errors.ts";
import { Rng, permutation } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { ExecOptions } from "../../train/executable.ts";
import type { Tracer } from "../../train/lt.ts";
import { Conv2d } from "../../train/nn/conv.ts";
import { Linear } from "../../train/nn/linear.ts";
import type { Layer } from "../../train/nn/module.ts";
import { Sequential, applyLayer } from "../../train/nn/module.ts";
import { Adam } from "../../train/optim/adam.ts";
import { compileForward, compileLossStep } from "../../train/step.ts";

export interface MlpClassifierOptions extends ExecOptions {
  readonly arch?: "mlp" | "cnn";
  /** Hidden widths of the fully connected layers (default [128] for the MLP, none after the CNN's convolutions). */
  readonly hidden?: readonly number[];
  /** The CNN's two convolutions' channels (default [8, 16]). */
  readonly channels?: readonly [number, number];
  /** Default 20. */
  readonly epochs?: number;
  /** Default 64. */
  readonly batchSize?: number;
  /** Adam's learning rate (default 1e-3). */
  readonly lr?: number;
  /** Adam's L2 weight decay (default 0). */
  readonly weightDecay?: number;
  readonly seed?: number;
}

const relu = (x: Tracer): Tracer => x.relu();

export class MlpClassifier {
  readonly arch: "mlp" | "cnn";
  readonly hidden: readonly number[];
  readonly channels: readonly [number, number];
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly seed: number;
  private readonly exec: ExecOptions;
  private fitted: { forward: (x: Tensor) => Tensor; features: number; classes: number; losses: number[] } | null = null;

  constructor(opts: MlpClassifierOptions = {}) {
    this.arch = opts.arch ?? "mlp";
    this.hidden = opts.hidden ?? (opts.arch === "cnn" ? [] : [128]);
    this.channels = opts.channels ?? [8, 16];
    this.epochs = opts.epochs ?? 20;
    this.batchSize = opts.batchSize ?? 64;
    this.lr = opts.lr ?? 1e-3;
    this.weightDecay = opts.weightDecay ?? 0;
    this.seed = opts.seed ?? 0;
    this.exec = opts.executor ? { executor: opts.executor } : {};
    if (this.arch !== "mlp" && this.arch !== "cnn") throw new LatheError(`MlpClassifier: arch must be "mlp" or "cnn", got ${String(this.arch)}`);
    for (const [what, ws] of [["hidden", this.hidden], ["channels", this.channels]] as const) {
      if (ws.some((w) => !Number.isInteger(w) || w < 1)) throw new LatheError(`MlpClassifier: ${what} must be positive integers, got ${JSON.stringify(ws)}`);
    }
    if (this.channels.length !== 2) throw new LatheError(`MlpClassifier: channels must name the two convolutions' widths, got ${JSON.stringify(this.channels)}`);
    if (!Number.isInteger(this.epochs) || this.epochs < 1) throw new LatheError(`MlpClassifier: epochs must be a positive integer, got ${this.epochs}`);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new LatheError(`MlpClassifier: batchSize must be a positive integer, got ${this.batchSize}`);
  }

  /** Mean loss of each epoch of the last fit. */
  get losses(): readonly number[] { return this.model("losses").losses; }

  private model(who: string) {
    if (!this.fitted) throw new LatheError(`MlpClassifier.${who}: call fit first`);
    return this.fitted;
  }

  /** Fits on hard labels (class indices; `numClasses` default: max label + 1). */
  fit(x: Tensor, labels: Tensor | ArrayLike<number>, weights?: ArrayLike<number>, numClasses?: number): Promise<this> {
    const y = labels instanceof Tensor ? labels.toArray() : Array.from(labels);
    const K = numClasses ?? Math.max(...y) + 1;
    const q = new Float32Array(y.length * K);
    y.forEach((c, i) => {
      if (!Number.isInteger(c) || c < 0 || c >= K) throw new LatheError(`MlpClassifier.fit: label ${c} is not a class in [0, ${K})`);
      q[i * K + c] = 1;
    });
    return this.fitSoft(x, q, K, weights);
  }

  /** Fits on soft targets: `targets` is rows × K (e.g. an aggregator's posteriors). */
  async fitSoft(x: Tensor, targets: ArrayLike<number>, K: number, weights?: ArrayLike<number>): Promise<this> {
    if (x.ndim < 2) throw new ShapeError(`MlpClassifier: x must be [n, features...], got [${x.shape.join(", ")}]`);
    const n = x.shape[0]!, f = x.size / Math.max(n, 1);
    if (n < 1) throw new ShapeError("MlpClassifier: x has no rows to fit");
    if (targets.length !== n * K) throw new ShapeError(`MlpClassifier: ${targets.length} targets for ${n} rows × ${K} classes`);
    const w = weights ? Float32Array.from(weights) : new Float32Array(n).fill(1);
    if (w.length !== n) throw new ShapeError(`MlpClassifier: ${n} rows but ${w.length} weights`);
    const xf = new Tensor(x.dtype === "f32" ? (x.data as Float32Array) : Float32Array.from(x.toArray()), [n, f], "f32");
    const q = new Tensor(Float32Array.from(targets), [n, K], "f32");
    const model = this.build(f, K);
    const opt = new Adam({ lr: this.lr, weightDecay: this.weightDecay });
    const B = Math.min(this.batchSize, n);
    const step = await compileLossStep(({ x: xb, q: qb, w: wb }) => {
      const logp = applyLayer(model, xb!).logSoftmax(-1);
      return qb!.mul(logp).sum([1]).mul(wb!).mean().neg();
    }, opt, { x: { shape: [B, f] }, q: { shape: [B, K] }, w: { shape: [B] } }, this.exec);

    const rng = new Rng(this.seed ^ 0x2545f491);
    const losses: number[] = [];
    const rows = (t: Tensor, idx: readonly number[], width: number): Tensor => {
      const src = t.data as Float32Array, out = new Float32Array(idx.length * width);
      idx.forEach((i, r) => out.set(src.subarray(i * width, (i + 1) * width), r * width));
      return new Tensor(out, [idx.length, width], "f32");
    };
    for (let e = 0; e < this.epochs; e++) {
      const order = permutation(n, rng);
      let sum = 0;
      const steps = Math.floor(n / B);
      for (let s = 0; s < steps * B; s += B) {
        const idx = order.slice(s, s + B);
        const wb = new Tensor(Float32Array.from(idx, (i) => w[i]!), [B], "f32");
        sum += step({ x: rows(xf, idx, f), q: rows(q, idx, K), w: wb });
      }
      losses.push(sum / steps);
    }
    const forward = await compileForward(model, { shape: ["n", f] }, this.exec);
    this.fitted = { forward, features: f, classes: K, losses };
    return this;
  }

  private build(f: number, K: number): Layer {
    const rng = new Rng(this.seed);
    /** Linear → ReLU per hidden width, then Linear to the classes, from `width` features. */
    const head = (width: number, prefix: string): Layer[] => {
      const layers: Layer[] = [];
      this.hidden.forEach((h, k) => {
        layers.push(new Linear(width, h, { rng, name: `${prefix}.fc${k}` }), relu);
        width = h;
      });
      layers.push(new Linear(width, K, { rng, name: `${prefix}.out` }));
      return layers;
    };
    if (this.arch === "mlp") return new Sequential(...head(f, "mlp"));
    const s = Math.round(Math.sqrt(f));
    if (s * s !== f || s % 4 !== 0) throw new ShapeError(`MlpClassifier: the cnn needs square images with a side divisible by 4, got ${f} features per row`);
    const pool = (x: Tracer): Tracer => x.maxPool2d({ kernel: [2, 2] });
    const [c1, c2] = this.channels;
    return new Sequential(
      (x: Tracer) => x.reshape([0, 1, s, s]),
      new Conv2d(1, c1, 3, { padding: 1, rng, name: "cnn.conv1" }), relu, pool,
      new Conv2d(c1, c2, 3, { padding: 1, rng, name: "cnn.conv2" }), relu, pool,
      (x: Tracer) => x.reshape([0, -1]),
      ...head(c2 * (s / 4) * (s / 4), "cnn"),
    );
  }

  /** Logits, rows × K. */
  logits(x: Tensor): Float32Array {
    const m = this.model("logits");
    const n = x.shape[0] ?? 0, f = x.size / Math.max(n, 1);
    if (f !== m.features) throw new ShapeError(`MlpClassifier: the model was fitted on ${m.features} features per row, x has ${f}`);
    const xf = new Tensor(x.dtype === "f32" ? (x.data as Float32Array) : Float32Array.from(x.toArray()), [n, f], "f32");
    return m.forward(xf).data as Float32Array;
  }

  /** softmax of the logits, rows × K. */
  predictProba(x: Tensor): Float64Array {
    const K = this.model("predictProba").classes, z = this.logits(x), out = new Float64Array(z.length);
    for (let i = 0; i < z.length / K; i++) {
      let mx = -Infinity, sum = 0;
      for (let c = 0; c < K; c++) mx = Math.max(mx, z[i * K + c]!);
      for (let c = 0; c < K; c++) sum += out[i * K + c] = Math.exp(z[i * K + c]! - mx);
      for (let c = 0; c < K; c++) out[i * K + c]! /= sum;
    }
    return out;
  }

  /** The most likely class per row (ties: the lowest). */
  predict(x: Tensor): Int32Array {
    const K = this.model("predict").classes, z = this.logits(x), out = new Int32Array(z.length / K);
    for (let i = 0; i < out.length; i++) {
      let best = 0;
      for (let c = 1; c < K; c++) if (z[i * K + c]! > z[i * K + best]!) best = c;
      out[i] = best;
    }
    return out;
  }
}
