/**
 * Quantities the hardware generators (Verilog and HLS C++) derive from `VtaParams`:
 * bus and entry widths, address widths, instruction field slices.
 */
import { type Opcode, fieldLayout } from "../isa.ts";
import { type EntryBytes, type VtaParams, entryBytes } from "../params.ts";

export interface HwConfig {
  readonly p: VtaParams;
  /** DRAM beat: bytes and bits. */
  readonly WB: number;
  readonly W: number;
  readonly E: EntryBytes;
  /** log2 of each memory's entry bytes (all are powers of two). */
  readonly log2E: Readonly<Record<keyof EntryBytes, number>>;
  /** Address bits of each buffer. */
  readonly inpAW: number;
  readonly wgtAW: number;
  readonly accAW: number;
  readonly uopAW: number;
  /** Lanes of an accumulator tile (batch × blockOut). */
  readonly lanes: number;
  readonly qLog2: number;
}

export const log2 = (n: number): number => Math.round(Math.log2(n));

export function hwConfig(p: VtaParams): HwConfig {
  const E = entryBytes(p);
  return {
    p, WB: p.dramWidthBytes, W: p.dramWidthBytes * 8, E,
    log2E: { uop: log2(E.uop), inp: log2(E.inp), wgt: log2(E.wgt), acc: log2(E.acc), out: log2(E.out) },
    inpAW: log2(p.inpBufferEntries), wgtAW: log2(p.wgtBufferEntries), accAW: log2(p.accBufferEntries), uopAW: log2(p.uopBufferEntries),
    lanes: p.batch * p.blockOut,
    qLog2: log2(p.insnQueueDepth),
  };
}

/** DRAM beats one entry of `bytes` takes. */
export const beats = (c: HwConfig, bytes: number): number => Math.max(1, Math.ceil(bytes / c.WB));

/** `insn[hi:lo]` of a field of an instruction format. */
export function field(op: Opcode | "uop", name: string, v = "insn"): string {
  const f = fieldLayout(op).get(name);
  if (!f) throw new Error(`internal: no field ${name} in ${op}`);
  return f.width === 1 ? `${v}[${f.lo}]` : `${v}[${f.lo + f.width - 1}:${f.lo}]`;
}

