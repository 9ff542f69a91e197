/**
 * The loop-IR pass manager. A pass is a named pure function PrimFunc → PrimFunc.
 * `LATHE_PRINT_AFTER=all` (or a comma-separated list of pass names) prints the IR after
 * each such pass to stderr, with "(unchanged)" when a pass did nothing.
 */
import type { PrimFunc } from "./stmt.ts";
import { printFunc } from "./print.ts";

export interface Pass {
  readonly name: string;
  readonly run: (f: PrimFunc) => PrimFunc;
}

export interface PassOptions {
  /** Pass names to print after, or "all". Defaults to the LATHE_PRINT_AFTER environment variable. */
  readonly printAfter?: readonly string[] | "all";
  /** Where dumps go (stderr by default). */
  readonly log?: (text: string) => void;
}

function printAfterFromEnv(): readonly string[] | "all" {
  const v = process.env.LATHE_PRINT_AFTER ?? "";
  if (v === "all" || v === "1") return "all";
  return v.split(",").map((x) => x.trim()).filter(Boolean);
}

export function runPasses(f: PrimFunc, passes: readonly Pass[], opts: PassOptions = {}): PrimFunc {
  const want = opts.printAfter ?? printAfterFromEnv();
  const log = opts.log ?? ((t: string) => process.stderr.write(t));
  let cur = f;
  if (want === "all" || want.includes("lower")) log(`// after lower\n${printFunc(cur)}\n`);
  for (const p of passes) {
    const next = p.run(cur);
    if (want === "all" || want.includes(p.name)) {
      const unchanged = next === cur || (next.body === cur.body && next.params === cur.params);
      log(unchanged ? `// after ${p.name} (unchanged)\n` : `// after ${p.name}\n${printFunc(next)}\n`);
    }
    cur = next;
  }
  return cur;
}
