/**
 * Runs the schedule property on many seeds (beyond the test's fixed list) and prints each
 * failure's report. `npx tsx test/property/fuzz-schedules.ts [--from 1] [--count 200]
 * [--kind conv-s1] [--concurrency 4] [--quiet] [--no-avoid]`
 * (--no-avoid: also generate the patterns AVOID lists, which hit known bugs). Exit status 1 if any case failed.
 */
import type { WorkloadKind } from "./schedule-case.ts";
import { makeCase, runCase, WORKLOAD_KINDS } from "./schedule-case.ts";
import { AVOID, PRIMITIVES } from "./random-schedule.ts";

const arg = (name: string, dflt: string): string => {
  const k = process.argv.indexOf(`--${name}`);
  return k >= 0 ? process.argv[k + 1]! : dflt;
};
const from = Number(arg("from", "1")), count = Number(arg("count", "200")), conc = Number(arg("concurrency", "4"));
const kinds = arg("kind", "all") === "all" ? WORKLOAD_KINDS : [arg("kind", "") as WorkloadKind];
const quiet = process.argv.includes("--quiet");
if (process.argv.includes("--no-avoid")) for (const k of Object.keys(AVOID) as (keyof typeof AVOID)[]) AVOID[k] = false;

const jobs = kinds.flatMap((kind) => Array.from({ length: count }, (_, k) => ({ kind, seed: from + k })));
const applied = Object.fromEntries(PRIMITIVES.map((p) => [p, 0])) as Record<string, number>;
const rejectedBy = Object.fromEntries(PRIMITIVES.map((p) => [p, 0])) as Record<string, number>;
let failures = 0, done = 0;
const t0 = performance.now();
for (let k = 0; k < jobs.length; k += conc) {
  await Promise.all(jobs.slice(k, k + conc).map(async ({ kind, seed }) => {
    const c = makeCase(kind, seed);
    for (const p of PRIMITIVES) applied[p]! += c.gen.applied[p];
    for (const r of c.gen.rejected) rejectedBy[r.primitive]!++;
    const out = await runCase(c);
    done++;
    if (!out.ok) {
      failures++;
      console.log(`\n=== FAIL ${kind} seed ${seed}\n${quiet ? out.report.split("\nloop IR:")[0] : out.report}`);
    }
  }));
}
const nApplied = Object.values(applied).reduce((a, b) => a + b, 0), nRejected = Object.values(rejectedBy).reduce((a, b) => a + b, 0);
console.log(`\n${done} cases, ${failures} failed, ${nApplied} primitives applied, ${nRejected} rejected, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log("applied:", JSON.stringify(applied));
console.log("rejected:", JSON.stringify(rejectedBy));
process.exit(failures > 0 ? 1 : 0);
