/** `lathe doctor`: one line per dependency, ok or missing with the exact fix. */
import { Command } from "commander";
import { availableParallelism } from "node:os";
import { runChecks, type CheckOutcome } from "../doctor-checks.ts";
import { hostPeak } from "../../bench/lib/peak.ts";
import { hostCpuDesc } from "../../compiler/targets/cpu/host.ts";

export function formatOutcome(o: CheckOutcome, nameWidth: number): string {
  const status = o.ok ? "ok     " : "missing";
  const kind = o.check.required ? "" : " (optional)";
  const tail = o.ok ? o.detail : `${o.detail}${kind} — fix: ${o.check.fix}`;
  return `${status}  ${o.check.name.padEnd(nameWidth)}  ${tail}`;
}

export function doctorCommand(): Command {
  return new Command("doctor")
    .description("check the toolchain, libraries and data Lathe uses, and print how to fix what is missing")
    .option("--strict", "exit with status 1 if anything is missing")
    .option("--peak", "also measure and print this host's cpu target, fp32 FMA peak per core and memory bandwidth (what benchmark results record)")
    .action(async (opts: { strict?: boolean; peak?: boolean }) => {
      const outcomes = await runChecks();
      const width = Math.max(...outcomes.map((o) => o.check.name.length));
      for (const o of outcomes) console.log(formatOutcome(o, width));
      const bad = outcomes.filter((o) => !o.ok);
      const badRequired = bad.filter((o) => o.check.required).length;
      console.log(bad.length === 0 ? "everything is installed" : `${bad.length} missing (${badRequired} required); \`bash scripts/setup.sh\` installs the required ones, LATHE_SETUP_ALL=1 all of them`);
      if (opts.peak) {
        const desc = hostCpuDesc(), p = await hostPeak();
        console.log(`cpu target: ${desc.isa} (${desc.vectorBytes}-byte vectors, ${desc.vectorRegisters} vector registers${desc.flags.length ? `, ${desc.flags.join(" ")}` : ""})`);
        console.log(`peak: ${p.gflopsPerCore} GFLOP/s fp32 per core (FMA, ${p.lanes} lanes); STREAM triad ${p.triadGBs} GB/s on ${availableParallelism()} threads`);
      }
      if (opts.strict && bad.length > 0) process.exitCode = 1;
    });
}
