/**
 * Loop-IR statements. Expressions are compiler/te/expr.ts's `Expr` (loads, ramps and
 * broadcasts included). Every loop's variable is a `Var` owned by that loop.
 */
import type { Expr, Var } from "../te/expr.ts";
import { mapList } from "../te/expr.ts";
import type { Buffer } from "../te/buffer.ts";
import type { ForKind } from "../schedule/axis.ts";

/** How a loop runs. `thread` loops are bound to a GPU thread axis; `vthread` are virtual threads. */

export type Stmt =
  | {
      readonly kind: "for"; readonly loopVar: Var; readonly min: Expr; readonly extent: Expr;
      readonly forKind: ForKind;
      /** For `thread` loops: the axis tag, e.g. "blockIdx.x", "threadIdx.y". */
      readonly thread?: string;
      readonly body: Stmt;
    }
  | { readonly kind: "store"; readonly buffer: Buffer; readonly indices: readonly Expr[]; readonly value: Expr }
  | { readonly kind: "allocate"; readonly buffer: Buffer; readonly body: Stmt }
  | { readonly kind: "if"; readonly cond: Expr; readonly then: Stmt; readonly else: Stmt | null }
  | { readonly kind: "seq"; readonly body: readonly Stmt[] }
  | { readonly kind: "let"; readonly v: Var; readonly value: Expr; readonly body: Stmt }
  /** A key/value annotation around a statement: pragmas, tensorize markers, storage hints. */
  | { readonly kind: "attr"; readonly key: string; readonly value: string | number; readonly body: Stmt }
  | { readonly kind: "barrier"; readonly scope: "shared" | "global" }
  /** A call for its effect (a tensorized intrinsic, for example). */
  | { readonly kind: "evaluate"; readonly value: Expr }
  | { readonly kind: "nop" };

export const seq = (...body: Stmt[]): Stmt => {
  const flat = body.flatMap((s) => (s.kind === "seq" ? s.body : s.kind === "nop" ? [] : [s]));
  return flat.length === 0 ? { kind: "nop" } : flat.length === 1 ? flat[0]! : { kind: "seq", body: flat };
};

/**
 * Rebuilds a statement with its direct children (statements and expressions) mapped.
 * Returns the same object when nothing changed.
 */
export function mapStmt(s: Stmt, fs: (s: Stmt) => Stmt, fe: (e: Expr) => Expr): Stmt {
  switch (s.kind) {
    case "for": {
      const min = fe(s.min), extent = fe(s.extent), body = fs(s.body);
      return min === s.min && extent === s.extent && body === s.body ? s : { ...s, min, extent, body };
    }
    case "store": {
      const indices = mapList(s.indices, fe), value = fe(s.value);
      return indices === s.indices && value === s.value ? s : { ...s, indices, value };
    }
    case "allocate": { const body = fs(s.body); return body === s.body ? s : { ...s, body }; }
    case "if": {
      const cond = fe(s.cond), then = fs(s.then), els = s.else && fs(s.else);
      return cond === s.cond && then === s.then && els === s.else ? s : { ...s, cond, then, else: els };
    }
    case "seq": { const body = mapList(s.body, fs); return body === s.body ? s : seq(...body); }
    case "let": {
      const value = fe(s.value), body = fs(s.body);
      return value === s.value && body === s.body ? s : { ...s, value, body };
    }
    case "attr": { const body = fs(s.body); return body === s.body ? s : { ...s, body }; }
    case "evaluate": { const value = fe(s.value); return value === s.value ? s : { ...s, value }; }
    case "barrier": case "nop": return s;
  }
}

/** Applies `fe` to every top-level expression of every statement (not into sub-expressions). */
export function mapStmtExprs(s: Stmt, fe: (e: Expr) => Expr): Stmt {
  const go = (x: Stmt): Stmt => mapStmt(x, go, fe);
  return go(s);
}

export function visitStmt(s: Stmt, f: (s: Stmt) => void): void {
  f(s);
  switch (s.kind) {
    case "for": case "allocate": case "let": case "attr": visitStmt(s.body, f); break;
    case "if": visitStmt(s.then, f); if (s.else) visitStmt(s.else, f); break;
    case "seq": s.body.forEach((b) => visitStmt(b, f)); break;
    default: break;
  }
}

/** A lowered kernel: its parameters in call order, the size variables read from their shapes, and its body. */
export interface PrimFunc {
  readonly name: string;
  readonly params: readonly Buffer[];
  readonly body: Stmt;
  /** Symbolic sizes: each bound at entry from `params[param].shape[dim]`. */
  readonly sizeVars: readonly { readonly v: Var; readonly param: number; readonly dim: number }[];
}
