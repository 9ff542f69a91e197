/** The `lathe` command line. Each subcommand lives in cli/commands/<name>.ts. */
import { Command } from "commander";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LatheError } from "../core/errors.ts";
import { benchCommand } from "./commands/bench.ts";
import { compileCommand } from "./commands/compile.ts";
import { clusterCommand } from "./commands/cluster.ts";
import { crowdCommand } from "./commands/crowd.ts";
import { continualCommand } from "./commands/continual.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { experimentCommand } from "./commands/experiment.ts";
import { inspectCommand } from "./commands/inspect.ts";
import { runCommand } from "./commands/run.ts";
import { serveCommand } from "./commands/serve.ts";
import { teCommand } from "./commands/te.ts";
import { tuneCommand } from "./commands/tune.ts";
import { workerCommand } from "./commands/worker.ts";
import { queueCommand } from "./commands/queue.ts";
import { vtaCommand } from "./commands/vta.ts";

/** Every subcommand, in help order; register a new one by adding its factory here. */
const COMMANDS: readonly (() => Command)[] = [doctorCommand, teCommand, benchCommand, experimentCommand, crowdCommand, clusterCommand, continualCommand, compileCommand, runCommand, serveCommand, inspectCommand, tuneCommand, workerCommand, queueCommand, vtaCommand];

export function makeProgram(): Command {
  const program = new Command("lathe")
    .description("Lathe: a deep-learning compiler toolchain")
    .showHelpAfterError();
  for (const make of COMMANDS) program.addCommand(make());
  return program;
}

/**
 * Runs the CLI. Every error prints one line and a non-zero exit: 1 for a diagnosed
 * LatheError, 2 for anything else (a bug in Lathe). LATHE_DEBUG (any value) adds the stack.
 */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await makeProgram().parseAsync([...argv]);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const ours = err instanceof LatheError;
    if (ours) console.error(`lathe: ${err.name}: ${err.message}`);
    else console.error(`lathe: ${err.name}: ${err.message.replace(/\s*\n\s*/g, " ")} (an internal error; LATHE_DEBUG=1 prints its stack)`);
    if (process.env.LATHE_DEBUG && err.stack) console.error(err.stack);
    process.exitCode = ours ? 1 : 2;
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
