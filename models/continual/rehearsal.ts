/**
 * Rehearsal strategies as plugins: Cumulative, Replay, GDumb, A-GEM, GEM, ER-ACE, DER
 * and iCaRL. Their memories are buffers.ts's; their losses and projections are the step
 * graph's terms (terms.ts); reference gradients come from compiled gradient graphs.
 */
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Example, BufferPolicy } from "./buffers.ts";
import { checkCapacity, Memory } from "./buffers.ts";
import { compileEmbed, compileGradients, rowCrossEntropy } from "./program.ts";
import type { Experience } from "./scenarios.ts";
import type { Plugin, Rows, Strategy, TrainData } from "./strategy.ts";
import { concatData } from "./strategy.ts";
import { agemProjection, gemProjection, logitRegression, sigmoidDistillation } from "./terms.ts";

/**
 * GDumb's passes over its memory. The paper's MNIST recipe (Prabhu et al., ECCV 2020;
 * drimpossible/GDumb scripts/replicate.sh: MNIST, MLP, memory 4,400, `--num_passes 128`)
 * trains 128 epochs; MNIST-like Fashion-MNIST takes the same. The rest of the protocol is
 * the stream's (SGD lr 0.01 momentum 0.9, batch 64), not the paper's SGDR and clipping.
 */
export const GDUMB_EPOCHS = 128;

/** An experience's training data as examples (views into its rows). */
export function examplesOf(d: TrainData, features: number): Example[] {
  return Array.from(d.y, (y, i) => ({ x: d.x.subarray(i * features, (i + 1) * features), y, task: d.task[i]! }));
}

export function dataOf(items: readonly Example[], features: number): TrainData {
  const x = new Float32Array(items.length * features), y = new Int32Array(items.length), task = new Int32Array(items.length);
  items.forEach((e, i) => { x.set(e.x, i * features); y[i] = e.y; task[i] = e.task; });
  return { x, y, task };
}

/** Appends examples to a minibatch with base weight `w` each. */
function append(s: Strategy, rows: Rows, items: readonly Example[], w: number): void {
  for (const e of items) {
    rows.x.push(e.x); rows.y.push(e.y); rows.task.push(e.task); rows.w.push(w); rows.allowed.push(s.allowedFor(e.task));
  }
}

/** Memory contents as checkpoint state, and back. */
const memState = (m: Memory) => ({ seen: m.seen, items: m.items.map((e) => ({ x: e.x, y: e.y, task: e.task, logits: e.logits ?? null })) });
function memLoad(m: Memory, raw: unknown): void {
  const st = raw as ReturnType<typeof memState>;
  m.seen = st.seen;
  m.items.length = 0;
  for (const e of st.items) m.items.push(e.logits ? { x: e.x, y: e.y, task: e.task, logits: e.logits } : { x: e.x, y: e.y, task: e.task });
}

/** Cumulative: each experience trains on every experience's data so far. */
export class CumulativePlugin implements Plugin {
  readonly name = "cumulative";
  private past: TrainData[] = [];
  trainingData(s: Strategy, _exp: Experience, d: TrainData): TrainData {
    this.past.push(d);
    return concatData(this.past, s.model.features);
  }
  state(): unknown { return { past: this.past }; }
  load(_s: Strategy, raw: unknown): void { this.past = (raw as { past: TrainData[] }).past; }
}

/**
 * Replay: a memory (class-balanced by default, or reservoir) updated after each
 * experience; every minibatch gets as many replayed examples appended (Avalanche's
 * concatenated replay), and the loss is the mean over all rows.
 */
export class ReplayPlugin implements Plugin {
  readonly name = "replay";
  readonly memory: Memory;
  constructor(capacity: number, readonly policy: BufferPolicy = "class-balanced") { this.memory = new Memory(capacity, "replay"); }
  beforeForward(s: Strategy, rows: Rows): void {
    if (this.memory.size > 0) append(s, rows, this.memory.sample(rows.incoming, s.rng), 1);
  }
  afterTrainingExp(s: Strategy, _exp: Experience, d: TrainData): void {
    const items = examplesOf(d, s.model.features);
    if (this.policy === "class-balanced") this.memory.updateClassBalanced(items, s.rng);
    else for (const e of items) this.memory.offerReservoir(e, s.rng);
  }
  state(): unknown { return memState(this.memory); }
  load(_s: Strategy, raw: unknown): void { memLoad(this.memory, raw); }
}

/**
 * GDumb: examples enter a greedy class-balanced memory as they arrive; before each
 * experience the model is reset to its initial weights and trained on the memory alone,
 * for `epochs` passes (the paper trains from scratch to convergence, not for the stream's
 * one epoch).
 */
export class GdumbPlugin implements Plugin {
  readonly name = "gdumb";
  readonly memory: Memory;
  private init: Tensor[] | null = null;
  constructor(capacity: number, readonly passes = GDUMB_EPOCHS) {
    this.memory = new Memory(capacity, "gdumb");
    if (!Number.isInteger(passes) || passes < 1) throw new LatheError(`gdumb: epochs must be a positive integer, got ${passes}`);
  }
  epochs(): number { return this.passes; }
  beforeTraining(s: Strategy): void { this.init ??= s.model.snapshot(); }
  trainingData(s: Strategy, _exp: Experience, d: TrainData): TrainData {
    for (const e of examplesOf(d, s.model.features)) this.memory.offerGreedy(e, s.rng, s.seenClasses.size);
    s.model.restore(this.init!.map((t) => new Tensor((t.data as Float32Array).slice(), t.shape, "f32")));
    return dataOf(this.memory.items, s.model.features);
  }
  state(): unknown { return { memory: memState(this.memory), init: this.init?.map((t) => t.data as Float32Array) ?? null }; }
  load(s: Strategy, raw: unknown): void {
    const st = raw as { memory: unknown; init: Float32Array[] | null };
    memLoad(this.memory, st.memory);
    this.init = st.init ? st.init.map((a, k) => new Tensor(a, s.model.params[k]!.shape, "f32")) : null;
  }
}

/** Random `count` examples of an experience (all when fewer). */
function pick(s: Strategy, d: TrainData, count: number): Example[] {
  const m = new Memory(Math.max(count, 1));
  for (const e of examplesOf(d, s.model.features)) m.offerReservoir(e, s.rng);
  return m.items;
}

/** The mean cross-entropy gradient of the model on some examples, as tensors per weight. */
class ReferenceGradient {
  private fn: ((b: Record<string, Tensor>) => Tensor[]) | null = null;
  async of(s: Strategy, items: readonly Example[]): Promise<Tensor[]> {
    this.fn ??= await compileGradients(s.model, (c) => rowCrossEntropy(c.logits, c.inputs.mask!, c.inputs.y!, c.model.classes).mul(c.inputs.w!).sum(), { exec: s.exec });
    const F = s.model.features, n = items.length, d = dataOf(items, F);
    return this.fn({
      x: new Tensor(d.x, [n, F], "f32"), y: new Tensor(d.y, [n], "i32"), w: Tensor.fromArray(new Array(n).fill(1 / n), [n], "f32"),
      mask: s.maskFor(items.map((e) => s.allowedFor(e.task))),
    });
  }
}

/** A-GEM: `patterns` examples kept per experience; each step's gradient is projected against a memory sample's (terms.ts). */
export class AgemPlugin implements Plugin {
  readonly name = "agem";
  private memory: Example[] = [];
  private readonly ref = new ReferenceGradient();
  constructor(readonly patterns: number, readonly sampleSize: number) {}
  graph(s: Strategy) { return agemProjection(s.model); }
  afterTrainingExp(s: Strategy, _exp: Experience, d: TrainData): void { this.memory.push(...pick(s, d, this.patterns)); }
  async inputs(s: Strategy): Promise<Record<string, Tensor>> {
    const ps = s.model.params;
    let g: Tensor[];
    if (this.memory.length === 0) g = ps.map((p) => Tensor.zeros(p.shape, "f32"));
    else {
      const m = new Memory(this.memory.length);
      m.items.push(...this.memory);
      g = await this.ref.of(s, m.sample(this.sampleSize, s.rng));
    }
    return Object.fromEntries(g.map((t, k) => [`agem.ref.${k}`, t]));
  }
  state(): unknown { return { items: this.memory.map((e) => ({ x: e.x, y: e.y, task: e.task })) }; }
  load(_s: Strategy, raw: unknown): void { this.memory = (raw as { items: Example[] }).items; }
}

/**
 * GEM: `patterns` examples per past experience; each step's gradient must not increase
 * any past experience's memory loss (g·g_k ≥ 0), solved as a small QP in the graph.
 */
export class GemPlugin implements Plugin {
  readonly name = "gem";
  private memories: Example[][] = [];
  private readonly ref = new ReferenceGradient();
  constructor(readonly patterns: number, readonly memoryStrength = 0.5, readonly iterations = 50) {}
  graph(s: Strategy) { return gemProjection(s.model, { iterations: this.iterations, memoryStrength: this.memoryStrength }); }
  afterTrainingExp(s: Strategy, _exp: Experience, d: TrainData): void { this.memories.push(pick(s, d, this.patterns)); }
  async inputs(s: Strategy): Promise<Record<string, Tensor>> {
    const ps = s.model.params, t = Math.max(this.memories.length, 1);
    const G = ps.map((p) => new Float32Array(t * p.value.size));
    for (let e = 0; e < this.memories.length; e++) {
      const g = await this.ref.of(s, this.memories[e]!);
      g.forEach((gt, k) => G[k]!.set(gt.data as Float32Array, e * gt.size));
    }
    return Object.fromEntries(ps.map((p, k) => [`gem.G.${k}`, new Tensor(G[k]!, [t, ...p.shape], "f32")]));
  }
  state(): unknown { return { memories: this.memories.map((l) => l.map((e) => ({ x: e.x, y: e.y, task: e.task }))) }; }
  load(_s: Strategy, raw: unknown): void { this.memories = (raw as { memories: Example[][] }).memories; }
}

/**
 * ER-ACE: a reservoir memory filled online; the incoming rows' loss runs over the
 * classes of the incoming minibatch plus classes never seen yet (the asymmetric loss),
 * the replayed rows' over every class; loss = mean incoming + mean replayed.
 */
export class ErAcePlugin implements Plugin {
  readonly name = "er-ace";
  readonly memory: Memory;
  private seenSoFar = new Set<number>();
  constructor(capacity: number, readonly memBatch?: number) { this.memory = new Memory(capacity, "er-ace"); }
  beforeForward(s: Strategy, rows: Rows): void {
    if (this.memory.size === 0) { for (const y of rows.y) this.seenSoFar.add(y); return; }
    const n = rows.incoming, inBatch = new Set(rows.y.slice(0, n));
    for (const c of inBatch) this.seenSoFar.add(c);
    const allowed = Array.from({ length: s.model.classes }, (_, c) => c).filter((c) => inBatch.has(c) || !this.seenSoFar.has(c));
    for (let i = 0; i < n; i++) {
      rows.w[i] = 1 / n;
      const task = s.allowedFor(rows.task[i]!);
      rows.allowed[i] = task ? task.filter((c) => allowed.includes(c)) : allowed;
    }
    const mem = this.memory.sample(this.memBatch ?? n, s.rng);
    append(s, rows, mem, 1 / mem.length);
    rows.weighted = true;
  }
  afterTrainingIteration(s: Strategy, rows: Rows): void {
    for (let i = 0; i < rows.incoming; i++) this.memory.offerReservoir({ x: rows.x[i]!, y: rows.y[i]!, task: rows.task[i]! }, s.rng);
  }
  state(): unknown { return { memory: memState(this.memory), seen: [...this.seenSoFar] }; }
  load(_s: Strategy, raw: unknown): void {
    const st = raw as { memory: unknown; seen: number[] };
    memLoad(this.memory, st.memory);
    this.seenSoFar = new Set(st.seen);
  }
}

/**
 * DER++ (β > 0) / DER (β = 0): a reservoir memory of examples with the logits they had
 * when stored; each minibatch adds one memory sample whose logits are regressed onto the
 * stored ones (weight α, mean squared error) and another trained with cross-entropy
 * (weight β); the incoming rows' cross-entropy is their mean.
 */
export class DerPlugin implements Plugin {
  readonly name = "der";
  readonly memory: Memory;
  private readonly extra = new WeakMap<Rows, { z: Float32Array[]; w: number[] }>();
  constructor(capacity: number, readonly alpha = 0.1, readonly beta = 0.5) { this.memory = new Memory(capacity, "der"); }
  graph(s: Strategy) { return logitRegression(s.model); }
  async beforeForward(s: Strategy, rows: Rows): Promise<void> {
    const n = rows.incoming, K = s.model.classes, F = s.model.features;
    // The incoming rows' logits before this step's update: what the memory stores.
    const x = new Float32Array(n * F);
    rows.x.slice(0, n).forEach((r, i) => x.set(r, i * F));
    const z = (await s.logits(new Tensor(x, [n, F], "f32"), Tensor.zeros([n, K], "f32"))).data as Float32Array;
    for (let i = 0; i < n; i++) {
      rows.w[i] = 1 / n;
      this.memory.offerReservoir({ x: rows.x[i]!, y: rows.y[i]!, task: rows.task[i]!, logits: z.slice(i * K, (i + 1) * K) }, s.rng);
    }
    const zs: Float32Array[] = new Array<Float32Array>(n).fill(new Float32Array(K)), ws: number[] = new Array<number>(n).fill(0);
    if (this.memory.size > 0) {
      const a = this.memory.sample(n, s.rng), b = this.beta > 0 ? this.memory.sample(n, s.rng) : [];
      append(s, rows, a, 0);
      for (const e of a) { zs.push(e.logits!); ws.push(this.alpha / a.length); }
      append(s, rows, b, b.length ? this.beta / b.length : 0);
      for (let i = 0; i < b.length; i++) { zs.push(new Float32Array(K)); ws.push(0); }
    }
    rows.weighted = true;
    this.extra.set(rows, { z: zs, w: ws });
  }
  inputs(s: Strategy, rows: Rows): Record<string, Tensor> {
    const K = s.model.classes, e = this.extra.get(rows)!, n = rows.y.length, z = new Float32Array(n * K);
    e.z.forEach((r, i) => z.set(r, i * K));
    return { "der.z": new Tensor(z, [n, K], "f32"), "der.w": Tensor.fromArray(e.w, [n], "f32") };
  }
  state(): unknown { return memState(this.memory); }
  load(_s: Strategy, raw: unknown): void { memLoad(this.memory, raw); }
}

/**
 * iCaRL: exemplar sets chosen by herding on L2-normalised features (the last hidden
 * layer), `capacity / classes` per class; training on the experience plus the exemplars
 * with the sigmoid loss (old classes' targets from the previous model: terms.ts);
 * prediction by the nearest mean of exemplars.
 */
export class IcarlPlugin implements Plugin {
  readonly name = "icarl";
  private exemplars = new Map<number, Example[]>();
  private means = new Map<number, Float32Array>();
  private old: Tensor[] | null = null;
  private oldClasses: number[] = [];
  private embedFn: ((x: Tensor) => Tensor) | null = null;
  constructor(readonly capacity: number) { checkCapacity(capacity, "icarl"); }
  graph(s: Strategy) { return sigmoidDistillation(s.model); }

  private async embed(s: Strategy, x: Float32Array, n: number): Promise<Float32Array> {
    this.embedFn ??= await compileEmbed(s.model, s.exec);
    const F = s.model.features, out: Float32Array[] = [];
    for (let i = 0; i < n; i += 1000) {
      const m = Math.min(1000, n - i);
      out.push(this.embedFn(new Tensor(x.subarray(i * F, (i + m) * F), [m, F], "f32")).data as Float32Array);
    }
    const H = out[0] ? out[0].length / Math.min(1000, n) : 0, all = new Float32Array(n * H);
    let at = 0;
    for (const o of out) { all.set(o, at); at += o.length; }
    normalizeRows(all, H);
    return all;
  }

  trainingData(s: Strategy, _exp: Experience, d: TrainData): TrainData {
    const ex = [...this.exemplars.values()].flat();
    return ex.length ? concatData([d, dataOf(ex, s.model.features)], s.model.features) : d;
  }

  beforeForward(_s: Strategy, rows: Rows): void {
    rows.w.fill(0);
    rows.weighted = true;
  }

  async inputs(s: Strategy, rows: Rows): Promise<Record<string, Tensor>> {
    const K = s.model.classes, n = rows.y.length, F = s.model.features;
    const seen = new Float32Array(K), old = new Float32Array(K);
    for (const c of s.seenClasses) seen[c] = 1;
    let z = Tensor.zeros([n, K], "f32");
    if (this.old) {
      for (const c of this.oldClasses) old[c] = 1;
      const x = new Float32Array(n * F);
      rows.x.forEach((r, i) => x.set(r, i * F));
      z = await s.model.with(this.old, () => s.logits(new Tensor(x, [n, F], "f32"), Tensor.zeros([n, K], "f32")));
    }
    return { "icarl.z": z, "icarl.old": new Tensor(old, [K], "f32"), "icarl.seen": new Tensor(seen, [K], "f32") };
  }

  async afterTrainingExp(s: Strategy, exp: Experience, d: TrainData): Promise<void> {
    const F = s.model.features, classes = [...s.seenClasses].sort((a, b) => a - b);
    const per = Math.max(1, Math.floor(this.capacity / classes.length));
    for (const [c, l] of this.exemplars) this.exemplars.set(c, l.slice(0, per)); // herding order: keep the first
    for (const c of exp.classes) {
      const idx: number[] = [];
      for (let i = 0; i < exp.y.size; i++) if (d.y[i] === c) idx.push(i); // the experience's own rows come first in d
      const x = new Float32Array(idx.length * F);
      idx.forEach((i, r) => x.set(d.x.subarray(i * F, (i + 1) * F), r * F));
      const phi = await this.embed(s, x, idx.length);
      this.exemplars.set(c, herding(phi, idx.length, per).map((r) => ({ x: d.x.subarray(idx[r]! * F, (idx[r]! + 1) * F), y: c, task: d.task[idx[r]!]! })));
    }
    this.means.clear();
    for (const [c, l] of this.exemplars) {
      const phi = await this.embed(s, dataOf(l, F).x, l.length), H = phi.length / l.length, mu = new Float32Array(H);
      for (let i = 0; i < l.length; i++) for (let h = 0; h < H; h++) mu[h]! += phi[i * H + h]! / l.length;
      normalizeRows(mu, H);
      this.means.set(c, mu);
    }
    this.old = s.model.snapshot();
    this.oldClasses = classes;
  }

  async predict(s: Strategy, x: Tensor, exp: Experience): Promise<Int32Array> {
    const n = x.shape[0]!, phi = await this.embed(s, x.data as Float32Array, n), H = phi.length / Math.max(n, 1);
    const allowed = s.allowedFor(exp.task), cands = [...this.means.keys()].filter((c) => !allowed || allowed.includes(c));
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = cands[0] ?? 0, bestD = Infinity;
      for (const c of cands) {
        const mu = this.means.get(c)!;
        let dd = 0;
        for (let h = 0; h < H; h++) dd += (phi[i * H + h]! - mu[h]!) ** 2;
        if (dd < bestD) { bestD = dd; best = c; }
      }
      out[i] = best;
    }
    return out;
  }

  state(): unknown {
    return {
      exemplars: [...this.exemplars].map(([c, l]) => [c, l.map((e) => ({ x: e.x, y: e.y, task: e.task }))]),
      means: [...this.means], old: this.old?.map((t) => t.data as Float32Array) ?? null, oldClasses: this.oldClasses,
    };
  }
  load(s: Strategy, raw: unknown): void {
    const st = raw as { exemplars: [number, Example[]][]; means: [number, Float32Array][]; old: Float32Array[] | null; oldClasses: number[] };
    this.exemplars = new Map(st.exemplars);
    this.means = new Map(st.means);
    this.old = st.old ? st.old.map((a, k) => new Tensor(a, s.model.params[k]!.shape, "f32")) : null;
    this.oldClasses = st.oldClasses;
  }
}

function normalizeRows(a: Float32Array, H: number): void {
  for (let r = 0; r < a.length; r += H) {
    let s = 0;
    for (let h = 0; h < H; h++) s += a[r + h]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let h = 0; h < H; h++) a[r + h]! *= inv;
  }
}

/** iCaRL's herding: rows of phi [n, H] chosen one by one so their running mean tracks the class mean. */
export function herding(phi: Float32Array, n: number, count: number): number[] {
  const H = n ? phi.length / n : 0, mu = new Float64Array(H), sum = new Float64Array(H), chosen: number[] = [], used = new Uint8Array(n);
  for (let i = 0; i < n; i++) for (let h = 0; h < H; h++) mu[h]! += phi[i * H + h]! / n;
  for (let k = 1; k <= Math.min(count, n); k++) {
    let best = -1, bestD = Infinity;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      let d = 0;
      for (let h = 0; h < H; h++) d += (mu[h]! - (sum[h]! + phi[i * H + h]!) / k) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    }
    used[best] = 1;
    chosen.push(best);
    for (let h = 0; h < H; h++) sum[h]! += phi[best * H + h]!;
  }
  return chosen;
}

