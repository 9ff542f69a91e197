/**
 * One fused group → one GPU kernel: the ops' compute rules chained into one tensor
 * expression (as compiler/targets/cpu/lower-group.ts does for cpu), scheduled by the GPU
 * schedules — with a tuned config when a tuning log has one for the group's task, else the
 * graph's config — and lowered through the webgpu target's loop-IR passes.
 */
import { groupTaskKey } from "../../autotune/task.ts";
import { createSchedule } from "../../schedule/schedule.ts";
import { lowerFor } from "../target.ts";
import type { Value } from "../../graph/graph.ts";
import type { PrimFunc } from "../../tir/stmt.ts";
import type { FusionGroup } from "../../graph/passes/fuse.ts";
import type { SizeVars } from "../../graph/te-bridge.ts";
import { groupTensors } from "../../lower/group.ts";
import type { GpuScheduleConfig } from "./schedules.ts";
import { gpuDefaultSchedule } from "./schedules.ts";
import { webgpuTarget } from "./index.ts";
import { tunedMatmulConfig, type WebGpuTunedConfigs } from "./tuning.ts";

/** Anchors scheduled as tiled matmuls (shared memory, register tiles). */
export const GEMM_OPS: ReadonlySet<string> = new Set(["matmul", "batch_matmul"]);

export interface LoweredGpuGroup {
  readonly func: PrimFunc;
  readonly args: readonly Value[];
  /** Whether a tuned config was applied. */
  readonly tuned: boolean;
}

/**
 * Lowers a group. With `tuned` (task key → config, from a tuning log), a matmul group whose
 * task (groupTaskKey(group, "webgpu")) has a config that its webgpu matmul space accepts is
 * scheduled with that config; every other group (no record, a symbolic size, not a matmul, a
 * config of another space) with `cfg`.
 */
export function lowerGroupGpu(group: FusionGroup, name: string, sizes: SizeVars, cfg: GpuScheduleConfig, tuned?: WebGpuTunedConfigs): LoweredGpuGroup {
  const { inputs, outputs, anchor } = groupTensors(group, sizes);
  const s = createSchedule(outputs);
  const gemm = group.anchor && GEMM_OPS.has(group.anchor.op) ? anchor : null;
  const logged = gemm && tuned && tuned.size > 0 ? tuned.get(groupTaskKey(group, "webgpu")) : undefined;
  const tunedCfg = gemm && logged !== undefined ? tunedMatmulConfig(gemm, logged, cfg) : null;
  gpuDefaultSchedule(s, outputs, gemm, tunedCfg ?? cfg);
  const func = lowerFor(webgpuTarget, s, [...inputs, ...outputs], name);
  return { func, args: [...group.inputs, ...group.outputs], tuned: tunedCfg !== null };
}
