/**
 * A short tuning run of every tunable task of a graph, for the vendor benchmarks: each task
 * gets `trials` measurements (1 kernel thread) appended to a tuning log that later runs
 * resume from (the tuner counts what the log already holds), and the log's best configs
 * come back for `compileGraph(g, { tuned })`.
 *
 * The logs live in the user cache, one folder per compiler fingerprint
 * (compiler/targets/cpu/fingerprint.ts): `$XDG_CACHE_HOME/lathe/tuning/<fingerprint>/` or
 * `~/.cache/lathe/tuning/<fingerprint>/`, so they survive reboots and /tmp cleaners, a
 * changed code generator, g++ or ISA (`--isa`) starts a fresh folder, and a benchmark never
 * resumes or compiles with records measured for other code. LATHE_BENCH_TUNING_DIR names
 * one folder instead (there too only the current fingerprint's records are used).
 */
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Graph } from "../../compiler/graph/graph.ts";
import type { Measurer } from "../../compiler/autotune/measure.ts";
import { extractTasks, taskSpec } from "../../compiler/autotune/task.ts";
import { taskTemplate } from "../../compiler/targets/cpu/task-template.ts";
import { tuneTask } from "../../compiler/autotune/tuner.ts";
import { loadTunedConfigs, type TunedConfigs } from "../../compiler/targets/cpu/schedules/templates.ts";
import { hostFingerprint } from "../../compiler/targets/cpu/fingerprint.ts";

/**
 * Where the benchmarks keep their tuning logs: LATHE_BENCH_TUNING_DIR, else
 * `<user cache>/lathe/tuning/<fingerprint>/` (the user cache: $XDG_CACHE_HOME, else ~/.cache).
 * Call it after the ISA is chosen (--isa): the fingerprint depends on it.
 */
export function tuningLogPath(bench: string, fingerprint: string = hostFingerprint()): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const dir = process.env.LATHE_BENCH_TUNING_DIR || join(cache, "lathe", "tuning", fingerprint);
  mkdirSync(dir, { recursive: true });
  return join(dir, `${bench}.jsonl`);
}

export interface TuneGraphResult {
  readonly tuned: TunedConfigs;
  /** Per tuned task: its key, template kind, space size and best GFLOP/s (1 thread). */
  readonly tasks: readonly { readonly key: string; readonly kind: string; readonly size: number; readonly bestGflops: number | null; readonly measuredNow: number }[];
}

export async function tuneGraph(g: Graph, opts: { readonly trials: number; readonly measurer: Measurer; readonly log: string; readonly batch?: number; readonly label?: string }): Promise<TuneGraphResult> {
  const tasks = [];
  for (const t of extractTasks(g)) {
    const spec = taskSpec(t);
    const tpl = taskTemplate(spec);
    if (tpl === null) continue;
    const r = await tuneTask(spec, {
      trials: opts.trials, measurer: opts.measurer, log: opts.log, batch: opts.batch ?? 8, seed: 1, space: tpl.space, flops: tpl.flops, ...(tpl.defaultConfig ? { defaultConfig: tpl.defaultConfig } : {}),
      onWarning: (m) => process.stderr.write(`${m}\n`),
    });
    process.stderr.write(`tuned ${opts.label ?? spec.key}: ${tpl.kind}, best ${r.best ? r.best.gflops.toFixed(2) : "-"} GFLOP/s (${r.measuredNow} measured now, ${r.history.length} in all)\n`);
    tasks.push({ key: spec.key, kind: tpl.kind, size: tpl.space.size, bestGflops: r.best?.gflops ?? null, measuredNow: r.measuredNow });
  }
  return { tuned: loadTunedConfigs(opts.log, (m) => process.stderr.write(`${m}\n`)), tasks };
}
