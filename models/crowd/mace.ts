/**
 * MACE — Multi-Annotator Competence Estimation (Hovy, Berg-Kirkpatrick, Vaswani & Hovy,
 * NAACL 2013), with crowd-kit's defaults.
 *
 * Model: the truth T_i is uniform over the K classes. On each label worker w spams with
 * probability 1 − θ_w (S = 1) and then answers from its own strategy ξ_w (a distribution over
 * classes); otherwise (S = 0) it gives the truth. So for label n = (i, w, l):
 *
 *   P(l | T_i = c) = (1 − θ_w) ξ_w[l] + θ_w [l = c]
 *
 * Inference (per EM iteration; the spam/know weights s_w = (s_w⁰, s_w¹) stand for (1 − θ_w, θ_w)):
 *   E:  gold[i, c] = (1/K) Π over labels n of i of m_n[c],  m_n[c] = s_w⁰ ξ_w[l] + s_w¹ [l = c]
 *       q[i, c] = gold[i, c] / Σ_c gold[i, c];   log-likelihood L = Σ_i log Σ_c gold[i, c]
 *       expected spam of label n: e_n = Σ_c q[i, c] s_w⁰ ξ_w[l] / m_n[c]; expected knowing: 1 − e_n
 *       (= q[i, l] s_w¹ / (s_w⁰ ξ_w[l] + s_w¹)); counts per worker: spam Σ e_n, know Σ (1 − e_n),
 *       strategy[w, l] = Σ over w's labels saying l of e_n
 *   M, method "vb" (crowd-kit's default: variational Bayes with a Beta(α, β) prior on
 *       (spam, know) and a symmetric Dirichlet(strategyPrior) prior on ξ_w):
 *         s_w⁰ = exp(ψ(spam + α) − ψ(spam + know + α + β)),  s_w¹ = exp(ψ(know + β) − ψ(spam + know + α + β)),
 *         ξ_w[l] = exp(ψ(strategy[w, l] + γ) − ψ(Σ_l strategy[w, l] + K γ))      (ψ: digamma; these need not sum to 1)
 *   M, method "em": the same counts plus `smoothing`, normalised.
 *
 * Per restart: draw a start (every weight U(1, 1 + initSpread), rows normalised; from a
 * seeded generator), then E, M, E, M, …, E — `maxIter` M-steps at most, stopping once no
 * posterior changes by more than `tol` between E-steps. Of `restarts` runs, the one with the
 * highest final L wins; its last E-step gives the posteriors. Every E+M step is one
 * compiled Lathe graph over the label triples (segment sums by item and worker; symbolic
 * sizes; f64), traced once per process and segment strategy.
 *
 * crowd-kit differences (deliberate): crowd-kit's restarts all reuse random_state, so its
 * 10 restarts start from the same point; here each restart draws a new start. crowd-kit
 * runs all n_iter iterations; here `tol` may stop earlier. crowd-kit adds 1e-8 inside the
 * log of L; here L is exact (it only ranks restarts). crowd-kit's `smoothing` option is
 * unused — its EM M-step smooths with 0.01/K, which is this `smoothing`'s default.
 */
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/index.ts";
import type { CrowdResult, GraphOptions } from "./aggregators.ts";
import { emOptions } from "./aggregators.ts";
import { defineGraph, f64, i32, num, numClassesOf, oneHot, runGraph } from "./graphs.ts";
import { argmaxRows, f64Data, f64Tensor, maxAbsDiff, scalar, tensorsOf } from "./graphs.ts";
import type { SegmentStrategy } from "./graphs.ts";
import type { LabelSet } from "./labels.ts";

/**
 * Digamma ψ(x) for x > 0 in the graph: the recurrence ψ(x) = ψ(x + 6) − Σ_{j<6} 1/(x + j),
 * then the asymptotic series at y = x + 6 ≥ 6 (Bernoulli terms to y⁻¹⁰; error < 1e-11).
 */
export function digamma(x: Tracer): Tracer {
  let shift = x.rdiv(1);
  for (let j = 1; j < 6; j++) shift = shift.add(x.add(j).rdiv(1));
  const y = x.add(6), r2 = y.square().rdiv(1);
  // ln y − 1/(2y) − r2 (1/12 − r2 (1/120 − r2 (1/252 − r2 (1/240 − r2/132))))
  const tail = r2.mul(r2.mul(r2.mul(r2.mul(-1 / 132).add(1 / 240)).rsub(1 / 252)).rsub(1 / 120)).rsub(1 / 12);
  return y.log().sub(y.mul(2).rdiv(1)).sub(r2.mul(tail)).sub(shift);
}

/** exp(ψ(a) − ψ(b)) */
const expDigammaRatio = (a: Tracer, b: Tracer): Tracer => digamma(a).sub(digamma(b)).exp();

/**
 * One MACE iteration: the E-step at the weights (spam [w], know [w], xi [w, k]) — posteriors,
 * log-likelihood — and the M-step from its expected counts (`vb` > 0: variational, else
 * smoothed EM) — the next weights.
 */
const maceStepGraph = defineGraph(
  {
    spam: f64(["w"]), know: f64(["w"]), xi: f64(["w", "k"]), vb: f64([]), smoothing: f64([]),
    alpha: f64([]), beta: f64([]), strategyPrior: f64([]),
    item: i32(["n"]), worker: i32(["n"]), label: i32(["n"]), classes: i32(["k"]),
  }, ["item", "worker"],
  ({ spam, know, xi, vb, smoothing, alpha, beta, strategyPrior, item, worker, label, classes }, seg) => {
    const oh = oneHot(label!, classes!); // [n, k]
    const K = numClassesOf(classes!);
    const sw = spam!.gather(worker!), kw = know!.gather(worker!); // [n]
    const spamMass = sw.mul(xi!.gather(worker!).mul(oh).sum([1])); // s⁰ ξ_w[l], [n]
    const m = spamMass.unsqueeze([1]).add(kw.unsqueeze([1]).mul(oh)); // [n, c]
    const logGold = seg(m.log(), "item").sub(K.log()); // [i, c]
    const lse = logGold.logsumexp([1], true);
    const post = logGold.sub(lse).exp();
    const spamN = post.gather(item!).mul(spamMass.unsqueeze([1]).div(m)).sum([1]); // e_n
    const spamCount = seg(spamN, "worker"), knowCount = seg(spamN.rsub(1), "worker");
    const strategy = seg(oh.mul(spamN.unsqueeze([1])), "worker"); // [w, k]
    const total = spamCount.add(knowCount), stratTotal = strategy.sum([1], true);
    // Variational M-step.
    const ab = total.add(alpha!).add(beta!);
    const vbSpam = expDigammaRatio(spamCount.add(alpha!), ab), vbKnow = expDigammaRatio(knowCount.add(beta!), ab);
    const vbXi = expDigammaRatio(strategy.add(strategyPrior!), stratTotal.add(K.mul(strategyPrior!)));
    // Smoothed EM M-step.
    const s2 = total.add(smoothing!.mul(2));
    const emSpam = spamCount.add(smoothing!).div(s2), emKnow = knowCount.add(smoothing!).div(s2);
    const emXi = strategy.add(smoothing!).div(stratTotal.add(K.mul(smoothing!)));
    const useVb = vb!.greater(0);
    return {
      post, logLik: lse.sum(),
      spam: lt.where(useVb, vbSpam, emSpam), know: lt.where(useVb, vbKnow, emKnow), xi: lt.where(useVb, vbXi, emXi),
    };
  },
);

// ---------------------------------------------------------------------------------------

export type MaceMethod = "vb" | "em";

export interface MaceOptions extends GraphOptions {
  /** "vb" (default, crowd-kit's: variational Bayes with priors) or "em" (smoothed maximum likelihood). */
  readonly method?: MaceMethod;
  /** Most M-steps per restart (default 50, crowd-kit's n_iter). */
  readonly maxIter?: number;
  /** Stop a restart once no posterior changes by more than this between E-steps (default 1e-6; crowd-kit has none). */
  readonly tol?: number;
  /** Random starts; the best final log-likelihood wins (default 10, crowd-kit's n_restarts). */
  readonly restarts?: number;
  /** Seed of the starts (default 0, crowd-kit's random_state). */
  readonly seed?: number;
  /** Start weights are drawn U(1, 1 + initSpread) then normalised (default 1.5: crowd-kit's default_noise 0.5 gives SciPy's uniform(loc=1, scale=1.5)). */
  readonly initSpread?: number;
  /** Beta prior parameter on the spam weight 1 − θ (default 0.5, crowd-kit's alpha); "vb" only. */
  readonly alpha?: number;
  /** Beta prior parameter on the knowing weight θ (default 0.5, crowd-kit's beta); "vb" only. */
  readonly beta?: number;
  /** Symmetric Dirichlet parameter on each strategy ξ_w (default 10, crowd-kit's fixed strategy prior); "vb" only. */
  readonly strategyPrior?: number;
  /** Added to the expected counts before normalising, "em" only (default 0.01 / K, what crowd-kit and the MACE tool use). */
  readonly smoothing?: number;
}

/** A start: θ_w ∈ (0, 1) per worker and ξ_w (positive, rows normalised) as workers × classes. */
export interface MaceStart {
  readonly theta: ArrayLike<number>;
  readonly strategy: ArrayLike<number>;
}

export interface MaceResult extends CrowdResult {
  /** Per worker: competence θ_w = P(not spamming), from the final weights (s¹ / (s⁰ + s¹)). */
  readonly competence: Float64Array;
  /** workers × classes: each worker's spamming strategy ξ_w (the final weights, rows normalised). */
  readonly strategy: Float64Array;
  /** The winning restart's final log marginal likelihood Σ_i log Σ_c gold[i, c]. */
  readonly logLikelihood: number;
  /** M-steps run in the winning restart. */
  readonly iterations: number;
  /** Whether the winning restart met the tolerance before maxIter. */
  readonly converged: boolean;
  /** Which restart won (0-based). */
  readonly restart: number;
}

const positive = (x: number, what: string): number => {
  if (!(x > 0) || !Number.isFinite(x)) throw new LatheError(`MACE: ${what} must be a finite number > 0, got ${x}`);
  return x;
};

/** MACE (see the module comment). `fit(ls)` runs the restarts; `fit(ls, start)` runs once from `start`. */
export class MACE {
  readonly method: MaceMethod;
  readonly maxIter: number;
  readonly tol: number;
  readonly restarts: number;
  readonly seed: number;
  readonly initSpread: number;
  readonly alpha: number;
  readonly beta: number;
  readonly strategyPrior: number;
  readonly smoothing: number | undefined;
  readonly segments: SegmentStrategy | undefined;

  constructor(opts: MaceOptions = {}) {
    this.method = opts.method ?? "vb";
    if (this.method !== "vb" && this.method !== "em") throw new LatheError(`MACE: method must be "vb" or "em", got "${String(this.method)}"`);
    ({ maxIter: this.maxIter, tol: this.tol } = emOptions({ maxIter: opts.maxIter ?? 50, tol: opts.tol ?? 1e-6 }, "MACE"));
    this.restarts = opts.restarts ?? 10;
    if (!Number.isInteger(this.restarts) || this.restarts < 1) throw new LatheError(`MACE: restarts must be a positive integer, got ${this.restarts}`);
    this.seed = opts.seed ?? 0;
    this.initSpread = positive(opts.initSpread ?? 1.5, "initSpread");
    this.alpha = positive(opts.alpha ?? 0.5, "alpha");
    this.beta = positive(opts.beta ?? 0.5, "beta");
    this.strategyPrior = positive(opts.strategyPrior ?? 10, "strategyPrior");
    this.smoothing = opts.smoothing === undefined ? undefined : positive(opts.smoothing, "smoothing");
    this.segments = opts.segments;
  }

  /** The seeded starts `fit` uses for a crowd of W workers and K classes, in restart order. */
  starts(W: number, K: number): MaceStart[] {
    const rng = new Rng(this.seed), draw = () => rng.uniform(1, 1 + this.initSpread);
    return Array.from({ length: this.restarts }, () => {
      const theta = new Float64Array(W), strategy = new Float64Array(W * K);
      for (let w = 0; w < W; w++) {
        const s = draw(), k = draw();
        theta[w] = k / (s + k);
      }
      for (let w = 0; w < W; w++) {
        const row = Array.from({ length: K }, draw), sum = row.reduce((a, b) => a + b, 0);
        row.forEach((x, l) => { strategy[w * K + l] = x / sum; });
      }
      return { theta, strategy };
    });
  }

  async fit(ls: LabelSet, start?: MaceStart): Promise<MaceResult> {
    const I = ls.numItems, W = ls.numWorkers, K = ls.numClasses;
    if (K < 2) throw new LatheError(`MACE: needs at least 2 classes, the label set has ${K}`);
    if (ls.numLabels === 0) throw new LatheError("MACE: the label set has no labels");
    const t = tensorsOf(ls, this.segments), g = maceStepGraph(t.strategy);
    const fixed: Record<string, Tensor> = {
      vb: scalar(this.method === "vb" ? 1 : 0), smoothing: scalar(this.smoothing ?? 0.01 / K),
      alpha: scalar(this.alpha), beta: scalar(this.beta), strategyPrior: scalar(this.strategyPrior),
      item: t.item, worker: t.worker, label: t.label, classes: t.classes, ...t.seg("item"), ...t.seg("worker"),
    };
    const starts = start ? [checkStart(start, W, K)] : this.starts(W, K);
    let best: MaceResult | null = null;
    for (let r = 0; r < starts.length; r++) {
      const s0 = starts[r]!;
      let w: Record<string, Tensor> = {
        spam: f64Tensor(Float64Array.from(s0.theta, (x) => 1 - x), [W]), know: f64Tensor(s0.theta, [W]), xi: f64Tensor(s0.strategy, [W, K]),
      };
      let prev: Float64Array | null = null, it = 0, converged = false;
      let out = await runGraph(g, { ...fixed, ...w });
      for (;;) {
        const q = f64Data(out.post!);
        if (prev && maxAbsDiff(q, prev) <= this.tol) { converged = true; break; }
        if (it === this.maxIter) break;
        prev = q;
        w = { spam: out.spam!, know: out.know!, xi: out.xi! };
        it++;
        out = await runGraph(g, { ...fixed, ...w });
      }
      const logLikelihood = num(out.logLik!);
      if (best && !(logLikelihood > best.logLikelihood)) continue;
      const post = f64Data(out.post!), spam = f64Data(w.spam!), know = f64Data(w.know!), xi = f64Data(w.xi!);
      for (let v = 0; v < W; v++) {
        let sum = 0;
        for (let l = 0; l < K; l++) sum += xi[v * K + l]!;
        for (let l = 0; l < K; l++) xi[v * K + l]! /= sum;
      }
      best = {
        numItems: I, numClasses: K, posteriors: post, labels: argmaxRows(post, I, K),
        competence: know.map((k, v) => k / (k + spam[v]!)), strategy: xi, logLikelihood, iterations: it, converged, restart: r,
      };
    }
    return best!;
  }
}

function checkStart(s: MaceStart, W: number, K: number): MaceStart {
  if (s.theta.length !== W || s.strategy.length !== W * K) throw new LatheError(`MACE: a start needs ${W} θ and ${W}×${K} strategy entries, got ${s.theta.length} and ${s.strategy.length}`);
  for (let w = 0; w < W; w++) if (!(s.theta[w]! > 0 && s.theta[w]! < 1)) throw new LatheError(`MACE: start θ of worker ${w} must be in (0, 1), got ${s.theta[w]}`);
  for (let k = 0; k < W * K; k++) if (!(s.strategy[k]! > 0) || !Number.isFinite(s.strategy[k]!)) throw new LatheError("MACE: start strategies must be positive");
  return s;
}
