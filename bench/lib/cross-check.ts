/**
 * The cross-bench baseline check (issue 15): a figure that another bench also measures must
 * agree with that bench's committed full results within 2× when both come from the same host
 * (CPU model, family/model numbers and code ISA), or the run fails naming the row. The
 * webgpu bench's cpu-target GEMM is the gemm bench's Lathe row for the same N and threads; an
 * earlier webgpu run had it at 7.9 GFLOP/s where the gemm bench measured well over 100.
 * Results from another host, or none at all, leave a note instead: nothing to compare with.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchJson, BenchReport } from "./report.ts";
import { RESULTS } from "./readme.ts";

export interface CrossCheck {
  /** The other bench, whose bench/results/<bench>.json holds the reference row. */
  readonly bench: string;
  /** That bench's case name and thread count. */
  readonly case: string;
  readonly threads: number;
  /** This run's figure, in the reference row's metric. */
  readonly value: number;
  /** This run's row, for the message. */
  readonly what: string;
}

/** The most two figures of one quantity may differ by before a run is wrong. */
export const CROSS_CHECK_FACTOR = 2;

export function crossCheckBaseline(report: BenchReport, c: CrossCheck, dir = RESULTS): void {
  const file = join(dir, `${c.bench}.json`);
  if (!existsSync(file)) {
    report.note(`cross-check: ${c.what} not compared (no ${c.bench} results in ${dir})`);
    return;
  }
  const other = JSON.parse(readFileSync(file, "utf8")) as BenchJson;
  const h = report.host, o = other.host;
  const sameHost = h.cpu === o.cpu && h.family === o.family && h.model === o.model && h.isa[0] === o.isa?.[0];
  if (!sameHost) {
    report.note(`cross-check: ${c.what} not compared (${c.bench}.json comes from ${o.cpu} ${o.isa?.[0] ?? "?"}, this run from ${h.cpu} ${h.isa[0]})`);
    return;
  }
  const row = other.rows.find((r) => r.case === c.case && r.threads === c.threads);
  if (!row) {
    report.note(`cross-check: ${c.what} not compared (${c.bench}.json has no row "${c.case}" at ${c.threads} threads)`);
    return;
  }
  const ratio = Math.max(c.value / row.lathe, row.lathe / c.value);
  const line = `${c.what}: ${c.value} ${row.metric} here, ${row.lathe} in bench ${c.bench} ("${c.case}", ${c.threads} threads, ${other.date}, same host)`;
  if (!(ratio <= CROSS_CHECK_FACTOR)) report.problem(`${line}: ${ratio.toFixed(1)}× apart, more than ${CROSS_CHECK_FACTOR}× — one of the two measures something else`);
  else report.note(`cross-check: ${line}, within ${CROSS_CHECK_FACTOR}×`);
}
