/**
 * Differential fuzzing of the cpu target's configurations and of autodiff (issue 23):
 *   npx tsx scripts/fuzz.ts [--graphs 1000] [--seed 1] [--target all|cpu|webgpu|vta|<variant>,…] [--no-gradients]
 *                           [--no-shrink] [--json report.json] [--repros DIR]
 *   npx tsx scripts/fuzz.ts --replay DIR      (re-runs a repro a failing run wrote)
 * Prints a summary; exit status 1 when anything failed. docs/fuzzing.md has the details.
 */
import { Command, Option } from "commander";
import { writeFileAtomic } from "../runtime/atomic-file.ts";
import { LatheError } from "../core/errors.ts";
import { CPU_VARIANTS, WEBGPU_VARIANTS, bisect, runOne } from "../test/fuzz/differential.ts";
import type { Variant } from "../test/fuzz/differential.ts";
import { readRepro } from "../test/fuzz/repro.ts";
import { fuzz } from "../test/fuzz/run.ts";
import { fuzzVta } from "../test/fuzz/vta.ts";

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

const program = new Command("fuzz")
  .option("--graphs <n>", "random graphs", posInt("--graphs"), 1000)
  .option("--seed <s>", "seed of the draw", posInt("--seed"), 1)
  .option("--target <t>", "all, cpu, webgpu, vta, or a comma-separated list of variants (vta-verilator: the generated RTL under Verilator)", "all")
  .option("--no-gradients", "skip the finite-difference gradient checks")
  .option("--no-shrink", "report failures unshrunk")
  .option("--json <file>", "write the report here")
  .addOption(new Option("--repros <dir>", "write repros here").default("fuzz-repros"))
  .option("--replay <dir>", "re-run one repro");

try {
  program.parse();
  const o = program.opts<{ graphs: number; seed: number; target: string; gradients: boolean; shrink: boolean; json?: string; repros: string; replay?: string }>();
  if (o.replay) process.exit(await replay(o.replay));
  const { variants, vta } = targetsOf(o.target);
  const report = await fuzz({
    graphs: o.graphs, seed: o.seed, variants, gradients: o.gradients, shrink: o.shrink, reproDir: o.repros,
    log: (line) => console.log(line),
  });
  const vtaReports = [];
  for (const t of vta) vtaReports.push(await fuzzVta(o.graphs, o.seed, t === "vta-fsim" ? "fsim" : "verilator", (line) => console.log(line)));
  const failed = report.findings.length + vtaReports.reduce((a, r) => a + r.failures.length, 0);
  console.log(`${report.graphs} graphs (seed ${report.seed}) in ${report.seconds.toFixed(0)} s on ${report.host}: ${failed} failure${failed === 1 ? "" : "s"}`);
  if (o.json) writeFileAtomic(o.json, `${JSON.stringify({ ...report, vta: vtaReports }, null, 2)}\n`);
  process.exit(failed ? 1 : 0);
} catch (e) {
  console.error(e instanceof LatheError ? `error: ${e.message}` : e);
  process.exit(2);
}
