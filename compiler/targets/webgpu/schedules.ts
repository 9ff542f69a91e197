/**
 * Default GPU schedules for a fused group (or a single op), by stage kind:
 *
 * - matmul-like anchors (one reduce axis, ≥ 2 data axes): a block tile of
 *   (ty·ry)×(tx·rx) outputs per workgroup, ry×rx per thread accumulated in registers
 *   (cache_write "local"), both operands staged through shared memory one bk-deep slice at
 *   a time (cache_read "shared", filled cooperatively by all threads; barriers come from
 *   the thread-sync pass); batch axes on blockIdx.z.
 * - other reductions and materialized stages: computed inside the output's thread loop, so
 *   each thread keeps them in registers. When a reduction has fewer axes than its output
 *   (softmax, normalization), a thread computes a whole row (the last axis serial), so the
 *   reduction is done once per row rather than once per element.
 * - elementwise/injective outputs: one thread per element (per vector of `vector` lanes
 *   when the last axis divides), `threads` per workgroup.
 *
 * Every other stage is inlined. A group that cannot run as one kernel (an output reading
 * another output, which would need a grid-wide barrier) raises ScheduleError; the graph
 * compiler then splits it into one kernel per op.
 */
import { ScheduleError } from "../../../core/errors.ts";
import type { Tensor } from "../../te/tensor.ts";
import { MATERIALIZE } from "../../te/tensor.ts";
import { usesVar, visitExpr } from "../../te/expr.ts";
import type { Axis } from "../../schedule/axis.ts";
import { cacheRead, cacheWrite } from "../../schedule/cache.ts";
import type { Schedule, Stage } from "../../schedule/schedule.ts";

/** The knobs of the GPU schedules (the tuner's config space is over these). */
export interface GpuScheduleConfig {
  /** Threads per workgroup for elementwise and reduction kernels. */
  readonly threads: number;
  /** Vector width of elementwise stores (1 or 4). */
  readonly vector: number;
  /** Matmul: threads per workgroup in y and x, outputs per thread in y and x, reduce slice depth. */
  readonly ty: number;
  readonly tx: number;
  readonly ry: number;
  readonly rx: number;
  readonly bk: number;
  /** Matmul: unroll the register tile's loops. */
  readonly unroll: boolean;
}

export const DEFAULT_GPU_CONFIG: GpuScheduleConfig = { threads: 256, vector: 4, ty: 16, tx: 16, ry: 4, rx: 4, bk: 16, unroll: true };

/** Workgroups per grid dimension a schedule may use (WebGPU's guaranteed minimum is 65535). */
const MAX_GRID = 65535;

const pow2Below = (n: number): number => 2 ** Math.floor(Math.log2(Math.max(1, n)));

export function gpuDefaultSchedule(
  s: Schedule, outputs: readonly Tensor[], gemmAnchor: Tensor | null, cfg: GpuScheduleConfig = DEFAULT_GPU_CONFIG,
): void {
  for (const st of s.stages) {
    if (st.op && !st.isOutput && st.op.body.kind !== "reduce" && st.op.tag !== MATERIALIZE) st.computeInline();
  }
  const outStages = outputs.map((t) => s.stage(t));
  // Outputs are separate root loop nests of one kernel: none may read another.
  for (const o of outStages) {
    for (const p of outStages) {
      if (o !== p && s.dependsOn(o, p)) throw new ScheduleError(`output ${o.name} reads output ${p.name}: one GPU kernel cannot wait for another workgroup's results`);
    }
  }
  const done = new Set<Stage>();
  if (gemmAnchor) {
    const out = outStages.find((o) => o.tensor === gemmAnchor || s.dependsOn(o, s.stage(gemmAnchor)));
    if (out && gemmGpu(s, s.stage(gemmAnchor), out, cfg)) done.add(out);
  }
  for (const o of outStages) {
    if (done.has(o)) continue;
    if (convGpu(s, o, outStages, cfg)) continue;
    const inner = internalStages(s, o, outStages);
    const rowwise = o.axis.length >= 2 && inner.some((st) => st.axis.length < o.axis.length);
    const thread = o.axis.length === 0 ? null : rowwise ? bindRows(o, cfg) : bindElements(o, cfg, inner.length === 0 && o.op!.body.kind !== "reduce");
    // Inside an output's reduction, a stage read at the reduce index is computed per
    // iteration (one element); otherwise once per thread, before the loops.
    const perIteration = o.op!.body.kind === "reduce" && readsAtReduceIndex(o, inner);
    const at = perIteration || thread === null ? o.leaves.at(-1) ?? null : thread;
    // Each thread keeps what it computes for its own outputs in registers (a scalar output
    // without loops runs on one thread, its producers at the kernel's top level).
    for (const st of inner) { if (at) st.computeAt(o, at); st.scope = "local"; }
  }
}

/** The non-inlined stages an output needs that no other output needs: computed in its thread loop. */
function internalStages(s: Schedule, o: Stage, outs: readonly Stage[]): Stage[] {
  const inner = s.stages.filter((st) => st.op && !st.isOutput && st.attach.kind === "root" && s.dependsOn(o, st));
  for (const st of inner) {
    const other = outs.find((p) => p !== o && s.dependsOn(p, st));
    if (other) throw new ScheduleError(`stage ${st.name} is read by outputs ${o.name} and ${other.name}; on a GPU each would need its own copy`);
  }
  return inner;
}

/** Whether `o`'s body reads one of `stages` at an index that uses one of its reduce axes. */
function readsAtReduceIndex(o: Stage, stages: readonly Stage[]): boolean {
  const tensors = new Set(stages.map((st) => st.tensor));
  const reduceVars = new Set(o.reduceAxis.map((a) => a.var));
  let found = false;
  visitExpr(o.op!.body, (e) => {
    if (e.kind === "access" && tensors.has(e.tensor) && e.indices.some((ix) => usesVar(ix, (v) => reduceVars.has(v)))) found = true;
  });
  return found;
}

/** Splits a fused loop of `threads` iterations per workgroup and binds it; returns the thread axis. */
function bindFused(st: Stage, fused: Axis, threads: number): Axis {
  const ext = st.constExtent(fused);
  const t = ext === null ? threads : Math.min(threads, pow2Below(ext));
  const [bo, ti] = st.split(fused, { factor: t });
  const blocks = st.constExtent(bo);
  // A symbolic count (a batch dimension) is evaluated at dispatch; the device rejects a
  // grid over its limit with a clear error.
  if (blocks !== null && blocks > MAX_GRID) {
    // Too many workgroups: a fixed grid, each workgroup looping over a share.
    const [bx, bi] = st.split(bo, { nparts: 4096 });
    st.reorder(bx, bi, ti);
    st.bind(bx, "blockIdx.x");
  } else {
    st.bind(bo, "blockIdx.x");
  }
  st.bind(ti, "threadIdx.x");
  return ti;
}

function fuseAll(st: Stage, axes: readonly Axis[]): Axis {
  return axes.slice(1).reduce((acc, a) => st.fuse(acc, a), axes[0]!);
}

/** One thread per output element (or per vector of them); the reduce loops, if any, run inside. */
function bindElements(st: Stage, cfg: GpuScheduleConfig, vectorize: boolean): Axis {
  const axes: Axis[] = [...st.axis];
  const last = axes.at(-1)!;
  const n = st.constExtent(last);
  let vec: Axis | null = null;
  if (vectorize && cfg.vector > 1 && n !== null && n >= cfg.vector && n % cfg.vector === 0) {
    const [lo, li] = st.split(last, { factor: cfg.vector });
    axes[axes.length - 1] = lo;
    vec = li;
  }
  const t = bindFused(st, fuseAll(st, axes), cfg.threads);
  if (vec) st.vectorize(vec);
  return t;
}

/** One thread per row (all axes but the last); the last axis runs serially in the thread. */
function bindRows(st: Stage, cfg: GpuScheduleConfig): Axis {
  const rows = st.axis.slice(0, -1);
  return bindFused(st, fuseAll(st, rows), Math.min(cfg.threads, 64));
}

/**
 * The shared-memory tiled matmul. `anchor` is the reduction; `out` the output that reads it
 * (the anchor itself, or its elementwise epilogue). Returns false when the anchor is not
 * matmul-like (then the generic schedules apply).
 */
function gemmGpu(s: Schedule, anchor: Stage, out: Stage, cfg: GpuScheduleConfig): boolean {
  if (anchor.reduceAxis.length !== 1 || anchor.axis.length < 2 || out.axis.length !== anchor.axis.length) return false;
  const colVar = anchor.axis.at(-1)!.var, rowVar = anchor.axis.at(-2)!.var;
  // Matmul-like: some operand is indexed by the row axis, another by the column axis.
  const reads = new Set<Tensor>();
  visitExpr(anchor.op!.body, (e) => { if (e.kind === "access") reads.add(e.tensor); });
  let byRow = false, byCol = false;
  visitExpr(anchor.op!.body, (e) => {
    if (e.kind !== "access") return;
    if (e.indices.some((ix) => usesVar(ix, (v) => v === rowVar))) byRow = true;
    if (e.indices.some((ix) => usesVar(ix, (v) => v === colVar))) byCol = true;
  });
  if (!byRow || !byCol) return false;

  let local: Stage;
  if (out === anchor) {
    local = s.stage(cacheWrite(s, anchor.tensor, "local"));
  } else {
    // The epilogue's stage writes the output; the product's accumulators live in each
    // thread's registers (computed at the thread's tile below), not in a global buffer.
    local = anchor;
    local.scope = "local";
  }
  const operands = [...reads].map((t) => s.stage(cacheRead(s, t, "shared", [local.tensor])));

  const M = out.constExtent(out.axis.at(-2)!), N = out.constExtent(out.axis.at(-1)!);
  const fit = (ext: number | null, t: number, r: number): [number, number] => {
    if (ext === null || ext >= t * r) return [t, r];
    const rr = Math.min(r, pow2Below(Math.max(1, Math.floor(ext / 8))));
    return [Math.min(t, pow2Below(Math.floor(ext / rr))), rr];
  };
  const [ty, ry] = fit(M, cfg.ty, cfg.ry), [tx, rx] = fit(N, cfg.tx, cfg.rx);
  const [io, ii] = out.split(out.axis.at(-2)!, { factor: ty * ry });
  const [jo, ji] = out.split(out.axis.at(-1)!, { factor: tx * rx });
  const [ti, ri] = out.split(ii, { factor: ry });
  const [tj, rj] = out.split(ji, { factor: rx });
  const batch = out.axis.slice(0, -2);
  out.reorder(...batch, io, jo, ti, tj, ri, rj);
  if (batch.length > 0) out.bind(fuseAll(out, batch), "blockIdx.z");
  out.bind(io, "blockIdx.y");
  out.bind(jo, "blockIdx.x");
  out.bind(ti, "threadIdx.y");
  out.bind(tj, "threadIdx.x");
  if (cfg.unroll) { out.unroll(ri); out.unroll(rj); }

  local.computeAt(out, tj);
  const K = local.constExtent(local.reduceAxis[0]!);
  const bk = K === null ? cfg.bk : Math.min(cfg.bk, K);
  const [ko, ki] = local.split(local.reduceAxis[0]!, { factor: bk });
  const [li, lj] = local.axis.slice(-2) as unknown as [Axis, Axis];
  local.reorder(ko, ki, ...local.axis.slice(0, -2), li, lj);
  if (cfg.unroll) { local.unroll(li); local.unroll(lj); }

  for (const op of operands) {
    op.computeAt(local, ko);
    // All threads copy the tile together: fuse its axes, spread over ty×tx threads.
    const f = fuseAll(op, op.axis);
    const ext = op.constExtent(f) ?? ty * tx;
    const [, fi] = op.split(f, { factor: Math.min(ty * tx, ext) });
    if (Math.min(ty * tx, ext) >= tx) {
      const [fy, fx] = op.split(fi, { factor: tx });
      op.bind(fy, "threadIdx.y");
      op.bind(fx, "threadIdx.x");
    } else {
      // A tiny operand: one row of threads copies it (the others write the same values).
      op.bind(fi, "threadIdx.x");
    }
  }
  return true;
}

/** Output channels per thread in the convolution schedule (register tile). */
const CONV_CHANNELS = 4;

/**
 * Convolution-like stages (a reduction over ≥ 2 axes producing ≥ 3 data axes, e.g. NCHW
 * conv2d, depthwise included): one thread per output pixel and CONV_CHANNELS output
 * channels, accumulated in registers (cache_write "local" for a bare reduction), the
 * channel loop innermost and unrolled so each input element loaded is used for every
 * channel of the tile. Returns false when `o` is not such a stage or its epilogue.
 */
function convGpu(s: Schedule, o: Stage, outs: readonly Stage[], cfg: GpuScheduleConfig): boolean {
  const isConv = (st: Stage) => st.op!.body.kind === "reduce" && st.reduceAxis.length >= 2 && st.axis.length >= 3;
  let red: Stage | undefined;
  if (isConv(o)) red = o;
  else {
    const inner = s.stages.filter((st) => st.op && !st.isOutput && st.attach.kind === "root" && s.dependsOn(o, st));
    if (inner.length !== 1 || !isConv(inner[0]!) || inner[0]!.axis.length !== o.axis.length) return false;
    if (outs.some((p) => p !== o && s.dependsOn(p, inner[0]!))) return false;
    red = inner[0];
  }
  if (!red || o.axis.length !== red.axis.length) return false;
  const local = red === o ? s.stage(cacheWrite(s, o.tensor, "local")) : red;
  const channels = o.constExtent(o.axis[1]!);
  const tile = channels === null ? CONV_CHANNELS : Math.min(CONV_CHANNELS, channels);
  const [co, ci] = o.split(o.axis[1]!, { factor: tile });
  const rest = o.axis.filter((_, k) => k !== 1);
  o.reorder(rest[0]!, co, ...rest.slice(1), ci);
  const t = bindFused(o, fuseAll(o, [rest[0]!, co, ...rest.slice(1)]), Math.min(cfg.threads, 64));
  o.unroll(ci);
  local.computeAt(o, t);
  local.scope = "local";
  local.reorder(...local.reduceAxis, ...local.axis);
  local.unroll(local.axis[1]!);
  return true;
}
