/** The `lathe` command line. Each subcommand lives in cli/commands/<name>.ts. */
import { Command } from "commander";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LatheError } from "../core/errors.ts";
import { benchCommand } from "./commands/bench.ts";
import { compileCommand } from "./commands/compile.ts";
import { crowdCommand } from "./commands/crowd.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { experimentCommand } from "./commands/experiment.ts";
import { inspectCommand } from "./commands/inspect.ts";
import { runCommand } from "./commands/run.ts";
import { teCommand } from "./commands/te.ts";
import { tuneCommand } from "./commands/tune.ts";

/** Every subcommand, in help order; register a new one by adding its factory here. */
const COMMANDS: readonly (() => Command)[] = [doctorCommand, teCommand, benchCommand, experimentCommand, crowdCommand, compileCommand, runCommand, inspectCommand, tuneCommand];

export function makeProgram(): Command {
  const program = new Command("lathe")
    .description("Lathe: a deep-learning compiler toolchain")
    .showHelpAfterError();
  for (const make of COMMANDS) program.addCommand(make());
  return program;
}

/** Runs the CLI; diagnosed errors print one line and exit 1, anything else keeps its stack. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await makeProgram().parseAsync([...argv]);
  } catch (e) {
    if (!(e instanceof LatheError)) throw e;
    console.error(`lathe: ${e.name}: ${e.message}`);
    process.exitCode = 1;
  }
}

const isEntry = (): boolean => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

if (isEntry()) await main();
