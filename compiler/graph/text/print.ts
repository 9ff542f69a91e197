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

function spellNode(n: Node, types: boolean): string {
  const args = [...n.inputs.map((v) => spellName(v.name)), ...Object.entries(n.attrs).map(([k, v]) => `${k}=${spellAttr(v)}`)];
  const lhs = n.outputs.length ? `${n.outputs.map((o) => binding(o, types)).join(", ")} = ` : "";
  const label = n.name === defaultNodeName(n.op, n.outputs.map((o) => o.name)) ? "" : ` @${spellName(n.name)}`;
  return `${lhs}${n.op}(${args.join(", ")})${label}`;
}

export function printGraph(g: Graph, opts: PrintGraphOptions = {}): string {
  const { name = "main", types = true, inlineConstants = 0 } = opts;
  const lines = [`graph ${spellName(name)}(${g.inputs.map((v) => `${spellName(v.name)}: ${spellType(v.type)}`).join(", ")}) {`];
  for (const c of g.constants) {
    const data = c.data.length <= inlineConstants ? ` = ${spellData(c)}` : "";
    lines.push(`  const ${spellName(c.value.name)}: ${spellType(c.value.type)}${data}`);
  }
  for (const n of g.nodes) lines.push(`  ${spellNode(n, types)}`);
  lines.push(`  return ${g.outputs.map((v) => spellName(v.name)).join(", ")}`.trimEnd(), "}");
  return lines.join("\n") + "\n";
}
