/**
 * A tuning task's template and kernels: the task is rebuilt as a fused group (task.ts
 * `taskGroup`) and lowered by the same code that compiles graphs (lower-group.ts), so
 * what the tuner measures is what `compileGraph({ tuned })` builds.
 */
import { createSchedule } from "../../schedule/schedule.ts";
import type { Graph } from "../../graph/graph.ts";
import { lowerGroup } from "./lower-group.ts";
import { groupTensors } from "../../lower/group.ts";
import { SizeVars } from "../../graph/te-bridge.ts";
import { hostVectorBytes } from "./host.ts";
import type { PrimFunc } from "../../tir/stmt.ts";
import { LatheError } from "../../../core/errors.ts";
import type { Config } from "../../autotune/log.ts";
import { isStatic, taskGroup, type TaskSpec } from "../../autotune/task.ts";
import { groupTemplate, type GroupTemplate } from "./schedules/templates.ts";
import type { TuningTarget } from "../../autotune/tuning-target.ts";
import { fileURLToPath } from "node:url";
import { hostFingerprint } from "./fingerprint.ts";

/** The task's schedule template, or null when it has none (then it is not tuned). */
export function taskTemplate(t: TaskSpec, vectorBytes: number = hostVectorBytes()): GroupTemplate | null {
  if (!isStatic(t)) return null;
  const group = taskGroup(t);
  const { outputs, anchor } = groupTensors(group, new SizeVars());
  return groupTemplate(createSchedule(outputs), outputs, anchor, group.anchor?.op ?? null, vectorBytes);
}

/** The task's kernel with `config` (null: the default schedule); arguments are its inputs, then outputs. */
export function lowerTask(t: TaskSpec, config: Config | null, name = "kernel", vectorBytes: number = hostVectorBytes()): PrimFunc {
  const tuned = config === null ? undefined : new Map([[t.key, config]]);
  const lowered = lowerGroup(taskGroup(t), name, new SizeVars(), vectorBytes, tuned);
  if (config !== null && !lowered.tuned) throw new LatheError(`task ${t.key}: config is not in its template's space`);
  return lowered.func;
}

/** The task as a graph (its inputs, nodes and outputs), for the reference interpreter. */
export function taskGraph(t: TaskSpec): Graph {
  const g = taskGroup(t);
  return { inputs: g.inputs, constants: [], nodes: g.nodes, outputs: g.outputs };
}

/** The cpu target's templates, kernels, measuring child and fingerprint, for the tuner (autotune/tuning-target.ts). */
export const cpuTuning: TuningTarget = {
  name: "cpu",
  template: (t) => taskTemplate(t),
  lower: (t, config, name) => lowerTask(t, config, name),
  measureWorker: fileURLToPath(new URL("./measure-worker.ts", import.meta.url)),
  // Read at each call: --isa (LATHE_CPU_ISA) may change after this module loads.
  fingerprint: () => hostFingerprint(),
};
