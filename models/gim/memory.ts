/**
 * The working memory of a training step, read from the graph rather than sampled from the
 * process (one process holds every module, and RSS counts the compiler too): the bytes of
 * the step's inputs and outputs plus its intermediates after the memory planner's reuse
 * (compiler/lower/memory-plan.ts over the step's fused kernels), as the compiled step
 * allocates them. GIM's claim is about exactly this: a module's step holds only its own
 * activations, the end-to-end step the whole stack's.
 */
import type { Graph } from "../../compiler/graph/graph.ts";
import { deadCodeElimination } from "../../compiler/graph/passes/dce.ts";
import { fusionGroups } from "../../compiler/graph/passes/fuse.ts";
import { planMemory, sizeOf } from "../../compiler/lower/memory-plan.ts";
import { LatheError } from "../../core/errors.ts";

const bytes = (s: { coef: number; syms: readonly string[] }, what: string): number => {
  if (s.syms.length > 0) throw new LatheError(`step memory: ${what} has symbolic size ${s.syms.join("·")}; GIM steps have static shapes`);
  return s.coef;
};

export function stepMemoryBytes(g: Graph): number {
  const live = deadCodeElimination(g);
  const external = new Set([...live.inputs, ...live.constants.map((c) => c.value), ...live.outputs]);
  const plan = planMemory(fusionGroups(live), external);
  let total = 0;
  for (const v of external) total += bytes(sizeOf(v), v.name);
  for (const s of plan.storages) total += bytes(s.size, `storage ${s.id}`);
  return total;
}
