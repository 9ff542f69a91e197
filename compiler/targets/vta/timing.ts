/**
 * The cycle model shared by fsim (fsim.ts) and the RTL generator (hw/): per instruction,
 * the cycles the generated Verilog's state machines take against the harness's DRAM model
 * (hw/harness.ts: reads and writes are bursts; a read's first beat arrives `dramLatency` + 1
 * edges after the request is seen, a write port is ready that long after it, and then both
 * move one beat per cycle).
 * test/vta/rtl-cycles.test.ts holds fsim to within 5% of Verilator's count on compiled layers.
 *
 *   read burst of n beats dramLatency + 1 + n (wait, the beats; the master sees the last one)
 *   write burst           dramLatency + 1 before the port is ready, then a beat per cycle the
 *                         master offers one
 *   every instruction     3: its module takes it (1), sees its tokens (1), finishes (1)
 *   LOAD (any module)     2 + pad elements (1 each) + per data row 1 to issue + its burst of
 *                         xSize × beats per entry (an entry smaller than a beat is a narrow
 *                         beat of its own); an entry is written the cycle its last beat arrives
 *   STORE                 Σ elements: read the SRAM (3) + its beats; + dramLatency + 1 per row
 *                         (a write burst per row, narrow for entries smaller than a beat)
 *   GEMM / ALU            1 per micro-op iteration + 3 to drain the pipeline (hw/compute.ts:
 *                         fetch uop, form indices, read, execute); ALU MUL 9 more per
 *                         iteration (the iterative multiplier holds the pipeline)
 *   FINISH, empty loops   nothing beyond the 3
 *   fetch                 one burst of ⌈16 / dramWidthBytes⌉ beats per instruction + 1 dispatch cycle
 */
import type { AluInsn, GemmInsn, Insn } from "./isa.ts";
import { type VtaParams, entryBytes } from "./params.ts";

/** Cycles per GEMM/ALU micro-op iteration in hw/compute.ts's pipeline, in steady state. */
export const UOP_CYCLES = 1;
/** Cycles after the last micro-op issues until it has written back (stages A, R, E). */
export const PIPELINE_DRAIN_CYCLES = 3;
/** Cycles ALU MUL adds per iteration: latch the operands, then 32 bits at 4 per cycle. */
export const ALU_MUL_EXTRA_CYCLES = 9;
/** Cycles every instruction spends in its module besides its body (take, wait for tokens, done). */
export const INSN_OVERHEAD = 3;

/** Cycles a read master holds a request of `n` beats: the latency, then one beat per cycle. */
export const burstCycles = (p: VtaParams, n: number): number => p.dramLatency + 1 + n;
const beats = (p: VtaParams, bytes: number): number => Math.max(1, Math.ceil(bytes / p.dramWidthBytes));

/** Cycles of a LOAD's body for `rows` data rows of `cols` data entries of `bytes` each, plus `pads` padding entries. */
export function loadBodyCycles(p: VtaParams, bytes: number, rows: number, cols: number, pads: number): number {
  if (rows === 0 || cols === 0) return 2 + pads;
  return 2 + pads + rows * (1 + burstCycles(p, cols * beats(p, bytes)));
}

export function uopIterations(insn: GemmInsn | AluInsn): number {
  return (insn.uopEnd - insn.uopBegin) * insn.iterOut * insn.iterIn;
}

/** Cycles of a STORE's body for `rows` × `cols` entries of `bytes` each. */
export function storeBodyCycles(p: VtaParams, bytes: number, rows: number, cols: number): number {
  return rows * cols === 0 ? 0 : rows * cols * (3 + beats(p, bytes)) + rows * (p.dramLatency + 1);
}

/** Cycles the fetch unit spends per instruction when its target queue has room. */
export const fetchCycles = (p: VtaParams): number => burstCycles(p, beats(p, 16)) + 1;

/** Cycles of an instruction's body: from the cycle after its tokens are seen to its last state before done. */
export function bodyCycles(insn: Insn, p: VtaParams): number {
  switch (insn.op) {
    case "load": {
      const cols = insn.xPad0 + insn.xSize + insn.xPad1, rows = insn.yPad0 + insn.ySize + insn.yPad1;
      const data = insn.ySize * insn.xSize;
      return loadBodyCycles(p, entryBytes(p)[insn.memType], insn.ySize, insn.xSize, rows * cols - data);
    }
    case "store":
      return storeBodyCycles(p, entryBytes(p).out, insn.ySize, insn.xSize);
    case "gemm": case "alu": {
      const perIter = UOP_CYCLES + (insn.op === "alu" && insn.aluOp === "mul" ? ALU_MUL_EXTRA_CYCLES : 0);
      const n = uopIterations(insn); // an empty loop goes straight to done
      return n === 0 ? 0 : n * perIter + PIPELINE_DRAIN_CYCLES;
    }
    case "finish":
      return 0;
  }
}

/** Cycles an instruction occupies its module when nothing stalls it. */
export const insnCycles = (insn: Insn, p: VtaParams): number => INSN_OVERHEAD + bodyCycles(insn, p);

/** Cycles the GEMM core's multipliers fire for one instruction (one per non-reset GEMM iteration), as the RTL counts them. */
export const gemmBusy = (insn: Insn): number => (insn.op === "gemm" && !insn.reset ? UOP_CYCLES * uopIterations(insn) : 0);
export const aluBusy = (insn: Insn, p: VtaParams): number => (insn.op === "alu" ? bodyCycles(insn, p) : 0);
