/**
 * Crowd labels as CSV, in crowd-kit's data convention: a header, then one label a row in
 * the columns `task,worker,label` (any strings; other columns are allowed and ignored).
 *
 * Reading streams: bytes → a fatal UTF-8 decoder (TextDecoder, chunk-safe) → csv-parse →
 * names interned to dense indices in first-seen order, kept in growable Int32Arrays, so a
 * file of ten million labels never sits in one string. Every bad input is a ParseError
 * whose one line reads `FILE:LINE:COLUMN: what`, where COLUMN is the 1-based CSV field
 * (for bytes that are not UTF-8: the character on the line):
 *   an empty file; a header without a task, worker or label column (or naming one twice);
 *   a header and no labels; a ragged row (a field count other than the header's); an
 *   empty task, worker or label field (a task with no label); a (task, worker) pair seen
 *   twice, in the file or in the labels it extends (unless `allowDuplicates`); a label not
 *   among fixed classes; a label seen once when the classes come from the data (see
 *   `readLabelsCsv`); a quoting error; bytes that are not UTF-8.
 *
 * Writing: `csvLine` quotes a field holding a comma, quote, CR or LF (RFC 4180).
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { parse } from "csv-parse";
import { LatheError, ParseError } from "../../core/errors.ts";
import { Names } from "./labels.ts";

/** One CSV record: its fields and the line it starts on (1-based). */
export interface CsvRecord {
  readonly fields: readonly string[];
  readonly line: number;
}

/** Where the first `n` characters of `s` end: lines and columns advanced from (line, col). */
function advance(pos: { line: number; col: number }, s: string): void {
  let last = -1;
  for (let k = s.indexOf("\n"); k !== -1; k = s.indexOf("\n", k + 1)) { pos.line++; last = k; }
  // Columns count code points.
  const rest = last === -1 ? s : s.slice(last + 1);
  let cps = 0;
  for (const _ of rest) cps++;
  pos.col = last === -1 ? pos.col + cps : 1 + cps;
}

/** The bytes of a pending (incomplete) UTF-8 sequence at the end of `tail` (at most 3 bytes). */
function pendingSuffix(tail: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(3, tail.length); back++) {
    const b = tail[tail.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? tail.subarray(tail.length - back) : new Uint8Array(0);
  }
  return new Uint8Array(0);
}

const concatBytes = (a: Uint8Array, b: Uint8Array): Uint8Array => { const o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o; };

/**
 * The file's text in chunks, decoded as UTF-8 (a leading BOM dropped); bytes that are not
 * UTF-8 throw a ParseError at their line and column.
 */
export async function* utf8Chunks(path: string): AsyncGenerator<string> {
  const dec = new TextDecoder("utf-8", { fatal: true });
  const pos = { line: 1, col: 1 };
  let tail: Uint8Array = new Uint8Array(0); // the last ≤ 3 bytes decoded so far
  let offset = 0;
  const fail = (at: { line: number; col: number }, byteOffset: number, what: string): never => {
    throw new ParseError(`${what} (byte offset ${byteOffset}); the file must be UTF-8`, at.line, at.col, path);
  };
  let stream: AsyncIterable<Buffer>;
  try {
    stream = createReadStream(path);
  } catch (e) {
    throw new LatheError(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    for await (const buf of stream) {
      const chunk = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      let s: string;
      try {
        s = dec.decode(chunk, { stream: true });
      } catch {
        // Find the first failing prefix with a fresh decoder started from the pending bytes.
        const carry = pendingSuffix(tail);
        const fails = (n: number) => {
          try { new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(concatBytes(carry, chunk.subarray(0, n)), { stream: true }); return false; } catch { return true; }
        };
        let lo = 1, hi = chunk.length; // the smallest failing n is in [lo, hi]
        while (lo < hi) { const mid = (lo + hi) >> 1; if (fails(mid)) hi = mid; else lo = mid + 1; }
        // The bad sequence starts at the pending lead byte, if any, else at the failing byte.
        const before = concatBytes(carry, chunk.subarray(0, lo - 1));
        const lead = pendingSuffix(before).length;
        advance(pos, new TextDecoder("utf-8", { ignoreBOM: offset > 0 }).decode(before, { stream: true }));
        const first = lead > 0 ? before[before.length - lead]! : chunk[lo - 1]!;
        return fail(pos, offset + lo - 1 - lead, `invalid UTF-8 byte 0x${first.toString(16).padStart(2, "0")}`);
      }
      advance(pos, s);
      tail = concatBytes(tail, chunk.subarray(Math.max(0, chunk.length - 3))).slice(-3);
      offset += chunk.length;
      if (s.length > 0) yield s;
    }
  } catch (e) {
    if (e instanceof LatheError) throw e;
    throw new LatheError(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const s = dec.decode();
    if (s.length > 0) yield s;
  } catch {
    fail(pos, offset, "the file ends inside a UTF-8 sequence");
  }
}

/**
 * The file's CSV records (empty lines skipped). CSV syntax errors and non-UTF-8 bytes are
 * ParseErrors naming the file, line and column.
 */
export async function* readCsvRecords(path: string): AsyncGenerator<CsvRecord> {
  const parser = parse({ info: true, relax_column_count: true, skip_empty_lines: true });
  const src = Readable.from(utf8Chunks(path));
  src.on("error", (e) => parser.destroy(e));
  src.pipe(parser);
  try {
    for await (const r of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      // info.lines is the line a record ends on; a quoted field may span lines.
      let nl = 0;
      for (const f of r.record) for (let k = f.indexOf("\n"); k !== -1; k = f.indexOf("\n", k + 1)) nl++;
      yield { fields: r.record, line: r.info.lines - nl };
    }
  } catch (e) {
    if (e instanceof LatheError) throw e;
    const err = e as Error & { code?: string; lines?: number; column?: number };
    if (typeof err.code === "string" && err.code.startsWith("CSV_")) {
      throw new ParseError(`${err.message.replace(/ at line \d+/, "").replace(/\s+/g, " ")}`, err.lines ?? 1, (err.column ?? 0) + 1, path);
    }
    throw new LatheError(`cannot read ${path}: ${err.message}`);
  } finally {
    src.destroy();
  }
}

/** Reads the header: the index of each wanted column; a missing or repeated one is an error. */
function headerColumns<C extends string>(path: string, rec: CsvRecord | undefined, want: readonly C[]): Record<C, number> {
  if (!rec) throw new ParseError(`the file is empty; it needs a header naming the columns ${want.join(",")}`, 1, 1, path);
  const out = {} as Record<C, number>;
  const seen = new Map<string, number>();
  rec.fields.forEach((f, k) => {
    const name = f.trim();
    const first = seen.get(name);
    if (first !== undefined && (want as readonly string[]).includes(name)) throw new ParseError(`the header names column "${name}" twice (columns ${first + 1} and ${k + 1})`, rec.line, k + 1, path);
    seen.set(name, k);
  });
  for (const c of want) {
    const k = seen.get(c);
    if (k === undefined) {
      throw new ParseError(`the header has no "${c}" column (it reads ${rec.fields.map((f) => JSON.stringify(f)).join(",")}); the first line must name the columns ${want.join(",")}`, rec.line, 1, path);
    }
    out[c] = k;
  }
  return out;
}

function checkRagged(path: string, rec: CsvRecord, width: number): void {
  if (rec.fields.length !== width) {
    throw new ParseError(`ragged row: ${rec.fields.length} field(s), the header has ${width}`, rec.line, Math.min(rec.fields.length, width) + 1, path);
  }
}

/** A growable Int32Array. */
class Ints {
  data = new Int32Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.data.length) { const d = new Int32Array(this.data.length * 2); d.set(this.data); this.data = d; }
    this.data[this.length++] = x;
  }
  view(): Int32Array { return this.data.slice(0, this.length); }
}

export interface ReadLabelsOptions {
  /**
   * The classes, in index order. Given, a label outside them is an error and a label seen
   * once is fine. Absent, the classes are the labels in first-seen order, and a label seen
   * only once in the file is an error: a one-off label is far likelier a typo than a
   * class, and making it a class would add a p_<label> column (and a row to every
   * confusion matrix) that no other row can fill. Declare such a class to keep it.
   */
  readonly classes?: readonly string[];
  /** Where `classes` came from, for the error message (default "--classes"). */
  readonly classesFrom?: string;
  /**
   * Labels read earlier (an aggregator's state): the file's task and worker names extend
   * these tables, and a (task, worker) pair among these labels counts as a duplicate.
   */
  readonly extend?: { readonly items: readonly string[]; readonly workers: readonly string[]; readonly item: Int32Array; readonly worker: Int32Array };
  /**
   * Keep every label of a repeated (task, worker) pair instead of failing. A label set
   * holds one label per pair (LabelSet), so the k-th repeat (k ≥ 1) is credited to the
   * worker alias `<worker>#<k+1>`; majority vote then counts every label, and the EM
   * methods give the alias its own confusion matrix.
   */
  readonly allowDuplicates?: boolean;
}

export interface CrowdCsv {
  /** Name tables (first-seen order, extending `extend`'s). */
  readonly items: readonly string[];
  readonly workers: readonly string[];
  readonly classes: readonly string[];
  /** The file's labels only (not `extend`'s), as dense indices. */
  readonly item: Int32Array;
  readonly worker: Int32Array;
  readonly label: Int32Array;
  /** Pairs repeated (kept under aliases with allowDuplicates). */
  readonly duplicates: number;
}

/** A (task, worker) key; the guards keep it an exact double. */
const pairKey = (i: number, w: number): number => i * 0x4000000 + w;
const MAX_WORKERS = 0x4000000, MAX_ITEMS = 0x8000000;

/** Reads a `task,worker,label` CSV (see the file comment for the errors). */
export async function readLabelsCsv(path: string, opts: ReadLabelsOptions = {}): Promise<CrowdCsv> {
  const items = new Names(opts.extend?.items), workers = new Names(opts.extend?.workers);
  const fixed = opts.classes ? new Names(opts.classes) : null;
  const classes = fixed ?? new Names();
  const count: number[] = [], firstAt: { line: number; col: number }[] = [];
  const it = new Ints(), wk = new Ints(), lb = new Ints();
  // (task, worker) → the line it was labelled on (0: in the labels extended).
  const pairs = new Map<number, number>();
  const repeats = new Map<number, number>();
  if (opts.extend) for (let k = 0; k < opts.extend.item.length; k++) pairs.set(pairKey(opts.extend.item[k]!, opts.extend.worker[k]!), 0);
  let duplicates = 0;
  let cols: Record<"task" | "worker" | "label", number> | undefined;
  let width = 0, lastLine = 1;
  for await (const rec of readCsvRecords(path)) {
    lastLine = rec.line;
    if (!cols) { cols = headerColumns(path, rec, ["task", "worker", "label"]); width = rec.fields.length; continue; }
    checkRagged(path, rec, width);
    const task = rec.fields[cols.task]!, who = rec.fields[cols.worker]!, lab = rec.fields[cols.label]!;
    const at = (c: number) => ({ line: rec.line, col: c + 1 });
    const fail = (c: number, what: string): never => { throw new ParseError(what, rec.line, c + 1, path); };
    if (task === "") fail(cols.task, "empty task field");
    if (who === "") fail(cols.worker, `task "${task}": empty worker field`);
    if (lab === "") fail(cols.label, `task "${task}" has no label (the label field is empty)`);
    let c: number;
    if (fixed) {
      const k = fixed.get(lab);
      if (k === undefined) fail(cols.label, `label "${lab}" is not one of the classes [${fixed.names.join(", ")}] (${opts.classesFrom ?? "--classes"})`);
      c = k!;
    } else {
      c = classes.of(lab);
    }
    if (count[c] === undefined) { count[c] = 0; firstAt[c] = at(cols.label); }
    count[c]!++;
    const i = items.of(task);
    let w = workers.of(who);
    if (i >= MAX_ITEMS || w >= MAX_WORKERS) fail(cols.task, `more than ${MAX_ITEMS} tasks or ${MAX_WORKERS} workers`);
    const key = pairKey(i, w);
    const prev = pairs.get(key);
    if (prev !== undefined) {
      if (!opts.allowDuplicates) {
        fail(cols.worker, `worker "${who}" labelled task "${task}" twice (${prev === 0 ? "once already in the state" : `first on line ${prev}`}); pass --allow-duplicates to keep both`);
      }
      duplicates++;
      const k = (repeats.get(key) ?? 1) + 1;
      repeats.set(key, k);
      w = workers.of(`${who}#${k}`);
      if (w >= MAX_WORKERS) fail(cols.worker, `more than ${MAX_WORKERS} workers`);
      pairs.set(pairKey(i, w), rec.line);
    } else {
      pairs.set(key, rec.line);
    }
    it.push(i); wk.push(w); lb.push(c);
  }
  if (!cols) headerColumns(path, undefined, ["task", "worker", "label"]);
  if (it.length === 0) throw new ParseError(`no labels after the header`, lastLine + 1, 1, path);
  if (!fixed) {
    for (let c = 0; c < count.length; c++) {
      if (count[c] === 1) {
        const p = firstAt[c]!;
        throw new ParseError(`label "${classes.names[c]}" is seen only once; a one-off label is taken for a typo, not a class (declare it with --classes to keep it)`, p.line, p.col, path);
      }
    }
  }
  return { items: items.names, workers: workers.names, classes: classes.names, item: it.view(), worker: wk.view(), label: lb.view(), duplicates };
}

export interface GoldCsv {
  /** Item index (in the given task table) and gold class name, one per gold row. */
  readonly item: Int32Array;
  readonly labels: readonly string[];
}

/** Reads a `task,label` gold CSV; a task not in `items` (or named twice) is an error. */
export async function readGoldCsv(path: string, items: readonly string[]): Promise<GoldCsv> {
  const index = new Map<string, number>();
  items.forEach((n, k) => index.set(n, k));
  const item: number[] = [], labels: string[] = [];
  const seen = new Map<string, number>();
  let cols: Record<"task" | "label", number> | undefined;
  let width = 0, lastLine = 1;
  for await (const rec of readCsvRecords(path)) {
    lastLine = rec.line;
    if (!cols) { cols = headerColumns(path, rec, ["task", "label"]); width = rec.fields.length; continue; }
    checkRagged(path, rec, width);
    const task = rec.fields[cols.task]!, lab = rec.fields[cols.label]!;
    const i = index.get(task);
    if (i === undefined) throw new ParseError(`gold names task "${task}", which has no labels`, rec.line, cols.task + 1, path);
    const first = seen.get(task);
    if (first !== undefined) throw new ParseError(`gold names task "${task}" twice (first on line ${first})`, rec.line, cols.task + 1, path);
    if (lab === "") throw new ParseError(`gold task "${task}" has an empty label`, rec.line, cols.label + 1, path);
    seen.set(task, rec.line);
    item.push(i); labels.push(lab);
  }
  if (!cols) headerColumns(path, undefined, ["task", "label"]);
  if (item.length === 0) throw new ParseError(`no gold labels after the header`, lastLine + 1, 1, path);
  return { item: Int32Array.from(item), labels };
}

/** One CSV field, quoted when it holds a comma, a quote, CR or LF (or leading/trailing space). */
export function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One CSV line (with its "\n"). */
export const csvLine = (fields: readonly string[]): string => fields.map(csvField).join(",") + "\n";
