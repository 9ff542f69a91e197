/** Builds graphs node by node, inferring types through the op registry as it goes. */
import { LatheError } from "../../core/errors.ts";
import type { DType, TypedArray } from "../../core/dtype.ts";
import { getOp, normalizeAttrs } from "../ops/registry.ts";
import type { Attrs, Constant, Graph, GraphEmitter, Node, Value } from "./graph.ts";
import type { Dim, TensorType } from "./types.ts";
import { staticSize } from "./types.ts";
import { SCAN, inferScan } from "./scan.ts";

/** The operands of a scan node by role (graph/scan.ts). */
export interface ScanOperands {
  readonly carries?: readonly Value[];
  readonly sequences?: readonly Value[];
  readonly invariants?: readonly Value[];
}

export class GraphBuilder implements GraphEmitter {
  private readonly inputs: Value[] = [];
  private readonly constants: Constant[] = [];
  private readonly nodes: Node[] = [];
  private readonly names = new Set<string>();
  private nextId = 0;

  /** Per hint, the suffix below which every `${hint}_${k}` is taken (names are never freed). */
  private readonly nextSuffix = new Map<string, number>();

  /** A fresh name based on `hint` (hint itself when free, else the first free `${hint}_${k}`). */
  private fresh(hint: string): string {
    let n = hint;
    // Resuming at the last suffix tried keeps a graph of thousands of "add"s linear to build.
    let k = this.nextSuffix.get(hint) ?? 1;
    if (this.names.has(n)) for (n = `${hint}_${k}`; this.names.has(n); n = `${hint}_${++k}`);
    this.nextSuffix.set(hint, k);
    this.names.add(n);
    return n;
  }

  private value(name: string, type: TensorType): Value {
    return { id: this.nextId++, name: this.fresh(name), type };
  }

  input(name: string, shape: readonly Dim[], dtype: DType = "f32"): Value {
    const v = this.value(name, { shape: [...shape], dtype });
    this.inputs.push(v);
    return v;
  }

  constant(name: string, data: TypedArray, shape: readonly Dim[], dtype: DType = "f32"): Value {
    const v = this.value(name, { shape: [...shape], dtype });
    const n = staticSize(v.type);
    if (n === null || n !== data.length) {
      throw new LatheError(`constant ${v.name}: shape [${shape.join(", ")}] does not match ${data.length} elements`);
    }
    this.constants.push({ value: v, data });
    return v;
  }

  /** Applies an op; returns all its outputs. */
  op(opName: string, inputs: readonly Value[], attrs: Attrs = {}, name?: string): Value[] {
    const nodeName = this.fresh(name ?? opName);
    const op = getOp(opName, nodeName);
    const full = normalizeAttrs(op, attrs, nodeName);
    const types = op.infer(inputs.map((v) => v.type), full, nodeName);
    const outputs = types.map((t, k) => ({ id: this.nextId++, name: this.fresh(types.length === 1 ? nodeName + ".out" : `${nodeName}.out${k}`), type: t }));
    this.nodes.push({ id: this.nextId++, name: nodeName, op: opName, inputs: [...inputs], attrs: full, outputs });
    return outputs;
  }

  /**
   * A scan node (graph/scan.ts) running `body` over the sequences; returns its outputs:
   * the final carries, then the per-step outputs stacked along a new axis 0.
   */
  scan(body: Graph, operands: ScanOperands, opts: { readonly reverse?: boolean; readonly length?: number } = {}, name?: string): Value[] {
    const { carries = [], sequences = [], invariants = [] } = operands;
    const nodeName = this.fresh(name ?? SCAN);
    const attrs = { carries: carries.length, sequences: sequences.length, reverse: opts.reverse ?? false, length: opts.length ?? -1 };
    const inputs = [...carries, ...sequences, ...invariants];
    const types = inferScan(inputs.map((v) => v.type), attrs, body, nodeName);
    const outputs = types.map((t, k) => ({ id: this.nextId++, name: this.fresh(types.length === 1 ? nodeName + ".out" : `${nodeName}.out${k}`), type: t }));
    this.nodes.push({ id: this.nextId++, name: nodeName, op: SCAN, inputs, attrs, outputs, body });
    return outputs;
  }

  /** A value no node defines yet, for a node that `replaceNode` puts in (a pass giving a node more outputs). */
  newValue(hint: string, type: TensorType): Value { return this.value(hint, type); }

  /** Puts `next` in `prev`'s place (a pass that rewrites a node it already appended or inherited). */
  replaceNode(prev: Node, next: Node): void {
    const i = this.nodes.indexOf(prev);
    if (i < 0) throw new LatheError(`replaceNode: node ${prev.name} is not in this graph`);
    this.nodes[i] = next;
  }

  /** Applies a single-output op. */
  op1(opName: string, inputs: readonly Value[], attrs: Attrs = {}, name?: string): Value {
    const out = this.op(opName, inputs, attrs, name);
    if (out.length !== 1) throw new LatheError(`op ${opName} has ${out.length} outputs; use op()`);
    return out[0]!;
  }

  build(outputs: readonly Value[]): Graph {
    return { inputs: [...this.inputs], constants: [...this.constants], nodes: [...this.nodes], outputs: [...outputs] };
  }

  /** Continues an existing graph (for passes such as autodiff that append nodes). */
  static from(g: Graph): GraphBuilder {
    const b = new GraphBuilder();
    b.inputs.push(...g.inputs);
    b.constants.push(...g.constants);
    b.nodes.push(...g.nodes);
    let max = -1;
    const note = (v: Value) => { b.names.add(v.name); max = Math.max(max, v.id); };
    g.inputs.forEach(note);
    g.constants.forEach((c) => note(c.value));
    for (const n of g.nodes) { b.names.add(n.name); max = Math.max(max, n.id); n.outputs.forEach(note); }
    b.nextId = max + 1;
    return b;
  }
}
