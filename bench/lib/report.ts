/**
 * BenchReport: collects a benchmark's rows, prints them as a table and writes
 * bench/results/<name>.json in the format BENCH.md fixes.
 */
import { mkdirSync } from "node:fs";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LatheError } from "../../core/errors.ts";
import { hostInfo, type HostInfo } from "./host.ts";

export { hostInfo, type HostInfo } from "./host.ts";
export { median, timeIt, timeSides, type SidesOptions, type TimeOptions, type Timing } from "./timing.ts";

export const RESULTS_DIR = fileURLToPath(new URL("../results", import.meta.url));

export type Better = "higher" | "lower";

/** One row as written to JSON (snake_case keys as in BENCH.md). */
export interface BenchRow {
  readonly case: string;
  readonly threads: number;
  readonly metric: string;
  readonly better: Better;
  readonly lathe: number;
  readonly baseline: string;
  readonly baseline_value: number | null;
  readonly ratio: number | null;
}

interface RowCommon {
  readonly case: string;
  readonly threads: number;
  readonly metric: string;
  readonly better: Better;
  readonly lathe: number;
  /** The baseline's name, e.g. "openblas". */
  readonly baseline: string;
}

/** A measured baseline, or a missing one with the command that installs it. */
export type RowInput =
  | (RowCommon & { readonly baselineValue: number })
  | (RowCommon & { readonly baselineValue: null; readonly install: string });

export interface BenchJson {
  readonly name: string;
  readonly date: string;
  readonly host: HostInfo;
  readonly notes: readonly string[];
  readonly rows: readonly BenchRow[];
}

/** Options every benchmark's run() receives from `lathe bench`. */
export interface BenchOptions {
  /** Small sizes and few repeats, for a smoke run. */
  readonly quick: boolean;
}

/** What bench/<name>/index.ts exports. */
export type BenchRun = (opts: BenchOptions) => Promise<BenchReport>;

const roundSig = (x: number, digits = 3): number => Number(x.toPrecision(digits));

/** > 1 means Lathe is ahead: lathe/baseline when higher is better, baseline/lathe when lower is. */
export function ratioOf(better: Better, lathe: number, baseline: number | null): number | null {
  if (baseline === null) return null;
  const r = better === "higher" ? lathe / baseline : baseline / lathe;
  return Number.isFinite(r) ? roundSig(r) : null;
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/i;

export class BenchReport {
  private readonly notesList: string[] = [];
  private readonly rowsList: BenchRow[] = [];
  readonly date: string;

  constructor(readonly name: string, readonly host: HostInfo = hostInfo(), date: Date = new Date()) {
    if (!NAME.test(name)) throw new LatheError(`benchmark name must be letters, digits, - or _, got "${name}"`);
    this.date = date.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  /** Adds a note once (repeats are dropped). */
  note(text: string): this {
    if (!this.notesList.includes(text)) this.notesList.push(text);
    return this;
  }

  row(input: RowInput): BenchRow {
    if (input.better !== "higher" && input.better !== "lower") throw new LatheError(`better must be "higher" or "lower", got ${String(input.better)}`);
    if (!Number.isInteger(input.threads) || input.threads < 1) throw new LatheError(`threads must be a positive integer, got ${input.threads}`);
    if (!Number.isFinite(input.lathe)) throw new LatheError(`case ${input.case}: lathe value must be a finite number, got ${input.lathe}`);
    if (input.baselineValue !== null && !Number.isFinite(input.baselineValue)) {
      throw new LatheError(`case ${input.case}: baseline value must be a finite number or null, got ${input.baselineValue}`);
    }
    const ratio = ratioOf(input.better, input.lathe, input.baselineValue);
    if (input.baselineValue === null) this.note(`${input.baseline} is not installed, so its rows have no baseline: ${input.install}`);
    else if (ratio === null) this.note(`case ${input.case}: ratio undefined (a value is zero)`);
    const row: BenchRow = {
      case: input.case, threads: input.threads, metric: input.metric, better: input.better,
      lathe: input.lathe, baseline: input.baseline, baseline_value: input.baselineValue, ratio,
    };
    this.rowsList.push(row);
    return row;
  }

  get rows(): readonly BenchRow[] {
    return this.rowsList;
  }

  get notes(): readonly string[] {
    return this.notesList;
  }

  toJSON(): BenchJson {
    return { name: this.name, date: this.date, host: this.host, notes: [...this.notesList], rows: [...this.rowsList] };
  }

  /** Writes <dir>/<name>.json atomically (temp file, then rename) and returns its path. */
  write(dir: string = RESULTS_DIR): string {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${this.name}.json`);
    writeFileAtomic(path, JSON.stringify(this.toJSON(), null, 2) + "\n");
    return path;
  }

  /** A plain-text table of the rows, then the notes. */
  table(): string {
    const fmt = (x: number | null): string => (x === null ? "-" : String(roundSig(x, 4)));
    const lines = formatTable(
      ["case", "threads", "metric", "lathe", "baseline", "baseline value", "ratio"],
      this.rowsList.map((r) => [r.case, String(r.threads), `${r.metric} (${r.better})`, fmt(r.lathe), r.baseline, fmt(r.baseline_value), fmt(r.ratio)]),
    );
    const notes = this.notesList.map((n) => `note: ${n}`);
    return [`${this.name} — ${this.host.cpu}, ${this.host.cores} cores, node ${this.host.node}`, lines, ...notes].join("\n");
  }
}

/** Left-aligned text columns separated by two spaces, with a rule under the header. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
