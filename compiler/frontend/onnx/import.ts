/**
 * ONNX → Lathe graph. Nodes are converted in topological order by their op's converter;
 * values known at compile time (initializers, Constant nodes, shapes of static tensors and
 * anything computed only from those) are tracked as constants and small ones are evaluated
 * right away with the reference interpreter, so shape arithmetic in the model (Shape →
 * Gather → Concat → Reshape) becomes static attributes of Lathe ops. Every unsupported
 * op of a model is reported at once, with node names.
 *
 * Graph-valued attributes (Scan's and Loop's bodies) are imported by a nested Importer on a
 * builder of its own: a name the body does not define is looked up in the enclosing graphs
 * and captured as an extra body input (the loop's invariant operand), keeping what is known
 * of it (its constant value, the graph inputs it depends on).
 */
import { readFileSync } from "node:fs";
import { LatheError } from "../../../core/errors.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import type { Attrs, Graph, Node, Value } from "../../graph/graph.ts";
import { interpret } from "../../graph/interpret.ts";
import { autodiff } from "../../graph/passes/autodiff.ts";
import { deadCodeElimination } from "../../graph/passes/dce.ts";
import { dataToNumbers, numbersToData } from "../../graph/passes/constant-data.ts";
import { RANDOM_OPS } from "../../graph/passes/fold-constants.ts";
import type { Dim } from "../../graph/types.ts";
import { staticSize } from "../../graph/types.ts";
import { validate } from "../../graph/validate.ts";
import { someNode } from "../../graph/scan.ts";
import type { DType } from "../../../core/dtype.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import type { BodyInput, ConvertContext, ImportedBody, OnnxAttr, ValueSequence } from "./convert.ts";
import { converterFor, isSequence, UnsupportedVariant } from "./convert.ts";
import { OnnxError, StaticInputError, UnsupportedFeatureError, UnsupportedOpsError } from "./errors.ts";
import type { UnsupportedOp } from "./errors.ts";
import type { AttributeProto, GraphProto, ModelProto, NodeProto, ValueInfoProto } from "./proto.ts";
import { decodeModel } from "./proto.ts";
import { dtypeOf, tensorFromProto } from "./tensor.ts";
import "./ops/index.ts";

export interface ImportOptions {
  /** Graph inputs to fix at compile time (they become constants and leave the signature). */
  readonly bind?: Readonly<Record<string, Tensor>>;
  /** Values for symbolic input dimensions (dim_param names). */
  readonly dims?: Readonly<Record<string, number>>;
  /** Largest constant computation evaluated during import (elements); default 65536. */
  readonly maxStaticElements?: number;
}

export interface ModelValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export interface ImportedModel {
  readonly graph: Graph;
  readonly opset: number;
  readonly irVersion: number;
  readonly producer: string;
  /** Graph inputs (after binding), in the graph's input order. */
  readonly inputs: readonly ModelValueInfo[];
  readonly outputs: readonly ModelValueInfo[];
  /** Inputs fixed through ImportOptions.bind. */
  readonly bound: readonly string[];
}

// The issue asks for opsets 7–17; older models import too where their ops mean the same (converters
// reject legacy attributes such as opset-6 broadcasting that change meaning).
const MIN_OPSET = 1, MAX_OPSET = 17;

/** Imports a model from a file path or its bytes; `name` names bytes in errors (e.g. the file they were read from). */
export function importOnnx(source: string | Uint8Array, opts: ImportOptions = {}, name?: string): ImportedModel {
  const what = typeof source === "string" ? source : name ?? "model";
  let bytes: Uint8Array;
  if (typeof source === "string") {
    try {
      bytes = readFileSync(source);
    } catch (e) {
      throw new OnnxError(`${source}: ${(e as Error).message}`);
    }
  } else bytes = source;
  if (bytes.length === 0) throw new OnnxError(`${what}: empty file`);
  return importModel(decodeModel(bytes, what), what, opts);
}

export function importModel(model: ModelProto, what: string, opts: ImportOptions = {}): ImportedModel {
  if (!model.graph) throw new OnnxError(`${what}: the model has no graph`);
  const opset = defaultOpset(model, what);
  const importer = new Importer(model.graph, opset, what, opts);
  const graph = importer.run();
  const info = (v: Value): ModelValueInfo => ({ name: v.name, dtype: v.type.dtype, shape: v.type.shape });
  return {
    graph, opset, irVersion: model.ir_version ?? 0, producer: `${model.producer_name ?? ""} ${model.producer_version ?? ""}`.trim(),
    inputs: graph.inputs.map(info), outputs: importer.outputNames.map((name, k) => ({ ...info(graph.outputs[k]!), name })),
    bound: importer.bound,
  };
}

function defaultOpset(model: ModelProto, what: string): number {
  const imports = model.opset_import ?? [];
  const def = imports.find((o) => !o.domain || o.domain === "ai.onnx");
  // IR version 2 models may omit opset_import: they are opset 1, below what Lathe reads.
  const v = def?.version ?? 1;
  if (v < MIN_OPSET || v > MAX_OPSET) {
    throw new UnsupportedFeatureError(`${what}: opset ${v} of the default domain is outside the supported range ${MIN_OPSET}–${MAX_OPSET}`);
  }
  return v;
}

const ATTR_KINDS: Record<number, string> = { 1: "float", 2: "int", 3: "string", 4: "tensor", 5: "graph", 6: "floats", 7: "ints", 8: "strings", 9: "tensors", 10: "graphs", 11: "sparse_tensor", 12: "sparse_tensors", 13: "type_proto", 14: "type_protos" };
const utf8 = new TextDecoder();

const INT64_MAX = 2n ** 63n - 1n, INT64_MIN = -(2n ** 63n);
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * An INT/INTS attribute value (exact, as decoded) as the number ops read: exact within
 * ±(2^53 − 1). INT64_MAX and INT64_MIN are the "no bound" sentinels exporters write (Slice's
 * starts/ends before opset 10): they become ±2^63, which ops clamp or reject by their own
 * range checks, as before. Anything else beyond 2^53 would round silently, so it is an error.
 */
function attrInt(v: number | bigint, where: string, name: string): number {
  if (typeof v === "number") {
    // A proto built by hand (tests, tools): the same rule, on the number given.
    if (Number.isSafeInteger(v) || Math.abs(v) === 2 ** 63) return v;
    if (!Number.isInteger(v)) throw new OnnxError(`${where}: attribute ${name} = ${v} is not an integer`);
  } else if ((v >= -SAFE && v <= SAFE) || v === INT64_MAX || v === INT64_MIN) {
    return Number(v);
  }
  throw new OnnxError(`${where}: attribute ${name} = ${v} is beyond ±2^53, where integer attributes stop being exact (only INT64_MAX and INT64_MIN are accepted there, as "no bound")`);
}

function decodeAttr(a: AttributeProto, where: string): OnnxAttr {
  // Old exporters leave `type` unset; the populated field tells.
  const type = a.type ?? (a.f !== undefined ? 1 : a.i !== undefined ? 2 : a.s !== undefined ? 3 : a.t ? 4 : a.g ? 5 : a.floats?.length ? 6 : a.ints?.length ? 7 : a.strings?.length ? 8 : 0);
  switch (type) {
    case 1: return { kind: "float", value: a.f ?? 0 };
    case 2: return { kind: "int", value: attrInt(a.i ?? 0, where, a.name ?? "(unnamed)") };
    case 3: return { kind: "string", value: utf8.decode(a.s ?? new Uint8Array()) };
    case 4:
      // A TENSOR attribute whose tensor field is absent (a damaged or hand-edited file).
      if (!a.t) throw new OnnxError(`${where}: attribute ${a.name ?? "(unnamed)"} is of type TENSOR but holds no tensor`);
      return { kind: "tensor", value: tensorFromProto(a.t, `${where}: attribute ${a.name}`) };
    case 5: return { kind: "graph" };
    case 6: return { kind: "floats", value: a.floats ?? [] };
    case 7: return { kind: "ints", value: (a.ints ?? []).map((v, k) => attrInt(v, where, `${a.name ?? "(unnamed)"}[${k}]`)) };
    case 8: return { kind: "strings", value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    default: return { kind: "other", type: ATTR_KINDS[type] ?? `type ${type}` };
  }
}

/** Marks a value that could not be produced (its node was unsupported), so dependents are skipped. */
const POISON: Value = { id: -1, name: "<unsupported>", type: { shape: [], dtype: "f32" } };

/**
 * A body output could not be produced because a node inside was unsupported or needs a
 * static operand; that node is already reported, so the node owning the body is only skipped.
 */
class PoisonedBody extends OnnxError {
  override name = "PoisonedBody";
}

/** The graphs a node's attributes hold (Scan/Loop bodies, If branches). */
const subgraphs = (n: NodeProto): GraphProto[] => (n.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]);

/** Names a graph (or a graph nested in it) reads but does not define: values of the enclosing scopes. */
function outerNames(g: GraphProto): Set<string> {
  const defined = new Set<string>([...(g.input ?? []).map((i) => i.name ?? ""), ...(g.initializer ?? []).map((t) => t.name ?? ""), ...(g.node ?? []).flatMap((n) => n.output ?? [])]);
  const out = new Set<string>();
  for (const n of g.node ?? []) {
    for (const x of [...(n.input ?? []), ...subgraphs(n).flatMap((sg) => [...outerNames(sg)])]) if (x && !defined.has(x)) out.add(x);
  }
  return out;
}

/** The enclosing importer of a body, and the node whose attribute the body is. */
interface OuterScope {
  readonly importer: Importer;
  readonly node: string;
}

class Importer {
  private b = new GraphBuilder();
  private readonly env = new Map<string, Value | ValueSequence>();
  private readonly initializers = new Map<string, Tensor>();
  /** Values known at compile time and their data. */
  private readonly consts = new Map<Value, Tensor>();
  /** Shared with nested body importers: everything unsupported in the model is reported at once. */
  private readonly unsupported: UnsupportedOp[];
  private readonly staticErrors: StaticInputError[];
  /** Graph inputs each value depends on (for StaticInputError messages). */
  private readonly inputDeps = new Map<Value, ReadonlySet<string>>();
  /** In a body: values that change from step to step (the per-step inputs and what is computed from them). */
  private readonly varying = new Set<Value>();
  /** In a body: outer values read, and the body inputs standing for them. */
  private readonly captures = new Map<Value, Value>();
  readonly bound: string[] = [];
  readonly outputNames: string[] = [];
  private readonly maxStatic: number;

  constructor(private readonly g: GraphProto, private readonly opset: number, private readonly what: string, private readonly opts: ImportOptions, private readonly outer?: OuterScope) {
    this.maxStatic = opts.maxStaticElements ?? 65536;
    this.unsupported = outer ? outer.importer.unsupported : [];
    this.staticErrors = outer ? outer.importer.staticErrors : [];
  }

  /** Reads initializers (for the root graph and bodies alike). */
  private readInitializers(): void {
    for (const t of this.g.initializer ?? []) {
      if (!t.name) throw new OnnxError(`${this.what}: an initializer has no name`);
      this.initializers.set(t.name, tensorFromProto(t, `${this.what}: initializer ${t.name}`));
    }
    if ((this.g.sparse_initializer?.length ?? 0) > 0) throw new UnsupportedFeatureError(`${this.what}: sparse initializers are not supported`);
  }

  /**
   * Imports this importer's graph as a body (see ConvertContext.body). A node inside that is
   * unsupported or needs a static operand is reported with the model's others (named
   * `outer/inner`), and PoisonedBody tells the owning node to skip itself.
   */
  runBody(inputs: readonly BodyInput[]): ImportedBody {
    this.readInitializers();
    const declared = this.g.input ?? [];
    if (declared.length !== inputs.length) throw new OnnxError(`${this.what}: the body takes ${declared.length} inputs, expected ${inputs.length}`);
    declared.forEach((vi, k) => {
      const name = vi.name ?? "";
      const given = inputs[k]!;
      const dtype = "type" in given ? given.type.dtype : given.constant.dtype;
      const elem = vi.type?.tensor_type?.elem_type;
      if (vi.type && !vi.type.tensor_type) throw new UnsupportedFeatureError(`${this.what}: body input '${name}' is not a tensor (sequence, map and optional values are not supported)`);
      if (elem) {
        const want = dtypeOf(elem, `${this.what}: body input ${name}`);
        if (want !== dtype) throw new OnnxError(`${this.what}: body input '${name}' is declared ${want} but receives ${dtype}`);
      }
      if ("type" in given) {
        const v = this.b.input(name, given.type.shape, dtype);
        this.varying.add(v);
        this.inputDeps.set(v, new Set());
        this.env.set(name, v);
      } else {
        const t = given.constant;
        const v = this.b.constant(name, t.data, t.shape, t.dtype);
        this.consts.set(v, t);
        this.env.set(name, v);
      }
    });
    const nodes = this.topologicalOrder(this.g.node ?? []);
    nodes.forEach((n, i) => this.convertNode(n, i));
    const outputs = (this.g.output ?? []).map((o) => {
      const name = o.name ?? "";
      const v = this.lookup(name, "body output");
      if (v === POISON) throw new PoisonedBody(`${this.what}: body output '${name}' could not be imported`);
      if (isSequence(v)) throw new UnsupportedVariant(`body output '${name}' is a sequence (only tensors are supported)`);
      return v;
    });
    if (outputs.length === 0) throw new OnnxError(`${this.what}: the body has no outputs`);
    return {
      graph: deadCodeElimination(this.b.build(outputs)),
      captured: [...this.captures.keys()],
      constants: outputs.map((v) => this.consts.get(v)),
    };
  }

  /** The body input standing for outer value `v` (created on first use; a constant stays known as one). */
  private capture(v: Value, from: Importer): Value {
    let c = this.captures.get(v);
    if (c) return c;
    c = this.b.input(v.name, v.type.shape, v.type.dtype);
    this.captures.set(v, c);
    const t = from.consts.get(v);
    if (t) this.consts.set(c, t);
    this.inputDeps.set(c, from.inputDeps.get(v) ?? new Set());
    // Invariant in this loop, but it may change with an enclosing one's step.
    if (from.varying.has(v)) this.varying.add(c);
    return c;
  }

  run(): Graph {
    this.readInitializers();
    this.declareInputs();
    const nodes = this.topologicalOrder(this.g.node ?? []);
    this.checkOpsSupported(nodes);
    nodes.forEach((n, i) => this.convertNode(n, i));
    if (this.unsupported.length > 0) throw new UnsupportedOpsError(this.unsupported);
    if (this.staticErrors.length > 0) {
      const first = this.staticErrors[0]!;
      const inputs = [...new Set(this.staticErrors.flatMap((e) => e.inputs))];
      throw new StaticInputError(first.node, first.op, first.operand, inputs);
    }
    const outputs = (this.g.output ?? []).map((o) => {
      const name = o.name ?? "";
      const v = this.lookup(name, "graph output");
      if (isSequence(v)) throw new OnnxError(`${this.what}: graph output '${name}' is a sequence (only tensor outputs are supported)`);
      this.outputNames.push(name);
      return v;
    });
    if (outputs.length === 0) throw new OnnxError(`${this.what}: the graph has no outputs`);
    const graph = deadCodeElimination(this.b.build(outputs));
    validate(graph);
    return graph;
  }

  private declareInputs(): void {
    const bind = this.opts.bind ?? {};
    for (const name of Object.keys(bind)) {
      if (!(this.g.input ?? []).some((i) => i.name === name)) throw new OnnxError(`${this.what}: cannot bind '${name}': the graph has no such input`);
    }
    for (const vi of this.g.input ?? []) {
      const name = vi.name ?? "";
      if (this.initializers.has(name)) continue; // IR < 4 lists initializers as inputs too
      const bound = Object.hasOwn(bind, name) ? bind[name] : undefined; // an input named "constructor" is not bound
      if (bound) {
        this.bound.push(name);
        const v = this.b.constant(name, bound.data, bound.shape, bound.dtype);
        this.consts.set(v, bound);
        this.env.set(name, v);
        continue;
      }
      const { dtype, shape } = this.valueType(vi, `graph input ${name}`);
      const v = this.b.input(name, shape, dtype);
      this.inputDeps.set(v, new Set([name]));
      this.env.set(name, v);
    }
  }

  private valueType(vi: ValueInfoProto, what: string): { dtype: DType; shape: Dim[] } {
    const tt = vi.type?.tensor_type;
    if (!tt) throw new UnsupportedFeatureError(`${this.what}: ${what} is not a tensor (sequence, map and optional inputs are not supported)`);
    const dtype = dtypeOf(tt.elem_type, `${this.what}: ${what}`);
    const dims = this.opts.dims ?? {};
    const shape = (tt.shape?.dim ?? []).map((d, k): Dim => {
      if (d.dim_value !== undefined && d.dim_value !== null) return Number(d.dim_value);
      const p = d.dim_param ? d.dim_param : `${vi.name}_dim${k}`;
      return (Object.hasOwn(dims, p) ? dims[p] : undefined) ?? p;
    });
    if (!tt.shape) throw new OnnxError(`${this.what}: ${what} has no shape (its rank must be known)`);
    return { dtype, shape };
  }

  /** Kahn's algorithm over data dependencies; a cycle or an undefined value is an error naming the nodes. */
  private topologicalOrder(nodes: readonly NodeProto[]): NodeProto[] {
    const producer = new Map<string, number>();
    nodes.forEach((n, i) => {
      for (const o of n.output ?? []) {
        if (!o) continue;
        if (producer.has(o) || this.env.has(o) || this.initializers.has(o)) throw new OnnxError(`${this.what}: value '${o}' is defined twice (node ${nodeName(n, i)})`);
        producer.set(o, i);
      }
    });
    // Gradient names the value it differentiates in an attribute, and a body reads outer values by name: dependencies too.
    const reads = (n: NodeProto): string[] => [
      ...(n.input ?? []),
      ...(n.domain === TRAINING_DOMAIN ? (n.attribute ?? []).flatMap((a) => (a.name === "y" && a.s ? [utf8.decode(a.s)] : [])) : []),
      ...subgraphs(n).flatMap((sg) => [...outerNames(sg)]),
    ];
    const deps = nodes.map((n) => [...new Set(reads(n).filter((x) => x && producer.has(x)).map((x) => producer.get(x)!))]);
    const users = nodes.map((): number[] => []);
    deps.forEach((ds, i) => ds.forEach((d) => users[d]!.push(i)));
    const pending = deps.map((d) => d.length);
    const ready = pending.flatMap((p, i) => (p === 0 ? [i] : []));
    const order: NodeProto[] = [];
    while (ready.length) {
      const i = ready.shift()!;
      order.push(nodes[i]!);
      for (const u of users[i]!) if (--pending[u]! === 0) ready.push(u);
    }
    if (order.length < nodes.length) {
      const stuck = nodes.flatMap((n, i) => (pending[i]! > 0 ? [nodeName(n, i)] : []));
      throw new OnnxError(`${this.what}: the graph has a cycle through node(s) ${stuck.slice(0, 8).join(", ")}${stuck.length > 8 ? ", …" : ""}`);
    }
    return order;
  }

  /** Ops without a converter, in the graph and in every body inside it (named outer/inner), all reported at once. */
  private checkOpsSupported(nodes: readonly NodeProto[], prefix = ""): void {
    nodes.forEach((n, i) => {
      const domain = n.domain ?? "";
      const op = n.op_type ?? "";
      subgraphs(n).forEach((sg) => this.checkOpsSupported(sg.node ?? [], `${prefix}${nodeName(n, i)}/`));
      if (domain === TRAINING_DOMAIN && op === "Gradient") return;
      if (converterFor(op, domain)) return;
      const known = domain === "" || domain === "ai.onnx" || domain === TRAINING_DOMAIN;
      this.unsupported.push({ node: prefix + nodeName(n, i), op: domain === "" || domain === "ai.onnx" ? op : `${domain}.${op}`, reason: known ? "no converter for this op" : `domain ${domain} is not supported` });
    });
    if (!prefix && this.unsupported.length > 0) throw new UnsupportedOpsError(this.unsupported);
  }

  private lookup(name: string, what: string): Value | ValueSequence {
    const v = this.env.get(name);
    if (v) return v;
    const init = this.initializers.get(name);
    if (init) {
      const c = this.b.constant(name, init.data, init.shape, init.dtype);
      this.consts.set(c, init);
      this.env.set(name, c);
      return c;
    }
    if (this.outer) {
      const from = this.outer.importer;
      const o = from.lookup(name, what);
      const c = o === POISON ? POISON : isSequence(o) ? { kind: "sequence" as const, items: o.items.map((x) => this.capture(x, from)) } : this.capture(o, from);
      this.env.set(name, c);
      return c;
    }
    throw new OnnxError(`${this.what}: ${what} '${name}' is not defined by any input, initializer or node`);
  }

  private convertNode(n: NodeProto, index: number): void {
    const name = nodeName(n, index);
    const op = n.op_type ?? "";
    const where = `${op} (node ${name})`;
    const inputNames = n.input ?? [];
    const inputs = inputNames.map((x) => (x ? this.lookup(x, `input of ${where}`) : undefined));
    const outNames = n.output ?? [];
    if (inputs.some((v) => v === POISON)) {
      for (const o of outNames) if (o) this.env.set(o, POISON);
      return;
    }
    const attrs = new Map<string, OnnxAttr>();
    const graphs = new Map<string, GraphProto>();
    for (const a of n.attribute ?? []) {
      if (a.ref_attr_name) throw new UnsupportedFeatureError(`${this.what}: ${where}: attribute references (functions) are not supported`);
      attrs.set(a.name ?? "", decodeAttr(a, where));
      if (a.g) graphs.set(a.name ?? "", a.g);
    }
    if (n.domain === TRAINING_DOMAIN && op === "Gradient") {
      this.gradient(attrs, outNames, where);
      return;
    }
    const before = this.b.build([]).nodes.length;
    const ctx = this.context(name, op, inputs, outNames.length, attrs, graphs, where);
    let outs: readonly (Value | ValueSequence | undefined)[];
    try {
      outs = converterFor(op, n.domain ?? "")!(ctx);
    } catch (e) {
      if (e instanceof PoisonedBody) {
        // What made the body fail is reported already.
      } else if (e instanceof UnsupportedVariant) {
        this.unsupported.push({ node: this.outer ? `${this.outer.node}/${name}` : name, op, reason: e.message });
      } else if (e instanceof StaticInputError) {
        this.staticErrors.push(e);
      } else if (e instanceof UnsupportedOpsError) {
        this.unsupported.push(...e.unsupported); // from a body (its Gradient node)
      } else if (e instanceof LatheError) {
        const Ctor = e.constructor as new (m: string) => LatheError;
        const msg = e.message.includes(name) ? e.message : `${where}: ${e.message}`;
        throw new Ctor(`${this.what}: ${msg}`);
      } else throw e;
      for (const o of outNames) if (o) this.env.set(o, POISON);
      return;
    }
    outNames.forEach((o, k) => {
      if (!o) return;
      const v = outs[k];
      if (!v) throw new OnnxError(`${this.what}: ${where}: output ${k} ('${o}') is not produced by Lathe's conversion`);
      this.env.set(o, v);
    });
    // Sequences carry their elements, which are values tracked on their own; a body's captured values are read too.
    const flat = (vs: readonly (Value | ValueSequence | undefined)[]): (Value | undefined)[] => vs.flatMap((v) => (isSequence(v) ? [...v.items] : [v]));
    const captured = graphs.size > 0 ? externalInputs(this.b.build([]).nodes.slice(before)) : [];
    const read = [...flat(inputs), ...captured];
    this.trackDependencies(read, flat(outs));
    if (!inputs.some(isSequence) && !outs.some(isSequence)) this.evaluateStatic(read, outs as (Value | undefined)[], before);
  }

  /**
   * ONNX's training-preview Gradient: d sum(y) / d x for each named x, by Lathe's autodiff
   * pass over the graph imported so far.
   */
  private gradient(attrs: ReadonlyMap<string, OnnxAttr>, outNames: readonly string[], where: string): void {
    const xsAttr = attrs.get("xs"), yAttr = attrs.get("y");
    if (xsAttr?.kind !== "strings" || yAttr?.kind !== "string") throw new OnnxError(`${this.what}: ${where}: needs attributes xs (strings) and y (string)`);
    if (attrs.has("zs")) throw new UnsupportedOpsError([{ node: where, op: "Gradient", reason: "zs (treated-as-constant inputs) is not supported" }]);
    const asValue = (name: string): Value => {
      const v = this.lookup(name, `value named by ${where}`);
      if (isSequence(v) || v === POISON) throw new OnnxError(`${this.what}: ${where}: '${name}' is not a tensor Lathe could import`);
      return v;
    };
    const y = asValue(yAttr.value), xs = xsAttr.value.map(asValue);
    const loss = y.type.shape.length === 0 ? y : this.b.op1("sum", [y], { axes: [], keepdims: false }, `${yAttr.value}_sum`);
    const res = autodiff(this.b.build([loss]), loss, xs);
    this.b = GraphBuilder.from(res.graph);
    outNames.forEach((o, k) => {
      if (o) this.env.set(o, res.grads[k] ?? (() => { throw new OnnxError(`${this.what}: ${where}: output ${k} has no matching entry in xs`); })());
    });
  }

  private trackDependencies(inputs: readonly (Value | undefined)[], outs: readonly (Value | undefined)[]): void {
    const deps = new Set<string>();
    for (const v of inputs) for (const d of (v && this.inputDeps.get(v)) ?? []) deps.add(d);
    for (const o of outs) if (o && !this.consts.has(o) && !this.inputDeps.has(o)) this.inputDeps.set(o, deps);
    if (inputs.some((v) => v !== undefined && this.varying.has(v))) for (const o of outs) if (o && !this.consts.has(o)) this.varying.add(o);
  }

  /** If every input is known, computes the outputs now (small ones) so later nodes see them as constants. */
  private evaluateStatic(inputs: readonly (Value | undefined)[], outs: readonly (Value | undefined)[], before: number): void {
    if (!inputs.every((v) => v === undefined || this.consts.has(v)) || inputs.every((v) => v === undefined)) return;
    const targets = outs.filter((o): o is Value => o !== undefined && !this.consts.has(o));
    if (targets.length === 0) return;
    const sizes = targets.map((o) => staticSize(o.type));
    if (sizes.some((s) => s === null) || sizes.reduce((a: number, s) => a + s!, 0) > this.maxStatic) return;
    const emitted = this.b.build([]).nodes.slice(before);
    if (emitted.some((n) => RANDOM_OPS.has(n.op) || (n.body !== undefined && someNode(n.body, (m) => RANDOM_OPS.has(m.op))))) return;
    if (!externalInputs(emitted).every((v) => this.consts.has(v))) return;
    const results = this.interpretNodes(emitted, targets);
    targets.forEach((o, k) => this.consts.set(o, results[k]!));
    // The emitted nodes stay in the builder; dead-code elimination drops them if nothing else reads them.
  }

  private interpretNodes(nodes: readonly Node[], outputs: readonly Value[]): Tensor[] {
    const ins = externalInputs(nodes);
    const res = interpret({ inputs: ins, constants: [], nodes, outputs }, ins.map((v) => {
      const t = this.consts.get(v)!;
      return { data: dataToNumbers(t.dtype, t.data), shape: t.shape };
    }));
    return outputs.map((o, k) => new Tensor(numbersToData(o.type.dtype, res.outputs[k]!.data), o.type.shape as number[], o.type.dtype));
  }

  private context(name: string, op: string, inputs: readonly (Value | ValueSequence | undefined)[], numOutputs: number, attrs: ReadonlyMap<string, OnnxAttr>, graphs: ReadonlyMap<string, GraphProto>, where: string): ConvertContext {
    const { b } = this;
    const self = this;
    const fail = (msg: string): never => {
      throw new OnnxError(`${where}: ${msg}`);
    };
    const input = (i: number): Value => {
      const v = inputs[i] ?? fail(`input ${i} is required`);
      return isSequence(v) ? fail(`input ${i} is a sequence where a tensor is expected`) : v;
    };
    const sequence = (i: number): readonly Value[] => {
      const v = inputs[i] ?? fail(`input ${i} is required`);
      return isSequence(v) ? v.items : fail(`input ${i} is a tensor where a sequence is expected`);
    };
    const attr = (key: string, kind: OnnxAttr["kind"], def: unknown): unknown => {
      const a = attrs.get(key);
      if (!a) {
        if (def === undefined) fail(`attribute '${key}' is required`);
        return def;
      }
      if (a.kind !== kind) fail(`attribute '${key}' should be ${kind}, got ${a.kind === "other" ? a.type : a.kind}`);
      return "value" in a ? a.value : undefined;
    };
    const staticInput = (i: number, operand: string): Tensor => {
      const v = input(i);
      const t = self.consts.get(v);
      if (t) return t;
      // Binding graph inputs cannot make a per-step value static.
      if (self.varying.has(v)) throw new UnsupportedVariant(`operand '${operand}' changes from step to step of the enclosing loop (it must be known at compile time)`);
      throw new StaticInputError(name, op, operand, [...(self.inputDeps.get(v) ?? [])]);
    };
    const body = (key: string, bodyInputs: readonly BodyInput[]): ImportedBody => {
      const g = graphs.get(key) ?? fail(`graph attribute '${key}' is required`);
      // Errors inside are prefixed with this node by each enclosing level's convertNode.
      const inner = new Importer(g, self.opset, `${where} body`, self.opts, { importer: self, node: self.outer ? `${self.outer.node}/${name}` : name });
      return inner.runBody(bodyInputs);
    };
    return {
      name, opType: op, opset: this.opset, b, numInputs: inputs.length, numOutputs,
      has: (i) => inputs[i] !== undefined,
      input,
      sequence,
      optional: (i) => (inputs[i] === undefined ? undefined : input(i)),
      isStatic: (i) => { const v = inputs[i]; return v !== undefined && !isSequence(v) && this.consts.has(v); },
      staticInput,
      staticNumbers: (i, operand) => staticInput(i, operand).toArray(),
      attrs: {
        has: (key) => attrs.has(key),
        int: (key, def) => attr(key, "int", def) as number,
        float: (key, def) => attr(key, "float", def) as number,
        string: (key, def) => attr(key, "string", def) as string,
        ints: (key, def) => [...(attr(key, "ints", def) as readonly number[])],
        floats: (key, def) => [...(attr(key, "floats", def) as readonly number[])],
        strings: (key, def) => [...(attr(key, "strings", def) as readonly string[])],
        tensor: (key) => attr(key, "tensor", undefined) as Tensor,
        names: () => [...attrs.keys()],
      },
      body,
      op: (opName: string, ins: readonly Value[], a: Attrs = {}) => b.op1(opName, ins, a, name),
      ops: (opName: string, ins: readonly Value[], a: Attrs = {}) => b.op(opName, ins, a, name),
      constant: (t: Tensor) => {
        const v = b.constant(`${name}_const`, t.data, t.shape, t.dtype);
        this.consts.set(v, t);
        return v;
      },
      scalar: (x: number, dtype: DType) => {
        const t = Tensor.fromArray([x], [], dtype);
        const v = b.constant(`${name}_scalar`, t.data, [], dtype);
        this.consts.set(v, t);
        return v;
      },
      unsupported: (reason: string): never => {
        throw new UnsupportedVariant(reason);
      },
    };
  }
}

const TRAINING_DOMAIN = "ai.onnx.preview.training";

/** Values the nodes read that none of them produces. */
function externalInputs(nodes: readonly Node[]): Value[] {
  const produced = new Set(nodes.flatMap((n) => n.outputs));
  return [...new Set(nodes.flatMap((n) => n.inputs))].filter((v) => !produced.has(v));
}

const nodeName = (n: NodeProto, i: number): string => n.name || (n.output?.[0] ? `${n.op_type}:${n.output[0]}` : `${n.op_type}#${i}`);
