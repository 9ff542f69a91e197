/** Messages between the measurer (measure.ts) and its child process (measure-worker.ts). */
import type { Config } from "./log.ts";
import type { TaskSpec } from "./task.ts";

/**
 * Test-only faults the child injects into a candidate's run, to exercise the parent's
 * recovery: a real abort() and SIGSEGV of the child, a hang, and a wrong output.
 */
export type Fault = "abort" | "segv" | "hang" | "wrong";

export interface MeasureRequest {
  readonly type: "measure";
  readonly id: number;
  readonly task: TaskSpec;
  readonly config: Config;
  readonly warmup: number;
  readonly repeats: number;
  /**
   * The minimum time of all timed samples together, ms (MeasureOptions.minRepeatMs): each of
   * the `repeats` samples repeats the kernel until it lasts at least minRepeatMs / repeats;
   * 0: one call per sample.
   */
  readonly minRepeatMs: number;
  /** Kernel threads (0: the library's default, all cores). */
  readonly threads: number;
  /** Evict the caches before every timed sample (MeasureOptions.flushCache). */
  readonly flush: boolean;
  readonly fault: Fault | null;
}

export type WorkerMessage =
  | { readonly type: "ready" }
  /** The candidate compiled; the parent switches from the build timeout to the run timeout. */
  | { readonly type: "built"; readonly id: number }
  /**
   * The candidate is checked and warmed up and its timed samples begin; the parent extends the
   * run timeout by its allowance for repetition (MeasureOptions.runTimeoutMs).
   */
  | { readonly type: "timing"; readonly id: number }
  /**
   * costs: seconds per call, one per sample (the mean of that sample's calls); calls: how many
   * calls each sample made (same length); both null on failure.
   */
  | { readonly type: "result"; readonly id: number; readonly costs: readonly number[] | null; readonly calls: readonly number[] | null; readonly error: string | null };
