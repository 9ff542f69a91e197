/**
 * Differential fuzzing of the cpu target's configurations and of autodiff (issue 23):
 *   npx tsx scripts/fuzz.ts [--graphs 1000] [--seed 1] [--target all|cpu|webgpu|<variant>,…] [--no-gradients]
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

const posInt = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new LatheError(`${flag}: expected a whole number ≥ 0, got "${v}"`);
  return n;
};

const ALL_VARIANTS = [...CPU_VARIANTS, ...WEBGPU_VARIANTS];

function variantsOf(target: string): Variant[] {
  if (target === "all") return ALL_VARIANTS;
  if (target === "cpu") return [...CPU_VARIANTS];
  if (target === "webgpu") return [...WEBGPU_VARIANTS];
  return target.split(",").map((name) => {
    const v = ALL_VARIANTS.find((x) => x.name === name);
    if (!v) throw new LatheError(`--target: unknown "${name}" (one of all, cpu, webgpu, ${ALL_VARIANTS.map((x) => x.name).join(", ")})`);
    return v;
  });
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
  .option("--target <t>", "all, cpu, webgpu, or a comma-separated list of variants", "all")
  .option("--no-gradients", "skip the finite-difference gradient checks")
  .option("--no-shrink", "report failures unshrunk")
  .option("--json <file>", "write the report here")
  .addOption(new Option("--repros <dir>", "write repros here").default("fuzz-repros"))
  .option("--replay <dir>", "re-run one repro");

try {
  program.parse();
  const o = program.opts<{ graphs: number; seed: number; target: string; gradients: boolean; shrink: boolean; json?: string; repros: string; replay?: string }>();
  if (o.replay) process.exit(await replay(o.replay));
  const report = await fuzz({
    graphs: o.graphs, seed: o.seed, variants: variantsOf(o.target), gradients: o.gradients, shrink: o.shrink, reproDir: o.repros,
    log: (line) => console.log(line),
  });
  const failed = report.findings.length;
  console.log(`${report.graphs} graphs (seed ${report.seed}) in ${report.seconds.toFixed(0)} s on ${report.host}: ${failed} failure${failed === 1 ? "" : "s"}`);
  if (o.json) writeFileAtomic(o.json, `${JSON.stringify(report, null, 2)}\n`);
  process.exit(failed ? 1 : 0);
} catch (e) {
  console.error(e instanceof LatheError ? `error: ${e.message}` : e);
  process.exit(2);
}
