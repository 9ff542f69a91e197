/**
 * Regularisation strategies as plugins: EWC (separate and online), SI, MAS (quadratic
 * penalties on weight changes, weighted by an importance Ω per weight) and LwF
 * (distillation from the previous experience's model).
 *
 * The penalty, distillation and SI's running importance are graphs in the step
 * (terms.ts); Fisher and MAS importances are gradient graphs (program.ts
 * compileGradients). Consolidating importances once per experience (averages, sums) is
 * done in JS over the weights' arrays.
 */
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import { MASKED } from "./model.ts";
import type { Batch } from "../../train/feed.ts";
import type { ContinualMlp } from "./model.ts";
import type { TermContext } from "./program.ts";
import { compileGradientSum, rowCrossEntropy } from "./program.ts";
import type { Experience } from "./scenarios.ts";
import type { Plugin, Strategy } from "./strategy.ts";
import { distillation, quadraticPenalty, siTracker } from "./terms.ts";

const data = (t: Tensor): Float32Array => t.data as Float32Array;
const like = (ts: readonly Tensor[], fill = 0): Float32Array[] => ts.map((t) => new Float32Array(t.size).fill(fill));

/** What the quadratic-penalty plugins expose: Ω and θ̄ per weight. */
export interface QuadraticLike {
  penalty(): { omega: Float32Array[]; anchor: Float32Array[] } | null;
}

/** Shared by EWC, SI and MAS: Ω, θ̄ and λ fed to the quadratic penalty. */
abstract class QuadraticPlugin implements Plugin, QuadraticLike {
  abstract readonly name: string;
  protected omega: Float32Array[] | null = null;
  protected anchor: Float32Array[] | null = null;
  private fed: Record<string, Tensor> | null = null;
  constructor(readonly lambda: number) {
    if (!(lambda >= 0)) throw new LatheError(`continual: λ must be ≥ 0, got ${lambda}`);
  }
  graph(s: Strategy) { return quadraticPenalty(s.model, this.name); }

  /** The current Ω and θ̄ (null before the first experience ends). */
  penalty(): { omega: Float32Array[]; anchor: Float32Array[] } | null {
    return this.omega && this.anchor ? { omega: this.omega, anchor: this.anchor } : null;
  }

  /** Sets Ω and θ̄ (the penalty's inputs from now on). */
  protected setPenalty(omega: Float32Array[], anchor: Float32Array[]): void {
    this.omega = omega;
    this.anchor = anchor;
    this.fed = null;
  }

  inputs(s: Strategy): Record<string, Tensor> {
    if (!this.fed) {
      const ps = s.model.params, om = this.omega ?? like(ps.map((p) => p.value)), an = this.anchor ?? like(ps.map((p) => p.value));
      this.fed = { [`${this.name}.lambda`]: Tensor.fromArray([this.lambda], [], "f32") };
      ps.forEach((p, k) => {
        this.fed![`${this.name}.omega.${k}`] = new Tensor(om[k]!, p.shape, "f32");
        this.fed![`${this.name}.anchor.${k}`] = new Tensor(an[k]!, p.shape, "f32");
      });
    }
    return this.fed;
  }

  state(): unknown { return { omega: this.omega, anchor: this.anchor }; }
  load(_s: Strategy, st: unknown): void {
    const v = st as { omega: Float32Array[] | null; anchor: Float32Array[] | null };
    this.omega = v.omega;
    this.anchor = v.anchor;
    this.fed = null;
  }
}

/** A gradient-sum graph compiled once per model (not once per experience). */
class GradientSum {
  private built: { model: ContinualMlp; fn: Promise<(batches: Iterable<Batch>) => Tensor[]> } | null = null;
  constructor(private readonly loss: (c: TermContext) => Tracer, private readonly post: (g: Tracer) => Tracer) {}
  of(s: Strategy): Promise<(batches: Iterable<Batch>) => Tensor[]> {
    if (this.built?.model !== s.model) this.built = { model: s.model, fn: compileGradientSum(s.model, this.loss, { post: this.post, exec: s.exec }) };
    return this.built.fn;
  }
}

/**
 * EWC's Fisher is estimated on this many examples of an experience by default (evenly
 * strided rows), not all of them: a pass over the whole experience costs about one more
 * training epoch, doubling the time of the usual 1-epoch protocol (GEM's EWC baseline
 * likewise estimates it on its episodic memory of 256 examples per task). On
 * Permuted-Fashion-MNIST (60,000 per experience) EWC reaches 0.776 with it and 0.784 with
 * every example, Naive 0.654. "all" uses every example, as Avalanche does.
 */
export const EWC_FISHER_SAMPLES = 1024;

function checkSampleSize(limit: number | "all"): void {
  if (limit !== "all" && (!Number.isSafeInteger(limit) || limit < 1)) throw new LatheError(`continual: the Fisher's sample size must be a positive integer or "all", got ${limit}`);
}

/** The rows importance() reads: every row, or `limit` evenly strided ones (row ⌊i·n/limit⌋). */
export function importanceRows(n: number, limit: number | "all"): number[] {
  checkSampleSize(limit);
  const m = limit === "all" ? n : Math.min(limit, n);
  return Array.from({ length: m }, (_, i) => Math.floor((i * n) / m));
}

/**
 * Mean over minibatches of `post`(d loss_batch / dθ) on an experience's data, or on
 * `limit` evenly strided rows of it (the importance of EWC and MAS).
 */
async function importance(s: Strategy, exp: Experience, sum: (batches: Iterable<Batch>) => Tensor[], batchSize: number, limit: number | "all" = "all"): Promise<Float32Array[]> {
  const F = s.model.features, n0 = exp.y.size, pick = importanceRows(n0, limit);
  const all = pick.length === n0;
  const x = all ? exp.x.data as Float32Array : new Float32Array(pick.length * F), y = all ? exp.y.data as Int32Array : new Int32Array(pick.length);
  if (!all) {
    const x0 = exp.x.data as Float32Array, y0 = exp.y.data as Int32Array;
    pick.forEach((r, i) => { x.set(x0.subarray(r * F, (r + 1) * F), i * F); y[i] = y0[r]!; });
  }
  const n = pick.length;
  function* batches(): Generator<Batch> {
    for (let i = 0; i < n; i += batchSize) {
      const m = Math.min(batchSize, n - i);
      yield {
        x: new Tensor(x.subarray(i * F, (i + m) * F), [m, F], "f32"), y: new Tensor(y.subarray(i, i + m), [m], "i32"),
        w: Tensor.fromArray(new Array(m).fill(1 / m), [m], "f32"), mask: s.maskFor(new Array(m).fill(s.allowedFor(exp.task))),
      };
    }
  }
  const batchCount = Math.max(Math.ceil(n / batchSize), 1);
  return sum(batches()).map((t) => data(t).map((v) => v / batchCount));
}

const meanCrossEntropy = (c: TermContext): Tracer => rowCrossEntropy(c.logits, c.inputs.mask!, c.inputs.y!, c.model.classes).mul(c.inputs.w!).sum();

/**
 * EWC: after each experience, the empirical Fisher F = mean over minibatches of the
 * squared gradient of the minibatch's mean loss (batch size 1: the per-example empirical
 * Fisher), on `fisherSamples` strided examples of the experience. "separate": the
 * penalty sums every experience's λ F_e (θ − θ_e)²; "online":
 * F ← γ F + F_new and the anchor is the last experience's weights.
 */
export class EwcPlugin extends QuadraticPlugin {
  readonly name: string;
  private readonly fisher = new GradientSum(meanCrossEntropy, (g) => g.square());
  readonly mode: "separate" | "online";
  readonly decay: number;
  readonly fisherBatch: number;
  readonly fisherSamples: number | "all";
  constructor(lambda: number, o: { mode?: "separate" | "online"; decay?: number; fisherBatch?: number; fisherSamples?: number | "all" } = {}) {
    super(lambda);
    this.mode = o.mode ?? "separate";
    this.decay = o.decay ?? 1;
    this.fisherBatch = o.fisherBatch ?? 64;
    this.fisherSamples = o.fisherSamples ?? EWC_FISHER_SAMPLES;
    checkSampleSize(this.fisherSamples);
    this.name = this.mode === "online" ? "ewc_online" : "ewc";
  }
  async afterTrainingExp(s: Strategy, exp: Experience): Promise<void> {
    const F = await importance(s, exp, await this.fisher.of(s), this.fisherBatch, this.fisherSamples);
    const theta = s.model.params.map((p) => data(p.value));
    if (this.mode === "online" || !this.omega) {
      const om = F.map((f, k) => f.map((v, j) => (this.omega ? this.decay * this.omega[k]![j]! : 0) + v));
      this.setPenalty(om, theta.map((t) => t.slice()));
      return;
    }
    // Σ_e F_e (θ − θ_e)² = A (θ − B / A)² + const with A = Σ F_e, B = Σ F_e θ_e.
    const om = this.omega.map((o, k) => o.map((v, j) => v + F[k]![j]!));
    const an = om.map((a, k) => a.map((v, j) => (v > 0 ? (this.omega![k]![j]! * this.anchor![k]![j]! + F[k]![j]! * theta[k]![j]!) / v : theta[k]![j]!)));
    this.setPenalty(om, an);
  }
}

/**
 * MAS: importance = mean over minibatches of |d mean_i ‖f(x_i)‖² / dθ| (the squared L2
 * norm of the logits, no labels), blended Ω ← α Ω + (1 − α) Ω_new after the first experience.
 */
export class MasPlugin extends QuadraticPlugin {
  readonly name = "mas";
  private readonly sensitivity = new GradientSum((c) => c.logits.square().sum([1]).mean(), (g) => g.abs());
  constructor(lambda: number, readonly alpha = 0.5, readonly batchSize = 64) { super(lambda); }
  async afterTrainingExp(s: Strategy, exp: Experience): Promise<void> {
    const imp = await importance(s, exp, await this.sensitivity.of(s), this.batchSize);
    const om = this.omega ? this.omega.map((o, k) => o.map((v, j) => this.alpha * v + (1 - this.alpha) * imp[k]![j]!)) : imp;
    this.setPenalty(om, s.model.params.map((p) => data(p.value).slice()));
  }
}

/**
 * SI: during an experience the step graph accumulates ω = Σ −g·Δθ per weight; after it,
 * Ω += ω / ((θ_end − θ_start)² + ξ) and the anchor becomes θ_end.
 */
export class SiPlugin extends QuadraticPlugin {
  readonly name = "si";
  private start: Float32Array[] | null = null;
  constructor(lambda: number, readonly xi = 0.1) { super(lambda); }
  override graph(s: Strategy) { return { ...quadraticPenalty(s.model, this.name), trackers: [siTracker] }; }
  async beforeTrainingExp(s: Strategy): Promise<void> {
    this.start = s.model.params.map((p) => data(p.value).slice());
    const step = await s.trainStep();
    step.setTracker(siTracker.name, s.model.params.map((p) => Tensor.zeros(p.shape, "f32")));
  }
  async afterTrainingExp(s: Strategy): Promise<void> {
    const w = (await s.trainStep()).tracker(siTracker.name).map(data);
    const theta = s.model.params.map((p) => data(p.value));
    const om = theta.map((t, k) => t.map((v, j) => (this.omega ? this.omega[k]![j]! : 0) + w[k]![j]! / ((v - this.start![k]![j]!) ** 2 + this.xi)));
    this.setPenalty(om, theta.map((t) => t.slice()));
  }
}

/**
 * LwF: after each experience the model is kept; on later minibatches its logits feed the
 * distillation term α · KL at temperature T over the classes it had seen.
 */
export class LwfPlugin implements Plugin {
  readonly name = "lwf";
  private old: Tensor[] | null = null;
  private oldClasses: number[] = [];
  constructor(readonly alpha = 1, readonly temperature = 2) {}
  graph(s: Strategy) { return distillation(s.model, this.temperature); }
  afterTrainingExp(s: Strategy): void {
    this.old = s.model.snapshot();
    this.oldClasses = [...s.seenClasses];
  }
  async inputs(s: Strategy, rows: { x: Float32Array[] }): Promise<Record<string, Tensor>> {
    const K = s.model.classes, n = rows.x.length, F = s.model.features;
    if (!this.old) {
      return { "lwf.z": Tensor.zeros([n, K], "f32"), "lwf.mask": Tensor.zeros([K], "f32"), "lwf.alpha": Tensor.fromArray([0], [], "f32") };
    }
    const x = new Float32Array(n * F);
    rows.x.forEach((r, i) => x.set(r, i * F));
    const z = await s.model.with(this.old, () => s.logits(new Tensor(x, [n, F], "f32"), Tensor.zeros([n, K], "f32")));
    const mask = new Float32Array(K).fill(MASKED);
    for (const c of this.oldClasses) mask[c] = 0;
    return { "lwf.z": z, "lwf.mask": new Tensor(mask, [K], "f32"), "lwf.alpha": Tensor.fromArray([this.alpha], [], "f32") };
  }
  state(): unknown { return { old: this.old?.map(data) ?? null, oldClasses: this.oldClasses }; }
  load(s: Strategy, raw: unknown): void {
    const st = raw as { old: Float32Array[] | null; oldClasses: number[] };
    this.old = st.old ? st.old.map((a, k) => new Tensor(a, s.model.params[k]!.shape, "f32")) : null;
    this.oldClasses = st.oldClasses;
  }
}

