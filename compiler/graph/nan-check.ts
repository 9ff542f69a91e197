/**
 * NaN/Inf bisection: runs the graph in the reference interpreter and names the first
 * node, in topological order, whose output holds a non-finite element — the node that
 * produced it, since every node before it gave only finite values. Non-finite inputs
 * and constants are reported as such, before any node.
 */
import type { Graph, Node, Value } from "./graph.ts";
import { interpret } from "./interpret.ts";
import { showType } from "./types.ts";

export interface NonFinite {
  /** Where the value comes from. */
  readonly kind: "input" | "constant" | "node";
  /** The node that produced it (kind "node"). */
  readonly node: Node | null;
  readonly value: Value;
  /** Row-major index of the first non-finite element, and that element. */
  readonly index: number;
  readonly element: number;
  /** A sentence naming the node, op, value and element. */
  readonly message: string;
}

const firstBad = (data: ArrayLike<number>): number => {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
};

export function firstNonFinite(g: Graph, inputs: readonly { data: ArrayLike<number>; shape: readonly number[] }[]): NonFinite | null {
  const { values } = interpret(g, inputs);
  const check = (v: Value, kind: NonFinite["kind"], node: Node | null): NonFinite | null => {
    const data = values.get(v)!.data;
    const index = firstBad(data);
    if (index < 0) return null;
    const element = data[index]!;
    const where = node ? `node ${node.name} (${node.op}) produced` : `${kind} ${v.name} holds`;
    const ins = node ? ` from inputs ${node.inputs.map((x) => `${x.name}: ${showType(x.type)}`).join(", ")}` : "";
    return { kind, node, value: v, index, element, message: `${where} ${element} at element ${index} of ${v.name}: ${showType(v.type)}${ins}` };
  };
  for (const v of g.inputs) {
    const r = check(v, "input", null);
    if (r) return r;
  }
  for (const c of g.constants) {
    const r = check(c.value, "constant", null);
    if (r) return r;
  }
  for (const n of g.nodes) {
    for (const o of n.outputs) {
      const r = check(o, "node", n);
      if (r) return r;
    }
  }
  return null;
}
