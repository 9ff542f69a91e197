/**
 * Default tile sizes: every tiling that fits the buffers (plan.ts `checkFits`) and the
 * micro-op buffer is scored by an analytic version of fsim's timing model — per chunk the
 * GEMM iterations and the DRAM rows of its loads, per tile the ALU passes and stores;
 * with two or more contexts loads and stores overlap compute (the slowest module bounds
 * the time), with one they add up — and the cheapest wins.
 */
import { LatheError } from "../../../core/errors.ts";
import type { VtaParams } from "./params.ts";
import { entryBytes } from "./params.ts";
import type { ConvLayer } from "./layer.ts";
import { outH, outW } from "./layer.ts";
import { checkFits } from "./plan.ts";
import { blocks, type Tiling } from "./schedule.ts";
import { INSN_OVERHEAD, PIPELINE_DRAIN_CYCLES, UOP_CYCLES, loadBodyCycles, storeBodyCycles } from "./timing.ts";

const divisors = (n: number): number[] => Array.from({ length: n }, (_, k) => k + 1).filter((d) => n % d === 0);
const cdiv = (a: number, b: number): number => Math.ceil(a / b);

/**
 * Estimated cycles of a tiling (lower is better), with timing.ts's per-instruction costs
 * (each instruction's overhead and pipeline drain included) for an interior tile: its input
 * window all data (edge tiles load padding instead, a cycle per entry).
 */
export function estimateCycles(l: ConvLayer, p: VtaParams, t: Tiling): number {
  const E = entryBytes(p), B = blocks(l, p), OH = outH(l), OW = outW(l);
  const R = (t.th - 1) * l.strideH + l.kh, C = (t.tw - 1) * l.strideW + l.kw, kk = l.kh * l.kw;
  const tiles = B.no * cdiv(B.co, t.tco) * cdiv(OH, t.th) * cdiv(OW, t.tw);
  const chunks = cdiv(B.ci, t.tci);
  const uopInsn = (iterations: number): number => INSN_OVERHEAD + UOP_CYCLES * iterations + PIPELINE_DRAIN_CYCLES;
  const gemm = uopInsn(t.tco * t.th * t.tw * t.tci * kk);
  const loads = t.tci * (INSN_OVERHEAD + loadBodyCycles(p, E.inp, Math.min(R, l.h), Math.min(C, l.w), 0))
    + INSN_OVERHEAD + loadBodyCycles(p, E.wgt, t.tco, t.tci * kk, 0);
  const nAlu = l.shift > 0 ? 4 : 2;
  const alu = (nAlu + 1) * uopInsn(t.tco * t.th * t.tw); // the passes and the accumulator reset
  const stores = t.tco * (INSN_OVERHEAD + storeBodyCycles(p, E.out, t.th, t.tw));
  if (t.vthreads <= 1) return tiles * (chunks * (gemm + loads) + alu + stores);
  return tiles * Math.max(chunks * gemm + alu, chunks * loads, stores) + loads;
}

export function chooseTiling(l: ConvLayer, p: VtaParams, vthreads: number): Tiling {
  const B = blocks(l, p), OH = outH(l), OW = outW(l);
  const tws = [...new Set([...divisors(OW), OW])];
  let best: { t: Tiling; cost: number } | null = null;
  for (const tco of divisors(B.co)) for (const tci of divisors(B.ci)) for (const tw of tws) for (let th = 1; th <= OH; th++) {
    const t: Tiling = { th, tw, tco, tci, vthreads };
    try { checkFits(l, p, { ...t, contexts: vthreads }); } catch { continue; }
    // Micro-op sets: per context pair and edge shape (at most 4), plus the row sets.
    const edgeShapes = (OH % th ? 2 : 1) * (OW % tw ? 2 : 1);
    if (vthreads * vthreads * edgeShapes * tci * l.kh * l.kw * tw + 4 * vthreads * tw > p.uopBufferEntries) continue;
    const cost = estimateCycles(l, p, t);
    if (!best || cost < best.cost) best = { t, cost };
  }
  if (!best) throw new LatheError(`layer ${l.name}: no tiling fits the accelerator's buffers (even 1×1 tiles of one block)`);
  return best.t;
}
