/**
 * The public API for target plugins (docs/targets.md). A plugin package imports from
 * here only — by relative path inside this repository (examples/openblas-target), or as
 * `lathe/plugin-api.ts` where Lathe is an installed dependency.
 */
export {
  defineTarget, validateTarget,
  type TargetPlugin, type TargetOptions, type TargetDevice, type DeviceBuffer, type GraphRunner,
  type GroupScheduleContext, type TuningTemplate, type ExternalPattern, type ExternalKernel, type PatternMatch,
} from "./compiler/targets/plugin.ts";
export { registerTarget, getTarget, listTargets, loadPlugin } from "./compiler/targets/registry.ts";
export { externalFunction } from "./compiler/targets/external-c.ts";
export { cpuPlugin } from "./compiler/targets/cpu/plugin.ts";
export { defineSpace, ConfigSpace, type Config } from "./compiler/autotune/space.ts";
export { LatheError, BuildError } from "./core/errors.ts";
export type { BuiltModule, BuildOptions } from "./compiler/targets/target.ts";
export type { Pass } from "./compiler/tir/pass.ts";
export type { PrimFunc } from "./compiler/tir/stmt.ts";
export type { Graph, Node, Value } from "./compiler/graph/graph.ts";
export type { DType } from "./core/dtype.ts";
export { compileGraph, type CompiledGraph } from "./compiler/targets/cpu/graph.ts";
export { interpret } from "./compiler/graph/interpret.ts";
