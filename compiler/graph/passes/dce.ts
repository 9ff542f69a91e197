/** dce: drops nodes whose outputs do not reach a graph output, and constants nothing reads. Graph inputs stay (they are the call signature). */
import type { Graph, Value } from "../graph.ts";
import type { GraphPass } from "./pass.ts";

export function deadCodeElimination(g: Graph): Graph {
  const live = new Set<Value>(g.outputs);
  const keep = new Array<boolean>(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!n.outputs.some((o) => live.has(o))) continue;
    keep[i] = true;
    n.inputs.forEach((v) => live.add(v));
  }
  const nodes = g.nodes.filter((_, i) => keep[i]);
  const constants = g.constants.filter((c) => live.has(c.value));
  if (nodes.length === g.nodes.length && constants.length === g.constants.length) return g;
  return { ...g, nodes, constants };
}

export const dce: GraphPass = { name: "dce", run: deadCodeElimination };
