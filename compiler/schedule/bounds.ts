/**
 * Bounds inference: for every stage, the range of each root axis it must compute, the
 * extent of every loop, and the value of each root axis in terms of the loop variables.
 * A stage computed at another stage's loop computes only the region its consumers read
 * inside that loop (TVM's InferBound, on interval sets).
 */
import type { Expr, Var } from "../te/expr.ts";
import { add, floordiv, floormod, int, mul, sub, substitute, visitExpr, constInt } from "../te/expr.ts";
import type { Range, Tensor } from "../te/tensor.ts";
import { ScheduleError } from "../../core/errors.ts";
import { constIntervalOf, intervalOf, simplify } from "../arith/index.ts";
import type { Axis } from "./axis.ts";
import type { Schedule, Stage } from "./schedule.ts";

export interface StageBounds {
  /** Region computed per root axis; `min` may refer to enclosing loop variables. */
  readonly root: ReadonlyMap<Axis, Range>;
  /** Extent of every axis (root, derived, leaf). Loops run from 0 to this extent. */
  readonly extent: ReadonlyMap<Axis, Expr>;
  /**
   * Offset of every axis in terms of the stage's leaf variables: for a root axis, from its
   * region's min; for a derived one, from 0.
   */
  readonly offset: ReadonlyMap<Axis, Expr>;
}

export interface Bounds {
  readonly stages: ReadonlyMap<Stage, StageBounds>;
  /** Every loop variable's range [0, extent), for interval analysis. */
  readonly loopRanges: Map<Var, { min: Expr; extent: Expr }>;
}

const ceilDiv = (a: Expr, b: number): Expr => simplify(floordiv(add(a, b - 1), b));

/** Extents of derived axes from the root extents, following split/fuse forwards. */
function deriveExtents(stage: Stage, root: ReadonlyMap<Axis, Range>): Map<Axis, Expr> {
  const ext = new Map<Axis, Expr>();
  for (const [a, r] of root) ext.set(a, r.extent);
  for (const r of stage.relations) {
    if (r.kind === "split") {
      const p = ext.get(r.parent)!;
      if (r.factor !== null) {
        ext.set(r.outer, ceilDiv(p, r.factor));
        ext.set(r.inner, int(r.factor));
      } else {
        ext.set(r.outer, int(r.nparts!));
        ext.set(r.inner, ceilDiv(p, r.nparts!));
      }
    } else {
      ext.set(r.fused, simplify(mul(ext.get(r.outer)!, ext.get(r.inner)!)));
    }
  }
  return ext;
}

/** Offsets of all axes in terms of leaf variables, following split/fuse backwards. */
function deriveOffsets(stage: Stage, ext: ReadonlyMap<Axis, Expr>): Map<Axis, Expr> {
  const val = new Map<Axis, Expr>();
  for (const l of stage.leaves) val.set(l, l.var);
  for (const r of [...stage.relations].reverse()) {
    if (r.kind === "split") {
      const f = r.factor !== null ? int(r.factor) : ext.get(r.inner)!;
      val.set(r.parent, add(mul(val.get(r.outer)!, f), val.get(r.inner)!));
    } else {
      const f = val.get(r.fused)!, n = ext.get(r.inner)!;
      val.set(r.outer, floordiv(f, n));
      val.set(r.inner, floormod(f, n));
    }
  }
  return val;
}

/** The loops enclosing the point where `stage` is computed: its attach loop and everything outside it. */
export function enclosingLoops(stage: Stage): Var[] {
  const vars: Var[] = [];
  for (let a = stage.attach; a.kind === "at"; a = (a.stage as Stage).attach) {
    const parent = a.stage as Stage;
    vars.push(...parent.leaves.slice(0, parent.leaves.indexOf(a.axis) + 1).map((l) => l.var));
  }
  return vars;
}

/** The enclosing loops of `stage` (as in enclosingLoops) that are bound to a threadIdx axis. */
function threadBoundLoops(stage: Stage): Var[] {
  const vars: Var[] = [];
  for (let a = stage.attach; a.kind === "at"; a = (a.stage as Stage).attach) {
    const parent = a.stage as Stage;
    for (const l of parent.leaves.slice(0, parent.leaves.indexOf(a.axis) + 1)) {
      if (parent.annotations.get(l)?.thread?.startsWith("threadIdx")) vars.push(l.var);
    }
  }
  return vars;
}

/**
 * `bodies` are the stages' compute bodies with inlined stages substituted; `inlined`
 * are skipped. Stages are processed consumers first.
 */
export function inferBounds(s: Schedule, bodies: ReadonlyMap<Stage, Expr>): Bounds {
  const result = new Map<Stage, StageBounds>();
  const loopRanges = new Map<Var, { min: Expr; extent: Expr }>();
  const computed = s.stages.filter((st) => st.op && st.attach.kind !== "inline");

  for (const stage of [...computed].reverse()) {
    const root = new Map<Axis, Range>();
    for (const r of stage.reduceAxis) root.set(r, r.dom);
    if (stage.attach.kind === "at") {
      const region = consumedRegion(s, stage, bodies, result, loopRanges);
      stage.axis.forEach((a, d) => root.set(a, region[d]!));
    } else {
      for (const a of stage.axis) root.set(a, a.dom);
    }
    const extent = deriveExtents(stage, root);
    const offset = deriveOffsets(stage, extent);
    for (const l of stage.leaves) loopRanges.set(l.var, { min: int(0), extent: extent.get(l)! });
    result.set(stage, { root, extent, offset });
  }
  return { stages: result, loopRanges };
}

/** The region of `stage`'s tensor read by its consumers, inside the loop it is computed at. */
function consumedRegion(
  s: Schedule, stage: Stage, bodies: ReadonlyMap<Stage, Expr>,
  done: ReadonlyMap<Stage, StageBounds>, loopRanges: ReadonlyMap<Var, { min: Expr; extent: Expr }>,
): Range[] {
  const attach = stage.attach as Extract<Stage["attach"], { kind: "at" }>;
  const parent = attach.stage as Stage;
  const fixed = new Set(enclosingLoops(stage));
  // Shared memory is filled by all threads of a block together: its region is the one the
  // whole block reads, so loops bound to threadIdx are relaxed, not fixed (TVM's rule).
  if (stage.scope === "shared") for (const v of threadBoundLoops(stage)) fixed.delete(v);
  const relax = new Map([...loopRanges].filter(([v]) => !fixed.has(v)));
  const t = stage.tensor;
  const mins: (Expr | null)[] = t.shape.map(() => null), maxs: (Expr | null)[] = t.shape.map(() => null);

  for (const q of s.stages) {
    const body = bodies.get(q);
    if (!body) continue;
    const accesses = accessesOf(body, t);
    if (accesses.length === 0) continue;
    if (q !== parent && !s.isAttachedInside(q, parent)) {
      throw new ScheduleError(`stage ${stage.name} is computed at ${parent.name}, but its consumer ${q.name} runs outside that loop nest`);
    }
    const qLoops = new Set([...enclosingLoops(q), ...(q === parent ? q.leaves.map((l) => l.var) : [])]);
    if (![...fixed].every((v) => qLoops.has(v))) {
      throw new ScheduleError(`stage ${stage.name} is computed at ${parent.name}'s loop ${attach.axis.var.name}, deeper than where its consumer ${q.name} is computed: compute it at ${q.name} or at an outer loop`);
    }
    const qb = done.get(q)!;
    const rootValue = new Map<Var, Expr>(q.rootAxes.map((a) => [a.var, add(qb.root.get(a)!.min, qb.offset.get(a)!)]));
    for (const idx of accesses) {
      idx.forEach((e, d) => {
        const iv = intervalOf(substitute(e, rootValue), relax);
        if (iv.min === null || iv.max === null) {
          throw new ScheduleError(`stage ${stage.name}: cannot bound the region of ${t.name} read by ${q.name} in dimension ${d}`);
        }
        mins[d] = mins[d] === null ? iv.min : simplify({ kind: "bin", op: "min", a: mins[d]!, b: iv.min, dtype: "i32" });
        maxs[d] = maxs[d] === null ? iv.max : simplify({ kind: "bin", op: "max", a: maxs[d]!, b: iv.max, dtype: "i32" });
      });
    }
  }
  return t.shape.map((dim, d) => {
    if (mins[d] === null) throw new ScheduleError(`stage ${stage.name} is computed at ${parent.name}, which does not read it`);
    // Clamp to the tensor's domain when that keeps the extent a known quantity.
    const lo = simplify({ kind: "bin", op: "max", a: mins[d]!, b: int(0), dtype: "i32" });
    const hi = simplify({ kind: "bin", op: "min", a: maxs[d]!, b: sub(dim, 1), dtype: "i32" });
    const clamped = simplify(add(sub(hi, lo), 1));
    if (isLoopFree(clamped, relax) && constInt(clamped) !== null) return { min: lo, extent: clamped };
    const extent = simplify(add(sub(maxs[d]!, mins[d]!), 1));
    if (isLoopFree(extent, loopRanges)) return { min: mins[d]!, extent };
    // A size that varies between iterations (e.g. a fused-then-split loop that does not
    // align with rows): compute the largest one every time, from the same min.
    const bound = constIntervalOf(extent, loopRanges);
    if (bound === null) {
      throw new ScheduleError(`stage ${stage.name}: the region of ${t.name} in dimension ${d} has a size that depends on loop variables and has no constant bound`);
    }
    return { min: mins[d]!, extent: int(bound.max) };
  });
}

const isLoopFree = (e: Expr, loops: ReadonlyMap<Var, unknown>): boolean => {
  let free = true;
  visitExpr(e, (x) => { if (x.kind === "var" && loops.has(x)) free = false; });
  return free;
};

function accessesOf(body: Expr, t: Tensor): (readonly Expr[])[] {
  const out: (readonly Expr[])[] = [];
  visitExpr(body, (e) => { if (e.kind === "access" && e.tensor === t) out.push(e.indices); });
  return out;
}
