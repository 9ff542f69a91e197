/**
 * Scenarios: a data set becomes a benchmark, a stream of experiences (train and test),
 * in one of the usual settings (Avalanche's vocabulary, van de Ven & Tolias' three cases):
 * - class-incremental: each experience brings new classes; one head over every class;
 * - task-incremental: the same split, but every example carries its experience's task
 *   label and the model answers among that task's classes only (a multi-head model);
 * - domain-incremental: the same classes in every experience, the inputs change
 *   (pixel permutations, rotations, or a list of data sets: new instances);
 * - online: any of these with each training experience cut into small sub-experiences
 *   seen once.
 *
 * Inputs are flattened to f32 rows [n, features]; labels are i32 [n].
 */
import { LatheError } from "../../core/errors.ts";
import { Rng, permutation } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Dataset } from "../data/dataset.ts";
import { checkDataset } from "../data/dataset.ts";

export type ScenarioKind = "class-incremental" | "task-incremental" | "domain-incremental";

export interface Experience {
  /** Position in its stream (for online sub-experiences: the sub-experience's own index). */
  readonly id: number;
  /** The experience of the original stream this one comes from (itself unless online). */
  readonly origin: number;
  /** The task label of every example (0 unless task-incremental). */
  readonly task: number;
  /** Classes present, ascending. */
  readonly classes: readonly number[];
  /** f32 [n, features]. */
  readonly x: Tensor;
  /** i32 [n]. */
  readonly y: Tensor;
}

export interface Benchmark {
  readonly name: string;
  readonly scenario: ScenarioKind;
  readonly train: readonly Experience[];
  readonly test: readonly Experience[];
  readonly numClasses: number;
  readonly features: number;
  /** Classes per task label (task-incremental: the head each task answers with). */
  readonly taskClasses: readonly (readonly number[])[];
  /** Set by `online`: training experiences are sub-experiences of at most this many examples. */
  readonly online?: number;
}

export const rows = (d: Dataset): number => d.x.shape[0]!;

/** x as f32 [n, features] (a view when already f32). */
export function flatten(d: Dataset): Dataset {
  checkDataset(d);
  const n = rows(d), f = d.x.size / Math.max(n, 1);
  const x = d.x.dtype === "f32" ? new Tensor(d.x.data, [n, f], "f32") : new Tensor(Float32Array.from(d.x.toArray()), [n, f], "f32");
  if (d.y.dtype !== "i32") throw new LatheError(`continual: labels must be i32 class indices, got ${d.y.dtype}`);
  return { x, y: d.y };
}

/** The examples whose indices are `idx`, as an experience. */
function take(d: Dataset, idx: readonly number[], id: number, task: number): Experience {
  const f = d.x.shape[1]!, src = d.x.data as Float32Array, ys = d.y.data as Int32Array;
  const x = new Float32Array(idx.length * f), y = new Int32Array(idx.length);
  idx.forEach((i, r) => { x.set(src.subarray(i * f, (i + 1) * f), r * f); y[r] = ys[i]!; });
  const classes = [...new Set(y)].sort((a, b) => a - b);
  return { id, origin: id, task, classes, x: new Tensor(x, [idx.length, f], "f32"), y: new Tensor(y, [idx.length], "i32") };
}

const classesOf = (d: Dataset): number[] => [...new Set(d.y.data as Int32Array)].sort((a, b) => a - b);

export interface SplitOptions {
  readonly name: string;
  readonly experiences: number;
  /** The order classes are dealt to experiences (default: ascending, shuffled when `seed` is given). */
  readonly classOrder?: readonly number[];
  readonly seed?: number;
  /** true: task-incremental (each experience is its own task). */
  readonly taskLabels?: boolean;
}

/** Checks a class order against the classes present; one line listing the valid values. */
export function checkClassOrder(order: readonly number[], present: readonly number[]): void {
  const seen = new Set<number>();
  for (const c of order) {
    if (seen.has(c)) throw new LatheError(`class order repeats class ${c}; it must list each of ${present.join(", ")} once`);
    seen.add(c);
  }
  const missing = present.filter((c) => !seen.has(c)), unknown = order.filter((c) => !present.includes(c));
  if (missing.length > 0 || unknown.length > 0) {
    throw new LatheError(`class order must list each of ${present.join(", ")} once${unknown.length ? `; unknown ${unknown.join(", ")}` : ""}${missing.length ? `; missing ${missing.join(", ")}` : ""}`);
  }
}

/** Class- or task-incremental split of `train`/`test` by a class order into equal groups. */
export function splitByClass(train: Dataset, test: Dataset, o: SplitOptions): Benchmark {
  const tr = flatten(train), te = flatten(test);
  const present = classesOf(tr);
  const order = o.classOrder ?? (o.seed === undefined ? present : permutation(present.length, new Rng(o.seed)).map((k) => present[k]!));
  checkClassOrder(order, present);
  if (!Number.isInteger(o.experiences) || o.experiences < 1 || present.length % o.experiences !== 0) {
    throw new LatheError(`${o.name}: ${present.length} classes cannot be split into ${o.experiences} experiences; valid: ${divisors(present.length).join(", ")}`);
  }
  const per = present.length / o.experiences;
  const groups = Array.from({ length: o.experiences }, (_, e) => order.slice(e * per, (e + 1) * per));
  const cut = (d: Dataset) => groups.map((g, e) => {
    const set = new Set(g), ys = d.y.data as Int32Array, idx: number[] = [];
    for (let i = 0; i < ys.length; i++) if (set.has(ys[i]!)) idx.push(i);
    return take(d, idx, e, o.taskLabels ? e : 0);
  });
  const taskClasses = o.taskLabels ? groups.map((g) => [...g].sort((a, b) => a - b)) : [present];
  return { name: o.name, scenario: o.taskLabels ? "task-incremental" : "class-incremental", train: cut(tr), test: cut(te), numClasses: Math.max(...present) + 1, features: tr.x.shape[1]!, taskClasses };
}

const divisors = (n: number): number[] => Array.from({ length: n }, (_, k) => k + 1).filter((k) => n % k === 0);

/** Domain-incremental from one transform per experience (applied to train and test alike). */
function domainStream(name: string, train: Dataset, test: Dataset, transforms: readonly ((x: Float32Array) => Float32Array)[]): Benchmark {
  const tr = flatten(train), te = flatten(test);
  const present = classesOf(tr);
  const all = (d: Dataset) => Array.from({ length: rows(d) }, (_, i) => i);
  const apply = (d: Dataset, e: number): Experience => {
    const base = take(d, all(d), e, 0);
    return { ...base, x: new Tensor(transforms[e]!(base.x.data as Float32Array), base.x.shape, "f32") };
  };
  return {
    name, scenario: "domain-incremental", numClasses: Math.max(...present) + 1, features: tr.x.shape[1]!, taskClasses: [present],
    train: transforms.map((_, e) => apply(tr, e)), test: transforms.map((_, e) => apply(te, e)),
  };
}

/** Each experience permutes the pixels by its own seeded permutation (Permuted-MNIST). */
export function permuted(train: Dataset, test: Dataset, o: { name: string; experiences: number; seed: number }): Benchmark {
  const f = flatten(train).x.shape[1]!, rng = new Rng(o.seed ^ 0x5eed);
  const perms = Array.from({ length: o.experiences }, () => permutation(f, rng));
  return domainStream(o.name, train, test, perms.map((p) => (x) => {
    const out = new Float32Array(x.length);
    for (let r = 0; r < x.length; r += f) for (let j = 0; j < f; j++) out[r + j] = x[r + p[j]!]!;
    return out;
  }));
}

/**
 * Each experience rotates the square images by its angle (degrees) about their centre,
 * nearest-neighbour sampling, zero outside (Rotated-MNIST). Angles: given, or drawn
 * uniformly in [0, 180) from `seed`.
 */
export function rotated(train: Dataset, test: Dataset, o: { name: string; experiences: number; seed: number; angles?: readonly number[] }): Benchmark {
  const f = flatten(train).x.shape[1]!, s = Math.round(Math.sqrt(f));
  if (s * s !== f) throw new LatheError(`${o.name}: rotations need square images, got ${f} features per row`);
  const rng = new Rng(o.seed ^ 0x0a7e);
  const angles = o.angles ?? Array.from({ length: o.experiences }, () => rng.uniform(0, 180));
  if (angles.length !== o.experiences) throw new LatheError(`${o.name}: ${angles.length} angles for ${o.experiences} experiences`);
  return domainStream(o.name, train, test, angles.map((deg) => (x) => rotateImages(x, s, deg)));
}

/** Rotates every s×s image in `x` by `deg` degrees counter-clockwise (nearest neighbour). */
export function rotateImages(x: Float32Array, s: number, deg: number): Float32Array {
  const out = new Float32Array(x.length), a = (deg * Math.PI) / 180, c = Math.cos(a), sn = Math.sin(a), mid = (s - 1) / 2;
  // Source pixel of every output pixel: the inverse rotation.
  const src = new Int32Array(s * s).fill(-1);
  for (let i = 0; i < s; i++) {
    for (let j = 0; j < s; j++) {
      const y = i - mid, xx = j - mid;
      const si = Math.round(c * y + sn * xx + mid), sj = Math.round(-sn * y + c * xx + mid);
      if (si >= 0 && si < s && sj >= 0 && sj < s) src[i * s + j] = si * s + sj;
    }
  }
  for (let r = 0; r < x.length; r += s * s) for (let k = 0; k < s * s; k++) if (src[k]! >= 0) out[r + k] = x[r + src[k]!]!;
  return out;
}

/** New instances: one experience per data set (same classes, same features). */
export function fromDatasets(name: string, sets: readonly { train: Dataset; test: Dataset }[]): Benchmark {
  if (sets.length === 0) throw new LatheError(`${name}: the list of data sets is empty`);
  const flat = sets.map((s) => ({ train: flatten(s.train), test: flatten(s.test) }));
  const f = flat[0]!.train.x.shape[1]!;
  flat.forEach((s, k) => {
    if (s.train.x.shape[1] !== f || s.test.x.shape[1] !== f) throw new LatheError(`${name}: data set ${k} has ${s.train.x.shape[1]} features, the first ${f}`);
  });
  const all = (d: Dataset) => Array.from({ length: rows(d) }, (_, i) => i);
  const present = [...new Set(flat.flatMap((s) => classesOf(s.train)))].sort((a, b) => a - b);
  return {
    name, scenario: "domain-incremental", numClasses: Math.max(...present) + 1, features: f, taskClasses: [present],
    train: flat.map((s, e) => take(s.train, all(s.train), e, 0)), test: flat.map((s, e) => take(s.test, all(s.test), e, 0)),
  };
}

/** Online: every training experience cut into sub-experiences of at most `size` examples (test streams unchanged). */
export function online(b: Benchmark, size: number): Benchmark {
  if (!Number.isInteger(size) || size < 1) throw new LatheError(`online: the sub-experience size must be a positive integer, got ${size}`);
  const train: Experience[] = [];
  for (const e of b.train) {
    const n = rows(e), f = b.features;
    for (let s = 0; s < n; s += size) {
      const m = Math.min(size, n - s);
      const y = new Int32Array((e.y.data as Int32Array).subarray(s, s + m));
      train.push({
        id: train.length, origin: e.origin, task: e.task, classes: [...new Set(y)].sort((p, q) => p - q),
        x: new Tensor((e.x.data as Float32Array).slice(s * f, (s + m) * f), [m, f], "f32"), y: new Tensor(y, [m], "i32"),
      });
    }
  }
  return { ...b, train, online: size };
}
