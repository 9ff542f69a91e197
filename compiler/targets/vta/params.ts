/**
 * The parameters of the VTA-style accelerator. Everything else — the ISA's index ranges,
 * the functional simulator's buffers, the generated Verilog and HLS C++ — derives from one
 * `VtaParams` value, so a configuration is described in exactly one place.
 *
 * Shapes: the GEMM core multiplies an input tile [batch][blockIn] (int8) by a weight tile
 * [blockOut][blockIn] (int8, row-major: one output channel per row) into an accumulator
 * tile [batch][blockOut] (int32). Each on-chip buffer is an array of such tiles ("entries").
 */
import { LatheError } from "../../../core/errors.ts";

export class VtaConfigError extends LatheError {
  override name = "VtaConfigError";
}

export interface VtaParams {
  /** Rows of an input / accumulator tile. */
  readonly batch: number;
  /** Reduction width of one GEMM step (columns of an input tile). */
  readonly blockIn: number;
  /** Output channels of one GEMM step. */
  readonly blockOut: number;
  /** Entries (tiles) in each on-chip buffer; each must be a power of two. */
  readonly inpBufferEntries: number;
  readonly wgtBufferEntries: number;
  readonly accBufferEntries: number;
  /** The int8 output buffer has as many entries as the accumulator buffer (GEMM/ALU write both). */
  readonly uopBufferEntries: number;
  /** Bytes moved per DRAM beat (the bus width). */
  readonly dramWidthBytes: number;
  /** DRAM latency in cycles: the simulation harnesses' DRAM model and fsim's timing model (timing.ts) answer a burst's first beat this long after its request (then a beat per cycle). */
  readonly dramLatency: number;
  /** Depth of each module's instruction queue (fetch stalls when the target queue is full). */
  readonly insnQueueDepth: number;
}

export const DEFAULT_PARAMS: VtaParams = Object.freeze({
  batch: 1,
  blockIn: 16,
  blockOut: 16,
  inpBufferEntries: 2048,
  wgtBufferEntries: 1024,
  accBufferEntries: 2048,
  uopBufferEntries: 8192,
  dramWidthBytes: 8,
  dramLatency: 8,
  insnQueueDepth: 16,
});

/** Field-width ceilings the 128-bit instruction and 32-bit micro-op formats impose (see isa.ts). */
export const ISA_LIMITS = Object.freeze({
  inpBufferEntries: 1 << 11, // uop inp index: 11 bits
  accBufferEntries: 1 << 11, // uop acc index: 11 bits
  wgtBufferEntries: 1 << 10, // uop wgt index: 10 bits
  uopBufferEntries: 1 << 13, // uop_begin: 13 bits
});

export function makeParams(overrides: Partial<VtaParams> = {}): VtaParams {
  const p: VtaParams = Object.freeze({ ...DEFAULT_PARAMS, ...overrides });
  validateParams(p);
  return p;
}

const isPow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

export function validateParams(p: VtaParams): void {
  for (const k of ["batch", "blockIn", "blockOut", "dramWidthBytes"] as const) {
    if (!isPow2(p[k]) || p[k] > 256) throw new VtaConfigError(`VTA parameter ${k}=${p[k]} must be a power of two in [1, 256]`);
  }
  for (const k of ["inpBufferEntries", "wgtBufferEntries", "accBufferEntries", "uopBufferEntries"] as const) {
    if (!isPow2(p[k]) || p[k] < 2) throw new VtaConfigError(`VTA parameter ${k}=${p[k]} must be a power of two ≥ 2`);
    if (p[k] > ISA_LIMITS[k]) throw new VtaConfigError(`VTA parameter ${k}=${p[k]} exceeds what the ISA can address (${ISA_LIMITS[k]})`);
  }
  for (const k of ["dramLatency"] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 0) throw new VtaConfigError(`VTA parameter ${k}=${p[k]} must be a non-negative integer`);
  }
  if (!isPow2(p.insnQueueDepth) || p.insnQueueDepth > 1024) {
    throw new VtaConfigError(`VTA parameter insnQueueDepth=${p.insnQueueDepth} must be a power of two in [1, 1024]`);
  }
}

/** Bytes of one entry of each memory, as stored in DRAM (little-endian for int32 and micro-ops). */
export interface EntryBytes { uop: number; inp: number; wgt: number; acc: number; out: number }

export function entryBytes(p: VtaParams): EntryBytes {
  return {
    uop: 4,
    inp: p.batch * p.blockIn,
    wgt: p.blockOut * p.blockIn,
    acc: p.batch * p.blockOut * 4,
    out: p.batch * p.blockOut,
  };
}

/** A short stable description used in cache keys and generated-file headers. */
export function paramsKey(p: VtaParams): string {
  return JSON.stringify(p, Object.keys(p).sort());
}
