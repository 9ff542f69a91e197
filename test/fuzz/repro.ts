/**
 * A fuzz finding on disk: the shrunk graph in the text form (constants inline), its inputs
 * as .npy files, and case.json (variant, outcome, bisection, the replay command). A repro
 * depends on no generator: `npx tsx scripts/fuzz.ts --replay DIR` parses the graph and
 * reads the inputs again.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { LatheError } from "../../core/errors.ts";
import { parseGraph } from "../../compiler/graph/text/parse.ts";
import { printGraph } from "../../compiler/graph/text/print.ts";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Outcome } from "./differential.ts";
import type { FuzzCase } from "./graph-gen.ts";

export interface ReproInfo {
  readonly variant: string;
  readonly seed: number;
  readonly outcome: Outcome;
  readonly bisection: string;
  readonly command: string;
  readonly recipe?: unknown;
}

/** Writes the repro into a new directory under `root` (never over an existing one); returns its path. */
export function writeRepro(root: string, c: FuzzCase, info: Omit<ReproInfo, "command" | "seed" | "recipe">): string {
  mkdirSync(root, { recursive: true });
  const base = `${info.variant}-${c.seed}`;
  // mkdir claims the name atomically: shards of a --jobs run write into the same root.
  let dir = path.join(root, base);
  for (let k = 2; ; k++) {
    try {
      mkdirSync(dir);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      dir = path.join(root, `${base}-${k}`);
    }
  }
  writeFileAtomic(path.join(dir, "graph.lg"), printGraph(c.graph, { inlineConstants: Number.MAX_SAFE_INTEGER }));
  c.inputs.forEach((x, i) => writeNpy(path.join(dir, `input${i}.npy`), Tensor.fromArray(x.data, x.shape, x.dtype)));
  const full: ReproInfo = { ...info, seed: c.seed, command: `npx tsx scripts/fuzz.ts --replay ${dir}`, ...(c.recipe ? { recipe: c.recipe } : {}) };
  writeFileAtomic(path.join(dir, "case.json"), `${JSON.stringify(full, null, 2)}\n`);
  return dir;
}

/** Reads a repro back as a case (graph parsed from its text, inputs from the .npy files). */
export function readRepro(dir: string): { case: FuzzCase; info: ReproInfo } {
  const file = (name: string) => path.join(dir, name);
  if (!existsSync(file("case.json")) || !existsSync(file("graph.lg"))) throw new LatheError(`${dir}: not a fuzz repro (needs case.json and graph.lg)`);
  let info: ReproInfo;
  try {
    info = JSON.parse(readFileSync(file("case.json"), "utf8")) as ReproInfo;
  } catch (e) {
    throw new LatheError(`${file("case.json")}: ${(e as Error).message}`);
  }
  const graph = parseGraph(readFileSync(file("graph.lg"), "utf8"), { source: file("graph.lg") });
  const npys = readdirSync(dir).filter((f) => /^input\d+\.npy$/.test(f)).sort((a, b) => Number(a.slice(5, -4)) - Number(b.slice(5, -4)));
  if (npys.length !== graph.inputs.length) throw new LatheError(`${dir}: the graph takes ${graph.inputs.length} inputs, the repro has ${npys.length} .npy files`);
  const inputs = npys.map((f) => {
    const t = readNpy(file(f));
    return { data: Float64Array.from(t.data as ArrayLike<number>), shape: t.shape, dtype: t.dtype };
  });
  return { case: { seed: info.seed, graph, inputs, skipped: [] }, info };
}
