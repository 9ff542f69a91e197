/** Readable text for loop IR and expressions (used by dumps, errors and tests). */
import type { Expr } from "../te/expr.ts";
import type { PrimFunc, Stmt } from "./stmt.ts";

const BIN: Record<string, string> = {
  add: "+", sub: "-", mul: "*", div: "/", floordiv: "//", floormod: "%", truncdiv: "/t", truncmod: "%t",
};
const CMP: Record<string, string> = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };

const vname = (v: { name: string; id: number }): string => `${v.name}`;

export function printExpr(e: Expr): string {
  switch (e.kind) {
    case "const": return e.dtype === "bool" ? (e.value ? "true" : "false") : e.dtype === "i32" ? String(e.value) : `${e.value}${e.dtype}`;
    case "var": return vname(e);
    case "bin": return e.op === "min" || e.op === "max" ? `${e.op}(${printExpr(e.a)}, ${printExpr(e.b)})` : `(${printExpr(e.a)} ${BIN[e.op]} ${printExpr(e.b)})`;
    case "cmp": return `(${printExpr(e.a)} ${CMP[e.op]} ${printExpr(e.b)})`;
    case "and": return `(${printExpr(e.a)} && ${printExpr(e.b)})`;
    case "or": return `(${printExpr(e.a)} || ${printExpr(e.b)})`;
    case "not": return `!${printExpr(e.a)}`;
    case "call": return `${e.fn}(${e.args.map(printExpr).join(", ")})`;
    case "select": return `select(${printExpr(e.cond)}, ${printExpr(e.t)}, ${printExpr(e.f)})`;
    case "cast": return `${e.dtype}${e.lanes ? "x" + e.lanes : ""}(${printExpr(e.value)})`;
    case "access": return `${e.tensor.name}[${e.indices.map(printExpr).join(", ")}]`;
    case "load": return `${e.buffer.name}[${e.indices.map(printExpr).join(", ")}]`;
    case "reduce": return `${e.combiner}(${e.axes.map((a) => a.var.name).join(", ")}; ${printExpr(e.source)})`;
    case "ramp": return `ramp(${printExpr(e.base)}, ${printExpr(e.stride)}, ${e.lanes})`;
    case "broadcast": return `x${e.lanes}(${printExpr(e.value)})`;
  }
}

export function printStmt(s: Stmt, indent = ""): string {
  const ind = indent + "  ";
  switch (s.kind) {
    case "for": {
      const kind = s.forKind === "serial" ? "" : ` ${s.forKind}${s.thread ? `(${s.thread})` : ""}`;
      const end = s.min.kind === "const" && s.min.value === 0 ? printExpr(s.extent) : `${printExpr(s.min)} + ${printExpr(s.extent)}`;
      return `${indent}for ${vname(s.loopVar)} in [${printExpr(s.min)}, ${end})${kind}:\n${printStmt(s.body, ind)}`;
    }
    case "store": return `${indent}${s.buffer.name}[${s.indices.map(printExpr).join(", ")}] = ${printExpr(s.value)}\n`;
    case "allocate": return `${indent}allocate ${s.buffer.name}: ${s.buffer.dtype}[${s.buffer.shape.map(printExpr).join(", ")}] in ${s.buffer.scope}\n${printStmt(s.body, indent)}`;
    case "if": return `${indent}if ${printExpr(s.cond)}:\n${printStmt(s.then, ind)}${s.else ? `${indent}else:\n${printStmt(s.else, ind)}` : ""}`;
    case "seq": return s.body.map((b) => printStmt(b, indent)).join("");
    case "let": return `${indent}let ${vname(s.v)} = ${printExpr(s.value)}\n${printStmt(s.body, indent)}`;
    case "attr": return `${indent}// attr ${s.key} = ${s.value}\n${printStmt(s.body, indent)}`;
    case "barrier": return `${indent}barrier(${s.scope})\n`;
    case "evaluate": return `${indent}${printExpr(s.value)}\n`;
    case "nop": return `${indent}nop\n`;
  }
}

export function printFunc(f: PrimFunc): string {
  const params = f.params.map((p) => `${p.name}: ${p.dtype}[${p.shape.map(printExpr).join(", ")}]`).join(", ");
  return `func ${f.name}(${params}):\n${printStmt(f.body, "  ")}`;
}
