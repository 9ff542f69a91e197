/**
 * Prints tensors in the text form of te.ohm, so that `parseTE(printTE(ts))` evaluates
 * exactly as `ts` does. Names that are not identifiers, clash with keywords or repeat are
 * renamed (`compute`, `compute_1`, …); shapes are always printed explicitly.
 *
 * Literals: the parser gives a bare literal the type of the other operand (or i32/f32 when
 * alone), so a constant is printed bare only where that rule gives back its own dtype, and
 * as `cast<T>(literal)` (a literal of type T) elsewhere.
 */
import { LatheError } from "../../core/errors.ts";
import type { DType } from "../../core/dtype.ts";
import { isFloat, wrapTo } from "../../core/dtype.ts";
import type { Expr, Var } from "./expr.ts";
import { visitExpr } from "./expr.ts";
import { freeSizeVars } from "./evaluate.ts";
import type { Tensor } from "./tensor.ts";
import { postOrder } from "./tensor.ts";

const KEYWORDS = new Set(["input", "size", "cast", "where", "init", "true", "false", "inf", "nan"]);

/** Where a constant is printed: the dtype a bare literal would take there, null when alone, or "explicit". */
type Like = DType | null | "explicit";

// Precedence levels, loosest first (as in te.ohm).
const OR = 1, AND = 2, CMP = 3, ADD = 4, MUL = 5, UNARY = 6, PRIMARY = 7;

const CMP_OPS = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" } as const;

export function printTE(outputs: readonly Tensor[]): string {
  const order = postOrder(outputs);
  const taken = new Set<string>();
  const fresh = (name: string, used: Set<string>): string => {
    let base = name.replace(/[^A-Za-z0-9_]/g, "_");
    if (!/^[A-Za-z_]/.test(base)) base = `_${base}`;
    if (KEYWORDS.has(base)) base = `${base}_`;
    let n = base;
    for (let k = 1; used.has(n); k++) n = `${base}_${k}`;
    used.add(n);
    return n;
  };

  const lines: string[] = [];
  const sizeNames = new Map<Var, string>();
  for (const v of freeSizeVars(order)) {
    sizeNames.set(v, fresh(v.name, taken));
    lines.push(`${sizeNames.get(v)} = size`);
  }
  const tensorNames = new Map<Tensor, string>();
  for (const t of order) tensorNames.set(t, fresh(t.name, taken));

  for (const t of order) {
    const name = tensorNames.get(t)!;
    const global = new Printer(tensorNames, new Map(sizeNames));
    if (t.op.kind === "placeholder") {
      lines.push(`input ${name}: ${t.dtype}[${t.shape.map((d) => global.expr(d, null)).join(", ")}]`);
      continue;
    }
    // Axis names are local to the compute but must not hide a size variable.
    const local = new Set(sizeNames.values());
    const names = new Map(sizeNames);
    const axes = t.op.axes.map((a, k) => {
      if (!(a.dom.min.kind === "const" && a.dom.min.value === 0)) {
        throw new LatheError(`printTE: axis ${a.var.name} of ${t.name} does not start at 0`);
      }
      const n = fresh(a.var.name, local);
      names.set(a.var, n);
      return `${n}: ${global.expr(t.shape[k]!, null)}`;
    });
    visitExpr(t.op.body, (x) => {
      if (x.kind === "reduce") for (const r of x.axes) if (!names.has(r.var)) names.set(r.var, fresh(r.var.name, local));
    });
    const p = new Printer(tensorNames, names);
    const body = t.op.body;
    const head = `${name}[${axes.join(", ")}]`;
    // `C[...]: T = x` is the parser's cast<T>(x), except for a literal x (which it retypes).
    if (body.kind === "cast" && body.value.kind !== "const" && body.value.kind !== "reduce") {
      lines.push(`${head}: ${body.dtype} = ${p.expr(body.value, null)}`);
    } else {
      lines.push(`${head} = ${p.expr(body, null)}`);
    }
  }
  return lines.join("\n") + "\n";
}

class Printer {
  constructor(
    private readonly tensors: ReadonlyMap<Tensor, string>,
    private readonly vars: ReadonlyMap<Var, string>,
  ) {}

  expr(e: Expr, like: Like): string {
    return this.go(e, like)[0];
  }

  /** `e` at a position that needs precedence at least `min`. */
  private sub(e: Expr, like: Like, min: number): string {
    const [s, p] = this.go(e, like);
    return p < min ? `(${s})` : s;
  }

  /** The contexts of two operands that the parser unifies (binary operators, select, pow). */
  private pairLikes(a: Expr, b: Expr): [Like, Like] {
    if (a.kind === "const" && b.kind === "const") {
      // Two bare literals become i32 (or f32 if either is a float): fine when both are that type.
      return a.dtype === b.dtype ? [null, null] : ["explicit", "explicit"];
    }
    return [b.kind === "const" ? null : b.dtype, a.kind === "const" ? null : a.dtype];
  }

  private go(e: Expr, like: Like): [string, number] {
    switch (e.kind) {
      case "const": return literal(e.value, e.dtype, like);
      case "var": {
        const n = this.vars.get(e);
        if (n === undefined) throw new LatheError(`printTE: variable ${e.name} is not bound here`);
        return [n, PRIMARY];
      }
      case "bin": {
        const [la, lb] = this.pairLikes(e.a, e.b);
        const infix = (op: string, prec: number): [string, number] =>
          [`${this.sub(e.a, la, prec)} ${op} ${this.sub(e.b, lb, prec + 1)}`, prec];
        const fn = (name: string): [string, number] => [`${name}(${this.expr(e.a, la)}, ${this.expr(e.b, lb)})`, PRIMARY];
        switch (e.op) {
          case "add": return infix("+", ADD);
          case "sub": return infix("-", ADD);
          case "mul": return infix("*", MUL);
          case "div": return infix("/", MUL);
          case "floordiv": return isFloat(e.dtype) ? fn("floordiv") : infix("/", MUL);
          case "floormod": return infix("%", MUL);
          case "truncdiv": case "truncmod": case "min": case "max": return fn(e.op);
        }
        break;
      }
      case "cmp": {
        const [la, lb] = this.pairLikes(e.a, e.b);
        return [`${this.sub(e.a, la, ADD)} ${CMP_OPS[e.op]} ${this.sub(e.b, lb, ADD)}`, CMP];
      }
      case "and": return [`${this.sub(e.a, null, AND)} && ${this.sub(e.b, null, AND + 1)}`, AND];
      case "or": return [`${this.sub(e.a, null, OR)} || ${this.sub(e.b, null, OR + 1)}`, OR];
      case "not": return [`!${this.sub(e.a, null, UNARY)}`, UNARY];
      case "call": {
        const likes: Like[] = e.args.length === 2 ? this.pairLikes(e.args[0]!, e.args[1]!) : e.args.map(() => null);
        return [`${e.fn}(${e.args.map((a, k) => this.expr(a, likes[k]!)).join(", ")})`, PRIMARY];
      }
      case "select": {
        const [lt, lf] = this.pairLikes(e.t, e.f);
        return [`select(${this.expr(e.cond, null)}, ${this.expr(e.t, lt)}, ${this.expr(e.f, lf)})`, PRIMARY];
      }
      case "cast": return [`cast<${e.dtype}>(${this.expr(e.value, "explicit")})`, PRIMARY];
      case "access": {
        const name = this.tensors.get(e.tensor);
        if (name === undefined) throw new LatheError(`printTE: tensor ${e.tensor.name} is not reachable from the outputs`);
        return [`${name}[${e.indices.map((i) => this.expr(i, null)).join(", ")}]`, PRIMARY];
      }
      case "reduce": {
        const axes = e.axes.map((a) => {
          const n = this.vars.get(a.var)!;
          const { min, extent } = a.dom;
          if (min.kind === "const" && min.value === 0) return `${n}: ${this.sub(extent, null, ADD)}`;
          const hi = min.kind === "const" && extent.kind === "const"
            ? String(min.value + extent.value) : `${this.sub(min, null, ADD)} + ${this.sub(extent, null, MUL)}`;
          return `${n}: ${this.sub(min, null, ADD)}..${hi}`;
        });
        const parts = [axes.length === 1 ? axes[0]! : `(${axes.join(", ")})`, this.expr(e.source, null)];
        if (e.cond) parts.push(`where ${this.expr(e.cond, null)}`);
        if (e.init) parts.push(`init = ${this.expr(e.init, e.source.dtype)}`);
        return [`${e.combiner}(${parts.join(", ")})`, PRIMARY];
      }
      case "load": case "ramp": case "broadcast":
        throw new LatheError(`printTE: '${e.kind}' is a loop-IR node and has no tensor-expression text`);
    }
    throw new LatheError(`printTE: unknown expression kind ${(e as { kind: string }).kind}`);
  }
}

/** A constant as a literal the parser reads back with the same dtype and value. */
function literal(value: number, dtype: DType, like: Like): [string, number] {
  if (dtype === "bool") return [value !== 0 ? "true" : "false", PRIMARY];
  let text: string;
  if (isFloat(dtype)) {
    if (Number.isNaN(value)) text = "nan";
    else if (!Number.isFinite(value)) text = value > 0 ? "inf" : "-inf";
    else if (Object.is(value, -0)) text = "-0.0";
    else {
      text = String(value); // the shortest text that reads back as the same double
      if (!/[.e]/.test(text)) text += ".0";
    }
  } else {
    text = String(wrapTo(dtype, value) + 0); // the value the evaluator uses; + 0 drops a −0
  }
  const bare = like === dtype || (like === null && dtype === (isFloat(dtype) ? "f32" : "i32"));
  if (bare) return [text, text.startsWith("-") ? UNARY : PRIMARY];
  return [`cast<${dtype}>(${text})`, PRIMARY];
}
