/**
 * The compiled Lathe graphs every aggregator runs: votes, the Dawid–Skene E-step and
 * M-step (shared by batch and online DS), the one-coin M-step and Wawa's worker skills.
 *
 * Each works on the label triples (item i32[n], worker i32[n], label i32[n]) with gathers
 * and segment sums — of label rows by item (votes, E-step), by (worker, label) (the DS
 * M-step) or by worker (the other M-steps) — so its tensors are O(labels × classes) plus
 * O(workers × classes²), never items × workers. Every size is
 * symbolic, so each graph is traced and compiled once per process (per segment strategy)
 * and serves every crowd. All floats are f64.
 *
 * Two ways to sum label rows into segments (`SegmentStrategy`):
 * - "masked" (the default): the segment_sum op (compiler/ops/basic/segment.ts) with a shape
 *   carrier (`items` f64[i] / `workers` f64[w], values never read) giving the number of
 *   segments. On cpu it runs as a one-pass scatter kernel (targets/cpu/extern-kernels.ts):
 *   O(n) time and no layout to build. (Its TE form — what the interpreter and other targets
 *   run — is a reduction over all n labels per segment, O(n × segments).) The name is the
 *   op's TE form's; it stayed for compatibility.
 * - "padded": the same sums as gathers over a two-level padded layout
 *   built once per label set in JS (`segmentPlan`): the rows of each segment are cut
 *   into chunks of c ≈ √(largest segment) rows; level 1 gathers each chunk's rows
 *   ([chunks, c, …], masked) and sums them, level 2 gathers each segment's chunks
 *   ([segments, q, …], masked) and sums those. Time and memory O(n + segments × √max) on
 *   any target. It was the default before segment_sum had its cpu kernel; one DS iteration
 *   on 10k items × 100 workers × 5 labels, K = 10, 1 thread: 40–70 ms padded, 10–20 ms
 *   masked (this 2-core host under load).
 * Both give the same sums up to the order of additions (tested to 1e-12).
 */
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/index.ts";
import type { CompiledFunction, InputSpecs, JitOptions } from "../../train/jit.ts";
import type { LabelSet } from "./labels.ts";

export type SegmentStrategy = "padded" | "masked";
export const SEGMENT_STRATEGIES: readonly SegmentStrategy[] = ["padded", "masked"];

/**
 * The segmentations of the labels: by item (size i), by worker (size w), and by the
 * (worker, label) pair (ids worker·k + label, size w·k: the DS M-step's counts).
 */
export type Seg = "item" | "worker" | "wl";

export const i32 = (shape: (string | number)[]) => ({ shape, dtype: "i32" as const });
export const f64 = (shape: (string | number)[]) => ({ shape, dtype: "f64" as const });

export type Inputs = Readonly<Record<string, Tracer>>;
type Outs = Tracer | { readonly [name: string]: Tracer };

/** The inputs a graph needs to sum label rows by `s`. */
function segSpecs(s: Seg, strategy: SegmentStrategy): InputSpecs {
  const dim = s === "item" ? "i" : s === "worker" ? "w" : "wl";
  if (strategy === "masked") return { [`${s}s`]: f64([dim]) };
  return {
    [`${s}Idx1`]: i32([`${dim}m`, `${dim}c`]), [`${s}Mask1`]: f64([`${dim}m`, `${dim}c`]),
    [`${s}Idx2`]: i32([dim, `${dim}q`]), [`${s}Mask2`]: f64([dim, `${dim}q`]),
  };
}

/** Σ over rows r of idx[a, r] (where mask[a, r] > 0) of x[idx[a, r], …] → [a, …]. */
function paddedLevel(x: Tracer, idx: Tracer, mask: Tracer): Tracer {
  const g = x.gather(idx); // [a, r, …]
  const keep = mask.greater(0).unsqueeze(Array.from({ length: x.rank - 1 }, (_, k) => k + 2));
  return lt.where(keep, g, lt.op("zeros_like", [g])[0]!).sum([1]);
}

/** Label rows x [n, …] summed by item or worker → [i or w, …]. */
function segSum(x: Tracer, s: Seg, inp: Inputs, strategy: SegmentStrategy): Tracer {
  if (strategy === "masked") return lt.op("segment_sum", [x, inp[s]!, inp[`${s}s`]!])[0]!;
  return paddedLevel(paddedLevel(x, inp[`${s}Idx1`]!, inp[`${s}Mask1`]!), inp[`${s}Idx2`]!, inp[`${s}Mask2`]!);
}

/** f64 one-hot rows [n, k] of `label` against the class indices `classes` (0..k-1). */
export const oneHot = (label: Tracer, classes: Tracer): Tracer => label.unsqueeze([1]).equal(classes.unsqueeze([0])).cast("f64");

/** a / b where b > 0, else `otherwise` (broadcast). */
const safeDiv = (a: Tracer, b: Tracer, otherwise: Tracer): Tracer => {
  const ok = b.greater(0);
  return lt.where(ok, a.div(lt.where(ok, b, lt.op("ones_like", [b])[0]!)), otherwise);
};

/** Rows of x [.., k] normalised to sum to 1 along the last axis; an all-zero row becomes uniform. */
const normalizeRows = (x: Tracer): Tracer => {
  const ones = lt.op("ones_like", [x])[0]!;
  return safeDiv(x, x.sum([-1], true), ones.div(ones.sum([-1], true)));
};

let graphOptions: JitOptions = {};
/** Chooses how the graphs run (e.g. `{ executor: "interpreted" }`); affects graphs not yet compiled. */
export function setGraphOptions(opts: JitOptions): void { graphOptions = opts; }

export type Graph = CompiledFunction<InputSpecs, Outs>;

/** A graph per strategy, traced on first use and shared by every aggregator (GLAD and MACE build theirs with it too). */
export function defineGraph(base: InputSpecs, segs: readonly Seg[], fn: (inp: Inputs, seg: (x: Tracer, s: Seg) => Tracer) => Outs): (s: SegmentStrategy) => Graph {
  const made = new Map<SegmentStrategy, Graph>();
  return (strategy) => {
    let g = made.get(strategy);
    if (!g) {
      const specs = Object.assign({}, base, ...segs.map((s) => segSpecs(s, strategy))) as InputSpecs;
      g = lt.compile((inp: Inputs) => fn(inp, (x, s) => segSum(x, s, inp, strategy)), specs, graphOptions) as unknown as Graph;
      made.set(strategy, g);
    }
    return g;
  };
}

/** Runs a graph whose outputs are named; returns them by name. */
export const runGraph = async (g: Graph, inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> => (await g(inputs)) as Record<string, Tensor>;

/** The first element of a tensor as a number. */
export const num = (t: Tensor): number => (t.data as ArrayLike<number>)[0]!;

/** The number of classes as an f64 scalar, from `classes` i32[k]. */
export const numClassesOf = (classes: Tracer): Tracer => classes.cast("f64").mul(0).add(1).sum();

/** Weighted soft votes: post[i, c] ∝ Σ over labels of i saying c of weight; an item without votes is uniform. */
const voteGraph = defineGraph(
  { item: i32(["n"]), label: i32(["n"]), weight: f64(["n"]), classes: i32(["k"]) }, ["item"],
  ({ label, weight, classes }, seg) => normalizeRows(seg(oneHot(label!, classes!).mul(weight!.unsqueeze([1])), "item")),
);

/**
 * Plain votes (every weight 1): the rows of the identity picked by label, summed by item — a
 * gather then a segment sum, one pass on cpu without the [n, k] one-hot rows (800 MB of f64
 * at 10M labels; DawidSkene starts from these).
 */
const plainVoteGraph = defineGraph(
  { item: i32(["n"]), label: i32(["n"]), classes: i32(["k"]) }, ["item"],
  ({ label, classes }, seg) => normalizeRows(seg(oneHot(classes!, classes!).gather(label!), "item")),
);

/**
 * Dawid–Skene E-step: log post[i, c] = log p_c + Σ over labels (i, w, l) of log e_w[c, l],
 * then softmax over c. `logConf[w, c, l]` = log P(w says l | truth c). Its rows log e_w[·, l]
 * are first laid out by (worker, label) (gather_nd by `wlcIndex`, w·k rows), so each label
 * reads its row by its `wl` id: a gather then a segment sum by item, which the cpu target
 * runs as one pass without the [n, k] rows (targets/cpu/extern-kernels.ts).
 */
const eStepGraph = defineGraph(
  { logConf: f64(["w", "k", "k"]), logPrior: f64(["k"]), item: i32(["n"]), wl: i32(["n"]), wlcIndex: i32(["wl", "k", 3]) }, ["item"],
  ({ logConf, logPrior, wl, wlcIndex }, seg) => {
    const table = lt.op("gather_nd", [logConf!, wlcIndex!])[0]!; // [w·k, c]
    return seg(table.gather(wl!), "item").add(logPrior!.unsqueeze([0])).softmax(-1);
  },
);

/**
 * Dawid–Skene M-step, in the streaming-EM form that batch DS is a case of:
 *   s[w, c, l] = Σ over labels (i, w, l) of post[i, c]        (a segment sum by (worker, label))
 *   stats = (1 − ρ)·prevStats + ρ·labelScale·s,  mass = (1 − ρ)·prevMass + ρ·itemScale·Σ_i post[i]
 *   e_w[c, ·] = normalise(countScale·stats[w, c, ·] + smoothing),  p = normalise(mass)
 * Batch DS: prevStats = prevMass = 0, ρ = labelScale = itemScale = countScale = 1 (raw
 * counts plus smoothing, unsmoothed prior). A row with no mass and no smoothing is uniform.
 * Returns stats, mass, logConf [w, c, l] and logPrior.
 */
const mStepGraph = defineGraph(
  {
    post: f64(["i", "k"]), item: i32(["n"]), wl: i32(["n"]), wlIndex: i32(["w", "k", "k", 2]),
    prevStats: f64(["w", "k", "k"]), prevMass: f64(["k"]), rho: f64([]), labelScale: f64([]), itemScale: f64([]), countScale: f64([]),
    smoothing: f64([]),
  }, ["wl"],
  ({ post, item, wlIndex, prevStats, prevMass, rho, labelScale, itemScale, countScale, smoothing }, seg) => {
    // Posterior rows summed by (worker, label) — n × k work, where an outer product with the
    // one-hot label before a sum by worker was n × k × k — then read into [w, c, l].
    const s = lt.op("gather_nd", [seg(post!.gather(item!), "wl"), wlIndex!])[0]!; // [w, c, l]
    const keep = rho!.rsub(1);
    const stats = prevStats!.mul(keep).add(s.mul(rho!.mul(labelScale!)));
    const mass = prevMass!.mul(keep).add(post!.sum([0]).mul(rho!.mul(itemScale!)));
    const logConf = normalizeRows(stats.mul(countScale!).add(smoothing!)).log();
    return { stats, mass, logConf, logPrior: mass.div(mass.sum()).log() };
  },
);

/**
 * One-coin M-step: skill_w = mean over w's labels of post[i, label] (1/k for a worker
 * without labels); e_w[c, l] = skill_w if l = c else (1 − skill_w)/(k − 1), clipped to
 * [eps, 1 − eps] as crowd-kit does; p = mean posterior. Returns skill, logConf, logPrior.
 */
const oneCoinMStepGraph = defineGraph(
  { post: f64(["i", "k"]), item: i32(["n"]), worker: i32(["n"]), label: i32(["n"]), classes: i32(["k"]), eps: f64([]) }, ["worker"],
  ({ post, item, label, classes, eps }, seg) => {
    const correct = post!.gather(item!).mul(oneHot(label!, classes!)).sum([1]); // [n]
    const got = seg(correct, "worker"), count = seg(lt.op("ones_like", [correct])[0]!, "worker");
    const k = classes!.cast("f64").mul(0).add(1).sum(); // the number of classes, as a scalar
    const skill = safeDiv(got, count, lt.op("ones_like", [got])[0]!.div(k));
    const eye = oneHot(classes!, classes!); // [k, k]
    const s = skill.unsqueeze([1, 2]);
    const conf = eye.mul(s).add(eye.rsub(1).mul(s.rsub(1).div(k.sub(1))));
    const mass = post!.sum([0]);
    return { skill, logConf: conf.maximum(eps!).minimum(eps!.rsub(1)).log(), logPrior: mass.div(mass.sum()).log() };
  },
);

/**
 * Wawa's worker skills: the fraction of each worker's labels that agree with argmax post
 * (ties: the lowest class); 0 for a worker without labels.
 */
const agreementGraph = defineGraph(
  { post: f64(["i", "k"]), item: i32(["n"]), worker: i32(["n"]), label: i32(["n"]) }, ["worker"],
  ({ post, item, label }, seg) => {
    const agree = label!.equal(post!.argmax(1).cast("i32").gather(item!)).cast("f64");
    const got = seg(agree, "worker"), count = seg(lt.op("ones_like", [agree])[0]!, "worker");
    return safeDiv(got, count, got.mul(0));
  },
);

// ---------------------------------------------------------------------------------------
// Runtime tensors for a label set.

export const f64Tensor = (data: ArrayLike<number>, shape: readonly number[]): Tensor =>
  Tensor.fromArray(data instanceof Float64Array ? data : Float64Array.from(data), shape, "f64");
// An Int32Array is wrapped, not copied: label sets hold 10M-label arrays that nothing here writes.
export const i32Tensor = (data: ArrayLike<number>, shape: readonly number[]): Tensor =>
  data instanceof Int32Array ? new Tensor(data, shape, "i32") : Tensor.fromArray(data, shape, "i32");
export const scalar = (x: number): Tensor => f64Tensor([x], []);

export interface SegmentPlan {
  /** Chunk size c, chunks m, and most chunks of one segment q. */
  readonly c: number;
  readonly m: number;
  readonly q: number;
  readonly idx1: Int32Array; // [m, c] label rows
  readonly mask1: Float64Array; // [m, c]
  readonly idx2: Int32Array; // [segments, q] chunks
  readonly mask2: Float64Array; // [segments, q]
}

/**
 * The two-level padded layout of rows grouped by `ids` (each in [0, segments)): chunks of
 * c = ⌈√(largest segment)⌉ rows, then each segment's chunks. Padding entries point at
 * row / chunk 0 with mask 0. Needs at least one row.
 */
export function segmentPlan(ids: Int32Array, segments: number): SegmentPlan {
  const n = ids.length;
  if (n === 0) throw new LatheError("segmentPlan: no rows to group");
  const count = new Int32Array(segments);
  for (const s of ids) count[s]!++;
  const nmax = count.reduce((a, b) => Math.max(a, b), 0);
  const c = Math.max(1, Math.ceil(Math.sqrt(nmax)));
  const chunksOf = Int32Array.from(count, (k) => Math.ceil(k / c));
  const q = Math.max(1, chunksOf.reduce((a, b) => Math.max(a, b), 0));
  // The first chunk of each segment, and each segment's rows in order (a counting sort).
  const firstChunk = new Int32Array(segments + 1), start = new Int32Array(segments + 1);
  for (let s = 0; s < segments; s++) { firstChunk[s + 1] = firstChunk[s]! + chunksOf[s]!; start[s + 1] = start[s]! + count[s]!; }
  const m = firstChunk[segments]!;
  const order = new Int32Array(n), fill = start.slice(0, segments);
  ids.forEach((s, r) => { order[fill[s]!++] = r; });
  const idx1 = new Int32Array(m * c), mask1 = new Float64Array(m * c);
  const idx2 = new Int32Array(segments * q), mask2 = new Float64Array(segments * q);
  for (let s = 0; s < segments; s++) {
    for (let j = 0; j < chunksOf[s]!; j++) {
      const chunk = firstChunk[s]! + j;
      idx2[s * q + j] = chunk; mask2[s * q + j] = 1;
      for (let r = 0; r < c; r++) {
        const k = j * c + r;
        if (k < count[s]!) { idx1[chunk * c + r] = order[start[s]! + k]!; mask1[chunk * c + r] = 1; }
      }
    }
  }
  return { c, m, q, idx1, mask1, idx2, mask2 };
}

/** The tensors the graphs read for one set of triples (item indices local to `numItems`). */
export class LabelTensors {
  readonly numLabels: number;
  readonly item: Tensor;
  readonly worker: Tensor;
  readonly label: Tensor;
  /** Each label's (worker, label) segment, worker·k + label. */
  readonly wl: Tensor;
  /** [w, k, k, 2]: at (w, c, l) the row w·k + l and column c of the (worker, label) sums. */
  readonly wlIndex: Tensor;
  /** [w·k, k, 3]: at (w·k + l, c) the index (w, c, l) of logConf. */
  readonly wlcIndex: Tensor;
  readonly classes: Tensor;
  private readonly segs = new Map<Seg, Record<string, Tensor>>();
  private readonly wlKeys: Int32Array;

  constructor(
    private readonly raw: { readonly item: Int32Array; readonly worker: Int32Array; readonly label: Int32Array },
    readonly numItems: number, readonly numWorkers: number, readonly numClasses: number,
    readonly strategy: SegmentStrategy = "masked",
  ) {
    const n = raw.item.length;
    if (n === 0) throw new LatheError("crowd: the label set has no labels");
    if (!SEGMENT_STRATEGIES.includes(strategy)) throw new LatheError(`crowd: segments must be one of ${SEGMENT_STRATEGIES.join(", ")}, got "${strategy}"`);
    const key = new Int32Array(n);
    for (let k = 0; k < n; k++) key[k] = raw.worker[k]! * numClasses + raw.label[k]!;
    const index = new Int32Array(numWorkers * numClasses * numClasses * 2);
    for (let w = 0, at = 0; w < numWorkers; w++) {
      for (let c = 0; c < numClasses; c++) for (let l = 0; l < numClasses; l++, at += 2) { index[at] = w * numClasses + l; index[at + 1] = c; }
    }
    const back = new Int32Array(numWorkers * numClasses * numClasses * 3);
    for (let w = 0, at = 0; w < numWorkers; w++) {
      for (let l = 0; l < numClasses; l++) for (let c = 0; c < numClasses; c++, at += 3) { back[at] = w; back[at + 1] = c; back[at + 2] = l; }
    }
    this.wlcIndex = i32Tensor(back, [numWorkers * numClasses, numClasses, 3]);
    this.wlKeys = key;
    this.wl = i32Tensor(key, [n]);
    this.wlIndex = i32Tensor(index, [numWorkers, numClasses, numClasses, 2]);
    this.numLabels = n;
    this.item = i32Tensor(raw.item, [n]);
    this.worker = i32Tensor(raw.worker, [n]);
    this.label = i32Tensor(raw.label, [n]);
    this.classes = i32Tensor(Int32Array.from({ length: numClasses }, (_, c) => c), [numClasses]);
  }

  /** The inputs that sum label rows by `s` under this strategy (built on first use). */
  seg(s: Seg): Record<string, Tensor> {
    let t = this.segs.get(s);
    if (!t) {
      const size = s === "item" ? this.numItems : s === "worker" ? this.numWorkers : this.numWorkers * this.numClasses;
      if (this.strategy === "masked") {
        t = { [`${s}s`]: Tensor.zeros([size], "f64") };
      } else {
        const p = segmentPlan(s === "item" ? this.raw.item : s === "worker" ? this.raw.worker : this.wlKeys, size);
        t = {
          [`${s}Idx1`]: i32Tensor(p.idx1, [p.m, p.c]), [`${s}Mask1`]: f64Tensor(p.mask1, [p.m, p.c]),
          [`${s}Idx2`]: i32Tensor(p.idx2, [size, p.q]), [`${s}Mask2`]: f64Tensor(p.mask2, [size, p.q]),
        };
      }
      this.segs.set(s, t);
    }
    return t;
  }
}

export const labelTensors = (
  t: { readonly item: Int32Array; readonly worker: Int32Array; readonly label: Int32Array },
  numItems: number, numWorkers: number, numClasses: number, strategy: SegmentStrategy = "masked",
): LabelTensors => new LabelTensors(t, numItems, numWorkers, numClasses, strategy);

export const tensorsOf = (ls: LabelSet, strategy: SegmentStrategy = "masked"): LabelTensors =>
  labelTensors(ls, ls.numItems, ls.numWorkers, ls.numClasses, strategy);

/** A tensor's data as a Float64Array (a copy). */
export const f64Data = (t: Tensor): Float64Array<ArrayBuffer> => Float64Array.from(t.data as ArrayLike<number>);

const run = async <R>(g: Graph, inputs: Record<string, Tensor>): Promise<R> => (await g(inputs)) as unknown as R;

/** Soft (weighted) votes: posteriors [numItems, numClasses]. */
export function votes(t: LabelTensors, weight?: Tensor): Promise<Tensor> {
  if (!weight) return run(plainVoteGraph(t.strategy), { item: t.item, label: t.label, classes: t.classes, ...t.seg("item") });
  return run(voteGraph(t.strategy), { item: t.item, label: t.label, weight, classes: t.classes, ...t.seg("item") });
}

/** Posteriors [numItems, numClasses] from log confusions [w, c, l] and the log prior. */
export function eStep(t: LabelTensors, logConf: Tensor, logPrior: Tensor): Promise<Tensor> {
  return run(eStepGraph(t.strategy), { logConf, logPrior, item: t.item, wl: t.wl, wlcIndex: t.wlcIndex, ...t.seg("item") });
}

export interface MStepHistory {
  readonly prevStats: Tensor;
  readonly prevMass: Tensor;
  readonly rho: number;
  readonly labelScale: number;
  readonly itemScale: number;
  readonly countScale: number;
}

export interface MStepOut { readonly stats: Tensor; readonly mass: Tensor; readonly logConf: Tensor; readonly logPrior: Tensor }

/** The DS M-step (streaming form; `history` absent: batch DS). */
export function mStep(t: LabelTensors, post: Tensor, smoothing: number, history?: MStepHistory): Promise<MStepOut> {
  const W = t.numWorkers, K = t.numClasses;
  const h = history ?? {
    prevStats: f64Tensor(new Float64Array(W * K * K), [W, K, K]), prevMass: f64Tensor(new Float64Array(K), [K]),
    rho: 1, labelScale: 1, itemScale: 1, countScale: 1,
  };
  return run(mStepGraph(t.strategy), {
    post, item: t.item, wl: t.wl, wlIndex: t.wlIndex, ...t.seg("wl"),
    prevStats: h.prevStats, prevMass: h.prevMass, rho: scalar(h.rho), labelScale: scalar(h.labelScale), itemScale: scalar(h.itemScale),
    countScale: scalar(h.countScale), smoothing: scalar(smoothing),
  });
}

/** The one-coin M-step: skills [w], logConf [w, c, l], logPrior [k]. */
export function oneCoinMStep(t: LabelTensors, post: Tensor, eps: number): Promise<{ skill: Tensor; logConf: Tensor; logPrior: Tensor }> {
  return run(oneCoinMStepGraph(t.strategy), { post, item: t.item, worker: t.worker, label: t.label, classes: t.classes, eps: scalar(eps), ...t.seg("worker") });
}

/** Wawa's skills [w]: agreement of each worker with argmax `post`. */
export function agreement(t: LabelTensors, post: Tensor): Promise<Tensor> {
  return run(agreementGraph(t.strategy), { post, item: t.item, worker: t.worker, label: t.label, ...t.seg("worker") });
}

/**
 * Confusion-matrix EM from the posteriors `post`: an M-step, then E-step + M-step until no
 * posterior moves by more than `tol` or after `maxIter` E-steps. `mStepOf` is the model's
 * M-step (Dawid–Skene's, one-coin's, online DS's with its history); the E-step is Dawid–Skene's
 * over `t`. Returns the last M-step, the last posteriors and whether it converged.
 */
export async function runEm<M extends { readonly logConf: Tensor; readonly logPrior: Tensor }>(
  t: LabelTensors, post: Tensor, mStepOf: (post: Tensor) => Promise<M>, maxIter: number, tol: number,
): Promise<{ m: M; post: Float64Array; iterations: number; converged: boolean }> {
  let m = await mStepOf(post);
  // The posteriors' own buffers (each E-step returns a fresh tensor), not copies: at 2M items
  // a copy is 160 MB.
  const view = (t: Tensor): Float64Array => (t.data instanceof Float64Array ? t.data : f64Data(t));
  let prev = view(post), iterations = 0;
  while (iterations < maxIter) {
    const next = await eStep(t, m.logConf, m.logPrior);
    iterations++;
    m = await mStepOf(next);
    const cur = view(next);
    const moved = maxAbsDiff(cur, prev);
    prev = cur;
    if (moved <= tol) return { m, post: prev, iterations, converged: true };
  }
  return { m, post: prev, iterations, converged: false };
}

/** Largest |a − b| over two equally long arrays (∞ if any difference is NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) {
    const d = Math.abs(a[k]! - b[k]!);
    if (Number.isNaN(d)) return Infinity;
    if (d > m) m = d;
  }
  return m;
}

/** Hard labels: argmax of each row (ties: the lowest class). */
export function argmaxRows(p: ArrayLike<number>, rows: number, k: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (p[i * k + c]! > p[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}
