/**
 * Parser for the graph text form (grammar and language notes: graph.ohm).
 *
 * Two steps, as for tensor expressions (compiler/te/parse.ts): ohm turns the text into a
 * small AST carrying source offsets, then an elaborator checks it against the op registry
 * (attribute schemas, type inference) and builds the Graph. Every error is a ParseError
 * with a 1-based line and column.
 */
import { readFileSync } from "node:fs";
import * as ohm from "ohm-js";
import { LatheError, ParseError } from "../../../core/errors.ts";
import type { DType, TypedArray } from "../../../core/dtype.ts";
import { ARRAY_CLASS, isDType, isFloat, typedArrayFor, wrapTo } from "../../../core/dtype.ts";
import { getOp, normalizeAttrs } from "../../ops/registry.ts";
import type { OpDef } from "../../ops/op.ts";
import { f16ToBits } from "../../../core/f16.ts";
import type { AttrValue, Attrs, Constant, Graph, Node, Value } from "../graph.ts";
import { SCAN, inferScan, scanAttrs } from "../scan.ts";
import type { Dim, TensorType } from "../types.ts";
import { sameType, showType, staticSize } from "../types.ts";
import { defaultNodeName } from "./names.ts";

export interface ParseGraphOptions {
  /** Data for the `const` declarations, by constant name. */
  readonly constants?: ReadonlyMap<string, TypedArray> | Readonly<Record<string, TypedArray>>;
  /** A file name to put in front of error positions. */
  readonly source?: string;
}

const grammar = ohm.grammar(readFileSync(new URL("./graph.ohm", import.meta.url), "utf8"));

// ---- AST ------------------------------------------------------------------------------

/** A source offset; converted to line/column only when an error is reported. */
type Pos = number;

interface NameAt { readonly name: string; readonly pos: Pos }
interface TypeAst { readonly dtype: NameAt; readonly dims: readonly { readonly dim: Dim; readonly pos: Pos }[]; readonly pos: Pos }
/** `text` keeps a number's spelling, so i64 data can be read exactly. */
type ScalarAst =
  | { readonly k: "num"; readonly value: number; readonly text: string; readonly pos: Pos }
  | { readonly k: "str"; readonly value: string; readonly pos: Pos }
  | { readonly k: "bool"; readonly value: boolean; readonly pos: Pos };
type AttrValueAst = ScalarAst | { readonly k: "list"; readonly items: readonly ScalarAst[]; readonly pos: Pos };
type ArgAst =
  | { readonly k: "value"; readonly ref: NameAt }
  | { readonly k: "attr"; readonly key: NameAt; readonly value: AttrValueAst };
interface BindingAst { readonly name: NameAt; readonly type: TypeAst | null }
type StmtAst =
  | { readonly k: "const"; readonly name: NameAt; readonly type: TypeAst; readonly data: { readonly items: readonly ScalarAst[]; readonly pos: Pos } | null }
  | { readonly k: "node"; readonly lhs: readonly BindingAst[]; readonly op: NameAt; readonly args: readonly ArgAst[]; readonly label: NameAt | null; readonly body: ProgramAst | null; readonly pos: Pos };
interface ProgramAst {
  readonly inputs: readonly { readonly name: NameAt; readonly type: TypeAst }[];
  readonly stmts: readonly StmtAst[];
  readonly outputs: readonly NameAt[];
}

/** An error found while building the AST; turned into a ParseError with line/column. */
class SyntaxAt extends Error {
  constructor(message: string, readonly pos: Pos) { super(message); }
}

// ohm's Node type is an open dictionary (operations are added as properties), so reading
// our operation back needs a cast; these helpers keep that in one place.
const ast = <T>(n: ohm.Node): T => n["ast"]() as T;
const at = (n: ohm.Node): Pos => n.source.startIdx;
const list = <T>(n: ohm.Node): T[] => n.asIteration().children.map((c) => c["ast"]() as T);
const opt = <T>(n: ohm.Node): T | null => (n.children[0] ? (n.children[0]["ast"]() as T) : null);

const semantics = grammar.createSemantics().addOperation<unknown>("ast", {
  Program(_graph, _name, _l, inputs, _r, _lb, stmts, ret, _rb): ProgramAst {
    return { inputs: list(inputs), stmts: stmts.children.map((s) => ast<StmtAst>(s)), outputs: ast<NameAt[]>(ret) };
  },
  InputDecl(name, _colon, type) { return { name: ast<NameAt>(name), type: ast<TypeAst>(type) }; },
  Type(dtype, _l, dims, _r): TypeAst {
    return { dtype: { name: dtype.sourceString, pos: at(dtype) }, dims: list(dims), pos: at(dtype) };
  },
  Dim_num(n) { return { dim: Number(n.sourceString), pos: at(n) }; },
  Dim_sym(n) { return { dim: ast<NameAt>(n).name, pos: at(n) }; },
  Stmt(s, _semi) { return s["ast"](); },
  ConstDecl(_const, name, _colon, type, data): StmtAst {
    return { k: "const", name: ast<NameAt>(name), type: ast<TypeAst>(type), data: opt(data) };
  },
  ConstData(eq, _l, items, _r) { return { items: list<ScalarAst>(items), pos: at(eq) }; },
  NodeStmt(lhs, call, label, body): StmtAst {
    const c = ast<{ op: NameAt; args: ArgAst[] }>(call);
    return { k: "node", lhs: opt<BindingAst[]>(lhs) ?? [], op: c.op, args: c.args, label: opt<NameAt>(label), body: opt<ProgramAst>(body), pos: at(lhs.children[0] ?? call) };
  },
  Lhs(bindings, _eq) { return list<BindingAst>(bindings); },
  Binding_typed(name, _colon, type): BindingAst { return { name: ast<NameAt>(name), type: ast<TypeAst>(type) }; },
  Binding_bare(name): BindingAst { return { name: ast<NameAt>(name), type: null }; },
  Call(op, _l, args, _r) { return { op: { name: op.sourceString, pos: at(op) }, args: list<ArgAst>(args) }; },
  Arg_attr(key, _eq, value): ArgAst { return { k: "attr", key: { name: key.sourceString, pos: at(key) }, value: ast<AttrValueAst>(value) }; },
  Arg_value(name): ArgAst { return { k: "value", ref: ast<NameAt>(name) }; },
  AttrValue_list(l, items, _r): AttrValueAst { return { k: "list", items: list<ScalarAst>(items), pos: at(l) }; },
  AttrValue_scalar(s) { return s["ast"](); },
  Scalar(s) { return s["ast"](); },
  NodeLabel(_at, name) { return name["ast"](); },
  Return(_return, names, _semi) { return list<NameAt>(names); },

  name(n): NameAt { // n is the ident or string that matched
    return { name: n.ctorName === "string" ? ast<ScalarAst & { k: "str" }>(n).value : n.sourceString, pos: at(n) };
  },
  number(_minus, _digits): ScalarAst {
    const s = this.sourceString;
    const neg = s.startsWith("-");
    const body = neg ? s.slice(1) : s;
    const mag = body === "inf" ? Infinity : body === "nan" ? NaN : Number(body);
    return { k: "num", value: neg ? -mag : mag, text: s, pos: at(this) };
  },
  string(_l, _chars, _r): ScalarAst {
    try {
      return { k: "str", value: JSON.parse(this.sourceString) as string, pos: at(this) };
    } catch {
      throw new SyntaxAt(`bad string literal ${this.sourceString} (JSON escapes only)`, at(this));
    }
  },
  boolLit(b): ScalarAst { return { k: "bool", value: b.sourceString === "true", pos: at(b) }; },
  NonemptyListOf(first, _seps, rest) { return [first["ast"](), ...rest.children.map((c) => c["ast"]())]; },
  EmptyListOf() { return []; },
});

// ---- positions --------------------------------------------------------------------------

function lineCol(text: string, pos: Pos): { line: number; column: number } {
  let line = 1, start = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === "\n") { line++; start = i + 1; }
  }
  return { line, column: pos - start + 1 };
}

// ---- elaboration --------------------------------------------------------------------------

const lookup = (m: ParseGraphOptions["constants"], name: string): TypedArray | undefined =>
  m === undefined ? undefined : m instanceof Map ? m.get(name) : Object.hasOwn(m, name) ? (m as Record<string, TypedArray>)[name] : undefined;

class Elaborator {
  private readonly values = new Map<string, { value: Value; pos: Pos }>();
  private readonly nodeNames = new Map<string, Pos>();
  /** Every name the text binds, so a use before its definition can say so. */
  private readonly definedAt = new Map<string, Pos>();
  private nextId = 0;
  readonly inputs: Value[] = [];
  readonly constants: Constant[] = [];
  readonly nodes: Node[] = [];

  constructor(private readonly text: string, private readonly opts: ParseGraphOptions) {}

  err(message: string, pos: Pos): never {
    const { line, column } = lineCol(this.text, pos);
    throw new ParseError(message, line, column, this.opts.source);
  }

  private where(pos: Pos): string {
    const { line, column } = lineCol(this.text, pos);
    return `${line}:${column}`;
  }

  program(p: ProgramAst): Graph {
    for (const s of p.stmts) {
      if (s.k === "const") this.noteDef(s.name);
      else s.lhs.forEach((b) => this.noteDef(b.name));
    }
    for (const i of p.inputs) this.inputs.push(this.define(i.name, this.type(i.type)));
    for (const s of p.stmts) {
      if (s.k === "const") this.constDecl(s);
      else this.node(s);
    }
    return { inputs: this.inputs, constants: this.constants, nodes: this.nodes, outputs: p.outputs.map((o) => this.use(o)) };
  }

  private noteDef(n: NameAt): void { if (!this.definedAt.has(n.name)) this.definedAt.set(n.name, n.pos); }

  private type(t: TypeAst): TensorType {
    if (!isDType(t.dtype.name)) this.err(`unknown dtype '${t.dtype.name}' (expected one of f16 f32 f64 i8 u8 i32 i64 bool)`, t.dtype.pos);
    return { shape: t.dims.map((d) => d.dim), dtype: t.dtype.name };
  }

  private define(n: NameAt, type: TensorType): Value {
    const prev = this.values.get(n.name);
    if (prev) this.err(`'${n.name}' is already defined (at ${this.where(prev.pos)})`, n.pos);
    const value: Value = { id: this.nextId++, name: n.name, type };
    this.values.set(n.name, { value, pos: n.pos });
    return value;
  }

  private use(n: NameAt): Value {
    const v = this.values.get(n.name);
    if (v) return v.value;
    const later = this.definedAt.get(n.name);
    if (later !== undefined) this.err(`value '${n.name}' is used before its definition at ${this.where(later)}`, n.pos);
    this.err(`unknown value '${n.name}'`, n.pos);
  }

  private constDecl(s: Extract<StmtAst, { k: "const" }>): void {
    const type = this.type(s.type);
    const size = staticSize(type);
    if (size === null) this.err(`constant '${s.name.name}' has a symbolic shape ${showType(type)}; constants need known shapes`, s.type.pos);
    const given = lookup(this.opts.constants, s.name.name);
    if (given && s.data) this.err(`constant '${s.name.name}' has inline data and data in the constants option`, s.data.pos);
    let data: TypedArray;
    if (s.data) data = this.inlineData(s.name.name, type.dtype, s.data.items);
    else if (given) {
      const cls = ARRAY_CLASS[type.dtype];
      if (!(given instanceof cls)) this.err(`constant '${s.name.name}': ${type.dtype} data must be a ${cls.name}, got ${given.constructor.name}`, s.name.pos);
      data = given;
    } else this.err(`constant '${s.name.name}' has no data (pass it in parseGraph's constants option)`, s.name.pos);
    if (data.length !== size) this.err(`constant '${s.name.name}': ${showType(type)} needs ${size} elements, the data has ${data.length}`, s.name.pos);
    this.constants.push({ value: this.define(s.name, type), data });
  }

  private inlineData(name: string, dtype: DType, items: readonly ScalarAst[]): TypedArray {
    const data = typedArrayFor(dtype, items.length);
    items.forEach((it, i) => {
      if (it.k !== "num") this.err(`constant '${name}': inline data must be numbers`, it.pos);
      if (isFloat(dtype)) {
        // Floats round to the dtype, as any f32/f16 data does; f16 stores raw bits.
        data[i] = dtype === "f16" ? f16ToBits(it.value) : it.value;
        return;
      }
      if (!Number.isInteger(it.value)) this.err(`constant '${name}': ${dtype} data must be integers, got ${it.text}`, it.pos);
      if (data instanceof BigInt64Array) {
        const b = /^-?\d+$/.test(it.text) ? BigInt(it.text) : BigInt(it.value);
        if (BigInt.asIntN(64, b) !== b) this.err(`constant '${name}': ${it.text} does not fit in i64`, it.pos);
        data[i] = b;
      } else {
        // Typed arrays wrap out-of-range integers silently; the text must say what is stored.
        if (wrapTo(dtype, it.value) !== it.value) this.err(`constant '${name}': ${it.text} does not fit in ${dtype}`, it.pos);
        data[i] = it.value;
      }
    });
    return data;
  }

  private attrValue(v: AttrValueAst): AttrValue {
    if (v.k !== "list") return v.value;
    if (v.items.every((x) => x.k === "num")) return v.items.map((x) => x.value as number);
    if (v.items.every((x) => x.k === "str")) return v.items.map((x) => x.value as string);
    this.err(`a list attribute holds only numbers or only strings`, v.pos);
  }

  private node(s: Extract<StmtAst, { k: "node" }>): void {
    const opName = s.op.name;
    let op: OpDef | null = null;
    if (opName === SCAN) {
      if (!s.body) this.err(`a scan needs its body: scan(...) graph body(...) { ... }`, s.op.pos);
    } else {
      if (s.body) this.err(`only a scan has a body graph, not ${opName}`, s.op.pos);
      try {
        op = getOp(opName);
      } catch (e) {
        if (!(e instanceof LatheError)) throw e;
        this.err(`unknown op '${opName}'`, s.op.pos);
      }
    }
    // A scan's body is a graph of its own: its own names, ids and constants.
    const body = s.body ? new Elaborator(this.text, this.opts).program(s.body) : undefined;
    const inputs: Value[] = [];
    const given: [string, AttrValue][] = []; // entries, not an object: `__proto__=[1]` must stay an attribute
    const keyPos = new Map<string, Pos>();
    for (const a of s.args) {
      if (a.k === "value") {
        if (keyPos.size > 0) this.err(`input '${a.ref.name}' of ${opName} comes after its attributes; write inputs first`, a.ref.pos);
        inputs.push(this.use(a.ref));
        continue;
      }
      if (keyPos.has(a.key.name)) this.err(`attribute '${a.key.name}' is given twice`, a.key.pos);
      keyPos.set(a.key.name, a.value.pos);
      given.push([a.key.name, this.attrValue(a.value)]);
    }
    for (const b of s.lhs) {
      const prev = this.values.get(b.name.name);
      if (prev) this.err(`'${b.name.name}' is already defined (at ${this.where(prev.pos)})`, b.name.pos);
    }
    const outNames = s.lhs.map((b) => b.name.name);
    const nodeName = s.label?.name ?? defaultNodeName(opName, outNames);
    const namePos = s.label?.pos ?? s.pos;
    const prevNode = this.nodeNames.get(nodeName);
    if (prevNode !== undefined) {
      this.err(`node name '${nodeName}' is already used (at ${this.where(prevNode)})${s.label ? "" : "; name this node with @name"}`, namePos);
    }

    let attrs: Attrs;
    try {
      attrs = op ? normalizeAttrs(op, Object.fromEntries(given), nodeName) : { ...scanAttrs(Object.fromEntries(given), nodeName) };
    } catch (e) {
      if (!(e instanceof LatheError)) throw e;
      // The registry's message names the attribute; point at its value when it was written.
      const key = /attribute "([^"]*)"/.exec(e.message)?.[1];
      this.err(e.message, (key !== undefined ? keyPos.get(key) : undefined) ?? s.op.pos);
    }
    let types: readonly TensorType[];
    try {
      types = op ? op.infer(inputs.map((v) => v.type), attrs, nodeName) : inferScan(inputs.map((v) => v.type), attrs, body, nodeName);
    } catch (e) {
      if (!(e instanceof LatheError)) throw e;
      this.err(e.message, s.op.pos);
    }
    if (types.length !== s.lhs.length) {
      this.err(`${opName} has ${types.length} output${types.length === 1 ? "" : "s"}, but ${s.lhs.length} name${s.lhs.length === 1 ? " is" : "s are"} bound`, s.pos);
    }
    const outputs = s.lhs.map((b, k) => {
      const t = types[k]!;
      if (b.type) {
        const annotated = this.type(b.type);
        if (!sameType(annotated, t)) {
          this.err(`'${b.name.name}' is annotated ${showType(annotated)}, but ${opName} (node ${nodeName}) gives ${showType(t)}`, b.type.pos);
        }
      }
      return this.define(b.name, t);
    });
    this.nodeNames.set(nodeName, namePos);
    this.nodes.push(body ? { id: this.nextId++, name: nodeName, op: opName, inputs, attrs, outputs, body } : { id: this.nextId++, name: nodeName, op: opName, inputs, attrs, outputs });
  }
}

/** Parses the text form into a Graph, inferring every type through the op registry. */
export function parseGraph(text: string, opts: ParseGraphOptions = {}): Graph {
  const m = grammar.match(text);
  if (m.failed()) {
    const { line, column } = lineCol(text, m.getRightmostFailurePosition());
    throw new ParseError(`syntax error: expected ${m.getExpectedText()}`, line, column, opts.source);
  }
  let program: ProgramAst;
  try {
    program = semantics(m)["ast"]() as ProgramAst;
  } catch (e) {
    if (!(e instanceof SyntaxAt)) throw e;
    const { line, column } = lineCol(text, e.pos);
    throw new ParseError(e.message, line, column, opts.source);
  }
  return new Elaborator(text, opts).program(program);
}
