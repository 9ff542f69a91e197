/**
 * The graph pass manager. A pass is a named pure function Graph → Graph.
 * `LATHE_PRINT_AFTER=all` (or a comma-separated list of pass names) prints the graph after
 * each such pass to stderr in the text form (so a dump parses back), with "(unchanged)"
 * when a pass did nothing — the same variable and format as the loop-IR passes (tir/pass.ts).
 */
import { LatheError } from "../../../core/errors.ts";
import type { Graph } from "../graph.ts";
import { printGraph } from "../text/print.ts";
import { graphProblems } from "../validate.ts";

export interface GraphPass {
  readonly name: string;
  readonly run: (g: Graph) => Graph;
}

export interface GraphPassOptions {
  /** Pass names to print after, or "all". Defaults to the LATHE_PRINT_AFTER environment variable. */
  readonly printAfter?: readonly string[] | "all";
  /** Where dumps go (stderr by default). */
  readonly log?: (text: string) => void;
  /** Run the verifier (validate.ts) on the input and after every pass, naming the pass that broke it. */
  readonly verify?: boolean;
}

function printAfterFromEnv(): readonly string[] | "all" {
  const v = process.env.LATHE_PRINT_AFTER ?? "";
  if (v === "all" || v === "1") return "all";
  return v.split(",").map((x) => x.trim()).filter(Boolean);
}

const sameList = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** A pass did nothing when it returned the graph itself or a graph of the very same parts. */
export const unchanged = (a: Graph, b: Graph): boolean =>
  a === b || (sameList(a.inputs, b.inputs) && sameList(a.constants, b.constants) && sameList(a.nodes, b.nodes) && sameList(a.outputs, b.outputs));

export function runGraphPasses(g: Graph, passes: readonly GraphPass[], opts: GraphPassOptions = {}): Graph {
  const want = opts.printAfter ?? printAfterFromEnv();
  const log = opts.log ?? ((t: string) => process.stderr.write(t));
  const verify = (h: Graph, after: string) => {
    const problems = graphProblems(h);
    if (problems.length) throw new LatheError(`invalid graph ${after}:\n  ${problems.join("\n  ")}`);
  };
  if (opts.verify) verify(g, "before the graph passes");
  let cur = g;
  for (const p of passes) {
    const next = p.run(cur);
    if (want === "all" || want.includes(p.name)) {
      log(unchanged(cur, next) ? `// after ${p.name} (unchanged)\n` : `// after ${p.name}\n${printGraph(next)}\n`);
    }
    if (opts.verify) verify(next, `after pass ${p.name}`);
    cur = next;
  }
  return cur;
}
