/**
 * Lowering a plan (plan.ts) to the accelerator's instruction and micro-op streams.
 *
 * DRAM holds four regions, each aligned for its entry size: micro-ops, packed data,
 * packed weights, packed output (pack.ts layouts). Each buffer is divided into `contexts`
 * equal parts. Load chunk i (global issue order) uses input/weight part i mod contexts;
 * tile t uses accumulator part t mod contexts. Instructions, per group of tiles (one per
 * virtual thread), per input-channel chunk, per tile of the group:
 *   first chunk: compute: GEMM reset of the tile's accumulators   [pop store-done of tile t − contexts]
 *   load:    LOAD inp (one 2-D load per channel block, with zero padding), LOAD wgt
 *            [first pops compute-done of chunk i − contexts; last pushes to compute]
 *   compute: GEMM over the chunk                        [pops the loads; pushes when a later chunk reuses its part]
 *   last chunk: ALU add 2^(s−1), shr s, min 127, max −128 (or 0 with relu)   [last pushes to store]
 *            STORE one row block per output-channel block  [pops compute; last pushes when a later tile reuses its part]
 * and a final FINISH that waits for the last store. A tile's ALU passes and stores follow
 * its own last GEMM and its reset comes just before its first, so one tile's store runs
 * under the other tiles' GEMMs rather than between groups. Every pop waits on an instruction
 * earlier in program order, so the in-order fetch cannot deadlock. With one context each
 * load waits for the previous chunk's GEMM and each tile for the previous store: no
 * overlap. With two, one tile's loads run under another's GEMMs (latency hiding).
 *
 * GEMM micro-ops enumerate (channel block, kernel row, kernel column, output column) of a
 * chunk; the instruction's outer loop walks output-channel blocks and its inner loop output
 * rows. Micro-op sets are shared by every chunk of the same shape and context.
 */
import { LatheError } from "../../../core/errors.ts";
import type { Insn, Uop } from "./isa.ts";
import { alu, finish, gemm, load, store } from "./isa.ts";
import { entryBytes } from "./params.ts";
import type { VtaParams } from "./params.ts";
import type { ConvLayer } from "./layer.ts";
import { outH, outW } from "./layer.ts";
import type { Plan, Tile } from "./plan.ts";
import { blocks } from "./schedule.ts";

export interface DramLayout {
  /** Byte offsets of the regions and the total size. */
  readonly uop: number; readonly inp: number; readonly wgt: number; readonly out: number; readonly size: number;
}

export interface VtaProgram {
  readonly plan: Plan;
  readonly insns: readonly Insn[];
  readonly uops: readonly Uop[];
  readonly dram: DramLayout;
}

const align = (x: number, a: number): number => Math.ceil(x / a) * a;

/**
 * The part of the window [start, start + n) inside [0, size): (zeros before, length, zeros
 * after). A window wholly in the padding is all zeros.
 */
function clipWindow(start: number, n: number, size: number): [number, number, number] {
  const lo = Math.max(start, 0), hi = Math.min(start + n, size);
  if (hi <= lo) return [n, 0, 0];
  return [lo - start, hi - lo, start + n - hi];
}

export function dramLayout(l: ConvLayer, p: VtaParams, nUops: number): DramLayout {
  const E = entryBytes(p), B = blocks(l, p);
  const A = Math.max(E.uop, E.inp, E.wgt, E.acc, E.out);
  const uop = 0;
  const inp = align(uop + nUops * E.uop, A);
  const wgt = align(inp + B.no * B.ci * l.h * l.w * E.inp, A);
  const out = align(wgt + B.co * B.ci * l.kh * l.kw * E.wgt, A);
  const size = align(out + B.no * B.co * outH(l) * outW(l) * E.out, A);
  return { uop, inp, wgt, out, size };
}

export function lowerPlan(plan: Plan): VtaProgram {
  const { layer: l, params: p, contexts: V } = plan;
  const E = entryBytes(p), B = blocks(l, p);
  const OH = outH(l), OW = outW(l);
  const part = { inp: Math.floor(p.inpBufferEntries / V), wgt: Math.floor(p.wgtBufferEntries / V), acc: Math.floor(p.accBufferEntries / V) };
  const uops: Uop[] = [];
  const uopSets = new Map<string, { begin: number; end: number }>();
  const uopSet = (key: string, make: () => Uop[]) => {
    let s = uopSets.get(key);
    if (!s) {
      const list = make();
      s = { begin: uops.length, end: uops.length + list.length };
      uops.push(...list);
      uopSets.set(key, s);
    }
    return s;
  };
  const window = (t: Tile) => ({ R: (t.th - 1) * l.strideH + l.kh, C: (t.tw - 1) * l.strideW + l.kw });

  // Program, with DRAM entry addresses relative to each region (fixed up once the micro-op count is known).
  type Pending = { insn: Insn; region: "inp" | "wgt" | "out" | "uop" | null };
  const prog: Pending[] = [];
  const emit = (insn: Insn, region: Pending["region"] = null) => prog.push({ insn, region });

  const nChunks = Math.ceil(B.ci / plan.tci);
  const totalChunks = plan.groups.reduce((s, g) => s + g.length, 0) * nChunks;
  const totalTiles = plan.groups.reduce((s, g) => s + g.length, 0);
  let chunk = 0, tileIndex = 0;
  const accPart = new Map<Tile, number>();
  const order = new Map<Tile, number>();

  // A tile's requantization (ALU passes) and its stores, after its last GEMM.
  const epilogue = (t: Tile): void => {
    const actx = accPart.get(t)!;
    const s = uopSet(`row/${actx}/${t.tw}`, () => Array.from({ length: t.tw }, (_, x) => ({ acc: actx * part.acc + x, inp: 0, wgt: 0 })));
    const loop = { uopBegin: s.begin, uopEnd: s.end, iterOut: t.tco, dstFactorOut: t.th * t.tw, iterIn: t.th, dstFactorIn: t.tw, useImm: true };
    const ops: [Parameters<typeof alu>[0]["aluOp"], number][] = [];
    if (l.shift > 0) ops.push(["add", 2 ** (l.shift - 1)], ["shr", l.shift]);
    ops.push(["min", 127], ["max", l.relu ? 0 : -128]);
    ops.forEach(([aluOp, imm], k) => emit(alu({ ...loop, aluOp, imm, pushNext: k === ops.length - 1 })));
    const ti = order.get(t)!;
    for (let o = 0; o < t.tco; o++) {
      emit(store({
        sramBase: actx * part.acc + o * t.th * t.tw, dramBase: ((t.n * B.co + t.co + o) * OH + t.y) * OW + t.x,
        ySize: t.th, xSize: t.tw, xStride: OW,
        popPrev: o === 0, pushPrev: o === t.tco - 1 && (ti + V < totalTiles || ti === totalTiles - 1),
      }), "out");
    }
  };

  for (const group of plan.groups) {
    for (let c0 = 0; c0 < B.ci; c0 += plan.tci) {
      const tci = Math.min(plan.tci, B.ci - c0);
      for (const t of group) {
        if (c0 === 0) {
          // Accumulator reset, once the store of the tile that last used the part is done.
          const ctx = tileIndex % V;
          accPart.set(t, ctx);
          order.set(t, tileIndex);
          const s = uopSet(`row/${ctx}/${t.tw}`, () => Array.from({ length: t.tw }, (_, x) => ({ acc: ctx * part.acc + x, inp: 0, wgt: 0 })));
          emit(gemm({
            reset: true, uopBegin: s.begin, uopEnd: s.end, iterOut: t.tco, dstFactorOut: t.th * t.tw, iterIn: t.th, dstFactorIn: t.tw,
            popNext: tileIndex >= V,
          }));
          tileIndex++;
        }
        const ctx = chunk % V, actx = accPart.get(t)!;
        const { R, C } = window(t);
        const inpBase = ctx * part.inp, wgtBase = ctx * part.wgt;
        // Input window of the tile, one channel block at a time, zero padding outside the image.
        const r0 = t.y * l.strideH - l.pads[0], q0 = t.x * l.strideW - l.pads[1];
        const [yPad0, ySize, yPad1] = clipWindow(r0, R, l.h), [xPad0, xSize, xPad1] = clipWindow(q0, C, l.w);
        for (let c = 0; c < tci; c++) {
          emit(load({
            memType: "inp", sramBase: inpBase + c * R * C,
            dramBase: ((t.n * B.ci + c0 + c) * l.h + Math.max(r0, 0)) * l.w + Math.max(q0, 0),
            ySize, xSize, xStride: l.w, yPad0, yPad1, xPad0, xPad1,
            popNext: c === 0 && chunk >= V,
          }), "inp");
        }
        const kk = l.kh * l.kw;
        emit(load({
          memType: "wgt", sramBase: wgtBase, dramBase: (t.co * B.ci + c0) * kk,
          ySize: t.tco, xSize: tci * kk, xStride: B.ci * kk, pushNext: true,
        }), "wgt");
        const s = uopSet(`gemm/${ctx}/${actx}/${t.th}/${t.tw}/${tci}`, () => {
          const list: Uop[] = [];
          for (let c = 0; c < tci; c++) for (let i = 0; i < l.kh; i++) for (let j = 0; j < l.kw; j++) for (let x = 0; x < t.tw; x++) {
            list.push({ acc: actx * part.acc + x, inp: inpBase + c * R * C + i * C + x * l.strideW + j, wgt: wgtBase + (c * l.kh + i) * l.kw + j });
          }
          return list;
        });
        emit(gemm({
          uopBegin: s.begin, uopEnd: s.end,
          iterOut: t.tco, dstFactorOut: t.th * t.tw, srcFactorOut: 0, wgtFactorOut: tci * kk,
          iterIn: t.th, dstFactorIn: t.tw, srcFactorIn: l.strideH * C, wgtFactorIn: 0,
          popPrev: true, pushPrev: chunk + V < totalChunks,
        }));
        chunk++;
        if (c0 + plan.tci >= B.ci) epilogue(t);
      }
    }
  }
  emit(finish({ popNext: true }));

  if (uops.length > p.uopBufferEntries) {
    throw new LatheError(`layer ${l.name}: ${uops.length} micro-ops do not fit the ${p.uopBufferEntries}-entry micro-op buffer (use smaller tiles)`);
  }
  const dram = dramLayout(l, p, uops.length);
  const fix = (insn: Insn, region: Pending["region"]): Insn => {
    if (region === null || (insn.op !== "load" && insn.op !== "store")) return insn;
    return { ...insn, dramBase: insn.dramBase + dram[region] / E[insn.memType] };
  };
  const insns = [
    load({ memType: "uop", sramBase: 0, dramBase: dram.uop / E.uop, ySize: 1, xSize: uops.length }),
    ...prog.map((x) => fix(x.insn, x.region)),
  ];
  return { plan, insns, uops, dram };
}
