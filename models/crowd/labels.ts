/**
 * A crowd's labels as a list of (item, worker, label) triples over dense indices, with the
 * original names of items, workers and classes in first-seen order. The aggregators read
 * the three Int32Arrays; nothing of size items × workers is ever built.
 *
 *     const ls = LabelSet.fromTriples([["img1", "ann", "cat"], ["img1", "bob", "dog"], ...]);
 *     ls.items      // ["img1", ...]       ls.item   // Int32Array [0, 0, ...]
 *
 * Validation (each a one-line LatheError naming the triple): a worker labelling one item
 * twice in one label set, a label outside [0, numClasses) (or a class name not in a given
 * class list), an item or worker index out of range.
 */
import { LatheError } from "../../core/errors.ts";

/** One raw label: item name, worker name, class name. */
export type Triple = readonly [item: string, worker: string, label: string];

/** Names → dense indices in first-seen order (also the CSV reader's, csv.ts). */
export class Names {
  readonly names: string[];
  private readonly index = new Map<string, number>();
  constructor(initial: readonly string[] = []) {
    this.names = [];
    for (const n of initial) this.of(n);
  }
  of(name: string): number {
    let k = this.index.get(name);
    if (k === undefined) { k = this.names.length; this.names.push(name); this.index.set(name, k); }
    return k;
  }
  get(name: string): number | undefined { return this.index.get(name); }
}

export interface LabelSetIndices {
  readonly item: ArrayLike<number>;
  readonly worker: ArrayLike<number>;
  readonly label: ArrayLike<number>;
}

export interface LabelSetSizes {
  readonly numItems: number;
  readonly numWorkers: number;
  readonly numClasses: number;
  /** Names by index (default: the index as a string). */
  readonly items?: readonly string[];
  readonly workers?: readonly string[];
  readonly classes?: readonly string[];
}

export interface FromTriplesOptions {
  /**
   * The classes, in index order. Given: a label naming another class is an error. Absent:
   * classes are numbered in first-seen order.
   */
  readonly classes?: readonly string[];
  /**
   * An earlier label set whose name tables this one extends (a later batch of a stream):
   * known names keep their indices, new ones are numbered after them.
   */
  readonly extend?: LabelSet;
}

const range = (n: number): string[] => Array.from({ length: n }, (_, k) => String(k));

export class LabelSet {
  private constructor(
    readonly items: readonly string[],
    readonly workers: readonly string[],
    readonly classes: readonly string[],
    readonly item: Int32Array,
    readonly worker: Int32Array,
    readonly label: Int32Array,
  ) {}

  get numLabels(): number { return this.item.length; }
  get numItems(): number { return this.items.length; }
  get numWorkers(): number { return this.workers.length; }
  get numClasses(): number { return this.classes.length; }

  /** From named triples; names get dense indices in first-seen order (see FromTriplesOptions). */
  static fromTriples(triples: Iterable<Triple>, opts: FromTriplesOptions = {}): LabelSet {
    const base = opts.extend;
    if (base && opts.classes && (opts.classes.length !== base.classes.length || opts.classes.some((c, k) => c !== base.classes[k]))) {
      throw new LatheError(`LabelSet.fromTriples: classes [${opts.classes.join(", ")}] differ from the extended label set's [${base.classes.join(", ")}]`);
    }
    const items = new Names(base?.items), workers = new Names(base?.workers);
    const fixed = opts.classes ?? null;
    const classes = new Names(fixed ?? base?.classes);
    const it: number[] = [], wk: number[] = [], lb: number[] = [];
    let n = 0;
    for (const t of triples) {
      if (!Array.isArray(t) || t.length !== 3) throw new LatheError(`LabelSet.fromTriples: label ${n} is not an (item, worker, label) triple`);
      const [i, w, l] = t.map(String) as [string, string, string];
      let c: number;
      if (fixed) {
        const k = classes.get(l);
        if (k === undefined) throw new LatheError(`LabelSet.fromTriples: label ${n} (item ${i}, worker ${w}) has class "${l}", not one of [${fixed.join(", ")}]`);
        c = k;
      } else {
        c = classes.of(l);
      }
      it.push(items.of(i)); wk.push(workers.of(w)); lb.push(c);
      n++;
    }
    const ls = new LabelSet(items.names, workers.names, classes.names, Int32Array.from(it), Int32Array.from(wk), Int32Array.from(lb));
    ls.validate("LabelSet.fromTriples");
    return ls;
  }

  /** From dense indices and sizes (e.g. a simulation); names default to the indices. */
  static fromIndices(ix: LabelSetIndices, sizes: LabelSetSizes): LabelSet {
    const { numItems, numWorkers, numClasses } = sizes;
    for (const [what, v] of [["numItems", numItems], ["numWorkers", numWorkers], ["numClasses", numClasses]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new LatheError(`LabelSet.fromIndices: ${what} must be a non-negative integer, got ${v}`);
    }
    const names = (given: readonly string[] | undefined, n: number, what: string): readonly string[] => {
      if (!given) return range(n);
      if (given.length !== n) throw new LatheError(`LabelSet.fromIndices: ${given.length} ${what} names for ${n} ${what}`);
      return [...given];
    };
    const n = ix.item.length;
    if (ix.worker.length !== n || ix.label.length !== n) {
      throw new LatheError(`LabelSet.fromIndices: item, worker and label must have one length, got ${n}, ${ix.worker.length}, ${ix.label.length}`);
    }
    const ls = new LabelSet(names(sizes.items, numItems, "items"), names(sizes.workers, numWorkers, "workers"), names(sizes.classes, numClasses, "classes"),
      Int32Array.from(ix.item), Int32Array.from(ix.worker), Int32Array.from(ix.label));
    ls.validate("LabelSet.fromIndices", ix);
    return ls;
  }

  /** The labels at positions `rows` (same name tables). */
  subset(rows: ArrayLike<number>): LabelSet {
    const pick = (a: Int32Array) => Int32Array.from({ length: rows.length }, (_, k) => a[rows[k]!]!);
    return new LabelSet(this.items, this.workers, this.classes, pick(this.item), pick(this.worker), pick(this.label));
  }

  /** These labels followed by `other`'s; `other`'s name tables must extend these (as fromTriples({ extend }) makes them). */
  concat(other: LabelSet): LabelSet {
    const prefix = (a: readonly string[], b: readonly string[], what: string) => {
      if (b.length < a.length || a.some((x, k) => b[k] !== x)) throw new LatheError(`LabelSet.concat: the second label set's ${what} do not extend the first's`);
    };
    prefix(this.items, other.items, "items"); prefix(this.workers, other.workers, "workers");
    if (this.classes.length !== other.classes.length || this.classes.some((c, k) => other.classes[k] !== c)) {
      throw new LatheError(`LabelSet.concat: classes differ: [${this.classes.join(", ")}] vs [${other.classes.join(", ")}]`);
    }
    const cat = (a: Int32Array, b: Int32Array) => { const o = new Int32Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; };
    const ls = new LabelSet(other.items, other.workers, other.classes, cat(this.item, other.item), cat(this.worker, other.worker), cat(this.label, other.label));
    ls.validate("LabelSet.concat");
    return ls;
  }

  /** The labels as named triples. */
  *triples(): Iterable<Triple> {
    for (let k = 0; k < this.numLabels; k++) yield [this.items[this.item[k]!]!, this.workers[this.worker[k]!]!, this.classes[this.label[k]!]!];
  }

  private validate(where: string, raw?: LabelSetIndices): void {
    const { numItems: I, numWorkers: W, numClasses: K } = this;
    const name = (a: readonly string[], k: number) => a[k] ?? String(k);
    const seen = new Map<number, number>();
    for (let k = 0; k < this.numLabels; k++) {
      // Int32Array.from truncates: check the raw values when there are any.
      const i = raw ? raw.item[k]! : this.item[k]!, w = raw ? raw.worker[k]! : this.worker[k]!, l = raw ? raw.label[k]! : this.label[k]!;
      if (!Number.isInteger(i) || i < 0 || i >= I) throw new LatheError(`${where}: label ${k} has item ${i}, outside [0, ${I})`);
      if (!Number.isInteger(w) || w < 0 || w >= W) throw new LatheError(`${where}: label ${k} has worker ${w}, outside [0, ${W})`);
      if (!Number.isInteger(l) || l < 0 || l >= K) {
        throw new LatheError(`${where}: label ${k} (item ${name(this.items, i)}, worker ${name(this.workers, w)}) has label ${l}, outside [0, ${K})`);
      }
      const key = i * W + w;
      const first = seen.get(key);
      if (first !== undefined) {
        throw new LatheError(`${where}: worker ${name(this.workers, w)} labelled item ${name(this.items, i)} twice (labels ${first} and ${k})`);
      }
      seen.set(key, k);
    }
  }
}
