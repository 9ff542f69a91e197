/**
 * The graph verifier: the invariants every pass must keep. Nodes are in topological order,
 * every value used is defined exactly once (by a graph input, a constant or one node),
 * names and ids are unique, recorded types equal what each op infers, and the outputs
 * exist. Run it between passes in tests (tinygrad's SPEC, TVM's well-formed check).
 */
import { LatheError } from "../../core/errors.ts";
import { ops, normalizeAttrs } from "../ops/registry.ts";
import type { Graph, Node, Value } from "./graph.ts";
import { sameType, showType, staticSize } from "./types.ts";
import { SCAN, inferScan, isScan } from "./scan.ts";

type Def = { readonly kind: "input" | "constant" } | { readonly kind: "node"; readonly node: Node; readonly index: number };

const defName = (d: Def): string => (d.kind === "node" ? `node ${d.node.name}` : `a graph ${d.kind}`);

/** Every broken invariant, in words, each naming the node or value concerned; empty when the graph is valid. */
export function graphProblems(g: Graph): string[] {
  const problems: string[] = [];
  // Values are identified by object (the interpreter and passes key maps by Value); ids and
  // names must be unique too, for printing and for maps keyed by id.
  const defs = new Map<Value, Def>();
  const ids = new Map<number, string>();
  const valueNames = new Map<string, Def>();
  const noteId = (id: number, what: string) => {
    const prev = ids.get(id);
    if (prev !== undefined) problems.push(`id ${id} is used by both ${prev} and ${what}`);
    else ids.set(id, what);
  };
  const define = (v: Value, d: Def) => {
    const prev = defs.get(v);
    if (prev) { problems.push(`value ${v.name} is defined twice: by ${defName(prev)} and by ${defName(d)}`); return; }
    defs.set(v, d);
    noteId(v.id, `value ${v.name}`);
    const sameName = valueNames.get(v.name);
    if (sameName) problems.push(`two values are named ${v.name} (defined by ${defName(sameName)} and by ${defName(d)})`);
    else valueNames.set(v.name, d);
  };
  g.inputs.forEach((v) => define(v, { kind: "input" }));
  for (const c of g.constants) {
    define(c.value, { kind: "constant" });
    const n = staticSize(c.value.type);
    if (n === null) problems.push(`constant ${c.value.name} has a symbolic shape ${showType(c.value.type)}`);
    else if (n !== c.data.length) problems.push(`constant ${c.value.name}: ${showType(c.value.type)} needs ${n} elements, its data has ${c.data.length}`);
  }
  const nodeNames = new Set<string>();
  g.nodes.forEach((node) => {
    if (nodeNames.has(node.name)) problems.push(`two nodes are named ${node.name}`);
    nodeNames.add(node.name);
    noteId(node.id, `node ${node.name}`);
    node.outputs.forEach((v, index) => define(v, { kind: "node", node, index }));
  });

  // Order: an input must be defined before the node that reads it.
  const position = new Map<Node, number>(g.nodes.map((n, i) => [n, i]));
  const readsLater: [Node, Node][] = [];
  g.nodes.forEach((node, i) => {
    node.inputs.forEach((v, k) => {
      const d = defs.get(v);
      if (!d) {
        problems.push(`node ${node.name} (${node.op}): input ${k} (${v.name}) is not defined by any node, graph input or constant${sameIdHint(v, defs)}`);
      } else if (d.kind === "node" && position.get(d.node)! >= i) {
        readsLater.push([node, d.node]);
      }
    });
  });
  if (readsLater.length) {
    const cycle = findCycle(g, defs);
    if (cycle) problems.push(`cycle: ${[...cycle, cycle[0]!].map((n) => n.name).join(" -> ")} (each node reads the next one's output)`);
    for (const [reader, writer] of readsLater) {
      if (cycle?.includes(reader) && cycle.includes(writer)) continue;
      problems.push(`node ${reader.name} (${reader.op}) reads ${writer.name}'s output before node ${writer.name} defines it: nodes are not in topological order`);
    }
  }

  // Types: each op re-infers its outputs from the recorded input types; a scan from its
  // body, which must itself be valid.
  for (const node of g.nodes) {
    const op = ops[node.op];
    if (node.body !== undefined && !isScan(node)) problems.push(`node ${node.name} (${node.op}) has a body graph; only scan nodes have one`);
    if (node.op === SCAN && node.body === undefined) { problems.push(`node ${node.name} (scan) has no body graph`); continue; }
    if (isScan(node)) problems.push(...graphProblems(node.body).map((p) => `in the body of node ${node.name}: ${p}`));
    else if (!op) { problems.push(`node ${node.name}: unknown op "${node.op}"`); continue; }
    try {
      const types = isScan(node)
        ? inferScan(node.inputs.map((v) => v.type), node.attrs, node.body, node.name)
        : op!.infer(node.inputs.map((v) => v.type), normalizeAttrs(op!, node.attrs, node.name), node.name);
      if (types.length !== node.outputs.length) {
        problems.push(`node ${node.name} (${node.op}): the op gives ${types.length} outputs, the node has ${node.outputs.length}`);
      } else {
        types.forEach((t, k) => {
          const rec = node.outputs[k]!.type;
          if (!sameType(t, rec)) problems.push(`node ${node.name} (${node.op}): output ${node.outputs[k]!.name} is recorded as ${showType(rec)}, the op infers ${showType(t)} from inputs ${node.inputs.map((v) => showType(v.type)).join(", ")}`);
        });
      }
    } catch (e) {
      if (!(e instanceof LatheError)) throw e;
      problems.push(e.message.includes(node.name) ? e.message : `node ${node.name} (${node.op}): ${e.message}`);
    }
  }

  g.outputs.forEach((v, k) => {
    if (!defs.has(v)) problems.push(`graph output ${k} (${v.name}) is not defined by any node, graph input or constant${sameIdHint(v, defs)}`);
  });
  return problems;
}

/** A value that looks defined (same id) but is another object: a pass copied it and did not rewire its readers. */
function sameIdHint(v: Value, defs: ReadonlyMap<Value, Def>): string {
  for (const [d, def] of defs) if (d.id === v.id) return ` (a stale copy of ${d.name}, id ${v.id}, defined by ${defName(def)})`;
  return "";
}

/** A cycle among the nodes (each reads an output of the next), or null. */
function findCycle(g: Graph, defs: ReadonlyMap<Value, Def>): Node[] | null {
  const state = new Map<Node, 1 | 2>(); // 1: on the stack, 2: done
  const stack: Node[] = [];
  const visit = (n: Node): Node[] | null => {
    state.set(n, 1);
    stack.push(n);
    for (const v of n.inputs) {
      const d = defs.get(v);
      if (!d || d.kind !== "node") continue;
      const s = state.get(d.node);
      if (s === 1) return stack.slice(stack.indexOf(d.node));
      if (s === undefined) {
        const c = visit(d.node);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return null;
  };
  for (const n of g.nodes) {
    if (state.has(n)) continue;
    const c = visit(n);
    if (c) return c; // a reader first, then what it reads: a -> b means a reads b
  }
  return null;
}

/** Throws a LatheError listing every broken invariant. */
export function validate(g: Graph): void {
  const problems = graphProblems(g);
  if (problems.length) throw new LatheError(`invalid graph:\n  ${problems.join("\n  ")}`);
}
