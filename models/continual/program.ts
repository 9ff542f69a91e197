/**
 * The compiled graphs a continual strategy runs. Each is traced once per strategy and
 * model shape (the batch dim is symbolic) and compiled once; weights, optimizer slots,
 * penalty anchors and importance accumulators stay in runtime tensors between calls.
 *
 * - `TrainStep`: forward, the loss (the base cross-entropy plus every plugin's terms),
 *   backward by the autodiff pass, the plugins' gradient transforms (A-GEM's and GEM's
 *   projections), the optimizer's update and the plugins' trackers (SI's path integral),
 *   all in one graph. The base loss is Σ_i w_i · CE(logits_i + mask_i, y_i): per-row weights
 *   (1/n for a plain mean; ER-ACE weighs incoming and replayed rows apart) and additive
 *   logit masks (task heads, ER-ACE's asymmetric loss).
 * - `compileGradients`: d loss / d weights for a loss of the model (EWC's Fisher, MAS's
 *   importance, GEM's and A-GEM's reference gradients), optionally post-processed in-graph;
 *   `compileGradientSum` sums them over batches in-graph (EWC's Fisher, MAS's importance).
 * - `compileLogits` / `compileEmbed`: inference.
 */
import { LatheError } from "../../core/errors.ts";
import type { Graph, Value } from "../../compiler/graph/graph.ts";
import { autodiff } from "../../compiler/graph/passes/autodiff.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Executable, ExecOptions } from "../../train/executable.ts";
import { compileExecutable } from "../../train/executable.ts";
import type { Batch, InputSpec } from "../../train/feed.ts";
import { feeder } from "../../train/feed.ts";
import { lt, Tracer, withTrace } from "../../train/lt.ts";
import type { Optimizer } from "../../train/optim/optimizer.ts";
import { RecyclingRunner } from "../../train/recycle.ts";
import { checkLoss, traceInputs } from "../../train/step.ts";
import { Trace } from "../../train/trace.ts";
import type { ContinualMlp } from "./model.ts";

export type Specs = Readonly<Record<string, InputSpec>>;

/** The inputs every step takes: rows x, labels y, row weights w and additive logit masks. */
export function baseSpecs(m: ContinualMlp): Specs {
  return { x: { shape: ["n", m.features] }, y: { shape: ["n"], dtype: "i32" }, w: { shape: ["n"] }, mask: { shape: ["n", m.classes] } };
}

export interface TermContext {
  readonly inputs: Readonly<Record<string, Tracer>>;
  /** Unmasked logits [n, classes]. */
  readonly logits: Tracer;
  /** The weight tracers, in model.params order. */
  readonly weights: readonly Tracer[];
  readonly model: ContinualMlp;
}

/** A per-parameter state tensor updated after every step from the weights before/after and the gradient. */
export interface Tracker {
  readonly name: string;
  update(c: { readonly before: Tracer; readonly after: Tracer; readonly grad: Tracer; readonly state: Tracer }): Tracer;
}

/** What a plugin adds to the step graph. Input names must be unique (prefix them with the plugin's name). */
export interface GraphTerms {
  readonly inputs?: Specs;
  /** A scalar added to the loss. */
  loss?(c: TermContext): Tracer;
  /**
   * Closed-form gradients (one per weight, null for none) of a term whose `loss` reports
   * its value through stopGradient: added to autodiff's before any `grads` transform. A
   * penalty written so costs one fused reduction for its value and an epilogue for its
   * gradient, instead of materialising its intermediates for the backward pass.
   */
  addGrads?(c: TermContext): (Tracer | null)[];
  /** Replaces the gradients (one per weight) before the update. */
  grads?(g: readonly Tracer[], c: TermContext): Tracer[];
  readonly trackers?: readonly Tracker[];
}

/** Per-row cross-entropy of masked logits: −log softmax(z + mask)[y]. */
export function rowCrossEntropy(logits: Tracer, mask: Tracer, y: Tracer, classes: number): Tracer {
  return y.oneHot(classes).cast("f32").mul(logits.add(mask).logSoftmax(-1)).sum([1]).neg();
}

/** One input tensor per weight, shaped like it: `${prefix}.${k}`. */
export const perWeightSpecs = (m: ContinualMlp, prefix: string, lead: readonly (string | number)[] = []): Specs =>
  Object.fromEntries(m.params.map((p, k) => [`${prefix}.${k}`, { shape: [...lead, ...p.shape] }]));

export const perWeightInputs = (c: TermContext, prefix: string): Tracer[] => c.model.params.map((_, k) => c.inputs[`${prefix}.${k}`]!);

export const zerosLike = (ts: readonly Tensor[]): Tensor[] => ts.map((t) => Tensor.zeros(t.shape, t.dtype));

/** Traces the model's forward pass and `body` with weights read as parameters. */
function traceModel(m: ContinualMlp, specs: Specs, training: boolean, body: (c: TermContext) => Tracer | Tracer[]) {
  const t = new Trace({ training });
  const inputs = traceInputs(t, specs);
  const out = withTrace(t, () => {
    const weights = m.params.map((p) => lt.param(p));
    const c: TermContext = { inputs, logits: m.logits(inputs.x!, weights), weights, model: m };
    return { c, out: body(c) };
  });
  return { t, ...out };
}

/**
 * The compiled step and the state it carries. Its outputs are written into recycled
 * buffers (train/recycle.ts): the weights (`p.value`), slots and tracker states a step
 * returns are overwritten two steps later, so copy what must outlive that (snapshot()).
 */
export class TrainStep {
  private slots: Tensor[][];
  private readonly runner: RecyclingRunner;
  private tracked: Map<string, Tensor[]>;
  private steps = 0;

  private constructor(
    private readonly m: ContinualMlp, private readonly optimizer: Optimizer, exe: Executable, graph: Graph,
    private readonly feed: (b: Batch, step: number) => Tensor[], private readonly trackerNames: readonly string[],
    readonly inputNames: readonly string[],
  ) {
    this.runner = new RecyclingRunner(exe, graph);
    this.slots = m.params.map((p) => optimizer.slots.map(() => Tensor.zeros(p.shape, "f32")));
    this.tracked = new Map(trackerNames.map((n) => [n, zerosLike(m.params.map((p) => p.value))]));
  }

  static async create(m: ContinualMlp, terms: readonly GraphTerms[], optimizer: Optimizer, exec: ExecOptions = {}): Promise<TrainStep> {
    const specs: Record<string, InputSpec> = { ...baseSpecs(m) };
    for (const g of terms) {
      for (const [k, s] of Object.entries(g.inputs ?? {})) {
        if (Object.hasOwn(specs, k)) throw new LatheError(`continual: two plugins take a step input named ${k}`);
        specs[k] = s;
      }
    }
    const trackers = terms.flatMap((g) => g.trackers ?? []);
    const { t: fwd, c, out } = traceModel(m, specs, true, (c) => {
      const { y, w, mask } = c.inputs;
      let loss = rowCrossEntropy(c.logits, mask!, y!, m.classes).mul(w!).sum();
      for (const g of terms) if (g.loss) loss = loss.add(g.loss(c));
      return loss;
    });
    const loss = checkLoss(fwd, out, "continual step");
    const pv = m.params.map((p) => fwd.params.get(p)!);
    const { graph: withGrads, grads } = autodiff(fwd.graph([loss.value]), loss.value, pv);

    const t = Trace.extend(fwd, withGrads);
    const extra = new Map<Value, () => Tensor>();
    let self: TrainStep | null = null;
    const lrIn = t.b.input("lr", [], "f32");
    extra.set(lrIn, () => Tensor.fromArray([optimizer.lr], [], "f32"));
    const outs = withTrace(t, () => {
      const ctx: TermContext = { ...c, inputs: Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, new Tracer(t, v.value)])), logits: new Tracer(t, c.logits.value), weights: pv.map((v) => new Tracer(t, v)) };
      let g = grads.map((v) => new Tracer(t, v));
      for (const term of terms) {
        const extra = term.addGrads?.(ctx);
        if (extra) g = g.map((gk, k) => (extra[k] ? gk.add(extra[k]) : gk));
      }
      for (const term of terms) if (term.grads) g = term.grads(g, ctx);
      const lr = new Tracer(t, lrIn);
      const newParams: Value[] = [], newSlots: Value[] = [], newTracked: Value[] = [];
      const count = new Tracer(t, t.step()).cast("f32").add(1);
      m.params.forEach((p, k) => {
        const state = optimizer.slots.map((s, j) => {
          const v = t.b.input(`${p.name}.${s}`, p.shape, "f32");
          extra.set(v, () => self!.slots[k]![j]!);
          return new Tracer(t, v);
        });
        const before = ctx.weights[k]!;
        const up = optimizer.update({ lr, t: count }, before, g[k]!, state);
        newParams.push(up.param.value);
        newSlots.push(...up.state.map((s) => s.value));
        for (const tr of trackers) {
          const v = t.b.input(`${p.name}.${tr.name}`, p.shape, "f32");
          extra.set(v, () => self!.tracked.get(tr.name)![k]!);
          newTracked.push(tr.update({ before, after: up.param, grad: g[k]!, state: new Tracer(t, v) }).value);
        }
      });
      return [...newParams, ...newSlots, ...newTracked];
    });
    const graph = t.graph([loss.value, ...outs]);
    const exe = await compileExecutable(graph, exec);
    self = new TrainStep(m, optimizer, exe, graph, feeder(graph, t, extra), trackers.map((tr) => tr.name), Object.keys(specs));
    return self;
  }

  /** One step on `batch` (every input by name); returns the loss before the update. */
  run(batch: Batch): number {
    const outs = this.runner.run(this.feed(batch, this.steps));
    const P = this.m.params.length, S = this.optimizer.slots.length;
    let k = 1;
    for (const p of this.m.params) p.value = outs[k++]!;
    for (let i = 0; i < P; i++) this.slots[i] = Array.from({ length: S }, () => outs[k++]!);
    const fresh = new Map<string, Tensor[]>(this.trackerNames.map((n) => [n, []]));
    for (let i = 0; i < P; i++) for (const n of this.trackerNames) fresh.get(n)!.push(outs[k++]!);
    this.tracked = fresh;
    this.steps++;
    return (outs[0]!.data as Float32Array)[0]!;
  }

  /** A fresh optimizer: zero slots and step count (the protocol's new optimizer per experience). */
  resetOptimizer(): void {
    this.slots = this.m.params.map((p) => this.optimizer.slots.map(() => Tensor.zeros(p.shape, "f32")));
    this.steps = 0;
  }

  /** Runs so far that wrote into recycled buffers rather than fresh ones. */
  get recycledRuns(): number { return this.runner.reused; }

  /** A tracker's per-weight state (live: overwritten two steps later). */
  tracker(name: string): Tensor[] {
    const s = this.tracked.get(name);
    if (!s) throw new LatheError(`continual: no tracker named ${name}`);
    return s;
  }

  setTracker(name: string, values: readonly Tensor[]): void {
    this.tracker(name);
    this.tracked.set(name, [...values]);
  }

  get stepCount(): number { return this.steps; }
  /** Copies of the optimizer's slots (the live ones are recycled). */
  optimizerSlots(): Tensor[][] { return this.slots.map((s) => s.map((t) => new Tensor((t.data as Float32Array).slice(), t.shape, "f32"))); }
  setOptimizerSlots(s: readonly (readonly Tensor[])[], steps: number): void { this.slots = s.map((x) => [...x]); this.steps = steps; }
}

/**
 * d loss / d weights for `loss(c)` over inputs `specs` (the base specs by default), each
 * gradient passed through `post` in-graph (e.g. squared for a Fisher).
 */
export async function compileGradients(
  m: ContinualMlp, loss: (c: TermContext) => Tracer, opts: { specs?: Specs; post?: (g: Tracer) => Tracer; exec?: ExecOptions } = {},
): Promise<(batch: Batch) => Tensor[]> {
  const { t, out } = traceModel(m, opts.specs ?? baseSpecs(m), false, loss);
  const l = checkLoss(t, out, "continual gradients");
  const { graph: g0, grads } = autodiff(t.graph([l.value]), l.value, m.params.map((p) => t.params.get(p)!));
  const t2 = Trace.extend(t, g0);
  const post = opts.post;
  const outs = post ? withTrace(t2, () => grads.map((v) => post(new Tracer(t2, v)).value)) : grads;
  const graph = t2.graph(outs);
  const exe = await compileExecutable(graph, opts.exec ?? {});
  const feed = feeder(graph, t2);
  return (batch) => exe.run(feed(batch, 0));
}

/**
 * Σ over batches of `post`(d loss_b / d weights) (EWC's Fisher, MAS's importance): the
 * sums stay in runtime tensors, added to in-graph and written into recycled buffers
 * (train/recycle.ts), so a pass over an experience neither allocates a gradient set
 * nor loops over the weights in JS per batch. Returns a function of the batches that
 * gives the sums (fresh tensors per call).
 */
export async function compileGradientSum(
  m: ContinualMlp, loss: (c: TermContext) => Tracer, opts: { specs?: Specs; post?: (g: Tracer) => Tracer; exec?: ExecOptions } = {},
): Promise<(batches: Iterable<Batch>) => Tensor[]> {
  const specs: Specs = { ...(opts.specs ?? baseSpecs(m)), ...perWeightSpecs(m, "sum") };
  const { t, c, out } = traceModel(m, specs, false, loss);
  const l = checkLoss(t, out, "continual gradient sum");
  const { graph: g0, grads } = autodiff(t.graph([l.value]), l.value, m.params.map((p) => t.params.get(p)!));
  const t2 = Trace.extend(t, g0);
  const post = opts.post ?? ((g: Tracer) => g);
  const outs = withTrace(t2, () => grads.map((v, k) => new Tracer(t2, c.inputs[`sum.${k}`]!.value).add(post(new Tracer(t2, v))).value));
  const graph = t2.graph(outs);
  const exe = await compileExecutable(graph, opts.exec ?? {});
  const feed = feeder(graph, t2);
  return (batches) => {
    const runner = new RecyclingRunner(exe, graph);
    let sums = zerosLike(m.params.map((p) => p.value));
    const named = (ts: readonly Tensor[]) => Object.fromEntries(ts.map((x, k) => [`sum.${k}`, x]));
    for (const b of batches) sums = runner.run(feed({ ...b, ...named(sums) }, 0));
    return sums;
  };
}

/** Logits of (x, mask) with the current weights: mask added (−1e9 hides a class). */
export async function compileLogits(m: ContinualMlp, exec: ExecOptions = {}): Promise<(x: Tensor, mask: Tensor) => Tensor> {
  const { t, out } = traceModel(m, { x: baseSpecs(m).x!, mask: baseSpecs(m).mask! }, false, (c) => c.logits.add(c.inputs.mask!));
  const graph = t.graph([(out as Tracer).value]);
  const exe = await compileExecutable(graph, exec);
  const feed = feeder(graph, t);
  return (x, mask) => exe.run(feed({ x, mask }, 0))[0]!;
}

/** The last hidden layer's activations of x with the current weights. */
export async function compileEmbed(m: ContinualMlp, exec: ExecOptions = {}): Promise<(x: Tensor) => Tensor> {
  const { t, out } = traceModel(m, { x: baseSpecs(m).x! }, false, (c) => c.model.embed(c.inputs.x!, c.weights));
  const graph = t.graph([(out as Tracer).value]);
  const exe = await compileExecutable(graph, exec);
  const feed = feeder(graph, t);
  return (x) => exe.run(feed({ x }, 0))[0]!;
}
