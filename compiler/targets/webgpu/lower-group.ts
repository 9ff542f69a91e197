/**
 * One fused group → one GPU kernel: the ops' compute rules chained into one tensor
 * expression (as compiler/targets/cpu/lower-group.ts does for cpu), scheduled by the GPU default
 * schedule and lowered through the webgpu target's loop-IR passes.
 */
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

/** Anchors scheduled as tiled matmuls (shared memory, register tiles). */
const GEMM_OPS = new Set(["matmul", "batch_matmul"]);

export function lowerGroupGpu(group: FusionGroup, name: string, sizes: SizeVars, cfg: GpuScheduleConfig): { func: PrimFunc; args: readonly Value[] } {
  const { inputs, outputs, anchor } = groupTensors(group, sizes);
  const s = createSchedule(outputs);
  const gemm = group.anchor && GEMM_OPS.has(group.anchor.op) ? anchor : null;
  gpuDefaultSchedule(s, outputs, gemm, cfg);
  const func = lowerFor(webgpuTarget, s, [...inputs, ...outputs], name);
  return { func, args: [...group.inputs, ...group.outputs] };
}
