/**
 * One fused group → one loop-IR kernel: its ops' compute rules chained, then its schedule —
 * the tuned one when a tuning log has a config for the group's task, else the default.
 */
import { createSchedule, type Schedule } from "../../schedule/schedule.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { lowerFor } from "../target.ts";
import { cpuTarget } from "./index.ts";
import type { FusionGroup } from "../../graph/passes/fuse.ts";
import { defaultSchedule } from "./schedules/default.ts";
import type { SizeVars } from "../../graph/te-bridge.ts";
import { GEMM_OPS, groupTemplate, type TunedConfigs } from "./schedules/templates.ts";
import { groupTaskKey } from "../../autotune/task.ts";
import { groupTensors, type LoweredGroup } from "../../lower/group.ts";

export type { TunedConfigs };


/**
 * The cpu target's untuned schedule of a group: its template's default config where the
 * template has one (the gemm one reproduces defaultSchedule's; the blocked convolution's
 * register tile is about 4/3 the speed of the generic reduction schedule's on ResNet-18's
 * 3×3 layers), else the default rules of schedules/default.ts.
 */
export function defaultGroupSchedule(s: Schedule, outputs: readonly TeTensor[], anchor: TeTensor | null, anchorOp: string | null, vectorBytes: number): void {
  const template = groupTemplate(s, outputs, anchor, anchorOp, vectorBytes);
  if (template?.defaultConfig) template.apply(s, template.defaultConfig);
  else defaultSchedule(s, outputs, vectorBytes, anchor && anchorOp !== null && GEMM_OPS.has(anchorOp) ? anchor : null);
}

/** A group's tensor expressions with the schedule lowerGroup gives them (tuned or default). */
export interface ScheduledGroup {
  readonly schedule: Schedule;
  readonly inputs: readonly TeTensor[];
  readonly outputs: readonly TeTensor[];
  /** Whether a tuned config was applied. */
  readonly tuned: boolean;
}

/**
 * A group's schedule. With `tuned` (task key → config, from a tuning log), a group whose task
 * has a config that its template accepts gets the tuned schedule; every other group (no
 * record, a symbolic shape, a config from a different space) gets the default schedule.
 */
export function scheduleGroup(group: FusionGroup, sizes: SizeVars, vectorBytes: number, tuned?: TunedConfigs): ScheduledGroup {
  const { inputs, outputs, anchor } = groupTensors(group, sizes);
  const s = createSchedule(outputs);
  const anchorOp = group.anchor?.op ?? null;
  const logged = tuned && tuned.size > 0 ? tuned.get(groupTaskKey(group, "cpu")) : undefined;
  const template = logged !== undefined ? groupTemplate(s, outputs, anchor, anchorOp, vectorBytes) : null;
  const config = logged !== undefined ? template?.space.complete(logged) : undefined;
  const applied = template !== null && config !== undefined && template.space.contains(config);
  if (applied) template.apply(s, config);
  else defaultGroupSchedule(s, outputs, anchor, anchorOp, vectorBytes);
  return { schedule: s, inputs, outputs, tuned: applied };
}

/** Lowers a group with its schedule (scheduleGroup). */
export function lowerGroup(group: FusionGroup, name: string, sizes: SizeVars, vectorBytes: number, tuned?: TunedConfigs): LoweredGroup {
  const { schedule, inputs, outputs, tuned: applied } = scheduleGroup(group, sizes, vectorBytes, tuned);
  // Inputs read only for their shape (ones_like's input) stay arguments: their shapes may
  // be what binds a symbolic size.
  const func = lowerFor(cpuTarget, schedule, [...inputs, ...outputs], name);
  return { func, args: [...group.inputs, ...group.outputs], tuned: applied };
}
