/**
 * The default cpu schedule of a fused group, by stage kind: elementwise and injective
 * intermediates are inlined; a reduction (the anchor) is computed per row of the output
 * that consumes it; every computed stage vectorizes its innermost data axis (with the
 * reduce loops moved outside it) and the outermost loop of each root stage runs in
 * parallel. No stage is left as a naive loop nest.
 */
import { bytesOf } from "../../../../core/dtype.ts";
import type { DType } from "../../../../core/dtype.ts";
import type { Tensor } from "../../../te/tensor.ts";
import { MATERIALIZE } from "../../../te/tensor.ts";
import type { Schedule, Stage } from "../../../schedule/schedule.ts";
import type { Axis } from "../../../schedule/axis.ts";
import { cacheRead, cacheWrite } from "../../../schedule/cache.ts";
import { usesVar, visitExpr } from "../../../te/expr.ts";
import { exprEqual } from "../../../arith/key.ts";
import { vectorRegisters } from "../host.ts";

const pow2Below = (n: number): number => 2 ** Math.floor(Math.log2(n));

/** The vector width for an axis: one that divides the extent (no scalar tail) when one ≥ 4 does. */
function lanesFor(st: Stage, vectorBytes: number): number {
  const inner = st.axis.at(-1);
  const ext = inner ? st.constExtent(inner) : null;
  if (ext === null || ext < 4) return 1;
  const widest = Math.min(pow2Below(vectorBytes / bytesOf(st.tensor.dtype)) * 2, pow2Below(ext));
  let lanes = widest;
  while (lanes > 4 && ext % lanes !== 0) lanes /= 2;
  return ext % lanes === 0 ? lanes : widest;
}

/**
 * The constants d that the body divides the innermost axis by (floordiv/floormod of an
 * expression of it), largest first, each dividing the one before and the extent: a flattened
 * index such as im2col's column n·OH·OW + oh·OW + ow gives [OH·OW, OW]. Splitting the axis by
 * each in turn lets the simplifier resolve those divisions at compile time instead of per
 * element, and leaves an innermost loop over ow whose reads are strided, not gathered.
 */
function rowWidths(st: Stage): number[] {
  const inner = st.axis.at(-1);
  const ext = inner ? st.constExtent(inner) : null;
  if (!inner || ext === null || !st.op) return [];
  const found = new Set<number>();
  visitExpr(st.op.body, (e) => {
    if (e.kind !== "bin" || (e.op !== "floordiv" && e.op !== "floormod") || e.b.kind !== "const") return;
    const d = e.b.value;
    if (Number.isInteger(d) && d > 1 && d < ext && ext % d === 0 && usesVar(e.a, (v) => v === inner.var)) found.add(d);
  });
  const chain: number[] = [];
  for (const d of [...found].sort((a, b) => b - a)) if ((chain.at(-1) ?? ext) % d === 0) chain.push(d);
  return chain;
}

function vectorizeInner(st: Stage, vectorBytes: number): void {
  const rows = st.op?.body.kind === "reduce" ? [] : rowWidths(st);
  if (rows.length > 0) {
    let ii: Axis = st.axis.at(-1)!;
    for (const d of rows) ii = st.split(ii, { factor: d })[1];
    const row = rows.at(-1)!;
    let lanes = Math.min(pow2Below(vectorBytes / bytesOf(st.tensor.dtype)), pow2Below(row));
    while (lanes >= 4 && row % lanes !== 0) lanes /= 2;
    if (lanes >= 4) st.vectorize(st.split(ii, { factor: lanes })[1]);
    return;
  }
  const lanes = lanesFor(st, vectorBytes);
  if (lanes < 2) return;
  const [io, ii] = st.split(st.axis.at(-1)!, { factor: lanes });
  st.reorder(io, ...st.reduceAxis, ii);
  st.vectorize(ii);
}

/**
 * A vectorized reduction accumulates in a local buffer computed per vector of outputs
 * (cache_write), so the accumulator stays in a register across the reduce loops instead
 * of making a round trip through memory every iteration.
 */
function vectorizeReduction(s: Schedule, st: Stage, vectorBytes: number): void {
  const lanes = lanesFor(st, vectorBytes);
  const W = st.axis.length > 0 ? st.constExtent(st.axis.at(-1)!) : null;
  if (lanes < 2 || W === null || st.relations.length > 0) return vectorizeInner(st, vectorBytes);
  // Several independent accumulators (up to MAX_ACC vectors: rows × column vectors), so the
  // FMA latency of one accumulator chain does not bound the loop.
  const perRow = Math.ceil(W / lanes);
  const H = st.axis.length >= 2 ? st.constExtent(st.axis.at(-2)!) : null;
  let rows = 1;
  if (H !== null && perRow <= MAX_ACC) for (let r = Math.floor(MAX_ACC / perRow); r >= 1; r--) if (H % r === 0) { rows = r; break; }
  const cols = perRow <= MAX_ACC && W % lanes === 0 ? W : lanes;
  const local = s.stage(cacheWrite(s, st.tensor, "local"));
  const [wo, wi] = st.split(st.axis.at(-1)!, { factor: cols });
  let at = wo;
  if (rows > 1) {
    const [ho, hi] = st.split(st.axis.at(-2)!, { factor: rows });
    st.reorder(ho, wo, hi, wi);
    at = wo;
    st.unroll(hi);
  }
  const [, wvi] = st.split(wi, { factor: lanes });
  st.vectorize(wvi);
  local.computeAt(st, at);
  const inner = local.axis.at(-1)!;
  const [lo, li] = local.split(inner, { factor: lanes });
  const rowAxes = rows > 1 ? [local.axis.at(-2)!] : [];
  local.reorder(...local.reduceAxis, ...rowAxes, lo, li);
  for (const r of rowAxes) local.unroll(r);
  local.unroll(lo);
  local.vectorize(li);
}

/** Vector accumulators a reduction keeps live at once (the register file holds 16–32). */
const MAX_ACC = 12;

/**
 * Register tiling for a matmul-like anchor (one reduce axis, ≥ 2 data axes), TVM's opt_gemm
 * recipe as in schedules/gemm.ts: mr×nr blocks of the output accumulate in the anchor's buffer
 * (the epilogue stage, or a cache_write copy, reads them out), the operand indexed by the
 * column axis is packed per column panel, rows unrolled and columns vectorized.
 */
export interface GemmTiling {
  /** Rows of the output per register block. */
  readonly mr: number;
  /** Columns per register block (vectorized). */
  readonly nr: number;
  /** Unroll factor of the reduction (1: not split). */
  readonly ku: number;
  /** Pack the operand read along the column axis per column panel (default true). */
  readonly pack?: boolean;
}

/**
 * The default register block for an m × n output (m null when symbolic): 6 rows, up to four
 * vectors of columns. Tails are fine here: loop partitioning separates them.
 */
export function defaultGemmTiling(m: number | null, n: number, vectorBytes: number, dtype: DType): GemmTiling {
  const lanes = pow2Below(vectorBytes / bytesOf(dtype));
  const mr = m === null ? 6 : Math.min(6, m);
  // The block's accumulators (6 rows × v vectors), its v column loads and one broadcast must
  // fit the register file: v = 4 of 32 AVX-512 registers, v = 2 of 16 AVX2 ones (a 6×4 block
  // of ymm vectors needs 24 accumulators and spilled: 0.4× OpenBLAS on a Zen 3 host).
  const regs = vectorRegisters(vectorBytes);
  const fits = (v: number) => 6 * v + v + 1 <= regs;
  const v = [4, 2, 1].find((k) => fits(k) && n >= k * lanes) ?? 1;
  return { mr, nr: Math.min(v * lanes, n), ku: 1 };
}

/** Whether gemmLike applies to this anchor and epilogue (the tuner builds its space only then). */
export function gemmLikeApplies(s: Schedule, anchorTensor: Tensor, outTensor: Tensor, vectorBytes: number): boolean {
  const anchor = s.stage(anchorTensor), out = s.stage(outTensor);
  if (anchor.reduceAxis.length !== 1 || anchor.axis.length < 2 || !sameIndexSpace(anchor, out)) return false;
  const n = anchor.constExtent(anchor.axis.at(-1)!);
  return n !== null && n >= pow2Below(vectorBytes / bytesOf(anchor.tensor.dtype));
}

/** Whether `out` loops over the same index space as `anchor` (an elementwise epilogue, or itself). */
export function sameIndexSpace(anchor: Stage, out: Stage): boolean {
  return out.axis.length === anchor.axis.length && !out.axis.some((a, k) => {
    const e = out.constExtent(a), f = anchor.constExtent(anchor.axis[k]!);
    return e !== f || (e === null && a.dom.extent !== anchor.axis[k]!.dom.extent);
  });
}

/** Fewer column panels than this run their row blocks in parallel instead (see gemmLike). */
const MIN_PARALLEL_PANELS = 4;

/** gemmLike with `tiles` (the tuner's knobs) instead of the default register block. */
export function gemmLike(s: Schedule, anchorTensor: Tensor, outTensor: Tensor, vectorBytes: number, tiles: GemmTiling | null = null): boolean {
  // The epilogue must be elementwise over the anchor's own index space.
  if (!gemmLikeApplies(s, anchorTensor, outTensor, vectorBytes)) return false;
  let anchor = s.stage(anchorTensor);
  let out = s.stage(outTensor);
  const n = anchor.constExtent(anchor.axis.at(-1)!)!;
  if (out === anchor) {
    const local = cacheWrite(s, anchorTensor, "local");
    anchor = s.stage(local);
    out = s.stage(anchorTensor);
  }
  const mExt = out.constExtent(out.axis.at(-2)!);
  const t = tiles ?? defaultGemmTiling(mExt, n, vectorBytes, anchor.tensor.dtype);
  const nr = Math.min(t.nr, n);
  const mr = mExt === null ? t.mr : Math.min(t.mr, mExt);
  const [io, jo, ii, ji] = out.tile(out.axis.at(-2)!, out.axis.at(-1)!, mr, nr);
  out.reorder(jo, io, ii, ji);
  out.vectorize(ji);
  anchor.computeAt(out, io);
  const [ai, aj] = anchor.axis.slice(-2);
  const k = anchor.reduceAxis[0]!;
  const K = anchor.constExtent(k);
  if (tiles && tiles.ku > 1 && K !== null && tiles.ku <= K) {
    const [ko, ki] = anchor.split(k, { factor: tiles.ku });
    anchor.reorder(ko, ki, ai!, aj!);
    anchor.unroll(ki);
  } else {
    anchor.reorder(k, ai!, aj!);
  }
  if (mr > 1) anchor.unroll(ai!);
  anchor.vectorize(aj!);
  // Pack each operand read along the column axis, one nr-wide panel per column tile; an
  // operand read transposed (matmul's transB: B[j, k]) is packed with the column axis last,
  // so the vectorized loop reads the panel contiguously instead of gathering.
  const body = anchor.op!.body;
  const packed = new Map<Tensor, Set<number>>();
  const column = anchor.axis.at(-1)!.var;
  visitExpr(body, (e) => {
    if (e.kind !== "access" || e.tensor.op.kind !== "placeholder") return;
    const at = e.indices.flatMap((ix, d) => (usesVar(ix, (v) => v === column) ? [d] : []));
    if (at.length === 0) return;
    const seen = packed.get(e.tensor) ?? new Set<number>();
    for (const d of at) seen.add(d);
    if (at.length > 1) seen.add(-1); // the column in two axes: no single layout makes it contiguous
    packed.set(e.tensor, seen);
  });
  if (t.pack !== false) {
    packTransposedRows(s, anchor, vectorBytes, packed);
    for (const [p, axes] of packed) {
      const d = axes.size === 1 ? [...axes][0]! : -1, rank = p.shape.length;
      const perm = d >= 0 && d < rank - 1 ? [...Array.from({ length: rank }, (_, k) => k).filter((k) => k !== d), d] : null;
      s.stage(cacheRead(s, p, "global", [anchor.tensor], perm)).computeAt(out, jo);
    }
  }
  // Threads split the column panels, or, when there are too few panels to share evenly (a
  // narrow output: ResNet's 7×7 layers have one), the row blocks inside each panel, after
  // the panel is packed.
  const first = out.leaves[0]!;
  const panels = out.constExtent(jo!), blocks = out.constExtent(io!);
  if (first === jo && panels !== null && panels < MIN_PARALLEL_PANELS && blocks !== null && blocks > panels) out.parallel(io!);
  else if (first.kind === "data") out.parallel(first);
  return true;
}

/**
 * An operand read along the row axis but stored transposed (matmul's transA: A[k, i]) is
 * copied once, at the kernel's root, with the row axis before the reduction's: read in
 * place, each row block's K steps touch K rows of A — K cache lines and, for a wide A, as
 * many pages (in an MLP step's profile, dW = xᵀ·g with x [64, 784] read in place took
 * 0.60–0.68 ms, a transpose kernel and the product on its output 0.55 ms).
 * The copy is scheduled as a transpose kernel of its own would be.
 */
function packTransposedRows(s: Schedule, anchor: Stage, vectorBytes: number, byColumn: ReadonlyMap<Tensor, unknown>): void {
  const row = anchor.axis.at(-2)!.var, k = anchor.reduceAxis[0]!.var;
  const reads = new Map<Tensor, boolean>();
  visitExpr(anchor.op!.body, (e) => {
    if (e.kind !== "access" || e.tensor.op.kind !== "placeholder" || byColumn.has(e.tensor)) return;
    const r = e.indices.length;
    const transposed = r >= 2 && usesVar(e.indices[r - 1]!, (v) => v === row) && usesVar(e.indices[r - 2]!, (v) => v === k)
      && !e.indices.slice(0, r - 2).some((ix) => usesVar(ix, (v) => v === row || v === k));
    reads.set(e.tensor, (reads.get(e.tensor) ?? true) && transposed);
  });
  for (const [p, transposed] of reads) {
    if (!transposed) continue;
    const r = p.shape.length;
    const perm = [...Array.from({ length: r - 2 }, (_, d) => d), r - 1, r - 2];
    copyOnce(s, p, anchor.tensor, perm, vectorBytes);
  }
}

/**
 * A padded or dilated copy (a select guarding a read) that a reduction reads, or that a
 * larger output gathers from (im2col reads each padded element once per kernel tap):
 * inlined, the guard would sit in the innermost loop, repeated per read, and stop it from
 * vectorizing; so it is computed into a buffer first, as TVM's conv schedules do with the
 * padded input.
 */
function materializeGuarded(s: Schedule, st: Stage): boolean {
  let guarded = false;
  visitExpr(st.op!.body, (e) => {
    if (e.kind !== "select") return;
    visitExpr(e.t, (x) => { if (x.kind === "access") guarded = true; });
    visitExpr(e.f, (x) => { if (x.kind === "access") guarded = true; });
  });
  if (!guarded) return false;
  const size = elements(st);
  return s.consumersOf(st).some((c) => c.op?.body.kind === "reduce" || (size !== null && (elements(c) ?? 0) > size));
}

/** A stage's element count, when its extents are constants. */
function elements(st: Stage): number | null {
  let n = 1;
  for (const a of st.axis) {
    const e = st.constExtent(a);
    if (e === null) return null;
    n *= e;
  }
  return n;
}

export function defaultSchedule(s: Schedule, outputs: readonly Tensor[], vectorBytes: number, gemmAnchor: Tensor | null = null): void {
  inlineIntermediates(s);
  const gemmDone = new Set<Stage>();
  if (gemmAnchor) {
    const out = outputs.find((o) => o === gemmAnchor || s.dependsOn(s.stage(o), s.stage(gemmAnchor)));
    if (out && gemmLike(s, gemmAnchor, out, vectorBytes)) markScheduled(s, gemmDone);
  }
  finishStages(s, outputs, vectorBytes, gemmDone);
}

/** Step 1 of every cpu schedule (default or tuned): inline elementwise and injective intermediates. */
export function inlineIntermediates(s: Schedule): void {
  for (const st of s.stages.filter((x) => x.op !== null)) {
    if (!st.isOutput && st.op!.body.kind !== "reduce" && st.op!.tag !== MATERIALIZE && !materializeGuarded(s, st) && !materializeShared(s, st)) st.computeInline();
  }
}

/** libm calls that cost far more than a load and a store of their result. */
const COSTLY_CALLS: ReadonlySet<string> = new Set(["exp", "log", "tanh", "sigmoid", "pow", "erf", "sin", "cos"]);

/**
 * An elementwise intermediate that calls libm and is read by a reduction and another stage is
 * computed once into a buffer: inlined, the reduction's loop nest and the other reader's would
 * each call libm again. (softmax's exp(x − max), read by its sum and by the division, was
 * evaluated twice per element: the crowd E-step's softmax over 100k × 10 f64 took 15–30 ms,
 * most of it in exp.) Readers that are all elementwise end up in one loop nest once inlined,
 * and a buffer between a GEMM anchor and its epilogue would split the nest the GEMM schedule
 * puts the anchor in (a GRU cell's gates failed to schedule that way).
 */
function materializeShared(s: Schedule, st: Stage): boolean {
  const readers = s.consumersOf(st);
  if (readers.length < 2 || !readers.some((r) => r.op?.body.kind === "reduce")) return false;
  let costly = false;
  visitExpr(st.op!.body, (e) => { if (e.kind === "call" && COSTLY_CALLS.has(e.fn)) costly = true; });
  return costly;
}

/** Adds every computed, not inlined stage to `done` (after a template scheduled the anchor's nest). */
export function markScheduled(s: Schedule, done: Set<Stage>): void {
  for (const st of s.stages) if (st.op && st.attach.kind !== "inline") done.add(st);
}

/** The default schedule of every computed stage not in `done` (a tuned template's remaining stages). */
export function finishStages(s: Schedule, outputs: readonly Tensor[], vectorBytes: number, done: ReadonlySet<Stage>): void {
  const gemmDone = done;
  const computed = s.stages.filter((st) => st.op !== null && !gemmDone.has(st));
  const outStages = outputs.map((t) => s.stage(t));
  for (const st of computed) {
    // A reduction feeding an output is computed per row of that output (materialized copies
    // such as a padded input stay whole: per row, they would be rebuilt for every row).
    if (st.isOutput || st.attach.kind === "inline" || st.op!.body.kind !== "reduce") continue;
    // Only when exactly one output needs it: computed inside one output's loops, it would not
    // exist for the others.
    const readers = outStages.filter((o) => s.dependsOn(o, st));
    const consumer = readers.length === 1 ? readers[0] : undefined;
    // Only for an elementwise epilogue (same rank): a smaller reduction computed per row
    // would be recomputed for every row.
    // And only when the rows match: a reduction over the rows kept as [1, …] (keepdims) would
    // be recomputed whole for every row of its consumer (x − mean(x, axis 0) was O(n²·d)).
    if (consumer && consumer.axis.length >= 2 && consumer.axis.length === st.axis.length && consumer.op!.body.kind !== "reduce" && sameRows(st, consumer)) {
      st.computeAt(consumer, consumer.axis[consumer.axis.length - 2]!);
    }
  }
  // A reduction so placed whose tensor another computed stage outside that output's loops
  // reads (logsumexp's log(sum) + max, kept root because a second output reads it) stays
  // root after all, and so, in turn, do those placed ones it reads.
  for (let changed = true; changed;) {
    changed = false;
    for (const st of computed) {
      const at = st.attach;
      if (at.kind !== "at") continue;
      const outside = s.consumersOf(st).some((c) => c !== at.stage && c.attach.kind !== "inline" && !s.isAttachedInside(c, at.stage as Stage));
      if (outside) { st.computeRoot(); changed = true; }
    }
  }
  for (const st of computed) {
    if (st.attach.kind === "inline") continue;
    if (st.op!.body.kind === "reduce") {
      packStridedReads(s, st, vectorBytes);
      vectorizeReduction(s, st, vectorBytes);
    }
    else vectorizeInner(st, vectorBytes);
    if (st.attach.kind === "root") parallelOuter(s, st);
  }
}

/** `reader`'s copy of input `p` in the layout `perm`, made once per call, scheduled as a transpose kernel of its own would be. */
function copyOnce(s: Schedule, p: Tensor, reader: Tensor, perm: readonly number[], vectorBytes: number): void {
  const copy = s.stage(cacheRead(s, p, "global", [reader], perm));
  vectorizeInner(copy, vectorBytes);
  parallelOuter(s, copy);
}

/**
 * A reduction vectorized along its innermost data axis j that reads an input with j in an
 * earlier index than a reduce variable (x·wᵀ written out: Σ_k x[i, k]·w[j, k], as lstm_cell
 * does) would gather each vector from j's stride. When the input is read again for another
 * data index (i here, so the copy is amortized), it is copied once per call with j's axis
 * last, the way packTransposedRows copies a product's row operand: the cell's x·w_ihᵀ went
 * from 8-lane gathers at stride 64 to contiguous loads.
 */
function packStridedReads(s: Schedule, st: Stage, vectorBytes: number): void {
  if (st.axis.length < 2 || st.relations.length > 0) return;
  const inner = st.axis.at(-1)!.var;
  const others = st.axis.slice(0, -1).map((a) => a.var);
  const reduceVars = new Set(st.reduceAxis.map((a) => a.var));
  const perms = new Map<Tensor, string | null>();
  visitExpr(st.op!.body, (e) => {
    if (e.kind !== "access" || e.tensor.op.kind !== "placeholder") return;
    const r = e.indices.length;
    const at = e.indices.flatMap((ix, d) => (usesVar(ix, (v) => v === inner) ? [d] : []));
    const ok = at.length === 1 && at[0]! < r - 1 && usesVar(e.indices[r - 1]!, (v) => reduceVars.has(v))
      && others.some((o) => !e.indices.some((ix) => usesVar(ix, (v) => v === o)));
    const key = ok ? String(at[0]) : null;
    perms.set(e.tensor, perms.has(e.tensor) && perms.get(e.tensor) !== key ? null : key);
  });
  for (const [p, key] of perms) {
    if (key === null) continue;
    const d = Number(key), rank = p.shape.length;
    const perm = [...Array.from({ length: rank }, (_, k) => k).filter((k) => k !== d), d];
    copyOnce(s, p, st.tensor, perm, vectorBytes);
  }
}

/** Whether two stages of equal rank have the same extents on every axis but the last. */
function sameRows(a: Stage, b: Stage): boolean {
  const sa = a.tensor.shape, sb = b.tensor.shape;
  for (let i = 0; i < sa.length - 1; i++) if (!exprEqual(sa[i]!, sb[i]!)) return false;
  return true;
}

/**
 * Runs the outermost loop in parallel, fusing it with the next when it is too short (batch 1).
 * A stage whose whole iteration count is known and small stays serial: an OpenMP fork and
 * join costs microseconds (far more on a loaded machine), more than such a stage's work —
 * e.g. the per-column stages of a small Cholesky factorisation (compiler/ops/basic/linalg.ts).
 */
function parallelOuter(s: Schedule, st: Stage): void {
  if (st.leaves.length < 2 || st.leaves[0]!.kind !== "data") return;
  if (knownWork(s, st) < MIN_PARALLEL_WORK) return;
  const first = st.leaves[0]!, second = st.leaves[1]!;
  const n = st.constExtent(first);
  if (n !== null && n < MIN_PARALLEL && second.kind === "data" && st.leaves.length >= 3) {
    st.parallel(st.fuse(first, second));
  } else {
    st.parallel(first);
  }
}

/** Fewer outer iterations than this leave cores idle (or unbalanced); fuse in the next loop. */
const MIN_PARALLEL = 8;

/** Stages with fewer loop iterations (data × reduction) than this run serially. */
export const MIN_PARALLEL_WORK = 1 << 15;

/**
 * The iterations of a stage's loop nest over all its axes, with those of the stages computed
 * inside it (a reduction's cache-write stage holds its reduction loops), or Infinity when an
 * extent is symbolic.
 */
function knownWork(s: Schedule, st: Stage): number {
  let w = 1;
  for (const a of st.rootAxes) {
    const e = st.constExtent(a);
    if (e === null) return Infinity;
    w *= e;
  }
  for (const inner of s.stages) if (inner.attach.kind === "at" && inner.attach.stage === st) w += knownWork(s, inner);
  return w;
}
