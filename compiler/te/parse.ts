/**
 * Parser for the tensor-expression text form (grammar and language notes: te.ohm).
 *
 * Two steps: ohm turns the text into a small AST carrying source offsets, then an
 * elaborator type-checks it and builds tensors with the TypeScript API (tensor.ts,
 * expr.ts), so a parsed program is exactly what the same program written in TypeScript is.
 * Every error is a ParseError with a 1-based line and column.
 */
import { readFileSync } from "node:fs";
import * as ohm from "ohm-js";
import { LatheError, ParseError } from "../../core/errors.ts";
import type { DType } from "../../core/dtype.ts";
import { isDType, isFloat, isInt, promote, wrapTo } from "../../core/dtype.ts";
import type { BinOp, Combiner, Expr, Intrinsic, Var } from "./expr.ts";
import * as E from "./expr.ts";
import { INTRINSIC_ARITY, INTRINSIC_DOMAIN, variable, visitExpr } from "./expr.ts";
import type { IterVar, Tensor } from "./tensor.ts";
import { compute, placeholder, prod, reduceAxis, rmax, rmin, sizeVar, sum } from "./tensor.ts";

export interface TEProgram {
  /** Placeholders, by name, in declaration order. */
  readonly inputs: Map<string, Tensor>;
  /** Every named tensor (inputs and computes), in declaration order. */
  readonly tensors: Map<string, Tensor>;
  /** Computes that no other compute reads, in declaration order. */
  readonly outputs: Tensor[];
  /** Symbolic sizes declared with `n = size`. */
  readonly sizes: Map<string, Var>;
}

const grammar = ohm.grammar(readFileSync(new URL("./te.ohm", import.meta.url), "utf8"));

// ---- AST ------------------------------------------------------------------------------

/** A source offset; converted to line/column only when an error is reported. */
type Pos = number;

type Ast =
  | { readonly k: "num"; readonly value: number; readonly float: boolean; readonly pos: Pos }
  | { readonly k: "bool"; readonly value: boolean; readonly pos: Pos }
  | { readonly k: "name"; readonly name: string; readonly pos: Pos }
  | { readonly k: "access"; readonly name: string; readonly indices: readonly Ast[]; readonly pos: Pos }
  /** `pos` is the operator's position. */
  | { readonly k: "bin"; readonly op: string; readonly a: Ast; readonly b: Ast; readonly pos: Pos }
  | { readonly k: "unary"; readonly op: "-" | "!"; readonly a: Ast; readonly pos: Pos }
  | { readonly k: "call"; readonly fn: string; readonly args: readonly Ast[]; readonly pos: Pos }
  | { readonly k: "cast"; readonly dtype: string; readonly dtypePos: Pos; readonly value: Ast; readonly pos: Pos }
  | {
    readonly k: "reduce"; readonly combiner: Combiner; readonly axes: readonly ReduceAxisAst[]; readonly source: Ast;
    readonly where: Ast | null; readonly init: Ast | null; readonly pos: Pos;
  };
interface ReduceAxisAst { readonly name: string; readonly pos: Pos; readonly lo: Ast | null; readonly hi: Ast }
interface ReduceOptAst { readonly opt: "where" | "init"; readonly value: Ast; readonly pos: Pos }

interface NameAt { readonly name: string; readonly pos: Pos }
type StmtAst =
  | { readonly k: "size"; readonly name: string; readonly pos: Pos }
  | { readonly k: "input"; readonly name: string; readonly pos: Pos; readonly dtype: NameAt; readonly dims: readonly Ast[] }
  | {
    readonly k: "compute"; readonly name: string; readonly pos: Pos;
    readonly axes: readonly { readonly name: string; readonly pos: Pos; readonly extent: Ast | null }[];
    readonly dtype: NameAt | null; readonly body: Ast;
  };

// ohm's Node type is an open dictionary (operations are added as properties), so reading
// our operation back needs a cast; these helpers keep that in one place.
const ast = (n: ohm.Node): Ast => n["ast"]() as Ast;
const at = (n: ohm.Node): Pos => n.source.startIdx;
const list = <T>(n: ohm.Node): T[] => n.asIteration().children.map((c) => c["ast"]() as T);

const semantics = grammar.createSemantics().addOperation<unknown>("ast", {
  Program(stmts) { return stmts.children.map((s) => s["ast"]() as StmtAst); },
  Stmt(decl, _semi) { return decl["ast"](); },
  SizeDecl(name, _eq, _size): StmtAst { return { k: "size", name: name.sourceString, pos: at(name) }; },
  InputDecl(_input, name, _colon, dtype, _lb, dims, _rb): StmtAst {
    return { k: "input", name: name.sourceString, pos: at(name), dtype: { name: dtype.sourceString, pos: at(dtype) }, dims: list<Ast>(dims) };
  },
  ComputeDef(name, _lb, axes, _rb, annot, _eq, body): StmtAst {
    const a = annot.children[0];
    return {
      k: "compute", name: name.sourceString, pos: at(name),
      axes: list(axes), dtype: a ? { name: a.child(1).sourceString, pos: at(a.child(1)) } : null, body: ast(body),
    };
  },
  AxisDecl_sized(name, _colon, extent) { return { name: name.sourceString, pos: at(name), extent: ast(extent) }; },
  AxisDecl_bare(name) { return { name: name.sourceString, pos: at(name), extent: null }; },

  OrExpr_or(a, op, b): Ast { return { k: "bin", op: "||", a: ast(a), b: ast(b), pos: at(op) }; },
  AndExpr_and(a, op, b): Ast { return { k: "bin", op: "&&", a: ast(a), b: ast(b), pos: at(op) }; },
  CmpExpr_cmp(a, op, b): Ast { return { k: "bin", op: op.sourceString, a: ast(a), b: ast(b), pos: at(op) }; },
  AddExpr_bin(a, op, b): Ast { return { k: "bin", op: op.sourceString, a: ast(a), b: ast(b), pos: at(op) }; },
  MulExpr_bin(a, op, b): Ast { return { k: "bin", op: op.sourceString, a: ast(a), b: ast(b), pos: at(op) }; },
  Unary_neg(op, a): Ast { return { k: "unary", op: "-", a: ast(a), pos: at(op) }; },
  Unary_not(op, a): Ast { return { k: "unary", op: "!", a: ast(a), pos: at(op) }; },
  Primary_paren(_l, e, _r) { return e["ast"](); },
  Primary_name(name): Ast { return { k: "name", name: name.sourceString, pos: at(name) }; },

  Reduce(combiner, _l, axes, _comma, source, opts, _r): Ast {
    const options = opts.children.map((o) => o["ast"]() as ReduceOptAst);
    const pick = (which: "where" | "init"): Ast | null => {
      const found = options.filter((o) => o.opt === which);
      if (found.length > 1) throw new SyntaxAt(`duplicate '${which}' clause`, found[1]!.pos);
      return found[0]?.value ?? null;
    };
    return {
      k: "reduce", combiner: combiner.sourceString as Combiner, axes: axes["ast"]() as ReduceAxisAst[],
      source: ast(source), where: pick("where"), init: pick("init"), pos: at(combiner),
    };
  },
  ReduceAxes_many(_l, axes, _r) { return list<ReduceAxisAst>(axes); },
  ReduceAxes_one(axis) { return [axis["ast"]()]; },
  ReduceAxis_range(name, _c, lo, _dots, hi): ReduceAxisAst { return { name: name.sourceString, pos: at(name), lo: ast(lo), hi: ast(hi) }; },
  ReduceAxis_extent(name, _c, extent): ReduceAxisAst { return { name: name.sourceString, pos: at(name), lo: null, hi: ast(extent) }; },
  ReduceOpt_where(_c, kw, e): ReduceOptAst { return { opt: "where", value: ast(e), pos: at(kw) }; },
  ReduceOpt_init(_c, kw, _eq, e): ReduceOptAst { return { opt: "init", value: ast(e), pos: at(kw) }; },

  Cast(kw, _l, dtype, _r, _lp, value, _rp): Ast {
    return { k: "cast", dtype: dtype.sourceString, dtypePos: at(dtype), value: ast(value), pos: at(kw) };
  },
  Call(fn, _l, args, _r): Ast { return { k: "call", fn: fn.sourceString, args: list<Ast>(args), pos: at(fn) }; },
  Access(name, _l, idx, _r): Ast { return { k: "access", name: name.sourceString, indices: list<Ast>(idx), pos: at(name) }; },

  number(n): Ast { // n is the float or int node
    const s = n.sourceString;
    const value = s === "inf" ? Infinity : s === "nan" ? NaN : Number(s);
    return { k: "num", value, float: n.ctorName === "float", pos: at(n) };
  },
  boolLit(b): Ast { return { k: "bool", value: b.sourceString === "true", pos: at(b) }; },
  NonemptyListOf(first, _seps, rest) { return [first["ast"](), ...rest.children.map((c) => c["ast"]())]; },
  EmptyListOf() { return []; },
});

/** An error found while building the AST; turned into a ParseError with line/column. */
class SyntaxAt extends Error {
  constructor(message: string, readonly pos: Pos) { super(message); }
}

// ---- positions --------------------------------------------------------------------------

function lineCol(text: string, pos: Pos): { line: number; column: number } {
  let line = 1, start = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === "\n") { line++; start = i + 1; }
  }
  return { line, column: pos - start + 1 };
}

// ---- elaboration --------------------------------------------------------------------------

/** A numeric literal whose type is not yet known: it takes the other operand's type. */
interface Lit { readonly lit: true; readonly value: number; readonly float: boolean; readonly pos: Pos }
type Val = Expr | Lit;
const isLit = (v: Val): v is Lit => "lit" in v;

const ARITH: Record<string, (a: Expr, b: Expr) => Expr> = {
  "+": E.add, "-": E.sub, "*": E.mul, "/": E.div, "%": E.floormod,
  min: E.min, max: E.max, floordiv: E.floordiv, floormod: E.floormod,
  // expr.ts has no constructors for C's operators: reuse floordiv's type promotion.
  truncdiv: (a, b) => withOp(E.floordiv(a, b), "truncdiv"),
  truncmod: (a, b) => withOp(E.floordiv(a, b), "truncmod"),
};
function withOp(e: Expr, op: BinOp): Expr {
  if (e.kind !== "bin") throw new LatheError(`internal: expected a binary node`);
  return { ...e, op };
}
const CMP: Record<string, (a: Expr, b: Expr) => Expr> = {
  "==": E.eq, "!=": E.ne, "<": E.lt, "<=": E.le, ">": E.gt, ">=": E.ge,
};
const REDUCERS = { sum, prod, max: rmax, min: rmin } as const;

/** Names an expression may refer to: variables, and whether it is a shape (no tensor reads). */
interface Scope { readonly vars: ReadonlyMap<string, Var>; readonly shape: boolean }

class Elaborator {
  readonly sizes = new Map<string, Var>();
  readonly tensors = new Map<string, Tensor>();
  readonly inputs = new Map<string, Tensor>();
  readonly computes: Tensor[] = [];
  readonly consumed = new Set<Tensor>();
  private readonly defined = new Map<string, Pos>();

  constructor(private readonly text: string, private readonly sourceName?: string) {}

  err(message: string, pos: Pos): never {
    const { line, column } = lineCol(this.text, pos);
    throw new ParseError(message, line, column, this.sourceName);
  }

  private where(pos: Pos): string {
    const { line, column } = lineCol(this.text, pos);
    return `${line}:${column}`;
  }

  private define(name: string, pos: Pos, what: string): void {
    const prev = this.defined.get(name);
    if (prev !== undefined) this.err(`${what} '${name}' is already defined (at ${this.where(prev)})`, pos);
    this.defined.set(name, pos);
  }

  private dtype(d: NameAt): DType {
    if (!isDType(d.name)) this.err(`unknown dtype '${d.name}' (expected one of f16 f32 f64 i8 u8 i32 i64 bool)`, d.pos);
    return d.name;
  }

  stmt(s: StmtAst): void {
    switch (s.k) {
      case "size": {
        this.define(s.name, s.pos, "size variable");
        this.sizes.set(s.name, sizeVar(s.name));
        return;
      }
      case "input": {
        const dtype = this.dtype(s.dtype);
        const dims = s.dims.map((d) => this.index(d, { vars: this.sizes, shape: true }, `a dimension of ${s.name}`));
        this.define(s.name, s.pos, "tensor");
        const t = placeholder(dims, dtype, s.name);
        this.inputs.set(s.name, t);
        this.tensors.set(s.name, t);
        return;
      }
      case "compute": return this.computeStmt(s);
    }
  }

  private computeStmt(s: Extract<StmtAst, { k: "compute" }>): void {
    if (this.defined.has(s.name)) this.define(s.name, s.pos, "tensor"); // reports the redefinition
    const dtype = s.dtype ? this.dtype(s.dtype) : null;
    const seen = new Set<string>();
    for (const a of s.axes) {
      if (seen.has(a.name)) this.err(`axis '${a.name}' appears twice in ${s.name}`, a.pos);
      if (this.sizes.has(a.name)) this.err(`axis '${a.name}' of ${s.name} has the name of a size variable`, a.pos);
      seen.add(a.name);
    }
    const explicit = s.axes.map((a) =>
      a.extent ? this.index(a.extent, { vars: this.sizes, shape: true }, `the extent of axis '${a.name}'`) : null);

    // Pass 1 with provisional variables: type-checks the body and finds the extents to infer.
    const provisional = s.axes.map((a) => variable(a.name));
    const body1 = this.body(s, provisional, dtype);
    const dims: (Expr | null)[] = [...explicit];
    visitExpr(body1, (x) => {
      if (x.kind !== "access") return;
      x.indices.forEach((ix, d) => {
        const k = ix.kind === "var" ? provisional.indexOf(ix) : -1;
        if (k >= 0 && dims[k] === null) dims[k] = x.tensor.shape[d]!;
      });
    });
    dims.forEach((d, k) => {
      const a = s.axes[k]!;
      if (d === null) {
        this.err(`cannot infer the extent of axis '${a.name}' of ${s.name}: it is never an index on its own; write '${a.name}: <extent>'`, a.pos);
      }
    });

    // Pass 2 builds the body again over the compute's own axis variables.
    let t: Tensor;
    try {
      t = compute(dims as Expr[], (...vars) => this.body(s, vars, dtype), s.name, { axisNames: s.axes.map((a) => a.name) });
    } catch (e) {
      if (e instanceof ParseError || !(e instanceof Error)) throw e;
      this.err(e.message, s.pos);
    }
    this.define(s.name, s.pos, "tensor");
    this.tensors.set(s.name, t);
    this.computes.push(t);
  }

  /** The body of a compute over the given axis variables, cast to `dtype` when given. */
  private body(s: Extract<StmtAst, { k: "compute" }>, axes: readonly Var[], dtype: DType | null): Expr {
    const vars = new Map<string, Var>(this.sizes);
    s.axes.forEach((a, k) => vars.set(a.name, axes[k]!));
    if (s.body.k === "reduce") return this.reduce(s.body, s, vars, dtype);
    const v = this.val(s.body, { vars, shape: false });
    return dtype ? (isLit(v) ? this.typed(v, dtype) : E.cast(dtype, v)) : this.typed(v);
  }

  private reduce(r: Extract<Ast, { k: "reduce" }>, s: Extract<StmtAst, { k: "compute" }>, outer: Map<string, Var>, dtype: DType | null): Expr {
    const axes: IterVar[] = [];
    const inner = new Map(outer);
    for (const a of r.axes) {
      if (s.axes.some((o) => o.name === a.name)) {
        this.err(`reduce axis '${a.name}' reuses the name of an output axis of ${s.name}`, a.pos);
      }
      if (this.sizes.has(a.name)) this.err(`reduce axis '${a.name}' has the name of a size variable`, a.pos);
      if (axes.some((x) => x.var.name === a.name)) this.err(`reduce axis '${a.name}' appears twice`, a.pos);
      const scope = { vars: outer, shape: true };
      const hi = this.index(a.hi, scope, `the extent of reduce axis '${a.name}'`);
      const lo = a.lo ? this.index(a.lo, scope, `the start of reduce axis '${a.name}'`) : E.int(0);
      const extent = !a.lo ? hi
        : lo.kind === "const" && hi.kind === "const" ? E.int(hi.value - lo.value)
        : hi.kind === "bin" && hi.op === "add" && sameExpr(hi.a, lo) ? hi.b // `lo..lo + n`, as printTE writes it
        : E.sub(hi, lo);
      const iv = reduceAxis(extent, a.name, lo);
      axes.push(iv);
      inner.set(a.name, iv.var);
    }
    const scope = { vars: inner, shape: false };
    const sv = this.val(r.source, scope);
    const source = dtype ? (isLit(sv) ? this.typed(sv, dtype) : E.cast(dtype, sv)) : this.typed(sv);
    let where: Expr | undefined;
    if (r.where) {
      const w = this.val(r.where, scope);
      if (isLit(w) || w.dtype !== "bool") this.err(`'where' needs a bool condition, got ${isLit(w) ? "a number" : w.dtype}`, r.where.pos);
      where = w;
    }
    let init: Expr | undefined;
    if (r.init) {
      const iv = this.val(r.init, { vars: outer, shape: false });
      init = isLit(iv) ? this.typed(iv, source.dtype) : E.cast(source.dtype, iv);
    }
    return REDUCERS[r.combiner](axes, source, { init, where });
  }

  /** An integer-valued expression (an index, extent or dimension). */
  private index(a: Ast, scope: Scope, what: string): Expr {
    const v = this.val(a, scope);
    if (isLit(v) ? v.float : !isInt(v.dtype)) {
      this.err(`${what} must be an integer, got ${isLit(v) ? "a float literal" : v.dtype}`, a.pos);
    }
    return isLit(v) ? this.typed(v, "i32") : v.dtype === "i32" ? v : E.cast("i32", v);
  }

  /** A literal made concrete: `like` when given, else i32 for integers and f32 for floats. */
  private typed(v: Val, like?: DType): Expr {
    if (!isLit(v)) return v;
    let t = like ?? (v.float ? "f32" : "i32");
    if (t === "bool") t = "i32";
    if (v.float && !isFloat(t)) t = "f32";
    if (!isFloat(t) && wrapTo(t, v.value) !== v.value) this.err(`integer literal ${v.value} does not fit ${t}`, v.pos);
    return { kind: "const", value: v.value, dtype: t };
  }

  /** Makes two operands concrete; a literal takes the other side's type (a float literal makes it float). */
  private unify(a: Val, b: Val): [Expr, Expr] {
    if (isLit(a) && isLit(b)) {
      const t: DType = a.float || b.float ? "f32" : "i32";
      return [this.typed(a, t), this.typed(b, t)];
    }
    if (isLit(a)) { const [y, x] = this.unify(b, a); return [x, y]; }
    if (isLit(b)) {
      let x = a;
      if (b.float && !isFloat(x.dtype)) x = E.cast("f32", x);
      return [x, this.typed(b, x.dtype === "bool" ? "i32" : x.dtype)];
    }
    return [a, b];
  }

  private val(a: Ast, scope: Scope): Val {
    try {
      return this.valInner(a, scope);
    } catch (e) {
      // expr.ts/tensor.ts report type problems as TypeError/TensorError: give them a position.
      if (e instanceof ParseError || !(e instanceof Error)) throw e;
      this.err(e.message, a.pos);
    }
  }

  private valInner(a: Ast, scope: Scope): Val {
    switch (a.k) {
      case "num": return { lit: true, value: a.value, float: a.float, pos: a.pos };
      case "bool": return E.bool(a.value);
      case "name": {
        const v = scope.vars.get(a.name);
        if (v) return v;
        if (this.tensors.has(a.name)) this.err(`tensor '${a.name}' must be indexed: ${a.name}[...]`, a.pos);
        if (scope.shape) this.err(`undefined variable '${a.name}' (a shape may only use constants and sizes declared with '${a.name} = size')`, a.pos);
        this.err(`undefined variable '${a.name}'`, a.pos);
      }
      case "access": {
        if (scope.shape) this.err(`a shape may not read tensor '${a.name}'`, a.pos);
        const t = this.tensors.get(a.name);
        if (!t) {
          const hint = scope.vars.has(a.name) ? ` ('${a.name}' is a variable)` : "";
          this.err(`unknown tensor '${a.name}'${hint}`, a.pos);
        }
        if (a.indices.length !== t.shape.length) {
          this.err(`${a.name} has ${t.shape.length} dimension(s) but is indexed with ${a.indices.length}`, a.pos);
        }
        const idx = a.indices.map((ix, d) => this.index(ix, scope, `index ${d} of ${a.name}`));
        if (t.op.kind === "compute") this.consumed.add(t);
        return t.at(...idx);
      }
      case "bin": return this.binary(a, scope);
      case "unary": {
        const x = this.val(a.a, scope);
        if (a.op === "-") {
          if (isLit(x)) return { ...x, value: -x.value, pos: a.pos };
          if (x.dtype === "bool") this.err(`unary '-' needs a number, got bool`, a.pos);
          return E.neg(x);
        }
        if (isLit(x) || x.dtype !== "bool") this.err(`'!' needs a bool operand, got ${isLit(x) ? "a number" : x.dtype}`, a.pos);
        return E.not(x);
      }
      case "call": return this.call(a, scope);
      case "cast": {
        if (!isDType(a.dtype)) this.err(`unknown dtype '${a.dtype}' (expected one of f16 f32 f64 i8 u8 i32 i64 bool)`, a.dtypePos);
        const t = a.dtype;
        const x = this.val(a.value, scope);
        // cast<T>(literal) is a literal of type T.
        if (isLit(x)) return { kind: "const", value: isFloat(t) ? x.value : wrapTo(t, x.value), dtype: t };
        return E.cast(t, x);
      }
      case "reduce":
        this.err(`a reduction must be the whole right-hand side of a compute; define it as its own tensor`, a.pos);
    }
  }

  private binary(a: Extract<Ast, { k: "bin" }>, scope: Scope): Val {
    const x = this.val(a.a, scope), y = this.val(a.b, scope);
    if (a.op === "&&" || a.op === "||") {
      const bad = [x, y].find((v) => isLit(v) || v.dtype !== "bool");
      if (bad) {
        this.err(`'${a.op}' needs bool operands, got ${[x, y].map((v) => (isLit(v) ? "a number" : v.dtype)).join(" and ")}`, a.pos);
      }
      return a.op === "&&" ? E.and(x as Expr, y as Expr) : E.or(x as Expr, y as Expr);
    }
    return this.arith(a.op, x, y, a.pos);
  }

  private arith(op: string, x: Val, y: Val, pos: Pos): Expr {
    const [p, q] = this.unify(x, y);
    const cmp = CMP[op];
    if (cmp) return cmp(p, q);
    if (p.dtype === "bool" || q.dtype === "bool") this.err(`'${op}' needs numbers, got ${p.dtype} and ${q.dtype}`, pos);
    return ARITH[op]!(p, q);
  }

  private call(a: Extract<Ast, { k: "call" }>, scope: Scope): Expr {
    const { fn } = a;
    const arity = (n: number): void => {
      if (a.args.length !== n) this.err(`${fn} takes ${n} argument(s), got ${a.args.length}`, a.pos);
    };
    if (fn === "sum" || fn === "prod" || ((fn === "max" || fn === "min") && a.args.length !== 2)) {
      this.err(`${fn} is a reduction: write ${fn}(k: extent, expr)${fn === "max" || fn === "min" ? `, or ${fn}(a, b) elementwise` : ""}`, a.pos);
    }
    if (fn === "select") {
      arity(3);
      const c = this.val(a.args[0]!, scope);
      if (isLit(c) || c.dtype !== "bool") this.err(`select needs a bool condition, got ${isLit(c) ? "a number" : c.dtype}`, a.args[0]!.pos);
      const [t, f] = this.unify(this.val(a.args[1]!, scope), this.val(a.args[2]!, scope));
      return E.select(c, t, f);
    }
    if (Object.hasOwn(ARITH, fn)) { // only names reach here: "+" and friends are not identifiers
      arity(2);
      return this.arith(fn, this.val(a.args[0]!, scope), this.val(a.args[1]!, scope), a.pos);
    }
    if (Object.hasOwn(INTRINSIC_ARITY, fn)) {
      const name = fn as Intrinsic;
      arity(INTRINSIC_ARITY[name]);
      const vals = a.args.map((x) => this.val(x, scope));
      const exprs = vals.filter((v): v is Expr => !isLit(v));
      const anyFloatLit = vals.some((v) => isLit(v) && v.float);
      const domain = INTRINSIC_DOMAIN[name];
      let t: DType = exprs.length ? exprs.map((e) => e.dtype).reduce(promote) : domain !== "float" && !anyFloatLit ? "i32" : "f32";
      if (anyFloatLit && !isFloat(t)) t = "f32";
      if (domain === "float" && !isFloat(t)) this.err(`${fn} needs a float argument, got ${t} (use cast<f32>(...))`, a.pos);
      if (t === "bool") this.err(`${fn} needs a number, got bool`, a.pos);
      if (domain === "int" && isFloat(t)) this.err(`${fn} needs an integer argument, got ${t}`, a.pos);
      return E.call(name, ...vals.map((v) => (isLit(v) ? this.typed(v, t) : E.cast(t, v))));
    }
    if (this.tensors.has(fn)) this.err(`'${fn}' is a tensor: index it with ${fn}[...]`, a.pos);
    this.err(`unknown function '${fn}'`, a.pos);
  }
}

/** Structural equality of index expressions (constants, variables, arithmetic). */
function sameExpr(a: Expr, b: Expr): boolean {
  if (a.kind === "const" && b.kind === "const") return a.value === b.value && a.dtype === b.dtype;
  if (a.kind === "var" || b.kind === "var") return a === b;
  if (a.kind === "bin" && b.kind === "bin") return a.op === b.op && sameExpr(a.a, b.a) && sameExpr(a.b, b.b);
  return false;
}

/** Parses a tensor-expression program. `sourceName` prefixes error messages (a file name). */
export function parseTE(text: string, sourceName?: string): TEProgram {
  const m = grammar.match(text);
  if (m.failed()) {
    const { line, column } = lineCol(text, m.getRightmostFailurePosition());
    throw new ParseError(`syntax error: expected ${m.getExpectedText()}`, line, column, sourceName);
  }
  let stmts: StmtAst[];
  try {
    stmts = semantics(m)["ast"]() as StmtAst[];
  } catch (e) {
    if (!(e instanceof SyntaxAt)) throw e;
    const { line, column } = lineCol(text, e.pos);
    throw new ParseError(e.message, line, column, sourceName);
  }
  const el = new Elaborator(text, sourceName);
  for (const s of stmts) el.stmt(s);
  return {
    inputs: el.inputs,
    tensors: el.tensors,
    outputs: el.computes.filter((t) => !el.consumed.has(t)),
    sizes: el.sizes,
  };
}
