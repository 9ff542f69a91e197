/**
 * Replay memories: a fixed number of stored examples (row, label, task and optionally the
 * logits seen when stored, for DER) and the policies that choose them.
 * - reservoir: every example of the stream is kept with probability capacity / seen
 *   (Vitter's algorithm R), so the memory is a uniform sample of everything seen;
 * - class-balanced: after each experience every seen class gets an equal share
 *   (capacity / classes; the remainder to the lowest classes), a uniform sample of its
 *   examples, shrinking older classes by random removal;
 * - greedy class-balanced (GDumb): an example enters while the memory has room, or when
 *   its class holds less than capacity / classes, evicting a random example of the
 *   largest class.
 */
import { LatheError } from "../../core/errors.ts";
import type { Rng } from "../../runtime/random.ts";
import { permutation } from "../../runtime/random.ts";

export interface Example {
  readonly x: Float32Array;
  readonly y: number;
  readonly task: number;
  readonly logits?: Float32Array;
}

export const BUFFER_POLICIES = ["reservoir", "class-balanced"] as const;
export type BufferPolicy = (typeof BUFFER_POLICIES)[number];

export function checkCapacity(capacity: number, what: string, trainSize?: number): void {
  if (!Number.isInteger(capacity) || capacity < 1) throw new LatheError(`${what}: the memory size must be a positive integer, got ${capacity}`);
  if (trainSize !== undefined && capacity > trainSize) throw new LatheError(`${what}: a memory of ${capacity} examples exceeds the ${trainSize} training examples; valid: 1..${trainSize}`);
}

export class Memory {
  readonly items: Example[] = [];
  /** Examples offered so far (reservoir's n). */
  seen = 0;
  constructor(readonly capacity: number, readonly what = "memory") { checkCapacity(capacity, what); }

  get size(): number { return this.items.length; }

  /** Reservoir: offers one example. */
  offerReservoir(e: Example, rng: Rng): void {
    this.seen++;
    if (this.items.length < this.capacity) { this.items.push(e); return; }
    const j = rng.int(0, this.seen);
    if (j < this.capacity) this.items[j] = e;
  }

  /** Class-balanced update with one experience's examples. */
  updateClassBalanced(incoming: readonly Example[], rng: Rng): void {
    const isNew = new Set(incoming);
    const byClass = new Map<number, Example[]>();
    for (const e of [...this.items, ...incoming]) {
      let l = byClass.get(e.y);
      if (!l) byClass.set(e.y, (l = []));
      l.push(e);
    }
    const classes = [...byClass.keys()].sort((a, b) => a - b);
    const base = Math.floor(this.capacity / classes.length), extra = this.capacity % classes.length;
    this.items.length = 0;
    classes.forEach((c, k) => {
      const quota = base + (k < extra ? 1 : 0), all = byClass.get(c)!;
      // Old examples first, so a class already stored is shrunk, not resampled from scratch.
      const old = all.filter((e) => !isNew.has(e)), fresh = all.filter((e) => isNew.has(e));
      const pick = (l: Example[], n: number) => permutation(l.length, rng).slice(0, n).sort((a, b) => a - b).map((i) => l[i]!);
      const keep = pick(old, Math.min(quota, old.length));
      this.items.push(...keep, ...pick(fresh, quota - keep.length));
    });
    this.seen += incoming.length;
  }

  /** GDumb's greedy class-balanced offer. */
  offerGreedy(e: Example, rng: Rng, classesSeen: number): void {
    this.seen++;
    if (this.items.length < this.capacity) { this.items.push(e); return; }
    const counts = new Map<number, number>();
    for (const it of this.items) counts.set(it.y, (counts.get(it.y) ?? 0) + 1);
    if ((counts.get(e.y) ?? 0) >= Math.floor(this.capacity / Math.max(classesSeen, 1))) return;
    let largest = -1, most = -1;
    for (const [c, n] of counts) if (n > most || (n === most && c < largest)) { largest = c; most = n; }
    const victims = this.items.flatMap((it, i) => (it.y === largest ? [i] : []));
    this.items[victims[rng.int(0, victims.length)]!] = e;
  }

  /** `n` distinct stored examples drawn uniformly (all of them when n ≥ size). */
  sample(n: number, rng: Rng): Example[] {
    if (n >= this.items.length) return [...this.items];
    return permutation(this.items.length, rng).slice(0, n).map((i) => this.items[i]!);
  }

  /** Classes stored, ascending, with their counts. */
  classCounts(): Map<number, number> {
    const m = new Map<number, number>();
    for (const it of this.items) m.set(it.y, (m.get(it.y) ?? 0) + 1);
    return new Map([...m].sort((a, b) => a[0] - b[0]));
  }
}
