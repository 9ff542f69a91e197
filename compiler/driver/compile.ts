/**
 * The driver: compile(graph, target, options) → a module that runs the graph. The CLI, the
 * training API and the benches come here; each target builds whole graphs behind its plugin
 * (targets/plugin.ts `compileGraph`), and the cpu target and plugins derived from it (C++
 * printers with Lathe's kernel ABI) through the cpu graph compiler with the plugin's hooks.
 */
import { LatheError } from "../../core/errors.ts";
import type { Graph } from "../graph/graph.ts";
import { compileGraph, type CompileGraphOptions, type CompiledGraph } from "../targets/cpu/graph.ts";
import { cpuPlugin } from "../targets/cpu/plugin.ts";
import type { GraphModule, TargetPlugin } from "../targets/plugin.ts";
import { getTarget, listTargets } from "../targets/registry.ts";
import type { WebGpuGraph, WebGpuGraphOptions } from "../targets/webgpu/graph.ts";

/** Options for the cpu target and plugins derived from it (targets/cpu/graph.ts). */
export type CpuCompileOptions = Omit<CompileGraphOptions, "target">;
/** Options every target understands; each target reads its own besides. */
export type CompileOptions = CpuCompileOptions & WebGpuGraphOptions;

/** A target by name (the registry's, plugins included) or as a plugin object. */
export type TargetRef = string | TargetPlugin;

/** Whether graphs of `t` go through the cpu graph compiler: a C++ printer, a build and schedules. */
const compilesAsCpu = (t: TargetPlugin): boolean =>
  t.compileGraph === undefined && t.codegen !== undefined && t.build !== undefined && t.schedule !== undefined;

export function compile(g: Graph, target?: "cpu", opts?: CpuCompileOptions): Promise<CompiledGraph>;
export function compile(g: Graph, target: "webgpu", opts?: WebGpuGraphOptions): Promise<WebGpuGraph>;
export function compile(g: Graph, target: TargetRef, opts?: CompileOptions): Promise<GraphModule>;
export async function compile(g: Graph, target: TargetRef = "cpu", opts: CompileOptions = {}): Promise<GraphModule> {
  const plugin = typeof target === "string" ? getTarget(target) : target;
  if (plugin.compileGraph) return plugin.compileGraph(g, opts);
  if (!compilesAsCpu(plugin)) {
    throw new LatheError(`target "${plugin.name}" does not compile whole graphs (targets that do: ${listTargets().filter((n) => { const t = getTarget(n); return t.compileGraph !== undefined || compilesAsCpu(t); }).join(", ")})`);
  }
  // The built-in cpu target compiles with its own schedules and tuned configs; a plugin
  // derived from it with its hooks.
  return compileGraph(g, plugin === cpuPlugin ? opts : { ...opts, target: plugin });
}

/** Whether `m` is a native library built by the cpu graph compiler (what cpu artifacts hold). */
export const isNativeModule = (m: GraphModule): m is CompiledGraph =>
  "library" in m && "entry" in m && "flags" in m;
