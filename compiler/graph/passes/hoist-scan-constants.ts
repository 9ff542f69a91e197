/**
 * hoist-scan-constants: a scan body's constants become constants of the enclosing graph,
 * passed to the scan as extra invariants (nested bodies first, so every constant ends up
 * at the top). A compiled graph receives its constants as entry arguments, and a loop
 * body has no entry of its own: after this pass a body reads only its operands.
 */
import type { Constant, Graph } from "../graph.ts";
import { FreshValues, isScan } from "../scan.ts";
import type { GraphPass } from "./pass.ts";

export function hoistScanConstants(g: Graph): Graph {
  const fresh = new FreshValues(g);
  const constants: Constant[] = [...g.constants];
  let changed = false;
  const nodes = g.nodes.map((n) => {
    if (!isScan(n)) return n;
    const inner = hoistScanConstants(n.body);
    if (inner.constants.length === 0) return inner === n.body ? n : { ...n, body: inner };
    changed = true;
    const outer = inner.constants.map((c) => {
      const value = fresh.value(`${n.name}.${c.value.name}`, c.value.type);
      constants.push({ value, data: c.data });
      return value;
    });
    // Invariants are the trailing operands, so appending keeps the layout.
    const body: Graph = { ...inner, inputs: [...inner.inputs, ...inner.constants.map((c) => c.value)], constants: [] };
    return { ...n, inputs: [...n.inputs, ...outer], body };
  });
  if (!changed && nodes.every((n, i) => n === g.nodes[i])) return g;
  return { ...g, constants, nodes };
}

export const hoistScanConstantsPass: GraphPass = { name: "hoist-scan-constants", run: hoistScanConstants };
