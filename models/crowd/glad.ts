/**
 * GLAD — Generative model of Labels, Abilities and Difficulties (Whitehill, Ruvolo, Wu,
 * Bergsma & Movellan, NIPS 2009), for K ≥ 2 classes as crowd-kit generalises it.
 *
 * Model: worker w has an ability α_w ∈ ℝ, item i an inverse difficulty β_i = exp(b_i) > 0
 * (b_i is the free parameter). With a_n = α_w β_i for label n = (i, w, l):
 *
 *   P(l = z_i) = σ(a_n),   P(l = c') = (1 − σ(a_n)) / (K − 1) for each other class c'
 *
 * and the truth z_i ~ p (a fixed class prior, uniform by default). Priors (crowd-kit's
 * defaults): α_w ~ N(μ_α = 1, 1) and b_i = log β_i ~ N(μ_β = 1, 1).
 *
 * EM, with q[i, c] = P(z_i = c | labels):
 *   E:  log q[i, c] = log p_c + Σ over labels (i, w, l) of ([l = c] log σ(a) + [l ≠ c] (log σ(−a) − log(K − 1))), normalised.
 *   M:  gradient ascent on the expected complete log-likelihood plus the log priors
 *         Q(α, b) = Σ_n [δ_n log σ(a_n) + (1 − δ_n)(log σ(−a_n) − log(K − 1))] − ½ Σ_w (α_w − μ_α)² − ½ Σ_i (b_i − μ_β)²
 *       where δ_n = q[i, l] (the posterior mass on the class the label names). Its gradient:
 *         ∂Q/∂α_w = Σ over w's labels of (δ_n − σ(a_n)) β_i − (α_w − μ_α)
 *         ∂Q/∂b_i = Σ over i's labels of (δ_n − σ(a_n)) a_n − (b_i − μ_β)
 *       Each step moves along the gradient scaled by the inverse diagonal Fisher information
 *       plus the prior precision, h_α = Σ σ(1 − σ) β_i² + 1 and h_b = Σ σ(1 − σ) a_n² + 1
 *       (a diagonal Fisher-scoring step, so workers with many labels and workers with few
 *       move at the same pace), of length `stepSize`, halved (up to 30 times) until Q does
 *       not decrease. At most `mStepIters` steps; stop early once max |∇Q| ≤ `mStepTol`.
 *       (crowd-kit runs SciPy's conjugate gradients with at most 25 iterations and tol 1e-2;
 *       this is the same objective with a different, graph-friendly ascent.)
 *
 *   q⁰ = soft majority vote; (α, b) = (μ_α, μ_β) (crowd-kit's start: α = 1, b = 1)
 *   repeat t = 1..maxIter:  (α, b) = M(qᵗ⁻¹) from the current (α, b);  qᵗ = E(α, b);  stop when max |qᵗ − qᵗ⁻¹| ≤ tol
 *
 * (crowd-kit stops when the mean Q gains less than 1e-5; here, as for every EM aggregator
 * of this package, on the posteriors.) The E-step and the M-step's value / gradient / step
 * are compiled Lathe graphs over the label triples (gathers and segment sums as graphs.ts,
 * symbolic sizes, f64), traced once per process and segment strategy.
 */
import { LatheError } from "../../core/errors.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import type { CrowdResult, GraphOptions } from "./aggregators.ts";
import { emOptions } from "./aggregators.ts";
import { argmaxRows, defineGraph, f64, f64Data, f64Tensor, i32, maxAbsDiff, num, numClassesOf, oneHot, runGraph, scalar, tensorsOf, votes } from "./graphs.ts";
import type { LabelTensors, SegmentStrategy } from "./graphs.ts";
import type { LabelSet } from "./labels.ts";

// ---------------------------------------------------------------------------------------
// GLAD graphs.

/** a_n = α_w β_i, log σ(a_n) and log σ(−a_n) for every label. */
function labelTerms(alpha: Tracer, logBeta: Tracer, item: Tracer, worker: Tracer) {
  const beta = logBeta.exp().gather(item); // [n]
  const a = alpha.gather(worker).mul(beta);
  return { beta, a, logSig: a.neg().softplus().neg(), logSigNeg: a.softplus().neg() };
}

/** E-step: posteriors [i, k] from α [w], b = log β [i] and the log class prior [k]. */
const gladEStepGraph = defineGraph(
  { alpha: f64(["w"]), logBeta: f64(["i"]), logPrior: f64(["k"]), item: i32(["n"]), worker: i32(["n"]), label: i32(["n"]), classes: i32(["k"]) }, ["item"],
  ({ alpha, logBeta, logPrior, item, worker, label, classes }, seg) => {
    const { logSig, logSigNeg } = labelTerms(alpha!, logBeta!, item!, worker!);
    const wrong = logSigNeg.sub(numClassesOf(classes!).sub(1).log()); // log((1 − σ)/(K − 1))
    const oh = oneHot(label!, classes!);
    const rows = oh.mul(logSig.unsqueeze([1])).add(oh.rsub(1).mul(wrong.unsqueeze([1]))); // [n, k]
    return { post: seg(rows, "item").add(logPrior!.unsqueeze([0])).softmax(-1) };
  },
);

/**
 * One M-step move: (α, b) ← (α, b) + lr · (dα, db), then at the new point the objective Q,
 * its gradient, the next direction (gradient / (diagonal Fisher + prior precision)) and
 * max |∇Q|. With lr = 0 it evaluates Q and ∇Q at (α, b).
 */
const gladMStepGraph = defineGraph(
  {
    post: f64(["i", "k"]), alpha: f64(["w"]), logBeta: f64(["i"]), dirAlpha: f64(["w"]), dirLogBeta: f64(["i"]), lr: f64([]),
    muAlpha: f64([]), muBeta: f64([]), item: i32(["n"]), worker: i32(["n"]), label: i32(["n"]), classes: i32(["k"]),
  }, ["item", "worker"],
  ({ post, alpha, logBeta, dirAlpha, dirLogBeta, lr, muAlpha, muBeta, item, worker, label, classes }, seg) => {
    const al = alpha!.add(dirAlpha!.mul(lr!)), lb = logBeta!.add(dirLogBeta!.mul(lr!));
    const { beta, a, logSig, logSigNeg } = labelTerms(al, lb, item!, worker!);
    const delta = post!.gather(item!).mul(oneHot(label!, classes!)).sum([1]); // [n]: q[i, l]
    const wrong = logSigNeg.sub(numClassesOf(classes!).sub(1).log());
    const da = al.sub(muAlpha!), db = lb.sub(muBeta!);
    const value = delta.mul(logSig).add(delta.rsub(1).mul(wrong)).sum()
      .sub(da.square().sum().mul(0.5)).sub(db.square().sum().mul(0.5));
    const sig = a.sigmoid(), r = delta.sub(sig), fisher = sig.mul(sig.rsub(1));
    const gradAlpha = seg(r.mul(beta), "worker").sub(da);
    const gradLogBeta = seg(r.mul(a), "item").sub(db);
    const hAlpha = seg(fisher.mul(beta.square()), "worker").add(1);
    const hLogBeta = seg(fisher.mul(a.square()), "item").add(1);
    const gradMax = gradAlpha.abs().max().maximum(gradLogBeta.abs().max());
    return {
      alpha: al, logBeta: lb, value, gradAlpha, gradLogBeta, gradMax,
      dirAlpha: gradAlpha.div(hAlpha), dirLogBeta: gradLogBeta.div(hLogBeta),
    };
  },
);

// ---------------------------------------------------------------------------------------

export interface GladOptions extends GraphOptions {
  /** Most EM iterations (default 100, crowd-kit's n_iter). */
  readonly maxIter?: number;
  /** Stop once no posterior changes by more than this between E-steps (default 1e-6, as DawidSkene here). */
  readonly tol?: number;
  /** Most ascent steps per M-step (default 25, crowd-kit's m_step_max_iter). */
  readonly mStepIters?: number;
  /** An M-step stops once max |∇Q| ≤ this (default 1e-2, crowd-kit's m_step_tol). */
  readonly mStepTol?: number;
  /** The first try of each Fisher-scaled step (default 1; halved until Q does not decrease). */
  readonly stepSize?: number;
  /** Prior mean of the abilities α (default 1, crowd-kit's alphas_priors_mean); unit variance. */
  readonly alphaPriorMean?: number;
  /** Prior mean of b = log β (default 1, crowd-kit's betas_priors_mean, which is on the log scale too); unit variance. */
  readonly betaPriorMean?: number;
  /** The fixed class prior p (default uniform, crowd-kit's labels_priors). */
  readonly prior?: readonly number[];
}

export interface GladResult extends CrowdResult {
  /** Per worker: the ability α_w (the M-step's before the last E-step). */
  readonly alphas: Float64Array;
  /** Per item: the inverse difficulty β_i = exp(b_i) > 0. */
  readonly betas: Float64Array;
  /** The class prior used. */
  readonly prior: Float64Array;
  /** The last M-step's objective Q (without constants). */
  readonly objective: number;
  /** EM iterations (E-steps) run. */
  readonly iterations: number;
  /** Whether the tolerance was met before maxIter. */
  readonly converged: boolean;
}

const positiveInt = (x: number, what: string): number => {
  if (!Number.isInteger(x) || x < 1) throw new LatheError(`GLAD: ${what} must be a positive integer, got ${x}`);
  return x;
};
const finite = (x: number, what: string): number => {
  if (!Number.isFinite(x)) throw new LatheError(`GLAD: ${what} must be a finite number, got ${x}`);
  return x;
};

/** Q(α, b) and its gradient for posteriors `post` [items × classes] (exposed for tests and diagnostics). */
export async function gladObjective(
  ls: LabelSet, post: Float64Array, alpha: Float64Array, logBeta: Float64Array,
  opts: { alphaPriorMean?: number; betaPriorMean?: number; segments?: SegmentStrategy } = {},
): Promise<{ value: number; gradAlpha: Float64Array; gradLogBeta: Float64Array }> {
  const t = tensorsOf(ls, opts.segments), I = ls.numItems, W = ls.numWorkers, K = ls.numClasses;
  const out = await runGraph(gladMStepGraph(t.strategy), {
    ...mInputs(t, f64Tensor(post, [I, K]), opts.alphaPriorMean ?? 1, opts.betaPriorMean ?? 1),
    alpha: f64Tensor(alpha, [W]), logBeta: f64Tensor(logBeta, [I]),
    dirAlpha: f64Tensor(new Float64Array(W), [W]), dirLogBeta: f64Tensor(new Float64Array(I), [I]), lr: scalar(0),
  });
  return { value: num(out.value!), gradAlpha: f64Data(out.gradAlpha!), gradLogBeta: f64Data(out.gradLogBeta!) };
}

function mInputs(t: LabelTensors, post: Tensor, muAlpha: number, muBeta: number): Record<string, Tensor> {
  return {
    post, muAlpha: scalar(muAlpha), muBeta: scalar(muBeta), item: t.item, worker: t.worker, label: t.label, classes: t.classes,
    ...t.seg("item"), ...t.seg("worker"),
  };
}

/** GLAD by EM (see the module comment). `fit` resolves to posteriors, abilities and difficulties. */
export class GLAD {
  readonly maxIter: number;
  readonly tol: number;
  readonly mStepIters: number;
  readonly mStepTol: number;
  readonly stepSize: number;
  readonly alphaPriorMean: number;
  readonly betaPriorMean: number;
  readonly prior: readonly number[] | undefined;
  readonly segments: SegmentStrategy | undefined;

  constructor(opts: GladOptions = {}) {
    ({ maxIter: this.maxIter, tol: this.tol } = emOptions(opts, "GLAD"));
    this.mStepIters = positiveInt(opts.mStepIters ?? 25, "mStepIters");
    this.mStepTol = opts.mStepTol ?? 1e-2;
    if (!(this.mStepTol >= 0)) throw new LatheError(`GLAD: mStepTol must be ≥ 0, got ${this.mStepTol}`);
    this.stepSize = finite(opts.stepSize ?? 1, "stepSize");
    if (!(this.stepSize > 0)) throw new LatheError(`GLAD: stepSize must be > 0, got ${this.stepSize}`);
    this.alphaPriorMean = finite(opts.alphaPriorMean ?? 1, "alphaPriorMean");
    this.betaPriorMean = finite(opts.betaPriorMean ?? 1, "betaPriorMean");
    this.prior = opts.prior;
    if (this.prior && this.prior.some((p) => !(p > 0) || !Number.isFinite(p))) throw new LatheError("GLAD: the class prior must be positive numbers");
    this.segments = opts.segments;
  }

  async fit(ls: LabelSet): Promise<GladResult> {
    const I = ls.numItems, W = ls.numWorkers, K = ls.numClasses;
    if (K < 2) throw new LatheError(`GLAD: needs at least 2 classes, the label set has ${K}`);
    if (ls.numLabels === 0) throw new LatheError("GLAD: the label set has no labels");
    if (this.prior && this.prior.length !== K) throw new LatheError(`GLAD: the class prior has ${this.prior.length} entries for ${K} classes`);
    const t = tensorsOf(ls, this.segments);
    const p = Float64Array.from(this.prior ?? Array.from({ length: K }, () => 1), (x) => x);
    const psum = p.reduce((a, b) => a + b, 0);
    const prior = p.map((x) => x / psum);
    const logPrior = f64Tensor(prior.map(Math.log), [K]);
    const mg = gladMStepGraph(t.strategy), eg = gladEStepGraph(t.strategy);

    let post = await votes(t);
    let alpha = f64Tensor(new Float64Array(W).fill(this.alphaPriorMean), [W]);
    let logBeta = f64Tensor(new Float64Array(I).fill(this.betaPriorMean), [I]);
    let prev = f64Data(post), it = 0, converged = false, objective = Number.NaN;
    while (it < this.maxIter) {
      // M-step: Fisher-scaled gradient ascent on Q from the current (α, b).
      const base = mInputs(t, post, this.alphaPriorMean, this.betaPriorMean);
      let cur = await runGraph(mg, {
        ...base, alpha, logBeta, dirAlpha: f64Tensor(new Float64Array(W), [W]), dirLogBeta: f64Tensor(new Float64Array(I), [I]), lr: scalar(0),
      });
      for (let s = 0; s < this.mStepIters && num(cur.gradMax!) > this.mStepTol; s++) {
        let lr = this.stepSize, next: Record<string, Tensor> | null = null;
        for (let h = 0; h <= 30 && !next; h++, lr /= 2) {
          const cand = await runGraph(mg, { ...base, alpha: cur.alpha!, logBeta: cur.logBeta!, dirAlpha: cur.dirAlpha!, dirLogBeta: cur.dirLogBeta!, lr: scalar(lr) });
          if (num(cand.value!) >= num(cur.value!)) next = cand;
        }
        if (!next) break; // no ascent along the direction: at a maximum up to rounding
        cur = next;
      }
      alpha = cur.alpha!; logBeta = cur.logBeta!; objective = num(cur.value!);
      // E-step.
      post = (await runGraph(eg, { alpha, logBeta, logPrior, item: t.item, worker: t.worker, label: t.label, classes: t.classes, ...t.seg("item") })).post!;
      it++;
      const q = f64Data(post);
      const done = maxAbsDiff(q, prev) <= this.tol;
      prev = q;
      if (done) { converged = true; break; }
    }
    return {
      numItems: I, numClasses: K, posteriors: prev, labels: argmaxRows(prev, I, K),
      alphas: f64Data(alpha), betas: f64Data(logBeta).map(Math.exp), prior, objective, iterations: it, converged,
    };
  }
}
