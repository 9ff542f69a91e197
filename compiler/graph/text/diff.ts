/**
 * Structural comparison of graphs (TVM's assert_structural_equal): the same inputs,
 * constants, nodes (op, attributes, output types) and wiring, in the same order. Ids are
 * never compared; names are unless `names: false` (then values correspond by position).
 */
import type { AttrValue, Graph, Value } from "../graph.ts";
import { sameType, showType } from "../types.ts";

export interface DiffOptions {
  /** Compare value and node names too (default true). */
  readonly names?: boolean;
  /** Compare constant data element by element (default true). */
  readonly data?: boolean;
}

const sameAttr = (a: AttrValue, b: AttrValue): boolean => {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  return Object.is(a, b);
};

/** The first difference between two graphs, in words, or null when they are structurally equal. */
export function diffGraphs(a: Graph, b: Graph, opts: DiffOptions = {}): string | null {
  const { names = true, data = true } = opts;
  const corr = new Map<Value, Value>(); // a's value → b's value
  const pair = (what: string, x: Value, y: Value): string | null => {
    if (names && x.name !== y.name) return `${what}: name ${x.name} vs ${y.name}`;
    if (!sameType(x.type, y.type)) return `${what} ${x.name}: type ${showType(x.type)} vs ${showType(y.type)}`;
    corr.set(x, y);
    return null;
  };
  const ref = (x: Value, y: Value): boolean => corr.get(x) === y;

  if (a.inputs.length !== b.inputs.length) return `${a.inputs.length} inputs vs ${b.inputs.length}`;
  for (let i = 0; i < a.inputs.length; i++) {
    const d = pair(`input ${i}`, a.inputs[i]!, b.inputs[i]!);
    if (d) return d;
  }
  if (a.constants.length !== b.constants.length) {
    return `${a.constants.length} constants (${a.constants.map((c) => c.value.name).join(", ")}) vs ${b.constants.length} (${b.constants.map((c) => c.value.name).join(", ")})`;
  }
  for (let i = 0; i < a.constants.length; i++) {
    const x = a.constants[i]!, y = b.constants[i]!;
    const d = pair(`constant ${i}`, x.value, y.value);
    if (d) return d;
    if (data && (x.data.length !== y.data.length || x.data.some((v, k) => !Object.is(v, y.data[k])))) return `constant ${x.value.name}: data differs`;
  }
  if (a.nodes.length !== b.nodes.length) {
    return `${a.nodes.length} nodes (${a.nodes.map((n) => n.op).join(" ")}) vs ${b.nodes.length} (${b.nodes.map((n) => n.op).join(" ")})`;
  }
  for (let i = 0; i < a.nodes.length; i++) {
    const x = a.nodes[i]!, y = b.nodes[i]!;
    const where = `node ${i} (${x.name})`;
    if (names && x.name !== y.name) return `node ${i}: name ${x.name} vs ${y.name}`;
    if (x.op !== y.op) return `${where}: op ${x.op} vs ${y.op}`;
    const ka = Object.keys(x.attrs).sort(), kb = Object.keys(y.attrs).sort();
    if (ka.join() !== kb.join()) return `${where}: attributes {${ka.join(", ")}} vs {${kb.join(", ")}}`;
    for (const k of ka) if (!sameAttr(x.attrs[k]!, y.attrs[k]!)) return `${where}: attribute ${k} = ${JSON.stringify(x.attrs[k])} vs ${JSON.stringify(y.attrs[k])}`;
    if (x.inputs.length !== y.inputs.length) return `${where}: ${x.inputs.length} inputs vs ${y.inputs.length}`;
    for (let k = 0; k < x.inputs.length; k++) {
      if (!ref(x.inputs[k]!, y.inputs[k]!)) return `${where}: input ${k} is ${x.inputs[k]!.name} vs ${y.inputs[k]!.name}`;
    }
    if (x.outputs.length !== y.outputs.length) return `${where}: ${x.outputs.length} outputs vs ${y.outputs.length}`;
    for (let k = 0; k < x.outputs.length; k++) {
      const d = pair(`${where} output ${k}`, x.outputs[k]!, y.outputs[k]!);
      if (d) return d;
    }
  }
  if (a.outputs.length !== b.outputs.length) return `${a.outputs.length} outputs vs ${b.outputs.length}`;
  for (let k = 0; k < a.outputs.length; k++) {
    if (!ref(a.outputs[k]!, b.outputs[k]!)) return `graph output ${k} is ${a.outputs[k]!.name} vs ${b.outputs[k]!.name}`;
  }
  return null;
}
