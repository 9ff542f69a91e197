/**
 * Differential fuzzing of the cpu target's configurations and of autodiff (issue 23):
 *   npx tsx scripts/fuzz.ts [--graphs 1000] [--seed 1] [--target all|cpu|webgpu|vta|<variant>,…] [--no-gradients]
 *                           [--no-shrink] [--json report.json] [--repros DIR] [--jobs N]
 *   npx tsx scripts/fuzz.ts --replay DIR      (re-runs a repro a failing run wrote)
 * Prints a summary; exit status 1 when anything failed. docs/fuzzing.md has the details.
 * `--jobs N` runs N child processes, child j taking the draws i with i % N === j (the
 * internal `--shard j/N`), and merges their reports: the same graphs as one process.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { Command, Option } from "commander";
import { writeFileAtomic } from "../runtime/atomic-file.ts";
import { LatheError } from "../core/errors.ts";
import { CPU_VARIANTS, WEBGPU_VARIANTS, bisect, runOne } from "../test/fuzz/differential.ts";
import type { Variant } from "../test/fuzz/differential.ts";
import { readRepro } from "../test/fuzz/repro.ts";
import { fuzz } from "../test/fuzz/run.ts";
import type { FuzzReport } from "../test/fuzz/run.ts";
import { mergeFuzzReports, mergeVtaReports, parseShard } from "../test/fuzz/shards.ts";
import { fuzzVta } from "../test/fuzz/vta.ts";
import type { VtaFuzzReport } from "../test/fuzz/vta.ts";

const posInt = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new LatheError(`${flag}: expected a whole number ≥ 0, got "${v}"`);
  return n;
};

const ALL_VARIANTS = [...CPU_VARIANTS, ...WEBGPU_VARIANTS];

/** The VTA runs (their own int8 generator, test/fuzz/vta.ts), by --target name. */
const VTA_TARGETS = ["vta-fsim", "vta-verilator"] as const;
type VtaTarget = (typeof VTA_TARGETS)[number];

function targetsOf(target: string): { variants: Variant[]; vta: VtaTarget[] } {
  if (target === "all") return { variants: ALL_VARIANTS, vta: ["vta-fsim"] };
  if (target === "cpu") return { variants: [...CPU_VARIANTS], vta: [] };
  if (target === "webgpu") return { variants: [...WEBGPU_VARIANTS], vta: [] };
  if (target === "vta") return { variants: [], vta: ["vta-fsim"] };
  const names = target.split(",");
  const vta = names.filter((n): n is VtaTarget => (VTA_TARGETS as readonly string[]).includes(n));
  const variants = names.filter((n) => !(VTA_TARGETS as readonly string[]).includes(n)).map((name) => {
    const v = ALL_VARIANTS.find((x) => x.name === name);
    if (!v) throw new LatheError(`--target: unknown "${name}" (one of all, cpu, webgpu, vta, ${[...ALL_VARIANTS.map((x) => x.name), ...VTA_TARGETS].join(", ")})`);
    return v;
  });
  return { variants, vta };
}

async function replay(dir: string): Promise<number> {
  const { case: c, info } = readRepro(dir);
  const variant = ALL_VARIANTS.find((v) => v.name === info.variant);
  if (!variant) throw new LatheError(`${dir}/case.json: variant "${info.variant}" is not one this script runs (${ALL_VARIANTS.map((x) => x.name).join(", ")})`);
  const out = await runOne(c, variant);
  if (out.ok) { console.log(`${dir}: passes now (${variant.name})`); return 0; }
  console.log(`${dir}: ${out.stage} fails (${variant.name}): ${out.detail}`);
  if (out.stage === "compare") console.log(`bisection: ${await bisect(c, variant)}`);
  return 1;
}

type Shard = { readonly index: number; readonly count: number };
interface Opts { graphs: number; seed: number; target: string; gradients: boolean; shrink: boolean; json?: string; repros: string; replay?: string; jobs: number; shard?: Shard }
/** What a run writes with --json: the graph fuzzer's report and one report per VTA simulator. */
type RunReport = FuzzReport & { readonly vta: readonly VtaFuzzReport[] };

/** This process's draws (all, or one shard's). */
async function runHere(o: Opts): Promise<RunReport> {
  const { variants, vta } = targetsOf(o.target);
  const report = await fuzz({
    graphs: o.graphs, seed: o.seed, variants, gradients: o.gradients, shrink: o.shrink, reproDir: o.repros,
    log: (line) => console.log(line), ...(o.shard ? { shard: o.shard } : {}),
  });
  const vtaReports: VtaFuzzReport[] = [];
  for (const t of vta) vtaReports.push(await fuzzVta(o.graphs, o.seed, t === "vta-fsim" ? "fsim" : "verilator", (line) => console.log(line), undefined, o.shard));
  return { ...report, vta: vtaReports };
}

/** Child j of n: this script with --shard j/n, its report in `file`; its lines echoed with a prefix. */
function runChild(o: Opts, j: number, n: number, file: string): Promise<RunReport> {
  const args = [...process.execArgv, process.argv[1]!, "--graphs", String(o.graphs), "--seed", String(o.seed), "--target", o.target, "--repros", o.repros, "--shard", `${j}/${n}`, "--json", file];
  if (!o.gradients) args.push("--no-gradients");
  if (!o.shrink) args.push("--no-shrink");
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let lastError = "";
  createInterface({ input: child.stdout }).on("line", (line) => console.log(`[${j}/${n}] ${line}`));
  createInterface({ input: child.stderr }).on("line", (line) => { if (line.trim()) lastError = line; console.error(`[${j}/${n}] ${line}`); });
  return new Promise((resolve, reject) => {
    child.on("error", (e) => reject(new LatheError(`shard ${j}/${n}: cannot start it (${e.message})`)));
    child.on("close", (code) => {
      // 0: all passed, 1: failures found; the report is written either way.
      if ((code === 0 || code === 1) && existsSync(file)) resolve(JSON.parse(readFileSync(file, "utf8")) as RunReport);
      else reject(new LatheError(`shard ${j}/${n} exited with status ${code}${lastError ? `: ${lastError}` : ""}`));
    });
  });
}

/** --jobs n: n children, their reports merged (the same draws, counts and findings as one process). */
async function runSharded(o: Opts): Promise<RunReport> {
  const t0 = performance.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-fuzz-shards-"));
  try {
    const parts = await Promise.all(Array.from({ length: o.jobs }, (_, j) => runChild(o, j, o.jobs, path.join(dir, `shard-${j}.json`))));
    const merged = mergeFuzzReports(parts, (performance.now() - t0) / 1000);
    const vta = parts[0]!.vta.map((_, k) => mergeVtaReports(parts.map((p) => p.vta[k]!)));
    for (const v of merged.variants) console.log(`${v.name}: ${v.cases} graphs, ${v.failures} failed${v.unsupported ? `, ${v.unsupported} not compiled` : ""}`);
    if (merged.gradients) console.log(`gradients: ${merged.gradients.cases} graphs, ${merged.gradients.elements} derivatives compared, ${merged.gradients.nonSmooth} at kinks skipped, ${merged.gradients.failures} failed`);
    for (const r of vta) console.log(`vta-${r.sim}: ${r.graphs} graphs, ${r.layersOffloaded} layers offloaded, ${r.failures.length} failed`);
    return { ...merged, vta };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const program = new Command("fuzz")
  .option("--graphs <n>", "random graphs", posInt("--graphs"), 1000)
  .option("--seed <s>", "seed of the draw", posInt("--seed"), 1)
  .option("--target <t>", "all, cpu, webgpu, vta, or a comma-separated list of variants (vta-verilator: the generated RTL under Verilator)", "all")
  .option("--no-gradients", "skip the finite-difference gradient checks")
  .option("--no-shrink", "report failures unshrunk")
  .option("--json <file>", "write the report here")
  .addOption(new Option("--repros <dir>", "write repros here").default("fuzz-repros"))
  .option("--replay <dir>", "re-run one repro")
  .option("--jobs <n>", "shard the draws over n child processes (the same graphs as one process)", posInt("--jobs"), 1)
  .addOption(new Option("--shard <i/n>", "run only the draws i mod n (what --jobs gives each child)").argParser(parseShard).hideHelp());

try {
  program.parse();
  const o = program.opts<Opts>();
  if (o.replay) process.exit(await replay(o.replay));
  if (o.jobs < 1) throw new LatheError(`--jobs: expected at least 1, got ${o.jobs}`);
  if (o.jobs > 1 && o.shard) throw new LatheError("--jobs and --shard do not go together (--jobs gives each child its --shard)");
  targetsOf(o.target); // a bad --target is reported once, here, not by every child
  const report = o.jobs > 1 ? await runSharded(o) : await runHere(o);
  const failed = report.findings.length + report.vta.reduce((a, r) => a + r.failures.length, 0);
  const shard = o.shard ? ` (shard ${o.shard.index}/${o.shard.count})` : o.jobs > 1 ? ` over ${o.jobs} processes` : "";
  console.log(`${report.graphs} graphs (seed ${report.seed})${shard} in ${report.seconds.toFixed(0)} s on ${report.host}: ${failed} failure${failed === 1 ? "" : "s"}`);
  if (o.json) writeFileAtomic(o.json, `${JSON.stringify(report, null, 2)}\n`);
  process.exit(failed ? 1 : 0);
} catch (e) {
  console.error(e instanceof LatheError ? `error: ${e.message}` : e);
  process.exit(2);
}
