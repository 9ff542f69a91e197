/**
 * Loggers for continual runs: a text logger (a line per experience, as a plugin), CSV
 * files, the EXPERIMENTS.md JSON report (metrics `<benchmark>.<strategy>.final_acc`,
 * `.forgetting`, `.bwt`, plus `.fwt`), and an HTML report with Vega-Lite plots (the
 * accuracy matrix as a heat map per strategy, accuracy over experiences per strategy).
 * Every file is written atomically.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import type { ExperimentHost } from "../lib/experiment.ts";
import { ExperimentReport, jsonText } from "../lib/experiment.ts";
import { heatmapPlot, linePlot } from "../lib/plot.ts";
import type { RunResult } from "./runner.ts";
import type { Plugin, Strategy } from "./strategy.ts";

/** A strategy spec as a metric-name segment ("replay+lwf" → "replay-lwf"). */
export const metricSegment = (spec: string): string => spec.replace(/\+/g, "-");

const fmt = (x: number | null): string => (x === null ? "—" : x.toFixed(4));

/** A line per trained experience: its mean loss per epoch and time. */
export class TextLogger implements Plugin {
  readonly name = "text-logger";
  private t0 = 0;
  constructor(private readonly write: (line: string) => void) {}
  beforeTrainingExp(): void { this.t0 = performance.now(); }
  afterTrainingExp(s: Strategy): void {
    this.write(`experience ${s.trained + 1}: loss ${s.epochLosses.map((l) => l.toFixed(4)).join(" → ")} (${((performance.now() - this.t0) / 1000).toFixed(1)} s)`);
  }
  afterEval(s: Strategy, rs: readonly { accuracy: number }[]): void {
    this.write(`  after ${s.trained} experience(s): accuracy ${rs.map((r) => r.accuracy.toFixed(3)).join(" ")}`);
  }
}

/** The summary table of several runs on one benchmark. */
export function summaryRows(results: readonly RunResult[]): (string | number | null)[][] {
  return results.map((r) => [r.strategy, r.summary.finalAcc, r.summary.forgetting, r.summary.bwt, r.summary.fwt, r.summary.seconds.reduce((a, b) => a + b, 0)]);
}
export const SUMMARY_COLUMNS = ["strategy", "ACC", "forgetting", "BWT", "FWT", "train s"];

export function textTable(results: readonly RunResult[]): string {
  const rows = summaryRows(results).map((r) => r.map((c) => (typeof c === "number" ? (Number.isInteger(c) ? String(c) : fmt(c)) : c ?? "—")));
  const all = [SUMMARY_COLUMNS, ...rows], widths = SUMMARY_COLUMNS.map((_, k) => Math.max(...all.map((r) => String(r[k]).length)));
  return all.map((r) => r.map((c, k) => String(c).padEnd(widths[k]!)).join("  ").trimEnd()).join("\n");
}

/** `metrics.csv` (one row per strategy) and `<strategy>-matrix.csv` (R[i][j]) in `dir`. */
export function writeCsv(dir: string, results: readonly RunResult[]): string[] {
  mkdirSync(dir, { recursive: true });
  const cell = (c: string | number | null) => (c === null ? "" : String(c));
  const files: string[] = [];
  const m = join(dir, "metrics.csv");
  const head = ["benchmark", "strategy", "final_acc", "forgetting", "bwt", "fwt", "final_loss", "train_seconds", "peak_rss_mb", "macs_per_example"];
  writeFileAtomic(m, [head.join(","), ...results.map((r) => [
    r.benchmark, r.strategy, r.summary.finalAcc, r.summary.forgetting, r.summary.bwt, r.summary.fwt, r.summary.finalLoss,
    r.summary.seconds.reduce((a, b) => a + b, 0), r.summary.peakRssMb, r.summary.macsPerExample,
  ].map(cell).join(","))].join("\n") + "\n");
  files.push(m);
  for (const r of results) {
    const f = join(dir, `${metricSegment(r.strategy)}-matrix.csv`);
    const T = r.summary.matrix[0]!.length;
    writeFileAtomic(f, [["after", ...Array.from({ length: T }, (_, j) => `exp${j}`)].join(","), ...r.summary.matrix.map((row, i) => [String(i), ...row.map(String)].join(","))].join("\n") + "\n");
    files.push(f);
  }
  return files;
}

/** The EXPERIMENTS.md report of runs on one benchmark: a summary table, accuracy matrices, metrics and plots. */
export async function buildReport(results: readonly RunResult[], o: { seeds: readonly number[]; notes?: readonly string[]; name?: string }): Promise<ExperimentReport> {
  const report = new ExperimentReport(o.name ?? "continual", { seeds: o.seeds });
  for (const n of o.notes ?? []) report.note(n);
  await addResults(report, results);
  return report;
}

/**
 * Adds runs on one benchmark to a report: the summary table, each accuracy matrix, the
 * metrics `<benchmark>.<strategy>.final_acc|forgetting|bwt|fwt`, and plots
 * `<benchmark>-accuracy` and `<benchmark>-matrix-<strategy>`.
 */
export async function addResults(report: ExperimentReport, results: readonly RunResult[]): Promise<void> {
  const bench = results[0]?.benchmark ?? "none";
  report.table(`${bench}: final accuracy, forgetting and transfer`, SUMMARY_COLUMNS, summaryRows(results));
  for (const r of results) {
    const T = r.summary.matrix[0]!.length;
    report.table(`${bench} ${r.strategy}: accuracy matrix R[i][j] (after experience i, on test experience j)`, ["after", ...Array.from({ length: T }, (_, j) => `exp ${j}`)],
      r.summary.matrix.map((row, i) => [String(i), ...row]));
    const key = `${bench}.${metricSegment(r.strategy)}`;
    report.metric(`${key}.final_acc`, r.summary.finalAcc).metric(`${key}.forgetting`, r.summary.forgetting).metric(`${key}.bwt`, r.summary.bwt).metric(`${key}.fwt`, r.summary.fwt);
  }
  const over = results.flatMap((r) => r.summary.matrix.map((row, i) => ({ experience: i + 1, accuracy: row.reduce((a, b) => a + b, 0) / row.length, strategy: r.strategy })));
  report.plot(`${bench}-accuracy`, await linePlot({ title: `${bench}: mean test accuracy after each experience`, x: { field: "experience", title: "experiences trained", type: "ordinal" }, y: { field: "accuracy", title: "accuracy (test stream)" }, color: { field: "strategy" }, data: over, points: true }));
  for (const r of results) {
    const cells = r.summary.matrix.flatMap((row, i) => row.map((v, j) => ({ after: i, on: j, accuracy: Math.round(v * 1000) / 1000 })));
    report.plot(`${bench}-matrix-${metricSegment(r.strategy)}`, await heatmapPlot({ title: `${bench} ${r.strategy}: R[i][j]`, x: { field: "on", title: "test experience j" }, y: { field: "after", title: "after training experience i" }, value: { field: "accuracy" }, data: cells }));
  }
}

/** Writes the report's JSON (EXPERIMENTS.md's shape) to `file`. */
export function writeJson(file: string, report: ExperimentReport, host: ExperimentHost): void {
  writeFileAtomic(file, jsonText(report.toJSON({ host, quick: false })) + "\n");
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A self-contained HTML page: the tables, the metrics and the SVG plots inline. */
export function writeHtml(file: string, report: ExperimentReport): void {
  const cell = (c: string | number | null) => (c === null ? "—" : typeof c === "number" ? (Number.isInteger(c) ? String(c) : c.toFixed(4)) : esc(c));
  const tables = report.tables.map((t) => `<h2>${esc(t.title)}</h2>\n<table><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr>\n${t.rows.map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join("")}</tr>`).join("\n")}</table>`);
  const plots = report.plots.map((p) => `<figure>${report.plotSvg(p)}<figcaption>${esc(p)}</figcaption></figure>`);
  const notes = report.notes.map((n) => `<li>${esc(n)}</li>`).join("");
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(report.name)} — ${esc(report.date)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}figure{display:inline-block;margin:1em}</style></head>
<body><h1>${esc(report.name)}</h1><p>${esc(report.date)}${report.seeds.length ? `, seeds ${report.seeds.join(", ")}` : ""}</p>
${notes ? `<ul>${notes}</ul>` : ""}
${tables.join("\n")}
${plots.join("\n")}
</body></html>
`;
  writeFileAtomic(file, html);
}
