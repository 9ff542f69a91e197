/**
 * Finds experiments: every models/<name>/experiment.ts is one (as bench/lib/discover.ts
 * finds benchmarks), except models/lib/, the shared code (whose experiment.ts is the
 * ExperimentReport module), and models/results/, where results are written.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LatheError } from "../../core/errors.ts";

/** The folder holding the experiments: models/. */
export const MODELS_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Folders that are never experiments. */
const NOT_EXPERIMENTS: ReadonlySet<string> = new Set(["lib", "results"]);

/** Names of the experiments under `root` (folders with an experiment.ts, but lib/ and results/), sorted. */
export function listExperiments(root: string = MODELS_ROOT): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !NOT_EXPERIMENTS.has(e.name) && existsSync(join(root, e.name, "experiment.ts")))
    .map((e) => e.name)
    .sort();
}

/** The entry file of experiment `name`; a LatheError listing the available ones if there is none. */
export function experimentEntry(name: string, root: string = MODELS_ROOT): string {
  const available = listExperiments(root);
  if (!available.includes(name)) {
    const list = available.length > 0 ? available.join(", ") : "none yet";
    throw new LatheError(`no experiment named "${name}" (models/${name}/experiment.ts); available: ${list}`);
  }
  return join(root, name, "experiment.ts");
}
