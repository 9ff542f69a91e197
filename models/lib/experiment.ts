/**
 * ExperimentReport: what one run of a learning-system experiment found, in the format
 * ../shared/design/EXPERIMENTS.md fixes — tables a person reads, a flat map of metrics a
 * script checks, notes, and plots — written as models/results/<name>.json (with
 * <name>-<plot>.svg beside it) by `lathe experiment <name>`.
 *
 *     const report = new ExperimentReport("crowd", { seeds });
 *     report.note("digits: 1797 images, 20 simulated workers per item");
 *     report.table("Label error", ["method", "digits", "fmnist"])
 *       .row("majority vote", 0.121, 0.183)
 *       .row("Dawid-Skene", 0.052, null);        // null: not measured (say why in a note)
 *     report.metric("digits.error.mv", 0.121).metric("digits.error.ds", 0.052);
 *     report.plot("error-vs-budget", await linePlot({ ... }));   // models/lib/plot.ts
 *     return report;                             // the runner adds the host and writes it
 *
 * Every value is checked when it is added, so a bad figure fails where it was made: a
 * NaN or infinite number, a metric name that is not lower-case dotted segments, a table
 * row of the wrong width are LatheErrors naming the metric, table or row.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LatheError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import { type Cell, formatCell, formatTable } from "./table.ts";

export type { Cell } from "./table.ts";

/** Where `lathe experiment` writes results: models/results/. */
export const RESULTS_DIR = fileURLToPath(new URL("../results", import.meta.url));

/** A metric: a number, an array of numbers (e.g. one per module or per seed), or null when not measured. */
export type MetricValue = number | readonly number[] | null;

/**
 * The host record (BENCH.md's "host" object). models/ may not import bench/, so it is
 * opaque here: the runner (cli/commands/experiment.ts) fills it with bench/lib/host.ts's hostInfo().
 */
export type ExperimentHost = Readonly<Record<string, unknown>>;

export interface ExperimentTable {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

/** The JSON written, in EXPERIMENTS.md's shape; `plots` lists the SVG files written beside it. */
export interface ExperimentJson {
  readonly name: string;
  readonly date: string;
  readonly host: ExperimentHost;
  readonly quick: boolean;
  readonly seeds: readonly number[];
  readonly notes: readonly string[];
  readonly tables: readonly ExperimentTable[];
  readonly metrics: Readonly<Record<string, MetricValue>>;
  readonly plots: readonly string[];
}

/** What every experiment's run() receives from `lathe experiment`. */
export interface ExperimentOptions {
  /** A small seeded version that runs in a minute or two (written as <name>.quick.json). */
  readonly quick: boolean;
  /** Seeds from `--seeds 0,1,2`; when absent the experiment uses its own default. */
  readonly seeds?: readonly number[];
}

/** What models/<name>/experiment.ts exports as `run`. */
export type ExperimentRun = (opts: ExperimentOptions) => Promise<ExperimentReport>;

/** Facts about the run that the runner, not the experiment, knows. */
export interface RunRecord {
  readonly host: ExperimentHost;
  readonly quick: boolean;
}

/** The files write() wrote: the JSON and the plots' SVGs, as absolute paths. */
export interface Written {
  readonly json: string;
  readonly plots: readonly string[];
}

/** Experiment and plot names: lower-case letters, digits, `-` and `_` (they become file names). */
const NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** Metric names: dotted segments of the same, e.g. `split-fmnist.replay.final_acc`. */
const METRIC = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/;

/** Whether `name` is a valid metric name (lower-case dotted segments of letters, digits, `-`, `_`). */
export const isMetricName = (name: string): boolean => METRIC.test(name);

/** A table being filled: add rows with row(...cells); each is checked against the columns. */
export class ReportTable implements ExperimentTable {
  private readonly rowsList: (readonly Cell[])[] = [];

  constructor(readonly title: string, readonly columns: readonly string[]) {
    if (title.trim() === "") throw new LatheError("a table needs a title");
    if (columns.length === 0) throw new LatheError(`table "${title}": needs at least one column`);
  }

  get rows(): readonly (readonly Cell[])[] {
    return this.rowsList;
  }

  /** Appends a row of cells (text, numbers, null for a missing figure); returns the table for chaining. */
  row(...cells: readonly Cell[]): this {
    const at = `table "${this.title}", row ${this.rowsList.length + 1}`;
    if (cells.length !== this.columns.length) {
      throw new LatheError(`${at}: has ${cells.length} cells for ${this.columns.length} columns (${this.columns.join(", ")})`);
    }
    cells.forEach((c, i) => {
      const ok = c === null || typeof c === "string" || (typeof c === "number" && Number.isFinite(c));
      if (!ok) throw new LatheError(`${at}, column "${this.columns[i]}": a cell must be text, a finite number or null, got ${String(c)}`);
    });
    this.rowsList.push(Object.freeze([...cells]));
    return this;
  }

  /** A plain-text rendering: the title, then the columns. */
  text(): string {
    return `${this.title}\n${formatTable(this.columns, this.rowsList)}`;
  }

  toJSON(): ExperimentTable {
    return { title: this.title, columns: [...this.columns], rows: this.rowsList.map((r) => [...r]) };
  }
}

export class ExperimentReport {
  readonly date: string;
  readonly seeds: readonly number[];
  private readonly notesList: string[] = [];
  private readonly tablesList: ReportTable[] = [];
  private readonly metricsMap = new Map<string, MetricValue>();
  private readonly plotsMap = new Map<string, string>();

  /**
   * `name` is the experiment's folder (models/<name>/experiment.ts) and its results' file
   * name; `seeds` are the seeds the run used (every figure averages or spans them).
   */
  constructor(readonly name: string, opts: { readonly seeds?: readonly number[]; readonly date?: Date } = {}) {
    if (!NAME.test(name)) throw new LatheError(`experiment name must be lower-case letters, digits, - or _, got "${name}"`);
    const seeds = opts.seeds ?? [];
    for (const s of seeds) {
      if (!Number.isSafeInteger(s) || s < 0) throw new LatheError(`experiment ${name}: a seed must be a non-negative integer, got ${s}`);
    }
    this.seeds = Object.freeze([...seeds]);
    this.date = (opts.date ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  get notes(): readonly string[] {
    return this.notesList;
  }

  get tables(): readonly ReportTable[] {
    return this.tablesList;
  }

  /** The metrics, in the order they were added. */
  get metrics(): Readonly<Record<string, MetricValue>> {
    return Object.fromEntries(this.metricsMap);
  }

  /** Plot names, in the order they were added. */
  get plots(): readonly string[] {
    return [...this.plotsMap.keys()];
  }

  /** The SVG of plot `name` (undefined if there is none). */
  plotSvg(name: string): string | undefined {
    return this.plotsMap.get(name);
  }

  /** Adds a note once (repeats are dropped): the data and splits used, what was not installed, what served what. */
  note(text: string): this {
    if (text.trim() === "") throw new LatheError(`experiment ${this.name}: a note must not be empty`);
    if (!this.notesList.includes(text)) this.notesList.push(text);
    return this;
  }

  /**
   * Starts a table and returns it, to fill with `.row(...)`; `rows` may be given at once.
   * Tables are printed and written in the order they were started.
   */
  table(title: string, columns: readonly string[], rows: readonly (readonly Cell[])[] = []): ReportTable {
    const t = new ReportTable(title, columns);
    for (const r of rows) t.row(...r);
    this.tablesList.push(t);
    return t;
  }

  /**
   * Records a metric under a dotted lower-case name (EXPERIMENTS.md lists the names each
   * experiment uses). A number must be finite; null means not measured. Each name is set once.
   */
  metric(name: string, value: MetricValue): this {
    if (!METRIC.test(name)) {
      throw new LatheError(`experiment ${this.name}: metric name "${name}" must be lower-case dotted segments of letters, digits, - and _ (e.g. "digits.error.mv")`);
    }
    if (this.metricsMap.has(name)) throw new LatheError(`experiment ${this.name}: metric "${name}" is already set (to ${JSON.stringify(this.metricsMap.get(name))})`);
    const finite = (x: unknown): boolean => typeof x === "number" && Number.isFinite(x);
    if (Array.isArray(value)) {
      const bad = value.findIndex((x) => !finite(x));
      if (bad >= 0) throw new LatheError(`experiment ${this.name}: metric "${name}"[${bad}] must be a finite number, got ${String(value[bad])}`);
      this.metricsMap.set(name, Object.freeze([...value]));
    } else {
      if (value !== null && !finite(value)) throw new LatheError(`experiment ${this.name}: metric "${name}" must be a finite number, an array of them or null, got ${String(value)}`);
      this.metricsMap.set(name, value);
    }
    return this;
  }

  /** Adds a plot: an SVG document (models/lib/plot.ts renders them), written as <name>-<plot>.svg. */
  plot(name: string, svg: string): this {
    if (!NAME.test(name)) throw new LatheError(`experiment ${this.name}: plot name must be lower-case letters, digits, - or _, got "${name}"`);
    if (this.plotsMap.has(name)) throw new LatheError(`experiment ${this.name}: plot "${name}" is already added`);
    if (!/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(svg) || !/<\/svg>\s*$/.test(svg)) {
      throw new LatheError(`experiment ${this.name}: plot "${name}" is not an SVG document (it must start with <svg and end with </svg>)`);
    }
    this.plotsMap.set(name, svg);
    return this;
  }

  /** The file names (relative to the results folder) of the JSON and each plot, for a full or quick run. */
  fileNames(quick: boolean): { readonly json: string; readonly plots: ReadonlyMap<string, string> } {
    const q = quick ? ".quick" : "";
    return {
      json: `${this.name}${q}.json`,
      plots: new Map(this.plots.map((p) => [p, `${this.name}-${p}${q}.svg`])),
    };
  }

  toJSON(run: RunRecord): ExperimentJson {
    return {
      name: this.name,
      date: this.date,
      host: run.host,
      quick: run.quick,
      seeds: [...this.seeds],
      notes: [...this.notesList],
      tables: this.tablesList.map((t) => t.toJSON()),
      metrics: this.metrics,
      plots: [...this.fileNames(run.quick).plots.values()],
    };
  }

  /**
   * Writes <dir>/<name>.json and <dir>/<name>-<plot>.svg (<name>.quick.json and
   * <name>-<plot>.quick.svg for a quick run, so a quick run never replaces full results),
   * each atomically; the plots first, so a JSON on disk always has its plots beside it.
   */
  write(dir: string, run: RunRecord): Written {
    mkdirSync(dir, { recursive: true });
    const names = this.fileNames(run.quick);
    const plots = [...names.plots].map(([plot, file]) => {
      const path = join(dir, file);
      writeFileAtomic(path, this.plotsMap.get(plot)!);
      return path;
    });
    const json = join(dir, names.json);
    writeFileAtomic(json, jsonText(this.toJSON(run)) + "\n");
    return { json, plots };
  }

  /** What a person reads: a header line, each table, the metrics, then the notes. */
  text(run: { readonly quick?: boolean } = {}): string {
    const seeds = this.seeds.length > 0 ? `, seeds ${this.seeds.join(", ")}` : "";
    const parts = [`${this.name} — ${this.date}${seeds}${run.quick ? ", quick" : ""}`];
    for (const t of this.tablesList) parts.push("", t.text());
    if (this.metricsMap.size > 0) {
      const show = (v: MetricValue): string => (Array.isArray(v) ? `[${v.map(formatCell).join(", ")}]` : formatCell(v as number | null));
      parts.push("", formatTable(["metric", "value"], [...this.metricsMap].map(([k, v]) => [k, show(v)])));
    }
    if (this.notesList.length > 0) parts.push("", ...this.notesList.map((n) => `note: ${n}`));
    return parts.join("\n");
  }
}

/**
 * JSON as EXPERIMENTS.md shows it: objects indented by two spaces, arrays of plain values
 * (a table row, a metric's numbers, the seeds) on one line unless they hold long text
 * (notes: one a line). Parses back to the same value.
 */
export function jsonText(value: unknown, indent = ""): string {
  const plain = (x: unknown): boolean => x === null || typeof x !== "object";
  if (plain(value)) return JSON.stringify(value) ?? "null";
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((x) => plain(x) && !(typeof x === "string" && x.length > 60))) return `[${value.map((x) => JSON.stringify(x) ?? "null").join(", ")}]`;
    return `[\n${value.map((x) => inner + jsonText(x, inner)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${jsonText(v, inner)}`).join(",\n")}\n${indent}}`;
}
