/**
 * AutoTVM-style features of a lowered kernel, the cost model's input.
 *
 * A kernel's loop tree is cut into *nests*: the chain of loops above a group of leaf
 * statements (stores, evaluates) that share the same loops. Vectorized code counts its
 * ramp lanes as one more, innermost, `vectorized` loop.
 *
 * - `itervarFeatures`: per nest (up to `MAX_NESTS`, the ones with the most work, kept in
 *   program order), per loop (the innermost `MAX_LOOPS`, outermost first): extent,
 *   depth, kind, and for each buffer the nest touches (up to `MAX_BUFFERS`, sorted by
 *   name) the stride of the loop's variable in the flat index, the elements touched
 *   below and including the loop, and the reuse ratio. Fixed length `ITERVAR_LENGTH`.
 * - `curveFeatures`: independent of the number of loops, for transfer between tasks:
 *   for every access, reuse as a function of the bytes touched, sampled at
 *   `CURVE_SAMPLES` fixed points (max and mean over accesses), plus a few whole-kernel
 *   counts. Fixed length `CURVE_LENGTH`.
 *
 * Every value is finite and ≥ 0; magnitudes are `log2(1 + x)`.
 */
import type { Expr, Var } from "../te/expr.ts";
import { add, constInt, freeVars, int, lanesOf, sub, substitute, usesVar, visitExpr } from "../te/expr.ts";
import { bytesOf } from "../../core/dtype.ts";
import { constIntervalOf, simplify } from "../arith/index.ts";
import type { Buffer } from "../te/buffer.ts";
import type { PrimFunc, Stmt } from "../tir/stmt.ts";
import type { ForKind } from "../schedule/axis.ts";
import { flatIndex } from "../tir/passes/flatten.ts";

export const FOR_KINDS: readonly ForKind[] = ["serial", "parallel", "vectorized", "unrolled", "thread", "vthread"];
export const MAX_NESTS = 4;
export const MAX_LOOPS = 8;
export const MAX_BUFFERS = 4;
/** Per buffer slot: log2(1+stride), log2(1+touched), log2(1+reuse), written. */
export const BUFFER_FEATURES = 4;
/** Per loop: present, log2(1+extent), depth, one-hot kind, then the buffer slots. */
export const LOOP_FEATURES = 3 + FOR_KINDS.length + MAX_BUFFERS * BUFFER_FEATURES;
/** Per nest: present, log2(1+leaf statements), guards (ifs) around them, then the loops. */
export const NEST_HEADER = 3;
export const NEST_FEATURES = NEST_HEADER + MAX_LOOPS * LOOP_FEATURES;
export const ITERVAR_LENGTH = MAX_NESTS * NEST_FEATURES;
export const CURVE_SAMPLES = 20;
/** Sample k of the curve is at log2(1 + bytes touched) = k * CURVE_STEP. */
export const CURVE_STEP = 1.5;
export const CURVE_SUMMARY = 8;
export const CURVE_LENGTH = 2 * CURVE_SAMPLES + CURVE_SUMMARY;

export function featureLength(): { itervar: number; curve: number } {
  return { itervar: ITERVAR_LENGTH, curve: CURVE_LENGTH };
}

/** Offsets inside one loop's slice of `itervarFeatures`, for readers and tests. */
export const LOOP_OFFSET = { present: 0, extent: 1, depth: 2, kind: 3, buffers: 3 + FOR_KINDS.length } as const;

interface Loop {
  /** null for the vector lanes of a ramp. */
  readonly v: Var | null;
  readonly extent: number;
  readonly kind: ForKind;
  /** 1-based nesting depth (the vector lanes are one deeper than the innermost loop). */
  readonly depth: number;
}
interface Access { readonly buffer: Buffer; readonly index: Expr; readonly write: boolean }
interface Nest {
  readonly loops: Loop[];
  readonly accesses: Access[];
  stmts: number;
  lanes: number;
  readonly guards: number;
  readonly order: number;
}

const log2p = (x: number): number => (Number.isFinite(x) && x > 0 ? Math.log2(1 + x) : 0);

function extentOf(e: Expr): number {
  const c = constInt(simplify(e));
  if (c !== null) return Math.max(0, c);
  const b = constIntervalOf(e, new Map());
  return b && Number.isFinite(b.max) ? Math.max(0, b.max) : 1;
}

/** One index for an access, flattened (row-major) when the IR is not yet. */
const flat = (b: Buffer, indices: readonly Expr[]): Expr => (indices.length === 1 ? indices[0]! : flatIndex(b, indices));

/** Collects the nests of a kernel in program order. */
function collectNests(f: PrimFunc): Nest[] {
  const nests = new Map<string, Nest>();
  let nextLoop = 0;
  const visit = (s: Stmt, loops: Loop[], key: string, guards: number, lets: Map<Var, Expr>): void => {
    switch (s.kind) {
      case "for": {
        const id = nextLoop++;
        const loop: Loop = { v: s.loopVar, extent: extentOf(s.extent), kind: s.forKind, depth: loops.length + 1 };
        visit(s.body, [...loops, loop], `${key}/${id}`, guards, lets);
        return;
      }
      case "seq": for (const b of s.body) visit(b, loops, key, guards, lets); return;
      case "allocate": case "attr": visit(s.body, loops, key, guards, lets); return;
      case "let": {
        const m = new Map(lets);
        m.set(s.v, lets.size ? substitute(s.value, lets) : s.value);
        visit(s.body, loops, key, guards, m);
        return;
      }
      case "if":
        visit(s.then, loops, key, guards + 1, lets);
        if (s.else) visit(s.else, loops, key, guards + 1, lets);
        return;
      case "store": case "evaluate": {
        let nest = nests.get(key);
        if (!nest) {
          nest = { loops, accesses: [], stmts: 0, lanes: 1, guards, order: nests.size };
          nests.set(key, nest);
        }
        nest.stmts++;
        const resolve = (e: Expr): Expr => (lets.size ? substitute(e, lets) : e);
        const reads = (e: Expr): void =>
          visitExpr(e, (x) => {
            if (x.kind === "load") nest!.accesses.push({ buffer: x.buffer, index: resolve(flat(x.buffer, x.indices)), write: false });
            if (lanesOf(x) > nest!.lanes) nest!.lanes = lanesOf(x);
          });
        if (s.kind === "store") {
          const index = resolve(flat(s.buffer, s.indices));
          nest.accesses.push({ buffer: s.buffer, index, write: true });
          s.indices.forEach(reads);
          reads(s.value);
        } else reads(s.value);
        return;
      }
      case "barrier": case "nop": return;
    }
  };
  visit(f.body, [], "", 0, new Map());
  const out = [...nests.values()];
  for (const n of out) if (n.lanes > 1) n.loops.push({ v: null, extent: n.lanes, kind: "vectorized", depth: n.loops.length + 1 });
  return out;
}

/** |change| of a scalar index when `v` steps by one; a non-constant change counts as 1. */
function strideOf(e: Expr, v: Var): number {
  if (!usesVar(e, (x) => x === v)) return 0;
  const d = constInt(simplify(sub(substitute(e, new Map([[v, add(v, 1)]])), e)));
  if (d !== null) return Math.abs(d);
  // Not affine in v (floordiv/floormod, symbolic sizes): compare v = 0 and v = 1 with the rest at 0.
  const at = (k: number): number | null => {
    const m = new Map<Var, Expr>();
    for (const x of freeVars(e)) m.set(x, int(x === v ? k : 0, x.dtype));
    return constInt(simplify(substitute(e, m)));
  };
  const a = at(0), b = at(1);
  return a !== null && b !== null && a !== b ? Math.abs(b - a) : 1;
}

/** Stride of the access for each loop of the nest (the vector lanes included). */
function strides(a: Access, loops: readonly Loop[]): number[] {
  const idx = a.index;
  const scalar = idx.kind === "ramp" ? idx.base : idx.kind === "broadcast" ? idx.value : idx;
  return loops.map((l) => {
    if (l.v !== null) {
      if (lanesOf(scalar) > 1) return usesVar(scalar, (x) => x === l.v) ? 1 : 0;
      return strideOf(scalar, l.v);
    }
    if (idx.kind === "ramp") { const c = constInt(simplify(idx.stride)); return c === null ? 1 : Math.abs(c); }
    return lanesOf(idx) > 1 && idx.kind !== "broadcast" ? 1 : 0;
  });
}

interface Level { stride: number; touched: number; reuse: number }

/** Per loop level (outermost first): stride, elements touched below and including the loop, reuse. */
function levels(a: Access, loops: readonly Loop[]): Level[] {
  const st = strides(a, loops);
  const out: Level[] = new Array(loops.length);
  let touched = 1, iters = 1;
  for (let d = loops.length - 1; d >= 0; d--) {
    const ext = Math.max(1, loops[d]!.extent);
    iters *= ext;
    if (st[d] !== 0) touched *= ext;
    out[d] = { stride: st[d]!, touched, reuse: iters / touched };
  }
  return out;
}

/** Buffers of a nest sorted by name (ties: first appearance), with their accesses. */
function buffersOf(n: Nest): { buffer: Buffer; accesses: Access[] }[] {
  const by = new Map<Buffer, Access[]>();
  for (const a of n.accesses) {
    const l = by.get(a.buffer);
    if (l) l.push(a); else by.set(a.buffer, [a]);
  }
  const order = [...by.keys()];
  return [...by.entries()]
    .map(([buffer, accesses]) => ({ buffer, accesses }))
    .sort((x, y) => (x.buffer.name < y.buffer.name ? -1 : x.buffer.name > y.buffer.name ? 1 : order.indexOf(x.buffer) - order.indexOf(y.buffer)));
}

const nestWork = (n: Nest): number => n.stmts * n.loops.reduce((p, l) => p * Math.max(1, l.extent), 1);

/** The nests itervar features describe: the `MAX_NESTS` with the most work, in program order. */
function selectNests(all: readonly Nest[]): Nest[] {
  return [...all]
    .sort((a, b) => nestWork(b) - nestWork(a) || b.loops.length - a.loops.length || a.order - b.order)
    .slice(0, MAX_NESTS)
    .sort((a, b) => a.order - b.order);
}

export function itervarFeatures(f: PrimFunc): Float32Array {
  const out = new Float32Array(ITERVAR_LENGTH);
  selectNests(collectNests(f)).forEach((n, ni) => {
    const base = ni * NEST_FEATURES;
    out[base] = 1;
    out[base + 1] = log2p(n.stmts);
    out[base + 2] = n.guards;
    const bufs = buffersOf(n).slice(0, MAX_BUFFERS).map((b) => ({
      write: b.accesses.some((a) => a.write),
      lv: b.accesses.map((a) => levels(a, n.loops)),
    }));
    const first = Math.max(0, n.loops.length - MAX_LOOPS);
    for (let d = first; d < n.loops.length; d++) {
      const l = n.loops[d]!;
      const o = base + NEST_HEADER + (d - first) * LOOP_FEATURES;
      out[o + LOOP_OFFSET.present] = 1;
      out[o + LOOP_OFFSET.extent] = log2p(l.extent);
      out[o + LOOP_OFFSET.depth] = l.depth;
      out[o + LOOP_OFFSET.kind + FOR_KINDS.indexOf(l.kind)] = 1;
      bufs.forEach((b, bi) => {
        const p = o + LOOP_OFFSET.buffers + bi * BUFFER_FEATURES;
        let stride = 0, touched = 0, iters = 1;
        for (let j = d; j < n.loops.length; j++) iters *= Math.max(1, n.loops[j]!.extent);
        for (const lv of b.lv) { stride = Math.max(stride, lv[d]!.stride); touched = Math.max(touched, lv[d]!.touched); }
        out[p] = log2p(stride);
        out[p + 1] = log2p(touched);
        out[p + 2] = log2p(iters / Math.max(1, touched));
        out[p + 3] = b.write ? 1 : 0;
      });
    }
  });
  return out;
}

export function curveFeatures(f: PrimFunc): Float32Array {
  const out = new Float32Array(CURVE_LENGTH);
  const nests = collectNests(f);
  let count = 0;
  for (const n of nests) {
    for (const a of n.accesses) {
      const bytes = bytesOf(a.buffer.dtype);
      const pts = levels(a, n.loops).map((l) => ({ x: log2p(l.touched * bytes), y: log2p(l.reuse) }));
      for (let k = 0; k < CURVE_SAMPLES; k++) {
        const x = k * CURVE_STEP;
        let y = 0;
        for (const p of pts) if (p.x <= x && p.y > y) y = p.y;
        if (y > out[k]!) out[k] = y;
        out[CURVE_SAMPLES + k] += y;
      }
      count++;
    }
  }
  if (count > 0) for (let k = 0; k < CURVE_SAMPLES; k++) out[CURVE_SAMPLES + k] /= count;
  const s = 2 * CURVE_SAMPLES;
  const kinds = (k: ForKind): number => {
    // A loop shared by several nests counts once (by its variable; ramp lanes once per nest).
    const seen = new Set<Var | string>();
    for (const n of nests) for (const l of n.loops) if (l.kind === k) seen.add(l.v ?? `lanes${n.order}`);
    return seen.size;
  };
  const buffers = new Set<Buffer>();
  for (const n of nests) for (const a of n.accesses) buffers.add(a.buffer);
  out[s] = log2p(nests.reduce((t, n) => t + nestWork(n), 0));
  out[s + 1] = log2p(nests.length);
  out[s + 2] = nests.reduce((m, n) => Math.max(m, n.loops.length), 0);
  out[s + 3] = log2p(kinds("parallel"));
  out[s + 4] = log2p(kinds("vectorized"));
  out[s + 5] = log2p(kinds("unrolled"));
  out[s + 6] = log2p(nests.reduce((m, n) => Math.max(m, n.lanes), 1));
  out[s + 7] = log2p(buffers.size);
  return out;
}
