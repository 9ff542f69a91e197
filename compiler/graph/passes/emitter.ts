/**
 * Rebuilding a graph in a pass: original nodes are kept as they are, new nodes get fresh
 * ids and names, and a new node may take over an original value (same type, same name)
 * so that readers of that value need no rewiring.
 */
import { LatheError } from "../../../core/errors.ts";
import { getOp, normalizeAttrs } from "../../ops/registry.ts";
import type { Attrs, Constant, Graph, Node, Value } from "../graph.ts";
import { sameType, showType } from "../types.ts";
import { numbersToData } from "./constant-data.ts";

/** Appends nodes and constants to the graph being rebuilt, with fresh ids and names. */
export class Emitter {
  readonly nodes: Node[] = [];
  readonly constants: Constant[];
  /** Nodes this pass made (the ones it may fold). */
  readonly created = new Set<Node>();
  private readonly valueNames = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private nextId = 0;

  constructor(g: Graph) {
    this.constants = [...g.constants];
    const note = (v: Value) => { this.valueNames.add(v.name); this.nextId = Math.max(this.nextId, v.id + 1); };
    g.inputs.forEach(note);
    g.constants.forEach((c) => note(c.value));
    for (const n of g.nodes) {
      this.nodeNames.add(n.name);
      this.nextId = Math.max(this.nextId, n.id + 1);
      n.outputs.forEach(note);
    }
  }

  private static fresh(names: Set<string>, hint: string): string {
    let n = hint;
    for (let k = 1; names.has(n); k++) n = `${hint}_${k}`;
    names.add(n);
    return n;
  }

  keep(n: Node): void { this.nodes.push(n); }

  /**
   * A new single-output node. Its output is `reuse` (an original value recomputed in its
   * original type, under the original producer's name) or a fresh value named after `name`;
   * the node is named after its output, as the text form names unlabelled nodes.
   */
  op(opName: string, inputs: readonly Value[], attrs: Attrs, name: string, reuse?: { value: Value; node: string }): Value {
    const op = getOp(opName, name);
    const full = normalizeAttrs(op, attrs, name);
    const types = op.infer(inputs.map((v) => v.type), full, name);
    if (types.length !== 1) throw new LatheError(`${name}: ${opName} has ${types.length} outputs`);
    if (reuse && !sameType(types[0]!, reuse.value.type)) {
      throw new LatheError(`${name}: ${reuse.value.name} comes back as ${showType(types[0]!)}, not ${showType(reuse.value.type)}`);
    }
    const out = reuse?.value ?? { id: this.nextId++, name: Emitter.fresh(this.valueNames, name), type: types[0]! };
    const node: Node = { id: this.nextId++, name: reuse?.node ?? Emitter.fresh(this.nodeNames, out.name), op: opName, inputs: [...inputs], attrs: full, outputs: [out] };
    this.nodes.push(node);
    this.created.add(node);
    return out;
  }

  /** A scalar constant (shape []) of a float dtype. */
  scalar(name: string, value: number, dtype: Value["type"]["dtype"]): Value {
    const v: Value = { id: this.nextId++, name: Emitter.fresh(this.valueNames, name), type: { shape: [], dtype } };
    this.constants.push({ value: v, data: numbersToData(dtype, [value]) });
    return v;
  }
}
