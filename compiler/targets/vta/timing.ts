/**
 * The cycle model shared by fsim (fsim.ts) and the RTL generator (hw/): per instruction,
 * the cycles the generated Verilog's state machines take against the harness's DRAM model
 * (a port acknowledges a request `dramLatency` cycles after it sees it, one beat at a time).
 * test/vta/rtl-cycles.test.ts holds fsim to within 5% of Verilator's count on compiled layers.
 *
 *   DRAM beat             dramLatency + 2 (wait, acknowledge, the idle cycle after it)
 *   every instruction     3: its module takes it (1), sees its tokens (1), finishes (1)
 *   LOAD (any module)     2 + Σ elements: a data element ELEM + beats + WRITE, a pad element 1
 *   STORE                 Σ elements: read the SRAM (3) + beats
 *   GEMM / ALU            1 per micro-op iteration + 3 to drain the pipeline (hw/compute.ts:
 *                         fetch uop, form indices, read, execute); ALU MUL 9 more per
 *                         iteration (the iterative multiplier holds the pipeline)
 *   FINISH, empty loops   nothing beyond the 3
 *   fetch                 one instruction per ⌈16 / dramWidthBytes⌉ beats + 1 dispatch cycle
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

export const beatCycles = (p: VtaParams): number => p.dramLatency + 2;
const beats = (p: VtaParams, bytes: number): number => Math.max(1, Math.ceil(bytes / p.dramWidthBytes));

export function uopIterations(insn: GemmInsn | AluInsn): number {
  return (insn.uopEnd - insn.uopBegin) * insn.iterOut * insn.iterIn;
}

/** Cycles the fetch unit spends per instruction when its target queue has room. */
export const fetchCycles = (p: VtaParams): number => beats(p, 16) * beatCycles(p) + 1;

/** Cycles of an instruction's body: from the cycle after its tokens are seen to its last state before done. */
export function bodyCycles(insn: Insn, p: VtaParams): number {
  switch (insn.op) {
    case "load": {
      const cols = insn.xPad0 + insn.xSize + insn.xPad1, rows = insn.yPad0 + insn.ySize + insn.yPad1;
      const data = insn.ySize * insn.xSize;
      const elem = beats(p, entryBytes(p)[insn.memType]) * beatCycles(p) + 2;
      return 2 + data * elem + (rows * cols - data);
    }
    case "store":
      return insn.ySize * insn.xSize * (3 + beats(p, entryBytes(p).out) * beatCycles(p));
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
