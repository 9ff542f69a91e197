/**
 * dce: drops nodes whose outputs do not reach a graph output, and constants nothing reads.
 * Graph inputs stay (they are the call signature). Recurses into scan bodies, and drops a
 * scan's stacked per-step outputs nobody reads together with the body outputs that make
 * them (its carries stay: the next step reads them).
 */
import type { Graph, Node, Value } from "../graph.ts";
import type { GraphPass } from "./pass.ts";
import { isScan, scanAttrs } from "../scan.ts";

/** Scan `n` without the stacked outputs `live` lacks (and its body without what made them); `n` when all are read. */
function pruneScan(n: Node, live: ReadonlySet<Value>): Node {
  if (!isScan(n)) return n;
  const C = scanAttrs(n.attrs, n.name).carries;
  const keep = n.outputs.map((o, k) => k < C || live.has(o));
  const body0 = keep.every(Boolean) ? n.body : { ...n.body, outputs: n.body.outputs.filter((_, k) => keep[k]) };
  const body = deadCodeElimination(body0);
  if (body === n.body) return n;
  return { ...n, outputs: n.outputs.filter((_, k) => keep[k]), body };
}

export function deadCodeElimination(g: Graph): Graph {
  const live = new Set<Value>(g.outputs);
  const kept: Node[] = [];
  let changed = false;
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n0 = g.nodes[i]!;
    if (!n0.outputs.some((o) => live.has(o))) { changed = true; continue; }
    const n = pruneScan(n0, live);
    if (n !== n0) changed = true;
    kept.push(n);
    n.inputs.forEach((v) => live.add(v));
  }
  const constants = g.constants.filter((c) => live.has(c.value));
  if (!changed && constants.length === g.constants.length) return g;
  return { ...g, nodes: kept.reverse(), constants };
}

/** Only the scan part of dce: every node stays, scans lose the stacked outputs nobody reads (what compiled code needs). */
export function pruneScanOutputs(g: Graph): Graph {
  const live = new Set<Value>(g.outputs);
  const nodes = [...g.nodes];
  let changed = false;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    const pruned = pruneScan(n, live);
    if (pruned !== n) { nodes[i] = pruned; changed = true; }
    pruned.inputs.forEach((v) => live.add(v));
  }
  return changed ? { ...g, nodes } : g;
}

export const dce: GraphPass = { name: "dce", run: deadCodeElimination };
