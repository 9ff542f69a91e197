/**
 * Schedule primitives that add stages: cache_read, cache_write and rfactor. Each builds a
 * new compute and rewires the readers, as TVM's te.Schedule does; the algorithm's values
 * never change.
 */
import type { Expr, Var } from "../te/expr.ts";
import { add, and, constInt, int, lt, mul, rewriteExpr, select, substitute } from "../te/expr.ts";
import type { ComputeOp, IterVar, Tensor } from "../te/tensor.ts";
import { compute, identityOf, reduceAxis } from "../te/tensor.ts";
import { ScheduleError } from "../../core/errors.ts";
import type { Scope } from "../te/buffer.ts";
import type { Axis } from "./axis.ts";
import type { Schedule } from "./schedule.ts";
import { Stage } from "./schedule.ts";

/** Rewrites `op`'s reads of `from` into reads of `to`, at indices permuted by `perm` (to's axis k is from's axis perm[k]). */
const replaceReads = (op: ComputeOp, from: Tensor, to: Tensor, perm: readonly number[] | null): ComputeOp => ({
  ...op,
  body: rewriteExpr(op.body, (e) => (e.kind === "access" && e.tensor === from
    ? { ...e, tensor: to, indices: perm ? perm.map((d) => e.indices[d]!) : e.indices }
    : e)),
});

/**
 * A copy of `t` in `scope` that `readers` read instead of `t` (e.g. a packed panel, shared
 * memory). With `perm`, the copy's axis k is t's axis perm[k] — a packed panel of an operand
 * read transposed keeps the loop's vectorized axis contiguous (TVM's packed layouts).
 */
export function cacheRead(s: Schedule, t: Tensor, scope: Scope, readers: readonly Tensor[], perm: readonly number[] | null = null): Tensor {
  const src = s.stage(t);
  if (readers.length === 0) throw new ScheduleError(`cache_read of ${t.name}: no readers given`);
  const rank = t.shape.length;
  if (perm && (perm.length !== rank || [...perm].sort((a, b) => a - b).some((d, k) => d !== k))) {
    throw new ScheduleError(`cache_read of ${t.name}: [${perm.join(", ")}] is not a permutation of its ${rank} axes`);
  }
  const inv = perm ? perm.map((_, d) => perm.indexOf(d)) : null;
  const cache = perm
    ? compute(perm.map((d) => t.shape[d]!), (...ix) => t.at(...inv!.map((k) => ix[k]!)), `${t.name}.${scope}`)
    : compute(t.shape, (...ix) => t.at(...ix), `${t.name}.${scope}`);
  for (const r of readers) {
    const rs = s.stage(r);
    if (!rs.op || !s.consumersOf(src).includes(rs)) throw new ScheduleError(`cache_read of ${t.name}: ${r.name} does not read it`);
    rs.op = replaceReads(rs.op, t, cache, perm);
  }
  const stage = new Stage(s, cache, cache.op as ComputeOp, false);
  stage.scope = scope;
  s.insertStage(stage, firstOf(s, readers.map((r) => s.stage(r))));
  return cache;
}

/** Computes `t` into a `scope` buffer first, then copies it out (e.g. register accumulators). */
export function cacheWrite(s: Schedule, t: Tensor, scope: Scope): Tensor {
  const st = s.stage(t);
  if (!st.op) throw new ScheduleError(`cache_write of ${t.name}: it is a placeholder`);
  const fresh = st.relations.length === 0 && st.annotations.size === 0 && st.leaves.every((l, k) => l === st.rootAxes[k]);
  if (!fresh) {
    throw new ScheduleError(`cache_write of ${t.name}: apply it before splitting, reordering or annotating stage ${t.name}`);
  }
  const op = st.op;
  const local = compute(t.shape, (...vs) => substitute(op.body, new Map(op.axes.map((a, k) => [a.var, vs[k]!]))),
    `${t.name}.${scope}`, { axisNames: op.axes.map((a) => a.var.name) });
  st.op = { ...op, body: local.at(...op.axes.map((a) => a.var)) };
  st.leaves = [...op.axes];
  const stage = new Stage(s, local, local.op as ComputeOp, false);
  stage.scope = scope;
  s.insertStage(stage, st);
  return local;
}

/**
 * Turns the reduce axis `axis` of `t` (an unsplit reduce axis, or either side of one
 * split of it) into a data axis of a new tensor `t.rf`; `t` then reduces `t.rf` over it.
 * Stage `t` keeps its data axes; its loop structure is reset.
 */
export function rfactor(s: Schedule, t: Tensor, axis: Axis, factorIndex = 0): Tensor {
  const st = s.stage(t);
  const op = st.op;
  if (!op || op.body.kind !== "reduce") throw new ScheduleError(`rfactor of ${t.name}: it is not a reduction`);
  const body = op.body;
  if (axis.kind !== "reduce" || !st.leaves.includes(axis)) {
    throw new ScheduleError(`rfactor of ${t.name}: ${axis.var.name} is not a reduce loop of the stage`);
  }
  if (factorIndex < 0 || factorIndex > op.axes.length) throw new ScheduleError(`rfactor of ${t.name}: factor index ${factorIndex} out of range`);

  // Express the root reduce variable that `axis` comes from in the new axes.
  const split = st.relations.find((r) => r.kind === "split" && (r.inner === axis || r.outer === axis));
  const root = split && split.kind === "split" ? split.parent : axis;
  const rootIv = body.axes.find((a) => a === root);
  if (!rootIv) throw new ScheduleError(`rfactor of ${t.name}: ${axis.var.name} must be a reduce axis or one side of a single split of one`);
  const extent = constInt(rootIv.dom.extent);
  const others = body.axes.filter((a) => a !== rootIv);
  let dataExtent: number | Expr, rootValue: (dv: Var, rv: Var | null) => Expr, guard: ((dv: Var, rv: Var | null) => Expr) | null = null;
  let newRv: IterVar | null = null;
  if (!split || split.kind !== "split") {
    dataExtent = rootIv.dom.extent;
    rootValue = (dv) => add(rootIv.dom.min, dv);
  } else {
    if (extent === null) throw new ScheduleError(`rfactor of ${t.name}: the split reduce axis ${root.var.name} needs a constant extent`);
    const f = split.factor ?? Math.ceil(extent / split.nparts!);
    const nOuter = Math.ceil(extent / f);
    const inner = axis === split.inner;
    dataExtent = inner ? f : nOuter;
    newRv = reduceAxis(inner ? nOuter : f, inner ? `${root.var.name}.o` : `${root.var.name}.i`);
    rootValue = (dv, r) => (inner ? add(rootIv.dom.min, add(mul(r!, f), dv)) : add(rootIv.dom.min, add(mul(dv, f), r!)));
    if (extent % f !== 0) guard = (dv, r) => lt(inner ? add(mul(r!, f), dv) : add(mul(dv, f), r!), extent);
  }
  const remaining = newRv ? [newRv, ...others] : others;

  const shape = [...t.shape];
  shape.splice(factorIndex, 0, typeof dataExtent === "number" ? int(dataExtent) : dataExtent);
  const names = op.axes.map((a) => a.var.name);
  names.splice(factorIndex, 0, `${axis.var.name}.rf`);
  const rf = compute(shape, (...vs) => {
    const dv = vs[factorIndex]!;
    const outer = vs.filter((_, k) => k !== factorIndex);
    const rv = newRv?.var ?? null;
    const map = new Map<Var, Expr>(op.axes.map((a, k) => [a.var, outer[k]!]));
    map.set(rootIv.var, rootValue(dv, rv));
    const src = substitute(body.source, map);
    let cond = body.cond && substitute(body.cond, map);
    // The bounds guard first: C++ evaluates && left to right, and cond may read at the index.
    if (guard) cond = cond ? and(guard(dv, rv), cond) : guard(dv, rv);
    if (remaining.length === 0) return cond ? select(cond, src, identityOf(body.combiner, body.dtype)) : src;
    return { kind: "reduce", combiner: body.combiner, source: src, axes: remaining, init: null, cond, dtype: body.dtype };
  }, `${t.name}.rf`, { axisNames: names });

  const r = reduceAxis(dataExtent, `${axis.var.name}.r`);
  const idx: Expr[] = op.axes.map((a) => a.var);
  idx.splice(factorIndex, 0, r.var);
  st.op = { ...op, body: { ...body, source: rf.at(...idx), axes: [r], cond: null } };
  st.leaves = [...op.axes, r];
  st.relations = [];
  st.annotations.clear();
  st.pragmas.clear();
  st.tensorized.clear();
  s.insertStage(new Stage(s, rf, rf.op as ComputeOp, false), st);
  return rf;
}

function firstOf(s: Schedule, stages: readonly Stage[]): Stage {
  return stages.reduce((a, b) => (s.stages.indexOf(a) <= s.stages.indexOf(b) ? a : b));
}

