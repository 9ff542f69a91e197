/**
 * Pattern rewriting over graphs: a rule is a pattern on the value a node computes and a
 * function giving its replacement — an existing value, or a new node that keeps the
 * matched node's name and output values. Every replacement must have the matched node's
 * exact type (checked here), so a rule cannot change shapes through broadcasting.
 *
 *   rule("mul-one", p.mul(p.x, p.const(1)), ({ x }) => x)   // commutative ops match both orders
 *
 * Scan bodies are rewritten with the same rules (a rule never matches a scan node itself).
 */
import { LatheError } from "../../../core/errors.ts";
import { getOp, normalizeAttrs } from "../../ops/registry.ts";
import type { Attrs, Constant, Graph, Node, Value } from "../graph.ts";
import type { TensorType } from "../types.ts";
import { sameType } from "../types.ts";
import { dataToNumbers } from "./constant-data.ts";
import { mapScanBodies } from "../scan.ts";

export type Pattern =
  | { readonly k: "var"; readonly name: string }
  /** A value known to hold `value` in every element. */
  | { readonly k: "const"; readonly value: number }
  | OpPattern;

export interface OpPattern {
  readonly k: "op";
  readonly op: string;
  readonly args: readonly Pattern[];
  /** Binds the matched node under this name. */
  readonly bind: string | null;
  as(name: string): OpPattern;
}

const opPattern = (op: string, args: readonly Pattern[], bind: string | null = null): OpPattern =>
  ({ k: "op", op, args, bind, as: (name) => opPattern(op, args, name) });

const opP = (op: string) => (...args: Pattern[]): OpPattern => opPattern(op, args);

/** Pattern constructors: variables x, y; constants by value; ops by name. */
export const p = {
  x: { k: "var", name: "x" } as Pattern,
  y: { k: "var", name: "y" } as Pattern,
  v: (name: string): Pattern => ({ k: "var", name }),
  const: (value: number): Pattern => ({ k: "const", value }),
  op: (name: string, ...args: Pattern[]): OpPattern => opPattern(name, args),
  add: opP("add"), sub: opP("sub"), mul: opP("mul"), div: opP("div"), neg: opP("neg"),
  exp: opP("exp"), log: opP("log"), cast: opP("cast"), reshape: opP("reshape"),
  transpose: opP("transpose"), expand: opP("expand"),
};

/** A node to put in place of the matched one. */
export interface NewNode {
  readonly op: string;
  readonly inputs: readonly Value[];
  readonly attrs: Attrs;
}

export interface Match {
  readonly values: Readonly<Record<string, Value>>;
  readonly nodes: Readonly<Record<string, Node>>;
}

export interface Rule {
  readonly name: string;
  readonly pattern: OpPattern;
  /** The replacement, or null when the rule does not apply after all. */
  readonly rewrite: (values: Match["values"], nodes: Match["nodes"]) => Value | NewNode | null;
}

export const rule = (name: string, pattern: OpPattern, rewrite: Rule["rewrite"]): Rule => ({ name, pattern, rewrite });

/** Ops whose two operands may be swapped when matching. */
const COMMUTATIVE: ReadonlySet<string> = new Set(["add", "mul", "maximum", "minimum"]);

/** What the matcher knows about the graph being rebuilt. */
class Facts {
  readonly producer = new Map<Value, Node>();
  private readonly constants: ReadonlyMap<Value, Constant>;
  private readonly uniform = new Map<Value, number | null>();

  constructor(g: Graph) { this.constants = new Map(g.constants.map((c) => [c.value, c])); }

  /** The one value every element of v holds, when known at compile time. */
  uniformValue(v: Value): number | null {
    if (this.uniform.has(v)) return this.uniform.get(v)!;
    let u: number | null = null;
    const c = this.constants.get(v);
    if (c) {
      const xs = dataToNumbers(v.type.dtype, c.data);
      u = xs.length > 0 && xs.every((x) => Object.is(x, xs[0]) || x === xs[0]) ? xs[0]! : null;
    } else {
      const n = this.producer.get(v);
      if (n?.op === "ones_like") u = 1;
      else if (n?.op === "zeros_like") u = 0;
    }
    this.uniform.set(v, u);
    return u;
  }
}

function match(pat: Pattern, v: Value, facts: Facts, m: { values: Record<string, Value>; nodes: Record<string, Node> }): boolean {
  switch (pat.k) {
    case "var": {
      const bound = m.values[pat.name];
      if (bound) return bound === v;
      m.values[pat.name] = v;
      return true;
    }
    case "const": return facts.uniformValue(v) === pat.value;
    case "op": {
      const n = facts.producer.get(v);
      return n !== undefined && matchNode(pat, n, facts, m);
    }
  }
}

function matchNode(pat: OpPattern, n: Node, facts: Facts, m: { values: Record<string, Value>; nodes: Record<string, Node> }): boolean {
  if (n.op !== pat.op || n.outputs.length !== 1 || n.inputs.length !== pat.args.length) return false;
  const orders = COMMUTATIVE.has(n.op) && n.inputs.length === 2 ? [[0, 1], [1, 0]] : [pat.args.map((_, i) => i)];
  for (const order of orders) {
    const trial = { values: { ...m.values }, nodes: { ...m.nodes } };
    if (order.every((j, i) => match(pat.args[i]!, n.inputs[j]!, facts, trial))) {
      if (pat.bind) trial.nodes[pat.bind] = n;
      Object.assign(m.values, trial.values);
      Object.assign(m.nodes, trial.nodes);
      return true;
    }
  }
  return false;
}

/** A rule's result checked to compute exactly the node's type; null when it does not. */
function applyRule(r: Rule, node: Node, facts: Facts): Value | Node | null {
  const m = { values: {}, nodes: {} };
  if (!matchNode(r.pattern, node, facts, m)) return null;
  const out = r.rewrite(m.values, m.nodes);
  if (out === null) return null;
  const want = node.outputs[0]!.type;
  if ("id" in out) return sameType(out.type, want) ? out : null;
  const op = getOp(out.op, node.name);
  const attrs = normalizeAttrs(op, out.attrs, node.name);
  let types: readonly TensorType[];
  try {
    types = op.infer(out.inputs.map((v) => v.type), attrs, node.name);
  } catch (e) {
    // A candidate that does not type-check (reshape(x, [0, 2, 2]) where the 0 meant the
    // middle tensor's dim) is a rule that does not apply here.
    if (e instanceof LatheError) return null;
    throw e;
  }
  if (types.length !== 1 || !sameType(types[0]!, want)) return null;
  // The new node takes the old one's place: same id, name and output value.
  return { id: node.id, name: node.name, op: out.op, inputs: [...out.inputs], attrs, outputs: node.outputs };
}

export interface RewriteOptions {
  /** Called each time a rule fires (for traces and tests). */
  readonly onFire?: (rule: string, node: Node) => void;
}

/** Rebuilds the graph in order, applying the first matching rule to each node until none applies. */
export function rewrite(g0: Graph, rules: readonly Rule[], opts: RewriteOptions = {}): Graph {
  const g = mapScanBodies(g0, (body) => rewrite(body, rules, opts));
  let changed = g !== g0;
  const facts = new Facts(g);
  const subst = new Map<Value, Value>();
  const nodes: Node[] = [];
  for (const n0 of g.nodes) {
    const inputs = n0.inputs.map((v) => subst.get(v) ?? v);
    let n: Node | null = inputs.every((v, k) => v === n0.inputs[k]) ? n0 : { ...n0, inputs };
    if (n !== n0) changed = true;
    // A rule may build a node another rule simplifies further; rules only shrink the
    // graph or fold two nodes into one, but bound the loop in case a table ever cycles.
    for (let round = 0; n && n.outputs.length === 1 && round < 16; round++) {
      let fired: Value | Node | null = null;
      for (const r of rules) {
        fired = applyRule(r, n, facts);
        if (fired) { opts.onFire?.(r.name, n); break; }
      }
      if (!fired) break;
      changed = true;
      if ("op" in fired) n = fired;
      else { subst.set(n.outputs[0]!, fired); n = null; }
    }
    if (n) {
      nodes.push(n);
      n.outputs.forEach((o) => facts.producer.set(o, n!));
    }
  }
  if (!changed) return g;
  return { ...g, nodes, outputs: g.outputs.map((v) => subst.get(v) ?? v) };
}
