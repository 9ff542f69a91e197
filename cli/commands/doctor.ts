/** `lathe doctor`: one line per dependency, ok or missing with the exact fix. */
import { Command } from "commander";
import { runChecks, type CheckOutcome } from "../doctor-checks.ts";

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
    .action(async (opts: { strict?: boolean }) => {
      const outcomes = await runChecks();
      const width = Math.max(...outcomes.map((o) => o.check.name.length));
      for (const o of outcomes) console.log(formatOutcome(o, width));
      const bad = outcomes.filter((o) => !o.ok);
      const badRequired = bad.filter((o) => o.check.required).length;
      console.log(bad.length === 0 ? "everything is installed" : `${bad.length} missing (${badRequired} required); \`bash scripts/setup.sh\` installs the required ones, LATHE_SETUP_ALL=1 all of them`);
      if (opts.strict && bad.length > 0) process.exitCode = 1;
    });
}
