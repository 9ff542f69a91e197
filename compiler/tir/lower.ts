/**
 * Lowering a schedule to the loop IR (TVM's ScheduleOps): inline, infer bounds, then build
 * each stage's loop nest, placing attached stages inside their parent's loop and
 * reductions' initialisation before their first reduce loop. Split tails are guarded by
 * `if`s at the innermost level; the loop-partition pass later removes them from the
 * main iterations.
 */
import type { Expr, Var } from "../te/expr.ts";
import { add, and, ge, int, lt, mapChildren, sub, substitute, usesVar, visitExpr, cast as castExpr, isConst } from "../te/expr.ts";
import type { IterVar, Tensor } from "../te/tensor.ts";
import { identityOf } from "../te/tensor.ts";
import { ScheduleError } from "../../core/errors.ts";
import type { Axis } from "../schedule/axis.ts";
import type { Schedule, Stage } from "../schedule/schedule.ts";
import type { Bounds } from "../schedule/bounds.ts";
import { inferBounds } from "../schedule/bounds.ts";
import { canProve, simplify } from "../arith/index.ts";
import type { Buffer } from "../te/buffer.ts";
import { makeBuffer } from "../te/buffer.ts";
import type { PrimFunc, Stmt } from "./stmt.ts";
import { seq } from "./stmt.ts";

export function lowerSchedule(s: Schedule, args: readonly Tensor[], name: string): PrimFunc {
  checkArgs(s, args);
  const bodies = inlineBodies(s);
  const bounds = inferBounds(s, bodies);
  const buffers = new Map<Tensor, Buffer>();
  const params = args.map((t) => {
    const b = makeBuffer(t.name, t.dtype, t.shape, "global");
    buffers.set(t, b);
    return b;
  });
  const computed = s.stages.filter((st) => st.op && st.attach.kind !== "inline");
  for (const st of computed) {
    if (!buffers.has(st.tensor)) {
      const b = bounds.stages.get(st)!;
      buffers.set(st.tensor, makeBuffer(st.name, st.tensor.dtype, st.axis.map((a) => b.root.get(a)!.extent), st.scope));
    }
  }
  const ctx: LowerCtx = { s, bodies, bounds, buffers };
  // Root stages run in order; stages computed at another live inside it.
  let body: Stmt = seq(...computed.filter((st) => st.attach.kind === "root").map((st) => stageNest(ctx, st)));
  for (const st of [...computed].reverse()) {
    if (st.attach.kind === "root" && !args.includes(st.tensor)) body = { kind: "allocate", buffer: buffers.get(st.tensor)!, body };
  }
  return { name, params, body, sizeVars: sizeVarsOf(args) };
}

interface LowerCtx {
  readonly s: Schedule;
  readonly bodies: ReadonlyMap<Stage, Expr>;
  readonly bounds: Bounds;
  readonly buffers: ReadonlyMap<Tensor, Buffer>;
}

function checkArgs(s: Schedule, args: readonly Tensor[]): void {
  for (const o of s.outputs) {
    if (!args.includes(o)) throw new ScheduleError(`output ${o.name} is not among the kernel arguments`);
  }
  for (const st of s.stages) {
    if (!st.op && !args.includes(st.tensor)) throw new ScheduleError(`input ${st.name} is not among the kernel arguments`);
  }
  for (const a of args) {
    const st = s.stages.find((x) => x.tensor === a);
    // An input no output reads is allowed (its shape may bind a size); it gets no code.
    if (!st && a.op.kind === "placeholder") continue;
    if (!st) throw new ScheduleError(`argument ${a.name} is not part of the schedule`);
    if (st.op && !st.isOutput) throw new ScheduleError(`argument ${a.name} is an intermediate compute, not an input or output`);
  }
}

/** Each computed stage's body with inlined stages' bodies substituted in. */
function inlineBodies(s: Schedule): Map<Stage, Expr> {
  const inlined = new Map<Tensor, { axes: readonly IterVar[]; body: Expr }>();
  const out = new Map<Stage, Expr>();
  const expand = (e: Expr): Expr => {
    if (e.kind === "access") {
      const def = inlined.get(e.tensor);
      const indices = e.indices.map(expand);
      if (def) return substitute(def.body, new Map(def.axes.map((a, k) => [a.var, indices[k]!])));
      return mapChildren(e, expand);
    }
    return mapChildren(e, expand);
  };
  for (const st of s.stages) {
    if (!st.op) continue;
    const body = expand(st.op.body);
    if (st.attach.kind === "inline") inlined.set(st.tensor, { axes: st.op.axes, body });
    else out.set(st, body);
  }
  return out;
}

function sizeVarsOf(args: readonly Tensor[]): PrimFunc["sizeVars"] {
  const out: { v: Var; param: number; dim: number }[] = [];
  args.forEach((t, param) => t.shape.forEach((d, dim) => {
    if (d.kind === "var" && !out.some((x) => x.v === d)) out.push({ v: d, param, dim });
  }));
  return out;
}

/** The loop nest of one stage, with the stages computed at its loops placed inside. */
function stageNest(ctx: LowerCtx, st: Stage): Stmt {
  const sb = ctx.bounds.stages.get(st)!;
  const body = ctx.bodies.get(st)!;
  const buf = ctx.buffers.get(st.tensor)!;
  const rootVal = new Map<Var, Expr>(st.rootAxes.map((a) => [a.var, add(sb.root.get(a)!.min, sb.offset.get(a)!)]));
  const index = st.axis.map((a) => sb.offset.get(a)!);
  const leafRanges = ctx.bounds.loopRanges;

  // A split tail must not run past the region; a region computed for a consumer (compute_at)
  // must not run past the tensor's own domain, or it would read its inputs out of bounds.
  // An axis split again by a factor that does not divide it must not run past its own extent
  // either, or its overhang would repeat iterations of the next outer one.
  // Elements past the domain whose reads all stay inside their buffers are computed
  // unguarded (no consumer reads them), which keeps a vectorized tail vectorized.
  const unsafe = axesReadingOutside(ctx, st, body, rootVal);
  const guard = (axes: readonly IterVar[]): Expr | null => {
    let cond: Expr | null = null;
    const need = (c: Expr) => { if (!canProve(c, leafRanges)) cond = cond ? and(cond, c) : c; };
    for (const a of axes) {
      const r = sb.root.get(a)!, off = sb.offset.get(a)!, value = add(r.min, off);
      need(lt(off, r.extent));
      if (unsafe.has(a)) [lt(value, add(a.dom.min, a.dom.extent)), ge(value, a.dom.min)].forEach(need);
    }
    for (const rel of st.relations) {
      if (rel.kind === "split" && !st.rootAxes.includes(rel.parent as IterVar) && axes.some((a) => a.kind === rel.parent.kind)) {
        need(lt(sb.offset.get(rel.parent)!, sb.extent.get(rel.parent)!));
      }
    }
    return cond;
  };
  const guarded = (cond: Expr | null, s: Stmt): Stmt => (cond ? { kind: "if", cond, then: s, else: null } : s);
  const toLoads = (e: Expr): Expr => translate(ctx, substitute(e, rootVal));

  let update: Stmt;
  let init: Stmt | null = null;
  if (body.kind === "reduce") {
    const cur: Expr = { kind: "load", buffer: buf, indices: index, dtype: buf.dtype };
    const src = toLoads(body.source);
    const combined = combine(body.combiner, cur, src);
    let s: Stmt = { kind: "store", buffer: buf, indices: index, value: combined };
    if (body.cond) s = { kind: "if", cond: toLoads(body.cond), then: s, else: null };
    update = guarded(guard(st.rootAxes), s);
    const initValue = body.init ? toLoads(body.init) : int(identityOf(body.combiner, body.dtype), body.dtype);
    init = guarded(guard(st.axis), { kind: "store", buffer: buf, indices: index, value: initValue });
  } else {
    update = guarded(guard(st.axis), { kind: "store", buffer: buf, indices: index, value: toLoads(body) });
  }

  const firstReduce = st.leaves.findIndex((l) => l.kind === "reduce");
  let nest = update;
  for (let k = st.leaves.length - 1; k >= 0; k--) {
    const leaf = st.leaves[k]!;
    const intrin = st.tensorized.get(leaf);
    if (intrin) nest = { kind: "attr", key: "tensorize", value: intrin.name, body: nest };
    nest = loop(st, leaf, sb.extent.get(leaf)!, withAttached(ctx, st, leaf, nest));
    if (k === firstReduce && init) {
      let initNest = init;
      for (const l of st.leaves.slice(firstReduce + 1).reverse()) {
        if (l.kind === "data") initNest = loop(st, l, sb.extent.get(l)!, initNest);
      }
      nest = seq(initNest, nest);
    }
  }
  return nest;
}

/**
 * The root axes of `st` whose values outside the tensor's domain could make a read leave
 * its buffer (or divide by an unknown integer): those need the domain guard.
 */
function axesReadingOutside(ctx: LowerCtx, st: Stage, body: Expr, rootVal: ReadonlyMap<Var, Expr>): Set<IterVar> {
  const unsafe = new Set<IterVar>();
  const ranges = ctx.bounds.loopRanges;
  visitExpr(body, (e) => {
    if (e.kind === "bin" && (e.op === "floordiv" || e.op === "floormod" || e.op === "truncdiv" || e.op === "truncmod") && e.b.kind !== "const") {
      st.rootAxes.forEach((a) => unsafe.add(a));
    }
    if (e.kind !== "access") return;
    const buf = ctx.buffers.get(e.tensor);
    const producer = ctx.s.stages.find((x) => x.tensor === e.tensor);
    const region = producer?.op ? ctx.bounds.stages.get(producer)?.root : undefined;
    e.indices.forEach((ix, d) => {
      const min = region?.get(producer!.axis[d]!)?.min ?? int(0);
      const j = simplify(sub(substitute(ix, rootVal), min), ranges);
      const inside = buf !== undefined && canProve(ge(j, 0), ranges) && canProve(lt(j, buf.shape[d]!), ranges);
      if (!inside) for (const a of st.rootAxes) if (usesVar(ix, (v) => v === a.var)) unsafe.add(a);
    });
  });
  return unsafe;
}

function loop(st: Stage, leaf: Axis, extent: Expr, body: Stmt): Stmt {
  const ann = st.annotations.get(leaf);
  let s: Stmt = {
    kind: "for", loopVar: leaf.var, min: int(0), extent: simplify(extent),
    forKind: ann?.forKind ?? "serial", ...(ann?.thread ? { thread: ann.thread } : {}), body,
  };
  for (const p of st.pragmas.get(leaf) ?? []) s = { kind: "attr", key: `pragma_${p.key}`, value: p.value, body: s };
  return s;
}

/** Wraps `inner` (the body of `st`'s loop `leaf`) with the stages computed at that loop. */
function withAttached(ctx: LowerCtx, st: Stage, leaf: Axis, inner: Stmt): Stmt {
  const attached = ctx.s.stages.filter((p) => p.attach.kind === "at" && p.attach.stage === st && p.attach.axis === leaf);
  if (attached.length === 0) return inner;
  let body = seq(...attached.map((p) => stageNest(ctx, p)), inner);
  for (const p of [...attached].reverse()) body = { kind: "allocate", buffer: ctx.buffers.get(p.tensor)!, body };
  return body;
}

/** Tensor reads become buffer loads, relative to the region the producer computed. */
function translate(ctx: LowerCtx, e: Expr): Expr {
  const go = (x: Expr): Expr => {
    if (x.kind !== "access") return mapChildren(x, go);
    const buf = ctx.buffers.get(x.tensor);
    if (!buf) throw new ScheduleError(`tensor ${x.tensor.name} is read but has no buffer (is it an argument?)`);
    const st = ctx.s.stages.find((s) => s.tensor === x.tensor)!;
    const sb = st.op ? ctx.bounds.stages.get(st) : undefined;
    const indices = x.indices.map((i, d) => {
      const j = go(i);
      const min = sb?.root.get(st.axis[d]!)?.min;
      return min && !isConst(min, 0) ? simplify({ kind: "bin", op: "sub", a: j, b: min, dtype: "i32" }) : j;
    });
    return { kind: "load", buffer: buf, indices, dtype: buf.dtype };
  };
  return go(e);
}

function combine(c: "sum" | "prod" | "max" | "min", acc: Expr, x: Expr): Expr {
  const v = x.dtype === acc.dtype ? x : castExpr(acc.dtype, x);
  const op = c === "sum" ? "add" : c === "prod" ? "mul" : c;
  return { kind: "bin", op, a: acc, b: v, dtype: acc.dtype };
}

