/** Prints a graph in the text form parse.ts reads back (grammar: graph.ohm). Prints; decides nothing. */
import { f16FromBits } from "../../../core/f16.ts";
import type { AttrValue, Constant, Graph, Node, Value } from "../graph.ts";
import type { TensorType } from "../types.ts";
import { defaultNodeName, spellName, spellNumber } from "./names.ts";

export interface PrintGraphOptions {
  /** The name after `graph` (default "main"). */
  readonly name?: string;
  /** Annotate every node output with its type (default true; the parser checks them). */
  readonly types?: boolean;
  /** Print the data of constants with at most this many elements inline (default 0: none). */
  readonly inlineConstants?: number;
}

const spellType = (t: TensorType): string =>
  `${t.dtype}[${t.shape.map((d) => (typeof d === "number" ? String(d) : spellName(d))).join(", ")}]`;

const spellAttr = (v: AttrValue): string => {
  if (typeof v === "number") return spellNumber(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "boolean") return String(v);
  return `[${(v as readonly (number | string)[]).map((x) => (typeof x === "number" ? spellNumber(x) : JSON.stringify(x))).join(", ")}]`;
};

function spellData(c: Constant): string {
  const items: string[] = [];
  for (let i = 0; i < c.data.length; i++) {
    const x = c.data[i]!;
    items.push(typeof x === "bigint" ? x.toString() : spellNumber(c.value.type.dtype === "f16" ? f16FromBits(x) : x));
  }
  return `[${items.join(", ")}]`;
}

const binding = (v: Value, types: boolean): string => (types ? `${spellName(v.name)}: ${spellType(v.type)}` : spellName(v.name));

function spellNode(n: Node, opts: PrintGraphOptions, indent: string): string {
  const types = opts.types ?? true;
  const args = [...n.inputs.map((v) => spellName(v.name)), ...Object.entries(n.attrs).map(([k, v]) => `${k}=${spellAttr(v)}`)];
  const lhs = n.outputs.length ? `${n.outputs.map((o) => binding(o, types)).join(", ")} = ` : "";
  const label = n.name === defaultNodeName(n.op, n.outputs.map((o) => o.name)) ? "" : ` @${spellName(n.name)}`;
  // A scan's body follows it, indented one level deeper (graph.ohm).
  const body = n.body ? ` ${printAt(n.body, { ...opts, name: "body" }, `${indent}  `).trimEnd()}` : "";
  return `${lhs}${n.op}(${args.join(", ")})${label}${body}`;
}

export function printGraph(g: Graph, opts: PrintGraphOptions = {}): string {
  return printAt(g, opts, "");
}

/** The graph with every line after the first indented by `indent` (a scan body inside its node's line). */
function printAt(g: Graph, opts: PrintGraphOptions, indent: string): string {
  const { name = "main", inlineConstants = 0 } = opts;
  const lines = [`graph ${spellName(name)}(${g.inputs.map((v) => `${spellName(v.name)}: ${spellType(v.type)}`).join(", ")}) {`];
  for (const c of g.constants) {
    const data = c.data.length <= inlineConstants ? ` = ${spellData(c)}` : "";
    lines.push(`${indent}  const ${spellName(c.value.name)}: ${spellType(c.value.type)}${data}`);
  }
  for (const n of g.nodes) lines.push(`${indent}  ${spellNode(n, opts, indent)}`);
  lines.push(`${indent}  return ${g.outputs.map((v) => spellName(v.name)).join(", ")}`.trimEnd(), `${indent}}`);
  return lines.join("\n") + "\n";
}
