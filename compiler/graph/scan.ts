/**
 * scan: a loop over a sequence axis with a body graph and carried state (JAX's
 * `lax.scan`, ONNX's `Scan`). It is a graph-level construct, not a registry op: its
 * meaning is a graph run T times, which no tensor expression states without unrolling.
 * This file is its one definition — attributes, operand layout, type rules — and the
 * interpreter (interpret.ts), the passes and the cpu target implement it from here.
 *
 *   node inputs   [init carries (C) | sequences (S), scanned along axis 0 | invariants (I)]
 *   body inputs   [carries (C)      | one slice of each sequence          | invariants (I)]
 *   body outputs  [new carries (C)  | per-step outputs (Y)]
 *   node outputs  [final carries (C)| per-step outputs stacked on a new axis 0 (Y)]
 *
 * Step t (t = 0 … T−1, or T−1 … 0 with `reverse`) reads slice t of every sequence and
 * writes slice t of every stacked output, so a reverse scan's outputs line up with its
 * inputs (as JAX's). T is the sequences' leading dimension, which may be symbolic; a scan
 * without sequences takes its static trip count from `length`. Only axis 0 is scanned, so
 * a step's slice is contiguous in row-major memory (compiled steps address it in place);
 * front ends transpose another axis to the front.
 *
 * Passes either recurse into the body or treat the node as one opaque unit — each says
 * which (docs/architecture.md, "Loops"). The cpu target fuses and compiles the body once
 * and prints a C++ loop around its kernels in the graph's entry point (graph-entry.ts),
 * rather than looping in the executor: a compiled graph is one native call, and a loop
 * outside it would cross into Node and rebuild every descriptor per step. The library's
 * size and build time then do not depend on T.
 */
import { LatheError, ShapeError } from "../../core/errors.ts";
import type { AttrValue, Attrs, Graph, Node, Value } from "./graph.ts";
import type { Dim, TensorType } from "./types.ts";
import { sameDim, sameType, showType } from "./types.ts";

export const SCAN = "scan";

export interface ScanAttrs {
  /** How many carried values (C). */
  readonly carries: number;
  /** How many scanned sequences (S); the rest of the inputs are loop-invariant. */
  readonly sequences: number;
  /** Run t = T−1 … 0. */
  readonly reverse: boolean;
  /** The trip count of a scan without sequences; −1 (the default): the sequences' length. */
  readonly length: number;
}

/** A scan node: one with a body. */
export type ScanNode = Node & { readonly body: Graph };

/** A scan node with its body (a "scan" node without one is malformed: validate.ts says so, other code calls the op unknown). */
export const isScan = (n: Node): n is ScanNode => n.op === SCAN && n.body !== undefined;

const DEFAULTS: ScanAttrs = { carries: 0, sequences: 0, reverse: false, length: -1 };
const KINDS: Record<keyof ScanAttrs, "int" | "bool"> = { carries: "int", sequences: "int", reverse: "bool", length: "int" };

/** Attributes with defaults filled in; an unknown or ill-typed one names the node. */
export function scanAttrs(given: Attrs, node: string): ScanAttrs {
  const out: Record<string, AttrValue> = {};
  for (const k of Object.keys(given)) if (!(k in KINDS)) throw new LatheError(`node ${node} (scan): unknown attribute "${k}"`);
  for (const [k, kind] of Object.entries(KINDS) as [keyof ScanAttrs, "int" | "bool"][]) {
    const v = given[k] ?? DEFAULTS[k];
    const ok = kind === "bool" ? typeof v === "boolean" : typeof v === "number" && Number.isInteger(v);
    if (!ok) throw new LatheError(`node ${node} (scan): attribute "${k}" must be ${kind}, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  const a = out as unknown as ScanAttrs;
  if (a.carries < 0 || a.sequences < 0) throw new LatheError(`node ${node} (scan): carries and sequences must be ≥ 0, got ${a.carries} and ${a.sequences}`);
  if (a.length < -1) throw new LatheError(`node ${node} (scan): length must be ≥ 0 (or −1: the sequences' length), got ${a.length}`);
  return a;
}

const attrsOf = (n: Node): ScanAttrs => scanAttrs(n.attrs, n.name);

/** The node's operands by role. */
export interface ScanParts {
  readonly inits: readonly Value[];
  readonly sequences: readonly Value[];
  readonly invariants: readonly Value[];
  readonly finals: readonly Value[];
  readonly stacked: readonly Value[];
}

export function scanParts(n: Node): ScanParts {
  const { carries: C, sequences: S } = attrsOf(n);
  return {
    inits: n.inputs.slice(0, C), sequences: n.inputs.slice(C, C + S), invariants: n.inputs.slice(C + S),
    finals: n.outputs.slice(0, C), stacked: n.outputs.slice(C),
  };
}

/** The trip count T: the sequences' leading dimension, or `length`. */
export function scanLength(inputs: readonly TensorType[], attrs: ScanAttrs, node: string): Dim {
  const fail = (why: string): never => { throw new ShapeError(`node ${node} (scan): ${why}`); };
  const { carries: C, sequences: S, length } = attrs;
  if (S === 0) {
    if (length < 0) fail("a scan without sequences needs a static length (attribute length)");
    return length;
  }
  const seqs = inputs.slice(C, C + S);
  seqs.forEach((t, j) => { if (t.shape.length === 0) fail(`sequence ${j} is a scalar ${showType(t)}; sequences are scanned along axis 0`); });
  const T = seqs[0]!.shape[0]!;
  seqs.forEach((t, j) => {
    if (!sameDim(t.shape[0]!, T)) fail(`sequence ${j} (${showType(t)}) has length ${t.shape[0]}, sequence 0 has ${T}`);
  });
  if (length >= 0 && length !== T) fail(`length ${length} differs from the sequences' length ${T}`);
  return T;
}

/**
 * The node's output types from its input types and body; a ShapeError names the node and
 * the operand that does not fit the body.
 */
export function inferScan(inputs: readonly TensorType[], given: Attrs, body: Graph | undefined, node: string): TensorType[] {
  const fail = (why: string): never => { throw new ShapeError(`node ${node} (scan): ${why}`); };
  const attrs = scanAttrs(given, node);
  const { carries: C, sequences: S } = attrs;
  if (!body) return fail("has no body graph");
  if (C + S > inputs.length) fail(`${C} carries and ${S} sequences need at least ${C + S} inputs, got ${inputs.length}`);
  if (body.inputs.length !== inputs.length) fail(`the body takes ${body.inputs.length} inputs, the node has ${inputs.length}`);
  if (body.outputs.length < C) fail(`the body returns ${body.outputs.length} values, fewer than the ${C} carries`);
  const T = scanLength(inputs, attrs, node);
  const expect = (want: TensorType, got: Value, what: string) => {
    if (!sameType(want, got.type)) fail(`${what} ${got.name} is ${showType(got.type)}, expected ${showType(want)}`);
  };
  inputs.forEach((t, k) => {
    const bodyIn = body.inputs[k]!;
    if (k < C) {
      expect(t, bodyIn, `body carry input ${k}`);
      expect(t, body.outputs[k]!, `body carry output ${k}`);
    } else if (k < C + S) expect({ shape: t.shape.slice(1), dtype: t.dtype }, bodyIn, `body sequence input ${k - C} (one slice of ${showType(t)})`);
    else expect(t, bodyIn, `body invariant input ${k - C - S}`);
  });
  return [...inputs.slice(0, C).map((t) => ({ shape: [...t.shape], dtype: t.dtype })),
    ...body.outputs.slice(C).map((y) => ({ shape: [T, ...y.type.shape], dtype: y.type.dtype }))];
}

/** Whether `pred` holds for some node of `g` or of any body inside it. */
export function someNode(g: Graph, pred: (n: Node) => boolean): boolean {
  return g.nodes.some((n) => pred(n) || (n.body !== undefined && someNode(n.body, pred)));
}

/**
 * `g` with every scan body (at this level) replaced by `f(body, node)`; `g` itself when no
 * body changed. Passes that recurse call it with themselves.
 */
export function mapScanBodies(g: Graph, f: (body: Graph, node: ScanNode) => Graph): Graph {
  let changed = false;
  const nodes = g.nodes.map((n) => {
    if (!isScan(n)) return n;
    const body = f(n.body, n);
    if (body === n.body) return n;
    changed = true;
    return { ...n, body };
  });
  return changed ? { ...g, nodes } : g;
}

/** Fresh value ids and names for values added to an existing graph (names stay unique within it). */
export class FreshValues {
  private nextId = 0;
  private readonly names = new Set<string>();
  constructor(g: Graph) {
    const note = (v: Value) => { this.names.add(v.name); this.nextId = Math.max(this.nextId, v.id + 1); };
    g.inputs.forEach(note);
    g.constants.forEach((c) => note(c.value));
    for (const n of g.nodes) { this.names.add(n.name); this.nextId = Math.max(this.nextId, n.id + 1); n.outputs.forEach(note); }
  }
  value(hint: string, type: TensorType): Value {
    let name = hint;
    for (let k = 1; this.names.has(name); k++) name = `${hint}_${k}`;
    this.names.add(name);
    return { id: this.nextId++, name, type };
  }
}
