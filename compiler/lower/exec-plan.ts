/**
 * The ahead-of-time executor's plan for a whole graph: steps in order, where every value
 * lives (a caller argument or a planned storage block) and the symbolic sizes read from
 * the inputs. A step is a kernel call or a scan: a loop that runs its body's own plan T
 * times, the body's arguments (carries, one slice of each sequence and of each stacked
 * output, invariants) bound anew each step. The C++ entry point is printed from this
 * plan (targets/cpu/graph-entry.ts).
 */
import { LatheError } from "../../core/errors.ts";
import type { Graph, Value } from "../graph/graph.ts";
import type { ScanNode } from "../graph/scan.ts";
import type { FusionGroup } from "../graph/passes/fuse.ts";
import type { LoweredGroup } from "./group.ts";
import type { MemoryPlan } from "./memory-plan.ts";
import { planMemory } from "./memory-plan.ts";

export type Location =
  | { readonly kind: "arg"; readonly index: number }
  | { readonly kind: "storage"; readonly id: number };

export type PlanStep =
  | { readonly kind: "kernel"; readonly kernel: LoweredGroup }
  /** `body`'s args are the scan body's inputs, then its outputs (its constants were hoisted into the scan's invariants). */
  | { readonly kind: "scan"; readonly node: ScanNode; readonly body: ExecPlan };

export interface ExecPlan {
  /** Entry arguments: graph inputs, then constants, then outputs. */
  readonly args: readonly Value[];
  readonly numInputs: number;
  readonly numConstants: number;
  /** One per fused group, in order. */
  readonly steps: readonly PlanStep[];
  readonly memory: MemoryPlan;
  readonly location: ReadonlyMap<Value, Location>;
  /** Symbolic dimension → (argument, dimension) it is read from. */
  readonly dims: ReadonlyMap<string, { arg: number; dim: number }>;
  /** Graph outputs that no kernel writes (an input or constant returned as is): copied. */
  readonly copies: readonly { from: Value; to: number }[];
}

export function makeExecPlan(g: Graph, groups: readonly FusionGroup[], steps: readonly PlanStep[]): ExecPlan {
  if (steps.length !== groups.length) throw new LatheError(`exec plan: ${steps.length} steps for ${groups.length} fused groups`);
  const args = [...g.inputs, ...g.constants.map((c) => c.value), ...g.outputs];
  const location = new Map<Value, Location>();
  g.inputs.forEach((v, i) => location.set(v, { kind: "arg", index: i }));
  g.constants.forEach((c, i) => location.set(c.value, { kind: "arg", index: g.inputs.length + i }));
  const outBase = g.inputs.length + g.constants.length;
  const copies: { from: Value; to: number }[] = [];
  g.outputs.forEach((v, i) => {
    if (location.has(v) || g.outputs.indexOf(v) !== i) copies.push({ from: v, to: outBase + i });
    else location.set(v, { kind: "arg", index: outBase + i });
  });
  const memory = planMemory(groups, new Set(location.keys()));
  for (const [v, s] of memory.assignment) location.set(v, { kind: "storage", id: s.id });
  const dims = new Map<string, { arg: number; dim: number }>();
  g.inputs.forEach((v, arg) => v.type.shape.forEach((d, dim) => { if (typeof d === "string" && !dims.has(d)) dims.set(d, { arg, dim }); }));
  for (const v of [...g.constants.map((c) => c.value), ...g.outputs, ...groups.flatMap((x) => x.outputs)]) {
    for (const d of v.type.shape) {
      if (typeof d === "string" && !dims.has(d)) throw new LatheError(`symbolic dimension ${d} of ${v.name} is not the size of any graph input`);
    }
  }
  return { args, numInputs: g.inputs.length, numConstants: g.constants.length, steps, memory, location, dims, copies };
}
