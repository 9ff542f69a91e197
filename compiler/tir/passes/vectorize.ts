/**
 * Vectorization (TVM's VectorizeLoop): a `vectorized` loop of constant extent L becomes its
 * body on L-lane values — the loop variable a ramp, loop-invariant values broadcast,
 * loads and stores whose index is linear in the variable become contiguous or strided
 * vector accesses. A body that cannot be vectorized (a lane-dependent branch, a
 * non-linear index, a read-modify-write of one element) stays a scalar loop.
 */
import type { Expr, Var } from "../../te/expr.ts";
import { int, lanesOf, mapChildren, mul, substitute, sub, add, usesVar, variable, visitExpr } from "../../te/expr.ts";
import type { DType } from "../../../core/dtype.ts";
import { bytesOf } from "../../../core/dtype.ts";
import { simplify } from "../../arith/index.ts";
import type { Pass } from "../pass.ts";
import type { Stmt } from "../stmt.ts";
import { mapStmt, mapStmtExprs, seq, visitStmt } from "../stmt.ts";
import { simplifyStmt } from "./simplify.ts";

class NotVectorizable extends Error {}

const broadcast = (e: Expr, lanes: number): Expr =>
  lanesOf(e) === lanes ? e : { kind: "broadcast", value: e, lanes, dtype: e.dtype };

interface Loop { readonly v: Var; readonly min: Expr; readonly lanes: number }

/** The index as ramp(base, stride, lanes) when it is linear in the loop variable. */
function linearRamp(index: Expr, l: Loop): Expr {
  if (!usesVar(index, (x) => x === l.v)) return index;
  const at = (k: Expr) => simplify(substitute(index, new Map([[l.v, k]])));
  const base = at(l.min);
  const stride = simplify(sub(at(add(l.min, 1)), base));
  if (usesVar(stride, (x) => x === l.v)) throw new NotVectorizable();
  // Linear only if the stride is the same everywhere: check index(v) == base + (v - min) * stride.
  const check = simplify(sub(index, add(base, { kind: "bin", op: "mul", a: sub(l.v, l.min), b: stride, dtype: "i32" })));
  if (check.kind !== "const" || check.value !== 0) throw new NotVectorizable();
  return { kind: "ramp", base, stride, lanes: l.lanes, dtype: "i32" };
}

function vecExpr(e: Expr, l: Loop): Expr {
  if (e.kind === "var") return e === l.v ? { kind: "ramp", base: l.min, stride: int(1), lanes: l.lanes, dtype: "i32" } : e;
  if (e.kind === "load") {
    // bool has no vector type (GCC vectors of bool do not exist); such loops stay scalar.
    if (e.indices.length !== 1 || e.dtype === "bool") throw new NotVectorizable();
    const idx = linearRamp(e.indices[0]!, l);
    return idx.kind === "ramp" ? { ...e, indices: [idx], lanes: l.lanes } : e;
  }
  if (e.kind === "ramp" || e.kind === "broadcast" || e.kind === "access" || e.kind === "reduce") throw new NotVectorizable();
  const x = mapChildren(e, (c) => vecExpr(c, l));
  if (x === e) return e;
  const lanes = Math.max(...childLanes(x));
  if (lanes === 1) return x;
  // Vector integer floor division has no C operator; lane-varying selects would read both arms.
  if (x.kind === "bin" && (x.op === "floordiv" || x.op === "floormod")) throw new NotVectorizable();
  if (x.kind === "select" && lanesOf(x.cond) > 1 && (hasLoad(x.t) || hasLoad(x.f))) throw new NotVectorizable();
  const widened = { ...mapChildren(x, (c) => broadcast(c, lanes)), lanes } as Expr;
  // Vector comparisons give masks (all bits set for true), not 0/1; values come from selects
  // whose mask width matches the selected elements.
  if (widened.kind === "cast" && widened.value.dtype === "bool") return maskToValue(widened.value, widened.dtype, lanes);
  if (widened.kind === "select" && lanesOf(widened.cond) > 1 && maskBytes(widened.cond) !== bytesOf(widened.dtype)) throw new NotVectorizable();
  return widened;
}

/** Element width of the mask a vector condition evaluates to, or null when it has none. */
function maskBytes(c: Expr): number | null {
  switch (c.kind) {
    case "cmp": return bytesOf(c.a.dtype);
    case "and": case "or": { const a = maskBytes(c.a); return a !== null && a === maskBytes(c.b) ? a : null; }
    case "not": return maskBytes(c.a);
    default: return null;
  }
}

const MASK_INT: Readonly<Record<number, DType>> = { 1: "i8", 4: "i32", 8: "i64" };

/** cast(T, cond) on vectors: select 1 or 0 at the mask's width, then convert to T. */
function maskToValue(cond: Expr, t: DType, lanes: number): Expr {
  const mb = maskBytes(cond);
  const it = mb === null ? undefined : MASK_INT[mb];
  if (!it) throw new NotVectorizable();
  const sel: Expr = { kind: "select", cond, t: broadcast(int(1, it), lanes), f: broadcast(int(0, it), lanes), dtype: it, lanes };
  return it === t ? sel : { kind: "cast", value: sel, dtype: t, lanes };
}

function hasLoad(e: Expr): boolean {
  let found = false;
  visitExpr(e, (x) => { if (x.kind === "load") found = true; });
  return found;
}

function childLanes(e: Expr): number[] {
  switch (e.kind) {
    case "bin": case "cmp": case "and": case "or": return [lanesOf(e.a), lanesOf(e.b)];
    case "not": return [lanesOf(e.a)];
    case "call": return e.args.map(lanesOf);
    case "select": return [lanesOf(e.cond), lanesOf(e.t), lanesOf(e.f)];
    case "cast": return [lanesOf(e.value)];
    default: return [lanesOf(e)];
  }
}

function vecStmt(s: Stmt, l: Loop): Stmt {
  switch (s.kind) {
    case "store": {
      if (s.indices.length !== 1 || s.buffer.dtype === "bool") throw new NotVectorizable();
      const idx = linearRamp(s.indices[0]!, l);
      const value = vecExpr(s.value, l);
      if (idx.kind !== "ramp") {
        if (lanesOf(value) > 1 || usesVar(s.value, (x) => x === l.v)) throw new NotVectorizable();
        throw new NotVectorizable(); // a lane-invariant store repeated L times may be a read-modify-write
      }
      return { ...s, indices: [idx], value: broadcast(value, l.lanes) };
    }
    case "if":
      if (usesVar(s.cond, (x) => x === l.v)) throw new NotVectorizable();
      return mapStmt(s, (x) => vecStmt(x, l), (e) => e);
    case "for":
      if (usesVar(s.extent, (x) => x === l.v) || usesVar(s.min, (x) => x === l.v) || s.forKind === "parallel") throw new NotVectorizable();
      return { ...s, body: vecStmt(s.body, l) };
    case "seq": case "attr": return mapStmt(s, (x) => vecStmt(x, l), (e) => e);
    case "nop": return s;
    default: throw new NotVectorizable();
  }
}

/** The widest element (in bytes) the loop body reads or writes. */
function widestElement(s: Stmt): number {
  let w = 1;
  visitStmt(s, (x) => {
    if (x.kind === "store") w = Math.max(w, bytesOf(x.buffer.dtype));
    const exprs = x.kind === "store" ? [x.value, ...x.indices] : x.kind === "if" ? [x.cond] : [];
    for (const e of exprs) visitExpr(e, (y) => { if (y.kind === "load") w = Math.max(w, bytesOf(y.dtype)); });
  });
  return w;
}

function vectorizeLoops(s: Stmt, maxBytes: number): Stmt {
  const inner = mapStmt(s, (x) => vectorizeLoops(x, maxBytes), (e) => e);
  if (inner.kind !== "for" || inner.forKind !== "vectorized") return inner;
  // GCC vector types need a power-of-two lane count.
  const n = inner.extent.kind === "const" ? inner.extent.value : 0;
  if (n < 2 || (n & (n - 1)) !== 0) return { ...inner, forKind: "serial" };
  const width = Math.max(1, Math.floor(maxBytes / widestElement(inner.body)));
  if (n > width && n / width <= MAX_CHUNKS) {
    // Wider than the machine's registers: register-wide vectors one after another, which the
    // C compiler keeps in registers (it spills generic over-wide vectors). Each chunk is
    // simplified over its own range first, so a border test that holds for a whole chunk (a
    // padded copy's `x ≥ 1`) is gone there and only the chunk it splits stays scalar.
    const vi = variable(`${inner.loopVar.name}.vi`);
    const chunks = Array.from({ length: n / width }, (_, c): Stmt => {
      const body = mapStmtExprs(inner.body, (e) => substitute(e, new Map([[inner.loopVar, add(inner.min, add(int(c * width), vi))]])));
      return vectorizeLoops(simplifyStmt({ kind: "for", loopVar: vi, min: int(0), extent: int(width), forKind: "vectorized", body }), maxBytes);
    });
    return seq(...chunks);
  }
  if (n > width) {
    const vo = variable(`${inner.loopVar.name}.vo`), vi = variable(`${inner.loopVar.name}.vi`);
    const value = add(inner.min, add(mul(vo, width), vi));
    const body = mapStmtExprs(inner.body, (e) => substitute(e, new Map([[inner.loopVar, value]])));
    const lanes: Stmt = { kind: "for", loopVar: vi, min: int(0), extent: int(width), forKind: "vectorized", body };
    return { kind: "for", loopVar: vo, min: int(0), extent: int(n / width), forKind: "unrolled", body: vectorizeLoops(lanes, maxBytes) };
  }
  try {
    return vecStmt(inner.body, { v: inner.loopVar, min: inner.min, lanes: n });
  } catch (err) {
    if (err instanceof NotVectorizable) return { ...inner, forKind: "serial" };
    throw err;
  }
}

/** Register-wide chunks a wide vectorized loop is cut into one by one (more: an unrolled loop of them). */
const MAX_CHUNKS = 8;

/** `maxBytes`: the target's vector register width (64 for AVX-512, 32 for AVX2, 16 for SSE/NEON). */
export const vectorizePass = (maxBytes: number): Pass => ({
  name: "vectorize",
  run: (f) => ({ ...f, body: vectorizeLoops(f.body, maxBytes) }),
});
