/**
 * The memory half of `lathe bench crowd`, run in its own process so its peak RSS is its own:
 * simulates a crowd of LABELS labels (5 per item, 100 workers, 10 classes), aggregates it
 * with DawidSkene for 2 EM iterations (tol 0, so both run) and prints one JSON line with the
 * process's peak RSS in MB (process.resourceUsage().maxRSS, which counts the simulation,
 * the label set and Lathe's compiled graphs too) and the seconds the fit took.
 *
 *     node --import tsx bench/crowd/memory.ts 10000000
 */
import { DawidSkene } from "../../models/crowd/index.ts";
import { crowd } from "./ds.ts";

const labels = Number(process.argv[2] ?? 10_000_000);
if (!Number.isInteger(labels) || labels < 5 || labels % 5 !== 0) throw new Error(`labels must be a positive multiple of 5, got ${process.argv[2]}`);
const t0 = process.hrtime.bigint();
const ls = crowd(labels / 5, 100, 5, 10);
const t1 = process.hrtime.bigint();
const fit = await new DawidSkene({ maxIter: 2, tol: 0 }).fit(ls);
const t2 = process.hrtime.bigint();
console.log(JSON.stringify({
  labels: ls.numLabels, items: ls.numItems, iterations: fit.iterations,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  simulate_s: Number(t1 - t0) / 1e9, fit_s: Number(t2 - t1) / 1e9,
}));
