/**
 * An RBF-kernel SVM as compiled Lathe graphs, for classifiers trained on aggregated crowd
 * labels (optionally weighted per item by the aggregator's confidence).
 *
 *     const svm = await new RbfSvm({ C: 10, components: 2000, seed: 0 }).fit(x, y);
 *     svm.predict(xTest)        // Int32Array of classes
 *     svm.predictProba(xTest)   // Float64Array rows × classes
 *
 * The model, in order:
 * 1. Standardisation: z = (x − mean) / std per feature, from the training rows (a feature
 *    with std 0 is divided by 1, as scikit-learn's StandardScaler).
 * 2. gamma = "scale" as scikit-learn defines it, 1 / (n_features · Var(z)), the variance
 *    over every entry of the standardised training matrix (or a number).
 * 3. A Nyström feature map (Williams & Seeger 2001) of the RBF kernel
 *    k(a, b) = exp(−gamma ‖a − b‖²): m = min(components, n) landmark rows L drawn from
 *    the training rows by `seed`, and φ(z) = k(z, L)·R with R = C⁻ᵀ, where C Cᵀ is the
 *    Cholesky factorisation of k(L, L) + jitter·I, so φ(a)·φ(b) = k(a, L) k(L, L)⁻¹ k(L, b).
 *    The kernel rows and φ are one compiled graph (feature graph below); only the m × m
 *    Cholesky and triangular inverse run in JS, in f64 (O(m³/3): ~50 ms at m = 500).
 *    Why Nyström and not random Fourier features: with as many landmarks as training rows
 *    (the default for n ≤ 500) the map is the exact kernel, so the model is the kernel SVM
 *    scikit-learn's SVC solves (same objective, up to convergence), and for fewer
 *    landmarks its kernel error is much smaller than RFF's at the same dimension (Yang et
 *    al. 2012). That keeps the dimension, and so the cost of every compiled step, low: on
 *    the digits cross-check RFF needed D = 2000 (12 s to fit, ~1 point below SVC) where
 *    Nyström with m = 400 matches the exact kernel. RFF's advantage, a data-independent
 *    map, does not matter here: the map is fitted once per training set either way.
 * 4. One-vs-rest linear SVMs on φ, all K in one graph: margins m = φ·W + b ([n, K]),
 *    targets t[i, k] = +1 for the item's class and −1 otherwise, and the primal objective
 *    of K binary SVMs with scikit-learn's C and per-sample weights s (sample_weight):
 *        ½‖W‖² + C Σ_i s_i Σ_k loss(t_ik · m_ik),   loss = hinge max(0, 1 − u) or
 *        squared hinge max(0, 1 − u)²; the intercept b is not regularised.
 *    Divided by C·n (same minimiser) it is the mean of s_i·loss plus ‖W‖² / (2Cn), the
 *    scalar loss the compiled step (train/step.ts compileLossStep) minimises.
 * 5. Training: full-batch (default) or seeded minibatch steps with Adam, learning rate
 *    lr·½(1 + cos(π·step/steps)) (a fixed cosine schedule), W and b starting at 0; the
 *    same seed gives the same model.
 *
 * predictProba is softmax(probScale · m) over the K one-vs-rest margins: a monotone,
 * uncalibrated score (not Platt scaling). With the default probScale 2.2 an item exactly
 * on its class's margin (+1, the others −1) gets ≈ 0.9 of the mass over 10 classes.
 */
import { LatheError, ShapeError } from "../../core/errors.ts";
import { Rng, permutation } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/index.ts";
import { Adam } from "../../train/optim/adam.ts";
import { Parameter } from "../../train/parameter.ts";
import { compileLossStep } from "../../train/step.ts";
import type { ExecOptions } from "../../train/executable.ts";

export type SvmLoss = "hinge" | "squared_hinge";

export interface RbfSvmOptions extends ExecOptions {
  /** Inverse regularisation, as scikit-learn's C (default 1). */
  readonly C?: number;
  /** "scale" (default): 1 / (n_features · Var(standardised x)); or a positive number. */
  readonly gamma?: "scale" | number;
  /** Nyström landmarks m (default 500; at most the number of training rows). */
  readonly components?: number;
  /** Default "hinge". */
  readonly loss?: SvmLoss;
  /** Passes over the training rows (default 300). */
  readonly epochs?: number;
  /** Rows per step (default: all, full batch). */
  readonly batchSize?: number;
  /** Peak Adam learning rate of the cosine schedule (default 0.02). */
  readonly lr?: number;
  /** Seeds the feature map and the minibatch order (default 0). */
  readonly seed?: number;
  /** predictProba's softmax scale on the margins (default 2.2). */
  readonly probScale?: number;
  /** Number of classes (default: max label + 1). */
  readonly numClasses?: number;
}

/** Rows of a 2-D f32 tensor, or a [n, ...] tensor flattened to [n, f]. */
function asMatrix(x: Tensor, who: string): { data: Float32Array; n: number; f: number } {
  if (x.ndim < 2) throw new ShapeError(`${who}: x must be [n, features...], got [${x.shape.join(", ")}]`);
  const n = x.shape[0]!, f = x.size / Math.max(n, 1);
  const data = x.dtype === "f32" ? (x.data as Float32Array) : Float32Array.from(x.toArray());
  return { data, n, f };
}

const labelsOf = (y: Tensor | ArrayLike<number>): Int32Array =>
  y instanceof Tensor ? Int32Array.from(y.toArray()) : Int32Array.from(y);

// Shape-generic graphs shared by every model: traced once per process, compiled on first use.
// Keyed by executor, so a model asking for the interpreter gets it.
const featureFns = new Map<string, ReturnType<typeof makeFeatureFn>>();
const marginFns = new Map<string, ReturnType<typeof makeMarginFn>>();
const cached = <F>(m: Map<string, F>, opts: ExecOptions, make: (o: ExecOptions) => F): F => {
  const key = opts.executor ?? "default";
  let f = m.get(key);
  if (!f) m.set(key, (f = make(opts)));
  return f;
};

/**
 * φ = exp(−gamma · ‖z − l‖²) · R for z = (x − mean) · invStd and landmark rows l (already
 * standardised); ‖z − l‖² = ‖z‖² + ‖l‖² − 2 z·l, clamped at 0 against rounding.
 */
const makeFeatureFn = (opts: ExecOptions) => lt.compile(
  ({ x, mean, invStd, landmarks, gamma, r }: Record<string, Tracer>) => {
    const z = x!.sub(mean!).mul(invStd!);
    const zz = z.square().sum([1], true), ll = landmarks!.square().sum([1]);
    const d2 = zz.add(ll).sub(z.matmul(landmarks!.transpose([1, 0])).mul(2)).maximum(0);
    return d2.mul(gamma!.neg()).exp().matmul(r!);
  },
  { x: { shape: ["n", "f"] }, mean: { shape: ["f"] }, invStd: { shape: ["f"] }, landmarks: { shape: ["m", "f"] }, gamma: { shape: [] }, r: { shape: ["m", "d"] } },
  opts,
);
const makeMarginFn = (opts: ExecOptions) => lt.compile(
  ({ phi, w, b }: Record<string, Tracer>) => phi!.matmul(w!).add(b!),
  { phi: { shape: ["n", "d"] }, w: { shape: ["d", "k"] }, b: { shape: ["k"] } },
  opts,
);

/** The per-sample loss of the margins `u` = t·m ([n, K]) summed over classes → [n]. */
function svmLoss(u: Tracer, loss: SvmLoss): Tracer {
  const h = u.rsub(1).relu();
  return (loss === "hinge" ? h : h.square()).sum([1]);
}

export class RbfSvm {
  readonly C: number;
  readonly components: number;
  readonly loss: SvmLoss;
  readonly epochs: number;
  readonly lr: number;
  readonly seed: number;
  readonly probScale: number;
  readonly batchSize: number | undefined;
  private readonly gammaOpt: "scale" | number;
  private readonly numClassesOpt: number | undefined;
  private readonly exec: ExecOptions;
  private fitted: {
    mean: Tensor; invStd: Tensor; landmarks: Tensor; gamma: Tensor; r: Tensor; w: Tensor; b: Tensor;
    features: number; classes: number; gammaValue: number; losses: number[];
  } | null = null;

  constructor(opts: RbfSvmOptions = {}) {
    this.C = opts.C ?? 1;
    this.components = opts.components ?? 500;
    this.loss = opts.loss ?? "hinge";
    this.epochs = opts.epochs ?? 300;
    this.lr = opts.lr ?? 0.02;
    this.seed = opts.seed ?? 0;
    this.probScale = opts.probScale ?? 2.2;
    this.batchSize = opts.batchSize;
    this.gammaOpt = opts.gamma ?? "scale";
    this.numClassesOpt = opts.numClasses;
    this.exec = opts.executor ? { executor: opts.executor } : {};
    if (!(this.C > 0) || !Number.isFinite(this.C)) throw new LatheError(`RbfSvm: C must be a positive number, got ${this.C}`);
    if (!Number.isInteger(this.components) || this.components < 1) throw new LatheError(`RbfSvm: components must be a positive integer, got ${this.components}`);
    if (!Number.isInteger(this.epochs) || this.epochs < 1) throw new LatheError(`RbfSvm: epochs must be a positive integer, got ${this.epochs}`);
    if (this.gammaOpt !== "scale" && !(this.gammaOpt > 0)) throw new LatheError(`RbfSvm: gamma must be "scale" or a positive number, got ${this.gammaOpt}`);
    if (this.batchSize !== undefined && (!Number.isInteger(this.batchSize) || this.batchSize < 1)) throw new LatheError(`RbfSvm: batchSize must be a positive integer, got ${this.batchSize}`);
  }

  /** The gamma used by the last fit. */
  get gamma(): number { return this.model("gamma").gammaValue; }
  /** The training loss of each step of the last fit. */
  get losses(): readonly number[] { return this.model("losses").losses; }
  get numClasses(): number { return this.model("numClasses").classes; }

  private model(who: string) {
    if (!this.fitted) throw new LatheError(`RbfSvm.${who}: call fit first`);
    return this.fitted;
  }

  /**
   * Fits on rows `x` ([n, features...], f32) with labels `y` (class indices) and optional
   * per-sample weights (≥ 0, scikit-learn's sample_weight: they scale C per sample).
   */
  async fit(x: Tensor, y: Tensor | ArrayLike<number>, weights?: ArrayLike<number>): Promise<this> {
    const { data, n, f } = asMatrix(x, "RbfSvm.fit");
    const labels = labelsOf(y);
    if (labels.length !== n) throw new ShapeError(`RbfSvm.fit: ${n} rows but ${labels.length} labels`);
    if (n === 0) throw new LatheError("RbfSvm.fit: no training rows");
    const K = this.numClassesOpt ?? Math.max(...labels) + 1;
    if (K < 2) throw new LatheError(`RbfSvm.fit: needs at least 2 classes, got ${K}`);
    for (const c of labels) if (!Number.isInteger(c) || c < 0 || c >= K) throw new LatheError(`RbfSvm.fit: label ${c} is not a class in [0, ${K})`);
    const s = weights ? Float32Array.from(weights) : new Float32Array(n).fill(1);
    if (s.length !== n) throw new ShapeError(`RbfSvm.fit: ${n} rows but ${s.length} weights`);
    if (s.some((v) => !(v >= 0) || !Number.isFinite(v))) throw new LatheError("RbfSvm.fit: weights must be finite and ≥ 0");

    // Standardisation and gamma = "scale", in f64.
    const mean = new Float64Array(f), sq = new Float64Array(f);
    for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) mean[j]! += data[i * f + j]!;
    for (let j = 0; j < f; j++) mean[j]! /= n;
    for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) { const d = data[i * f + j]! - mean[j]!; sq[j]! += d * d; }
    const std = Float64Array.from(sq, (v) => Math.sqrt(v / n));
    const invStd = Float32Array.from(std, (v) => (v > 0 ? 1 / v : 1));
    // Var over all entries of z: each non-constant column has mean 0 and variance 1, a constant one 0.
    const zVar = std.reduce((a, v) => a + (v > 0 ? 1 : 0), 0) / f;
    const gamma = this.gammaOpt === "scale" ? 1 / (f * (zVar > 0 ? zVar : 1)) : this.gammaOpt;

    // Nyström: landmarks, their kernel matrix (the feature graph with R = I), R = C⁻ᵀ.
    const rng = new Rng(this.seed);
    const D = Math.min(this.components, n);
    const pick = D === n ? Array.from({ length: n }, (_, i) => i) : permutation(n, rng).slice(0, D).sort((p, q) => p - q);
    const lm = new Float32Array(D * f);
    pick.forEach((i, r) => { for (let j = 0; j < f; j++) lm[r * f + j] = (data[i * f + j]! - mean[j]!) * invStd[j]!; });
    const base = {
      mean: new Tensor(Float32Array.from(mean), [f], "f32"), invStd: new Tensor(invStd, [f], "f32"),
      landmarks: new Tensor(lm, [D, f], "f32"), gamma: Tensor.fromArray([gamma], [], "f32"),
    };
    const eye = new Float32Array(D * D);
    for (let i = 0; i < D; i++) eye[i * D + i] = 1;
    const lmRaw = new Float32Array(D * f);
    pick.forEach((i, r) => lmRaw.set(data.subarray(i * f, (i + 1) * f), r * f));
    const kll = (await this.features(new Tensor(lmRaw, [D, f], "f32"), { ...base, r: new Tensor(eye, [D, D], "f32") })).data as Float32Array;
    const fm = { ...base, r: new Tensor(inverseCholeskyT(kll, D), [D, D], "f32") };
    const xm = x.ndim === 2 && x.dtype === "f32" ? x : new Tensor(data, [n, f], "f32");
    const phi = await this.features(xm, fm);

    const target = new Float32Array(n * K).fill(-1);
    labels.forEach((c, i) => (target[i * K + c] = 1));
    const W = new Parameter("svm.w", Tensor.zeros([D, K])), b = new Parameter("svm.b", Tensor.zeros([K]));
    const reg = 1 / (2 * this.C * n);
    const opt = new Adam({ lr: this.lr });
    const loss = this.loss;
    const step = await compileLossStep(({ phi: p, t, s: sw }) => {
      const m = p!.matmul(lt.param(W)).add(lt.param(b));
      // Σ s·loss / n: the mean over the training set (minibatch weights carry n / batch).
      const data = svmLoss(m.mul(t!), loss).mul(sw!).sum().mul(1 / n);
      return data.add(lt.param(W).square().sum().mul(reg));
    }, opt, { phi: { shape: ["n", D] }, t: { shape: ["n", K] }, s: { shape: ["n"] } }, this.exec);

    const bs = Math.min(this.batchSize ?? n, n);
    const perEpoch = Math.ceil(n / bs), total = this.epochs * perEpoch;
    const order = new Rng(this.seed ^ 0x5bd1e995);
    const losses: number[] = [];
    const full = { phi, t: new Tensor(target, [n, K], "f32"), s: new Tensor(s, [n], "f32") };
    let k = 0;
    for (let e = 0; e < this.epochs; e++) {
      const perm = bs === n ? null : permutation(n, order);
      for (let start = 0; start < n; start += bs) {
        opt.lr = this.lr * 0.5 * (1 + Math.cos((Math.PI * k) / total));
        let batch = full;
        if (perm) {
          const idx = perm.slice(start, start + bs), m = idx.length;
          const pb = new Float32Array(m * D), tb = new Float32Array(m * K), sb = new Float32Array(m);
          const pd = phi.data as Float32Array;
          // Scale the weights by n / m so the batch's Σ s·loss / n estimates the full mean.
          idx.forEach((i, r) => {
            pb.set(pd.subarray(i * D, (i + 1) * D), r * D);
            tb.set(target.subarray(i * K, (i + 1) * K), r * K);
            sb[r] = (s[i]! * n) / m;
          });
          batch = { phi: new Tensor(pb, [m, D], "f32"), t: new Tensor(tb, [m, K], "f32"), s: new Tensor(sb, [m], "f32") };
        }
        losses.push(step(batch));
        k++;
      }
    }
    this.fitted = { ...fm, w: W.value, b: b.value, features: f, classes: K, gammaValue: gamma, losses };
    return this;
  }

  private features(x: Tensor, fm: { mean: Tensor; invStd: Tensor; landmarks: Tensor; gamma: Tensor; r: Tensor }): Promise<Tensor> {
    const { mean, invStd, landmarks, gamma, r } = fm;
    return cached(featureFns, this.exec, makeFeatureFn)({ x, mean, invStd, landmarks, gamma, r });
  }

  /** One-vs-rest margins, [n, K] row-major. */
  async decisionFunction(x: Tensor): Promise<Float32Array> {
    const m = this.model("decisionFunction");
    const { data, n, f } = asMatrix(x, "RbfSvm.decisionFunction");
    if (f !== m.features) throw new ShapeError(`RbfSvm.decisionFunction: the model was fitted on ${m.features} features, x has ${f}`);
    const phi = await this.features(new Tensor(data, [n, f], "f32"), m);
    return (await cached(marginFns, this.exec, makeMarginFn)({ phi, w: m.w, b: m.b })).data as Float32Array;
  }

  /** The class with the largest margin (ties: the lowest class). */
  async predict(x: Tensor): Promise<Int32Array> {
    const K = this.model("predict").classes;
    const m = await this.decisionFunction(x);
    const n = m.length / K, out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (m[i * K + k]! > m[i * K + best]!) best = k;
      out[i] = best;
    }
    return out;
  }

  /** softmax(probScale · margins) per row, [n, K] row-major (see the module comment: uncalibrated). */
  async predictProba(x: Tensor): Promise<Float64Array> {
    const K = this.model("predictProba").classes;
    const m = await this.decisionFunction(x);
    return softmaxRows(m, K, this.probScale);
  }
}

/**
 * R = C⁻ᵀ (m × m, row-major f32) for the Cholesky factor C of the symmetric k + jitter·I,
 * in f64. The jitter starts at 1e-6 · mean diagonal and grows tenfold until the
 * factorisation succeeds (a kernel matrix of near-duplicate rows is singular in f32).
 */
export function inverseCholeskyT(k: ArrayLike<number>, m: number): Float32Array {
  let diag = 0;
  for (let i = 0; i < m; i++) diag += k[i * m + i]!;
  diag /= m;
  for (let jitter = 1e-6 * diag; jitter < diag; jitter *= 10) {
    const c = new Float64Array(m * m);
    let ok = true;
    for (let j = 0; j < m && ok; j++) {
      let s = k[j * m + j]! + jitter;
      for (let p = 0; p < j; p++) s -= c[j * m + p]! * c[j * m + p]!;
      if (!(s > 0)) { ok = false; break; }
      const cjj = Math.sqrt(s);
      c[j * m + j] = cjj;
      for (let i = j + 1; i < m; i++) {
        let t = (k[i * m + j]! + k[j * m + i]!) / 2;
        for (let p = 0; p < j; p++) t -= c[i * m + p]! * c[j * m + p]!;
        c[i * m + j] = t / cjj;
      }
    }
    if (!ok) continue;
    // Forward substitution: inv = C⁻¹ (lower triangular); R = invᵀ.
    const inv = new Float64Array(m * m);
    for (let col = 0; col < m; col++) {
      for (let i = col; i < m; i++) {
        let t = i === col ? 1 : 0;
        for (let p = col; p < i; p++) t -= c[i * m + p]! * inv[p * m + col]!;
        inv[i * m + col] = t / c[i * m + i]!;
      }
    }
    const r = new Float32Array(m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) r[i * m + j] = inv[j * m + i]!;
    return r;
  }
  throw new LatheError("RbfSvm: the landmark kernel matrix is not positive definite even with jitter");
}

/** Row-wise softmax(scale · v) of an [n, K] row-major array, in f64. */
export function softmaxRows(v: ArrayLike<number>, K: number, scale = 1): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length / K; i++) {
    let mx = -Infinity;
    for (let k = 0; k < K; k++) mx = Math.max(mx, scale * v[i * K + k]!);
    let z = 0;
    for (let k = 0; k < K; k++) z += out[i * K + k] = Math.exp(scale * v[i * K + k]! - mx);
    for (let k = 0; k < K; k++) out[i * K + k]! /= z;
  }
  return out;
}

/**
 * Per-item weights from aggregated posteriors ([items, K] row-major): each item's largest
 * posterior (its confidence in the hard label), optionally raised to `power`.
 */
export function confidenceWeights(posteriors: ArrayLike<number>, K: number, power = 1): Float32Array {
  const n = posteriors.length / K;
  if (!Number.isInteger(n)) throw new ShapeError(`confidenceWeights: ${posteriors.length} posteriors is not a multiple of ${K} classes`);
  return Float32Array.from({ length: n }, (_, i) => {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, posteriors[i * K + k]!);
    return m ** power;
  });
}
