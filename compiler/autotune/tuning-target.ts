/**
 * What the tuner needs from the target whose schedule templates it searches. Targets own
 * their templates (the cpu target's: compiler/targets/cpu/task-template.ts, `cpuTuning`);
 * the tuner, the measurer and transfer learning reach them only through this interface.
 */
import type { PrimFunc } from "../tir/stmt.ts";
import type { Config } from "./log.ts";
import type { ConfigSpace } from "./space.ts";
import type { TaskSpec } from "./task.ts";

/** A task's schedule template as the tuner sees it. */
export interface TaskTemplate {
  readonly space: ConfigSpace;
  /** Floating-point operations of one run of the task (for GFLOP/s). */
  readonly flops: number;
  /** The config that reproduces the default schedule, when the space holds one (measured first). */
  readonly defaultConfig?: Config;
}

export interface TuningTarget {
  /** The target's name, as in task keys ("cpu"). */
  readonly name: string;
  /** The task's schedule template, or null when it has none (then it is not tuned). */
  template(task: TaskSpec): TaskTemplate | null;
  /** The task's kernel with `config` (null: the default schedule), for loop-IR features. */
  lower(task: TaskSpec, config: Config | null, name?: string): PrimFunc;
  /**
   * The module the measuring child process runs (`node --import tsx`): it answers the
   * protocol of measure-protocol.ts by building, checking and timing candidates.
   */
  readonly measureWorker: string;
  /**
   * The fingerprint of the compiler and host this target builds and measures with now (the
   * cpu one: targets/cpu/fingerprint.ts): a hash of what decides what a config compiles to
   * and how fast it runs here. The tuner stamps it on every record it writes and resumes
   * only records that carry it (log.ts `splitByFingerprint`). It lives here rather than in
   * the tuner's options because it describes the target's code generator, which the tuner
   * may not know of (autotune sits below targets); every caller that measures through a
   * target then writes it, with nothing to remember. Absent: records carry none and every
   * record is trusted, as before fingerprints existed.
   */
  fingerprint?(): string;
}
