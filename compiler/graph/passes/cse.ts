/**
 * cse: nodes with the same op, attributes and inputs compute the same values (every op
 * is a pure function of them; dropout's randomness is a function of its seed and step
 * inputs), so later copies are dropped and their readers use the first one's outputs.
 */
import type { AttrValue, Graph, Node, Value } from "../graph.ts";
import { spellNumber } from "../text/names.ts";
import type { GraphPass } from "./pass.ts";
import { mapScanBodies } from "../scan.ts";

/** Ops whose two inputs may be swapped: add(a, b) and add(b, a) are one node. */
const COMMUTATIVE: ReadonlySet<string> = new Set(["add", "mul", "maximum", "minimum", "equal", "not_equal"]);

// spellNumber keeps -0 and NaN apart from 0 and null, which JSON.stringify does not.
const scalarKey = (x: number | string | boolean): string => (typeof x === "number" ? spellNumber(x) : JSON.stringify(x));
const attrKey = (attrs: Readonly<Record<string, AttrValue>>): string =>
  Object.keys(attrs).sort().map((k) => {
    const v = attrs[k]!;
    return `${k}=${Array.isArray(v) ? `[${v.map(scalarKey).join(",")}]` : scalarKey(v as number | string | boolean)}`;
  }).join(",");

export function commonSubexpressions(g0: Graph): Graph {
  const g = mapScanBodies(g0, commonSubexpressions);
  const bodies = new Map<Graph, number>();
  const bodyKey = (n: Node): string => {
    if (!n.body) return "";
    if (!bodies.has(n.body)) bodies.set(n.body, bodies.size);
    return `#body${bodies.get(n.body)}`;
  };
  const number = new Map<Value, number>(); // values by identity, numbered as met
  const num = (v: Value): number => {
    let k = number.get(v);
    if (k === undefined) { k = number.size; number.set(v, k); }
    return k;
  };
  const seen = new Map<string, Node>();
  const subst = new Map<Value, Value>();
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    const inputs = n.inputs.map((v) => subst.get(v) ?? v);
    const ids = inputs.map(num);
    if (COMMUTATIVE.has(n.op) && ids.length === 2) ids.sort((a, b) => a - b);
    const key = `${n.op}(${ids.join(",")}){${attrKey(n.attrs)}}${bodyKey(n)}`;
    const first = seen.get(key);
    if (first && first.outputs.length === n.outputs.length) {
      n.outputs.forEach((o, k) => subst.set(o, first.outputs[k]!));
      continue;
    }
    const kept = inputs.every((v, k) => v === n.inputs[k]) ? n : { ...n, inputs };
    seen.set(key, kept);
    nodes.push(kept);
  }
  if (subst.size === 0) return g;
  return { ...g, nodes, outputs: g.outputs.map((v) => subst.get(v) ?? v) };
}

export const cse: GraphPass = { name: "cse", run: commonSubexpressions };
