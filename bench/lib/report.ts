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
export { median, timeIt, timeSidesSpread, type SideTiming, type SidesOptions, type TimeOptions, type Timing } from "./timing.ts";

export const RESULTS_DIR = fileURLToPath(new URL("../results", import.meta.url));

export type Better = "higher" | "lower";

/** One row as written to JSON (snake_case keys as in BENCH.md). */
export interface BenchRow {
  readonly case: string;
  readonly threads: number;
  readonly metric: string;
  readonly better: Better;
  readonly lathe: number;
  /** The fastest and slowest block of Lathe's side, when the benchmark timed it in blocks. */
  readonly lathe_min?: number;
  readonly lathe_max?: number;
  readonly baseline: string;
  readonly baseline_value: number | null;
  readonly baseline_min?: number;
  readonly baseline_max?: number;
  readonly ratio: number | null;
}

/** The range of a side's blocks, in the row's metric. */
export interface Spread { readonly min: number; readonly max: number }

interface RowCommon {
  readonly case: string;
  readonly threads: number;
  readonly metric: string;
  readonly better: Better;
  readonly lathe: number;
  /** The spread of Lathe's figure (timeSidesSpread's blocks, converted to the metric). */
  readonly latheSpread?: Spread;
  /** The baseline's name, e.g. "openblas". */
  readonly baseline: string;
  readonly baselineSpread?: Spread;
  /**
   * Whether more threads should be at least as fast for this case (default true). False for
   * cases with too little work to share (a tiny GEMM): the slower-on-more-threads check skips them.
   */
  readonly scales?: boolean;
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

  private hostRecord: HostInfo;
  private readonly problemsList: string[] = [];
  private readonly unscaled = new Set<BenchRow>();

  constructor(readonly name: string, host: HostInfo = hostInfo(), date: Date = new Date()) {
    if (!NAME.test(name)) throw new LatheError(`benchmark name must be letters, digits, - or _, got "${name}"`);
    this.hostRecord = host;
    this.date = date.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  get host(): HostInfo {
    return this.hostRecord;
  }

  /** Records the run's measured peak (bench/lib/peak.ts) and whether it was --quick. */
  setRun(run: { readonly quick: boolean; readonly peak?: { readonly gflopsPerCore: number; readonly triadGBs: number } | null }): this {
    this.hostRecord = {
      ...this.hostRecord, quick: run.quick,
      peak_gflops_per_core: run.peak?.gflopsPerCore ?? null, triad_gbs: run.peak?.triadGBs ?? null,
    };
    return this;
  }

  /** A fault that makes the run fail (a wrong output, a broken baseline), naming the row. */
  problem(text: string): this {
    this.problemsList.push(text);
    return this;
  }

  /**
   * What fails the run: the problems recorded, a GFLOP/s figure above the measured peak
   * (per core × threads, 10% margin: the clock varies between the peak and the row), and a baseline slower with more
   * threads than with one (by more than 10%, in rows that are expected to scale, and, where both
   * rows have block spreads, with every block slower: PyTorch's MLP step gave medians 13% apart
   * from blocks spread 20,760–25,350 and 19,050–24,090 samples/s, which is noise, not threading).
   */
  problems(): string[] {
    const out = [...this.problemsList];
    const peak = this.hostRecord.peak_gflops_per_core;
    for (const r of this.rowsList) {
      if (peak === null || !/GFLOP\/s/.test(r.metric)) continue;
      const limit = peak * r.threads * 1.1;
      for (const [who, v] of [["lathe", r.lathe], [r.baseline, r.baseline_value]] as const) {
        if (v !== null && v > limit) out.push(`${r.case}, ${r.threads} thread(s): ${who} at ${v} GFLOP/s is above the measured peak (${peak} per core)`);
      }
    }
    for (const r of this.rowsList) {
      if (r.threads === 1 || r.baseline_value === null || this.unscaled.has(r)) continue;
      const one = this.rowsList.find((q) => q.threads === 1 && q.case === r.case && q.metric === r.metric && q.baseline === r.baseline);
      if (!one || one.baseline_value === null) continue;
      const apart = r.baseline_min === undefined || one.baseline_min === undefined || r.baseline_max === undefined || one.baseline_max === undefined
        || (r.better === "higher" ? r.baseline_max < one.baseline_min : r.baseline_min > one.baseline_max);
      const slower = apart && (r.better === "higher" ? r.baseline_value < one.baseline_value * 0.9 : r.baseline_value > one.baseline_value * 1.1);
      if (slower) out.push(`${r.case}: ${r.baseline} is slower on ${r.threads} threads (${r.baseline_value}) than on 1 (${one.baseline_value}); fix its threading`);
    }
    return out;
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
    const spread = (who: string, value: number | null, sp: Spread | undefined): void => {
      if (sp === undefined || value === null) return;
      if (!(Number.isFinite(sp.min) && Number.isFinite(sp.max) && sp.min <= value * (1 + 1e-9) && value <= sp.max * (1 + 1e-9))) {
        throw new LatheError(`case ${input.case}: ${who} spread [${sp.min}, ${sp.max}] does not contain its figure ${value}`);
      }
    };
    spread("lathe", input.lathe, input.latheSpread);
    spread(input.baseline, input.baselineValue, input.baselineSpread);
    const row: BenchRow = {
      case: input.case, threads: input.threads, metric: input.metric, better: input.better,
      lathe: input.lathe,
      ...(input.latheSpread ? { lathe_min: input.latheSpread.min, lathe_max: input.latheSpread.max } : {}),
      baseline: input.baseline, baseline_value: input.baselineValue,
      ...(input.baselineSpread && input.baselineValue !== null ? { baseline_min: input.baselineSpread.min, baseline_max: input.baselineSpread.max } : {}),
      ratio,
    };
    this.rowsList.push(row);
    if (input.scales === false) this.unscaled.add(row);
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

  /**
   * Writes <dir>/<name>.json (<name>.quick.json for a --quick run, so it never replaces the
   * full results) atomically and returns its path. A run with problems() is not written:
   * a LatheError lists them, and the results already there stay.
   */
  write(dir: string = RESULTS_DIR): string {
    const bad = this.problems();
    if (bad.length) throw new LatheError(`bench ${this.name} failed, nothing written:\n  ${bad.join("\n  ")}`);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${this.name}${this.hostRecord.quick ? ".quick" : ""}.json`);
    writeFileAtomic(path, JSON.stringify(this.toJSON(), null, 2) + "\n");
    return path;
  }

  /** A plain-text table of the rows, then the notes. */
  table(): string {
    const fmt = (x: number | null): string => (x === null ? "-" : String(roundSig(x, 4)));
    const withSpread = (x: number | null, lo?: number, hi?: number): string =>
      x === null || lo === undefined || hi === undefined ? fmt(x) : `${fmt(x)} (${fmt(lo)}–${fmt(hi)})`;
    const lines = formatTable(
      ["case", "threads", "metric", "lathe", "baseline", "baseline value", "ratio"],
      this.rowsList.map((r) => [r.case, String(r.threads), `${r.metric} (${r.better})`, withSpread(r.lathe, r.lathe_min, r.lathe_max), r.baseline, withSpread(r.baseline_value, r.baseline_min, r.baseline_max), fmt(r.ratio)]),
    );
    const notes = this.notesList.map((n) => `note: ${n}`);
    const h = this.hostRecord;
    const peak = h.peak_gflops_per_core === null ? "" : `, peak ${h.peak_gflops_per_core} GFLOP/s per core, triad ${h.triad_gbs} GB/s`;
    return [`${this.name} — ${h.cpu} (${h.isa[0] ?? "?"}), ${h.cores} cores${peak}, node ${h.node}${h.quick ? ", quick" : ""}`, lines, ...notes].join("\n");
  }
}

/** Left-aligned text columns separated by two spaces, with a rule under the header. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
