/**
 * The linear probe: multinomial logistic regression on frozen features, as a Lathe graph.
 * Loss = mean cross-entropy of softmax(x·W + b) + λ‖W‖². Its value and gradient are one
 * compiled graph (train/grad.ts) taking W, b, a batch and λ as arguments, so every λ and
 * every refit reuse one compilation per feature width; Adam runs on the host over the
 * (small) W and b. Features are standardised with the training split's mean and spread.
 *
 * λ is chosen on a validation split carved from the training data (never the test set):
 * each λ of the grid is fit on the rest, the best validation accuracy wins (ties: the
 * larger λ), and the probe is refit on all the training data with it.
 */
import { LatheError } from "../../core/errors.ts";
import { Rng, permutation } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import { valueAndGrad } from "../../train/grad.ts";
import type { GradResult } from "../../train/grad.ts";
import type { ExecOptions } from "../../train/executable.ts";
import { jit } from "../../train/jit.ts";
import { crossEntropy } from "../../train/losses.ts";

/** Rows of features: n × d, row-major. */
export interface Features { readonly data: Float32Array; readonly n: number; readonly d: number; readonly labels: Int32Array }

export interface ProbeOptions extends ExecOptions {
  readonly classes: number;
  readonly lambdas?: readonly number[];
  readonly epochs?: number;
  readonly batch?: number;
  readonly lr?: number;
  /** Share of the training rows held out to choose λ. */
  readonly validation?: number;
  readonly seed?: number;
}

export interface ProbeResult {
  readonly accuracy: number;
  readonly lambda: number;
  /** Validation accuracy per λ, in grid order. */
  readonly validation: readonly number[];
}

type Grad = (...args: Tensor[]) => Promise<GradResult>;
const lossGraph = (opts: ExecOptions): Grad => valueAndGrad((w: Tracer, b: Tracer, x: Tracer, y: Tracer, lam: Tracer) =>
  crossEntropy(x.matmul(w).add(b), y).add(w.square().sum().mul(lam)), opts);

/** Fitted weights [d, k] and bias [k]. */
export interface Logistic { readonly w: Float32Array; readonly b: Float32Array; readonly d: number; readonly k: number }

/** Adam (lr, β 0.9/0.999) on mean cross-entropy + λ‖W‖² over shuffled full batches. */
export async function fitLogistic(f: Features, lambda: number, opts: ProbeOptions, grad: Grad = lossGraph(opts)): Promise<Logistic> {
  const { classes: k } = opts, d = f.d, epochs = opts.epochs ?? 30, lr = opts.lr ?? 1e-2;
  const batch = Math.min(opts.batch ?? 256, f.n);
  if (f.n === 0) throw new LatheError("probe: no training rows");
  const params = [new Float32Array(d * k), new Float32Array(k)];
  const m = params.map((p) => new Float64Array(p.length)), v = params.map((p) => new Float64Array(p.length));
  const rng = new Rng(opts.seed ?? 0);
  const lam = Tensor.fromArray([lambda], [], "f32");
  let t = 0;
  for (let e = 0; e < epochs; e++) {
    const order = permutation(f.n, rng);
    for (let s = 0; s + batch <= f.n; s += batch) {
      const xb = new Float32Array(batch * d), yb = new Int32Array(batch);
      for (let r = 0; r < batch; r++) {
        const i = order[s + r]!;
        xb.set(f.data.subarray(i * d, (i + 1) * d), r * d);
        yb[r] = f.labels[i]!;
      }
      const { grads } = await grad(new Tensor(params[0]!, [d, k], "f32"), new Tensor(params[1]!, [k], "f32"), new Tensor(xb, [batch, d], "f32"), new Tensor(yb, [batch], "i32"), lam);
      t++;
      params.forEach((p, j) => {
        const g = grads[j]!.data as Float32Array, mj = m[j]!, vj = v[j]!;
        for (let i = 0; i < p.length; i++) {
          mj[i] = 0.9 * mj[i]! + 0.1 * g[i]!;
          vj[i] = 0.999 * vj[i]! + 0.001 * g[i]! * g[i]!;
          p[i] = p[i]! - (lr * (mj[i]! / (1 - 0.9 ** t))) / (Math.sqrt(vj[i]! / (1 - 0.999 ** t)) + 1e-8);
        }
      });
    }
  }
  return { w: params[0]!, b: params[1]!, d, k };
}

/** Class predictions of a fitted probe (a compiled graph over any number of rows). */
export async function predictLogistic(model: Logistic, f: Features, opts: ExecOptions = {}): Promise<Int32Array> {
  const fn = jit(({ x, w, b }) => x.matmul(w).add(b).argmax(1), { x: { shape: ["n", model.d] }, w: { shape: [model.d, model.k] }, b: { shape: [model.k] } }, opts);
  const out = await fn({ x: new Tensor(f.data, [f.n, f.d], "f32"), w: new Tensor(model.w, [model.d, model.k], "f32"), b: new Tensor(model.b, [model.k], "f32") });
  return out.data as Int32Array;
}

const accuracy = (pred: Int32Array, labels: Int32Array) => pred.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / labels.length;

/** Standardises both sets with `train`'s per-feature mean and standard deviation (constant features stay 0). */
export function standardise(train: Features, other: Features): [Features, Features] {
  const d = train.d, mean = new Float64Array(d), sd = new Float64Array(d);
  for (let i = 0; i < train.n; i++) for (let j = 0; j < d; j++) mean[j]! += train.data[i * d + j]! / train.n;
  for (let i = 0; i < train.n; i++) for (let j = 0; j < d; j++) sd[j]! += (train.data[i * d + j]! - mean[j]!) ** 2 / train.n;
  const scale = (f: Features): Features => ({
    ...f, data: Float32Array.from(f.data, (x, i) => { const s = Math.sqrt(sd[i % d]!); return s > 1e-12 ? (x - mean[i % d]!) / s : 0; }),
  });
  return [scale(train), scale(other)];
}

function rows(f: Features, idx: readonly number[]): Features {
  const data = new Float32Array(idx.length * f.d), labels = new Int32Array(idx.length);
  idx.forEach((i, r) => { data.set(f.data.subarray(i * f.d, (i + 1) * f.d), r * f.d); labels[r] = f.labels[i]!; });
  return { data, n: idx.length, d: f.d, labels };
}

/** Chooses λ on a validation split of `train`, refits on all of `train`, scores on `test`. */
export async function linearProbe(train: Features, test: Features, opts: ProbeOptions): Promise<ProbeResult> {
  if (train.d !== test.d) throw new LatheError(`probe: train has ${train.d} features, test ${test.d}`);
  const lambdas = opts.lambdas ?? [0, 1e-4, 1e-3, 1e-2];
  const [trainS, testS] = standardise(train, test);
  const order = permutation(train.n, new Rng((opts.seed ?? 0) + 101));
  const nVal = Math.max(1, Math.round(train.n * (opts.validation ?? 1 / 6)));
  if (train.n - nVal < 1) throw new LatheError(`probe: ${train.n} training row(s) leave none to fit after the validation split`);
  const fitPart = rows(trainS, order.slice(nVal)), valPart = rows(trainS, order.slice(0, nVal));
  const grad = lossGraph(opts);
  const validation: number[] = [];
  for (const lam of lambdas) validation.push(accuracy(await predictLogistic(await fitLogistic(fitPart, lam, opts, grad), valPart, opts), valPart.labels));
  let best = 0;
  validation.forEach((a, i) => { if (a >= validation[best]!) best = i; });
  const model = await fitLogistic(trainS, lambdas[best]!, opts, grad);
  return { accuracy: accuracy(await predictLogistic(model, testS, opts), testS.labels), lambda: lambdas[best]!, validation };
}
