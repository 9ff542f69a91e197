/**
 * Reads a VTA schedule (schedule.ts, or one written by hand with the same primitives) into
 * the tiled loop nest the instruction emitter walks: the tiles of the output in issue order
 * with their virtual thread, the input-channel chunk size, and the number of contexts. It
 * checks what the core requires and fails with a ScheduleError naming the sizes otherwise:
 * the load stages computed at a reduction-chunk loop of the GEMM stage, the GEMM and ALU
 * stages at one tile loop of the output, the innermost batch × block-out × block-in nest
 * tensorized as vta.gemm, and tiles that fit the buffers (divided among the contexts).
 */
import { ScheduleError } from "../../../core/errors.ts";
import type { Axis } from "../../schedule/axis.ts";
import type { Stage } from "../../schedule/schedule.ts";
import type { VtaParams } from "./params.ts";
import type { ConvLayer } from "./layer.ts";
import { outH, outW } from "./layer.ts";
import { blocks, GEMM_INTRIN, SCOPE, type VtaSchedule } from "./schedule.ts";

export interface Tile {
  readonly n: number; readonly co: number; readonly y: number; readonly x: number;
  readonly tco: number; readonly th: number; readonly tw: number;
  /** The virtual thread that issues it. */
  readonly thread: number;
}

export interface Plan {
  readonly layer: ConvLayer;
  readonly params: VtaParams;
  /** Tiles in issue order: groups of `contexts` tiles, one per virtual thread, interleaved chunk by chunk. */
  readonly groups: readonly (readonly Tile[])[];
  /** Full tile sizes (edge tiles may be smaller). */
  readonly th: number; readonly tw: number; readonly tco: number;
  /** Input-channel blocks per load chunk. */
  readonly tci: number;
  /** Buffer contexts (virtual threads). */
  readonly contexts: number;
}

/** Each leaf's root axis, following split and fuse relations (a fuse of two roots has none). */
function rootsOf(st: Stage): Map<Axis, Axis | null> {
  const m = new Map<Axis, Axis | null>(st.rootAxes.map((a) => [a, a]));
  for (const r of st.relations) {
    if (r.kind === "split") { const p = m.get(r.parent) ?? null; m.set(r.outer, p); m.set(r.inner, p); }
    else { const a = m.get(r.outer) ?? null, b = m.get(r.inner) ?? null; m.set(r.fused, a === b ? a : null); }
  }
  return m;
}

function extent(st: Stage, a: Axis): number {
  const e = st.constExtent(a);
  if (e === null) throw new ScheduleError(`stage ${st.name}: loop ${a.var.name} needs a constant extent on the accelerator`);
  return e;
}

/** Root-axis values from leaf values (split: parent = outer·factor + inner; fuse: div/mod). */
function rootValues(st: Stage, leaf: ReadonlyMap<Axis, number>): Map<Axis, number> {
  const v = new Map(leaf);
  for (const r of [...st.relations].reverse()) {
    if (r.kind === "split") {
      const pe = extent(st, r.parent);
      const f = r.factor ?? Math.ceil(pe / r.nparts!);
      v.set(r.parent, (v.get(r.outer) ?? 0) * f + (v.get(r.inner) ?? 0));
    } else {
      const ie = extent(st, r.inner), f = v.get(r.fused) ?? 0;
      v.set(r.outer, Math.floor(f / ie));
      v.set(r.inner, f % ie);
    }
  }
  return v;
}

/** Product of the extents of the leaves after position `from` that come from `root`. */
function innerExtent(st: Stage, roots: Map<Axis, Axis | null>, from: number, root: Axis): number {
  return st.leaves.slice(from + 1).filter((l) => roots.get(l) === root).reduce((p, l) => p * extent(st, l), 1);
}

export function planFromSchedule(vs: VtaSchedule): Plan {
  const { res: R, gemm: G, alu: A, inp: I, wgt: W, layer: l, params: p } = vs;
  const where = `layer ${l.name}`;
  for (const [st, scope] of [[I, SCOPE.inp], [W, SCOPE.wgt], [G, SCOPE.acc], [A, SCOPE.acc]] as const) {
    if (st.scope !== scope) throw new ScheduleError(`${where}: stage ${st.name} must be in scope ${scope}, got ${st.scope}`);
  }
  // Tiles: the GEMM and ALU stages at one loop of the output stage.
  if (G.attach.kind !== "at" || G.attach.stage !== R) throw new ScheduleError(`${where}: the GEMM stage ${G.name} must be computed at a tile loop of ${R.name}`);
  const tileAxis = G.attach.axis;
  if (A.attach.kind !== "at" || A.attach.stage !== R || A.attach.axis !== tileAxis) {
    throw new ScheduleError(`${where}: the ALU stage ${A.name} must be computed at the GEMM stage's tile loop ${tileAxis.var.name}`);
  }
  const at = R.leafIndex(tileAxis, "plan");
  const rRoots = rootsOf(R);
  const [rn, rco, ry, rx, rb, ro] = R.rootAxes as readonly Axis[];
  const intra = (root: Axis) => innerExtent(R, rRoots, at, root);
  if (intra(rn!) !== 1) throw new ScheduleError(`${where}: tiles must hold one batch block (the n.o loop outside ${tileAxis.var.name})`);
  if (intra(rb!) !== p.batch || intra(ro!) !== p.blockOut) {
    throw new ScheduleError(`${where}: a tile must hold whole ${p.batch}×${p.blockOut} output blocks, got ${intra(rb!)}×${intra(ro!)}`);
  }
  const th = intra(ry!), tw = intra(rx!), tco = intra(rco!);
  const tileLeaves = R.leaves.slice(0, at + 1);
  for (const lf of tileLeaves) {
    const r = rRoots.get(lf);
    if (r === null || r === rb || r === ro) throw new ScheduleError(`${where}: tile loop ${lf.var.name} must come from the n.o, co.o, y or x axes alone`);
  }
  const vthreadLeaves = R.leaves.filter((lf) => R.annotations.get(lf)?.forKind === "vthread");
  if (vthreadLeaves.some((lf) => !tileLeaves.includes(lf))) throw new ScheduleError(`${where}: a vthread loop must be a tile loop (outside ${tileAxis.var.name})`);
  if (vthreadLeaves.length > 1) throw new ScheduleError(`${where}: at most one vthread loop`);
  const vt = vthreadLeaves[0] ?? null;
  const contexts = vt ? extent(R, vt) : 1;

  // Chunks: the load stages at a reduction loop of the GEMM stage, the window inside it.
  for (const st of [I, W]) {
    if (st.attach.kind !== "at" || st.attach.stage !== G) throw new ScheduleError(`${where}: load stage ${st.name} must be computed at a reduction loop of ${G.name}`);
  }
  const chunkAxis = (I.attach as { axis: Axis }).axis;
  if ((W.attach as { axis: Axis }).axis !== chunkAxis) throw new ScheduleError(`${where}: the input and weight loads must be computed at the same loop of ${G.name}`);
  const gRoots = rootsOf(G);
  const [, , , , gb, go, grco, grh, grw, grci] = G.rootAxes as readonly Axis[];
  const ca = G.leafIndex(chunkAxis, "plan");
  for (const lf of G.leaves.slice(0, ca + 1)) {
    if (gRoots.get(lf) !== grco) throw new ScheduleError(`${where}: loop ${lf.var.name} of ${G.name} is outside the load chunk; only input-channel-block loops may be`);
  }
  const tci = innerExtent(G, gRoots, ca, grco!);
  // Tensorize: the innermost nest is exactly one batch × block-out × block-in GEMM.
  const tz = [...G.tensorized].find(([, intrin]) => intrin.name === GEMM_INTRIN);
  if (!tz) throw new ScheduleError(`${where}: the GEMM stage ${G.name} must tensorize its batch × block-out × block-in nest as ${GEMM_INTRIN}`);
  const inner = G.leaves.slice(G.leafIndex(tz[0], "tensorize"));
  const want = [[gb, p.batch, "batch"], [go, p.blockOut, "block-out"], [grci, p.blockIn, "block-in"]] as const;
  const shape = inner.map((lf) => `${lf.var.name}=${extent(G, lf)}`).join(", ");
  if (inner.length !== 3 || !want.every(([root, e], k) => gRoots.get(inner[k]!) === root && extent(G, inner[k]!) === e)) {
    throw new ScheduleError(`${where}: ${GEMM_INTRIN} computes a ${p.batch}×${p.blockOut}×${p.blockIn} (batch × block-out × block-in) product, but the tensorized loops are [${shape}]`);
  }
  for (const r of [grh, grw]) {
    if (G.leaves.slice(0, ca + 1).some((lf) => gRoots.get(lf) === r)) throw new ScheduleError(`${where}: the kernel window must lie inside the load chunk`);
  }

  checkFits(l, p, { th, tw, tco, tci, contexts });
  // Enumerate tiles: tile loops in order, the vthread loop innermost (its iterations interleave).
  const order = vt ? [...tileLeaves.filter((lf) => lf !== vt), vt] : tileLeaves;
  const ext = order.map((lf) => extent(R, lf));
  const OH = outH(l), OW = outW(l), B = blocks(l, p);
  const groups: Tile[][] = [];
  let group: Tile[] = [];
  const idx = order.map(() => 0);
  for (let done = false; !done;) {
    const leaf = new Map(order.map((lf, k) => [lf, idx[k]!] as const));
    const v = rootValues(R, leaf);
    const n = v.get(rn!)!, co = v.get(rco!)!, y = v.get(ry!)!, x = v.get(rx!)!;
    if (n < B.no && co < B.co && y < OH && x < OW) {
      group.push({ n, co, y, x, tco: Math.min(tco, B.co - co), th: Math.min(th, OH - y), tw: Math.min(tw, OW - x), thread: vt ? leaf.get(vt)! : 0 });
    }
    // Odometer; a group closes when the vthread loop wraps.
    let d = order.length - 1;
    for (; d >= 0; d--) { if (++idx[d]! < ext[d]!) break; idx[d] = 0; }
    if (d < order.length - 1 || !vt) { if (group.length) groups.push(group); group = []; }
    if (d < 0) done = true;
  }
  return { layer: l, params: p, groups, th, tw, tco, tci, contexts };
}

/** Buffer and instruction-field limits of a tiling; a ScheduleError names the sizes. */
export function checkFits(l: ConvLayer, p: VtaParams, t: { th: number; tw: number; tco: number; tci: number; contexts: number }): void {
  const where = `layer ${l.name}`;
  const R = (t.th - 1) * l.strideH + l.kh, C = (t.tw - 1) * l.strideW + l.kw;
  const V = t.contexts;
  const need = [
    ["input", t.tci * R * C, Math.floor(p.inpBufferEntries / V), `${t.tci} channel blocks × ${R}×${C} window`],
    ["weight", t.tco * t.tci * l.kh * l.kw, Math.floor(p.wgtBufferEntries / V), `${t.tco}×${t.tci} blocks × ${l.kh}×${l.kw}`],
    ["accumulator", t.tco * t.th * t.tw, Math.floor(p.accBufferEntries / V), `${t.tco} channel blocks × ${t.th}×${t.tw} outputs`],
  ] as const;
  for (const [buf, n, cap, what] of need) {
    if (n > cap) throw new ScheduleError(`${where}: the ${buf} tile (${what} = ${n} entries) does not fit the ${buf} buffer (${cap} entries per context, ${V} context${V > 1 ? "s" : ""})`);
  }
  const fields = [
    ["GEMM wgtFactorOut", t.tci * l.kh * l.kw, 1023], ["GEMM srcFactorIn", l.strideH * C, 2047], ["GEMM dstFactorOut", t.th * t.tw, 2047],
  ] as const;
  for (const [f, n, max] of fields) if (n > max) throw new ScheduleError(`${where}: ${f} = ${n} exceeds the instruction field's ${max}`);
}
