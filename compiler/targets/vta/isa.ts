/**
 * The VTA-style accelerator's instruction set: 128-bit instructions, 32-bit micro-ops.
 *
 * ## Machine model
 * Three modules run concurrently, each executing its own instructions in program order:
 *   - load    : LOAD of `inp` and `wgt` (DRAM → input/weight buffers)
 *   - compute : LOAD of `uop` and `acc`, GEMM, ALU, FINISH
 *   - store   : STORE (output buffer → DRAM)
 * A fetch unit reads the program in order and appends each instruction to its module's
 * queue (depth `insnQueueDepth`; fetch stalls while the target queue is full). A module
 * takes the next instruction from its queue as soon as it is idle, then waits for its pops.
 *
 * Dependency tokens (decoupled access-execute). Four token queues join neighbours:
 * load→compute, compute→load, compute→store, store→compute. "prev"/"next" are relative to
 * the chain load → compute → store:
 *   - popPrev : before executing, wait for and take a token from the previous module
 *               (compute: from load; store: from compute). Illegal on load.
 *   - popNext : before executing, take a token from the next module
 *               (load: from compute; compute: from store). Illegal on store.
 *   - pushPrev: after executing, give a token to the previous module. Illegal on load.
 *   - pushNext: after executing, give a token to the next module. Illegal on store.
 * Tokens carry no data (each queue is a counter). A pop that can never be satisfied is a
 * deadlock, which every simulator reports as an error.
 * The run ends once FINISH (which must be the last instruction, exactly once) has executed
 * and every module is idle with an empty queue.
 *
 * ## Buffers (entries; see params.ts)
 *   inp[inpBufferEntries][batch][blockIn]   int8
 *   wgt[wgtBufferEntries][blockOut][blockIn] int8  (row o holds output channel o)
 *   acc[accBufferEntries][batch][blockOut]  int32
 *   out[accBufferEntries][batch][blockOut]  int8   (GEMM and ALU write it, STORE reads it)
 *   uop[uopBufferEntries]                   32-bit micro-ops
 * DRAM is a byte array. DRAM addresses in LOAD/STORE count *entries of the memory type*
 * (byte address = dramBase × entry bytes; uop 4, inp batch·blockIn, wgt blockOut·blockIn,
 * acc 4·batch·blockOut little-endian int32, out batch·blockOut). Reading an SRAM entry that
 * was never written is an error in fsim (the RTL under Icarus sees X there).
 *
 * ## Instruction encoding (128 bits, little-endian: bit 0 is bit 0 of byte 0)
 * Common header, all opcodes:
 *   [2:0] opcode (0 LOAD, 1 STORE, 2 GEMM, 3 ALU, 4 FINISH)
 *   [3] popPrev  [4] popNext  [5] pushPrev  [6] pushNext
 * LOAD / STORE:
 *   [9:7] memType (0 uop, 1 wgt, 2 inp, 3 acc, 4 out) — STORE requires out, LOAD forbids it
 *   [25:10] sramBase (16)  [57:26] dramBase (32)  [73:58] ySize (16)  [89:74] xSize (16)
 *   [105:90] xStride (16)  [109:106] yPad0  [113:110] yPad1  [117:114] xPad0  [121:118] xPad1 (4 each)
 * GEMM:
 *   [7] reset  [20:8] uopBegin (13)  [34:21] uopEnd (14)  [48:35] iterOut (14)  [62:49] iterIn (14)
 *   [73:63] dstFactorOut (11)  [84:74] dstFactorIn (11)  [95:85] srcFactorOut (11)
 *   [106:96] srcFactorIn (11)  [116:107] wgtFactorOut (10)  [126:117] wgtFactorIn (10)
 * ALU:
 *   [7] reserved (0)  [106:8] as GEMM (uopBegin … srcFactorIn)
 *   [109:107] aluOp (0 MIN, 1 MAX, 2 ADD, 3 SHR, 4 MUL)  [110] useImm  [126:111] imm (16, signed)
 * FINISH: header only. Unused bits are zero; the decoder rejects non-zero unused bits.
 *
 * ## Micro-op encoding (32 bits, little-endian)
 *   [10:0] acc index  [21:11] inp index  [31:22] wgt index
 * For ALU the inp field is the index of the second accumulator operand (src).
 *
 * ## Semantics
 * LOAD (rows = yPad0+ySize+yPad1, cols = xPad0+xSize+xPad1):
 *   for r < rows, c < cols: sram[sramBase + r·cols + c] =
 *     (r,c) inside the pads ? dram[dramBase + (r−yPad0)·xStride + (c−xPad0)] : zero entry
 * STORE (pads must be 0): for y < ySize, x < xSize:
 *     dram[dramBase + y·xStride + x] = out[sramBase + y·xSize + x]
 * GEMM and ALU run micro-ops uop[uopBegin … uopEnd−1] inside two affine loops:
 *   for i < iterOut, j < iterIn, u in [uopBegin, uopEnd):
 *     a = uop[u].acc + i·dstFactorOut + j·dstFactorIn
 *     s = uop[u].inp + i·srcFactorOut + j·srcFactorIn
 *     w = uop[u].wgt + i·wgtFactorOut + j·wgtFactorIn
 *   GEMM, reset=1: acc[a] = 0
 *   GEMM, reset=0: acc[a][b][o] += Σ_k inp[s][b][k] · wgt[w][o][k]   (int32, wrapping)
 *   ALU:  acc[a][b][o] = f(acc[a][b][o], useImm ? imm : acc[s][b][o]) with
 *         MIN/MAX signed; ADD and MUL wrap to 32 bits; SHR is an arithmetic right shift by
 *         (operand & 31) — left shifts are MUL by a power of two.
 *   After every update: out[a][b][o] = the low 8 bits of acc[a][b][o] (two's-complement
 *   truncation, no saturation: clip with MIN/MAX first to requantize).
 * Every index must lie inside its buffer and every DRAM access inside DRAM; fsim rejects a
 * program that leaves one. (The RTL and the HLS C++ wrap indices to the buffer size, read 0
 * past the end of DRAM and drop writes there: only programs fsim accepts are compared.)
 */
import { LatheError } from "../../../core/errors.ts";
import type { VtaParams } from "./params.ts";

export class VtaIsaError extends LatheError {
  override name = "VtaIsaError";
}

export const INSN_BYTES = 16;
export const UOP_BYTES = 4;

export const MEM_TYPES = ["uop", "wgt", "inp", "acc", "out"] as const;
export type MemType = (typeof MEM_TYPES)[number];
export const ALU_OPS = ["min", "max", "add", "shr", "mul"] as const;
export type AluOp = (typeof ALU_OPS)[number];
export const OPCODES = ["load", "store", "gemm", "alu", "finish"] as const;
export type Opcode = (typeof OPCODES)[number];
export type ModuleName = "load" | "compute" | "store";

export interface DepFlags {
  readonly popPrev: boolean;
  readonly popNext: boolean;
  readonly pushPrev: boolean;
  readonly pushNext: boolean;
}

export interface MemInsn extends DepFlags {
  readonly op: "load" | "store";
  readonly memType: MemType;
  readonly sramBase: number;
  readonly dramBase: number;
  readonly ySize: number;
  readonly xSize: number;
  readonly xStride: number;
  readonly yPad0: number;
  readonly yPad1: number;
  readonly xPad0: number;
  readonly xPad1: number;
}

/** The micro-op range and two-level affine loop shared by GEMM and ALU. */
export interface UopLoop {
  readonly uopBegin: number;
  readonly uopEnd: number;
  readonly iterOut: number;
  readonly iterIn: number;
  readonly dstFactorOut: number;
  readonly dstFactorIn: number;
  readonly srcFactorOut: number;
  readonly srcFactorIn: number;
}

export interface GemmInsn extends DepFlags, UopLoop {
  readonly op: "gemm";
  readonly reset: boolean;
  readonly wgtFactorOut: number;
  readonly wgtFactorIn: number;
}

export interface AluInsn extends DepFlags, UopLoop {
  readonly op: "alu";
  readonly aluOp: AluOp;
  readonly useImm: boolean;
  readonly imm: number;
}

export interface FinishInsn extends DepFlags {
  readonly op: "finish";
}

export type Insn = MemInsn | GemmInsn | AluInsn | FinishInsn;

export interface Uop {
  readonly acc: number;
  readonly inp: number;
  readonly wgt: number;
}

/** Which module executes an instruction. */
export function moduleOf(insn: Insn): ModuleName {
  switch (insn.op) {
    case "load": return insn.memType === "inp" || insn.memType === "wgt" ? "load" : "compute";
    case "store": return "store";
    case "gemm": case "alu": case "finish": return "compute";
  }
}

// ---------------------------------------------------------------------------------------
// Bit layout: one table per format; the encoder and decoder walk the same table.

type Field = readonly [name: string, width: number, signed?: boolean];

const HEADER: readonly Field[] = [["opcode", 3], ["popPrev", 1], ["popNext", 1], ["pushPrev", 1], ["pushNext", 1]];
const MEM_FIELDS: readonly Field[] = [
  ["memType", 3], ["sramBase", 16], ["dramBase", 32], ["ySize", 16], ["xSize", 16], ["xStride", 16],
  ["yPad0", 4], ["yPad1", 4], ["xPad0", 4], ["xPad1", 4],
];
const LOOP_FIELDS: readonly Field[] = [
  ["uopBegin", 13], ["uopEnd", 14], ["iterOut", 14], ["iterIn", 14],
  ["dstFactorOut", 11], ["dstFactorIn", 11], ["srcFactorOut", 11], ["srcFactorIn", 11],
];
const GEMM_FIELDS: readonly Field[] = [["reset", 1], ...LOOP_FIELDS, ["wgtFactorOut", 10], ["wgtFactorIn", 10]];
const ALU_FIELDS: readonly Field[] = [["reserved", 1], ...LOOP_FIELDS, ["aluOp", 3], ["useImm", 1], ["imm", 16, true]];
const UOP_FIELDS: readonly Field[] = [["acc", 11], ["inp", 11], ["wgt", 10]];

const LAYOUT: Record<Opcode, readonly Field[]> = {
  load: [...HEADER, ...MEM_FIELDS],
  store: [...HEADER, ...MEM_FIELDS],
  gemm: [...HEADER, ...GEMM_FIELDS],
  alu: [...HEADER, ...ALU_FIELDS],
  finish: HEADER,
};

/** Bit offset and width of every field of every format, for the hardware generators. */
export function fieldLayout(op: Opcode | "uop"): Map<string, { lo: number; width: number; signed: boolean }> {
  const m = new Map<string, { lo: number; width: number; signed: boolean }>();
  let lo = 0;
  for (const [name, width, signed] of op === "uop" ? UOP_FIELDS : LAYOUT[op]) {
    m.set(name, { lo, width, signed: signed ?? false });
    lo += width;
  }
  return m;
}

function fieldValues(insn: Insn): Record<string, number> {
  const v: Record<string, number> = {
    opcode: OPCODES.indexOf(insn.op),
    popPrev: +insn.popPrev, popNext: +insn.popNext, pushPrev: +insn.pushPrev, pushNext: +insn.pushNext,
  };
  switch (insn.op) {
    case "load": case "store":
      return { ...insn, ...v, memType: MEM_TYPES.indexOf(insn.memType) } as unknown as Record<string, number>;
    case "gemm":
      return { ...insn, ...v, reset: +insn.reset } as unknown as Record<string, number>;
    case "alu":
      return { ...insn, ...v, reserved: 0, aluOp: ALU_OPS.indexOf(insn.aluOp), useImm: +insn.useImm } as unknown as Record<string, number>;
    case "finish":
      return v;
  }
}

function pack(fields: readonly Field[], values: Record<string, number>, what: string): bigint {
  let word = 0n, lo = 0n;
  for (const [name, width, signed] of fields) {
    const x = values[name];
    if (typeof x !== "number" || !Number.isInteger(x)) throw new VtaIsaError(`${what}: field ${name} must be an integer, got ${String(x)}`);
    const min = signed ? -(2 ** (width - 1)) : 0, max = signed ? 2 ** (width - 1) - 1 : 2 ** width - 1;
    if (x < min || x > max) throw new VtaIsaError(`${what}: field ${name}=${x} does not fit in ${width} ${signed ? "signed " : ""}bits (range ${min}..${max})`);
    word |= (BigInt(x) & ((1n << BigInt(width)) - 1n)) << lo;
    lo += BigInt(width);
  }
  return word;
}

function unpack(fields: readonly Field[], word: bigint, what: string): Record<string, number> {
  const out: Record<string, number> = {};
  let lo = 0n;
  for (const [name, width, signed] of fields) {
    const w = BigInt(width);
    let x = (word >> lo) & ((1n << w) - 1n);
    if (signed && x >> (w - 1n)) x -= 1n << w;
    out[name] = Number(x);
    lo += w;
  }
  if (word >> lo) throw new VtaIsaError(`${what}: unused bits ${lo}..127 are not zero`);
  return out;
}

export function encodeInsn(insn: Insn, index = 0): Uint8Array {
  const what = `instruction ${index} (${insn.op})`;
  if (!OPCODES.includes(insn.op)) throw new VtaIsaError(`${what}: unknown opcode`);
  if ((insn.op === "load" || insn.op === "store") && !MEM_TYPES.includes(insn.memType)) {
    throw new VtaIsaError(`${what}: field memType=${String(insn.memType)} is not one of ${MEM_TYPES.join(", ")}`);
  }
  if (insn.op === "alu" && !ALU_OPS.includes(insn.aluOp)) {
    throw new VtaIsaError(`${what}: field aluOp=${String(insn.aluOp)} is not one of ${ALU_OPS.join(", ")}`);
  }
  const word = pack(LAYOUT[insn.op], fieldValues(insn), what);
  const bytes = new Uint8Array(INSN_BYTES);
  for (let i = 0; i < INSN_BYTES; i++) bytes[i] = Number((word >> BigInt(8 * i)) & 0xffn);
  return bytes;
}

export function decodeInsn(bytes: Uint8Array, index = 0): Insn {
  const what = `instruction ${index}`;
  if (bytes.length !== INSN_BYTES) throw new VtaIsaError(`${what}: expected ${INSN_BYTES} bytes, got ${bytes.length}`);
  let word = 0n;
  for (let i = INSN_BYTES - 1; i >= 0; i--) word = (word << 8n) | BigInt(bytes[i]!);
  const op = OPCODES[Number(word & 7n)];
  if (op === undefined) throw new VtaIsaError(`${what}: unknown opcode ${Number(word & 7n)}`);
  const f = unpack(LAYOUT[op], word, `${what} (${op})`);
  const deps: DepFlags = { popPrev: !!f.popPrev, popNext: !!f.popNext, pushPrev: !!f.pushPrev, pushNext: !!f.pushNext };
  const loop = (): UopLoop => ({
    uopBegin: f.uopBegin!, uopEnd: f.uopEnd!, iterOut: f.iterOut!, iterIn: f.iterIn!,
    dstFactorOut: f.dstFactorOut!, dstFactorIn: f.dstFactorIn!, srcFactorOut: f.srcFactorOut!, srcFactorIn: f.srcFactorIn!,
  });
  switch (op) {
    case "load": case "store": {
      const memType = MEM_TYPES[f.memType!];
      if (memType === undefined) throw new VtaIsaError(`${what} (${op}): field memType=${f.memType} is not a memory type`);
      return {
        op, ...deps, memType, sramBase: f.sramBase!, dramBase: f.dramBase!, ySize: f.ySize!, xSize: f.xSize!,
        xStride: f.xStride!, yPad0: f.yPad0!, yPad1: f.yPad1!, xPad0: f.xPad0!, xPad1: f.xPad1!,
      };
    }
    case "gemm":
      return { op, ...deps, reset: !!f.reset, ...loop(), wgtFactorOut: f.wgtFactorOut!, wgtFactorIn: f.wgtFactorIn! };
    case "alu": {
      const aluOp = ALU_OPS[f.aluOp!];
      if (aluOp === undefined) throw new VtaIsaError(`${what} (alu): field aluOp=${f.aluOp} is not an ALU operation`);
      if (f.reserved) throw new VtaIsaError(`${what} (alu): reserved bit 7 is set`);
      return { op, ...deps, ...loop(), aluOp, useImm: !!f.useImm, imm: f.imm! };
    }
    case "finish":
      return { op, ...deps };
  }
}

export function encodeProgram(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * INSN_BYTES);
  insns.forEach((insn, i) => out.set(encodeInsn(insn, i), i * INSN_BYTES));
  return out;
}

export function decodeProgram(bytes: Uint8Array): Insn[] {
  if (bytes.length % INSN_BYTES !== 0) throw new VtaIsaError(`a program is a multiple of ${INSN_BYTES} bytes, got ${bytes.length}`);
  const out: Insn[] = [];
  for (let i = 0; i < bytes.length; i += INSN_BYTES) out.push(decodeInsn(bytes.subarray(i, i + INSN_BYTES), i / INSN_BYTES));
  return out;
}

export function encodeUop(u: Uop, index = 0): number {
  return Number(pack(UOP_FIELDS, u as unknown as Record<string, number>, `micro-op ${index}`));
}

const UOP_SHIFTS = (() => {
  const m = fieldLayout("uop");
  const get = (n: string) => { const f = m.get(n)!; return [f.lo, 2 ** f.width - 1] as const; };
  return { acc: get("acc"), inp: get("inp"), wgt: get("wgt") };
})();

/** Plain bit operations (the simulator decodes one micro-op per GEMM/ALU iteration). */
export function decodeUop(word: number): Uop {
  const w = word >>> 0, { acc, inp, wgt } = UOP_SHIFTS;
  return { acc: (w >>> acc[0]) & acc[1], inp: (w >>> inp[0]) & inp[1], wgt: (w >>> wgt[0]) & wgt[1] };
}

/** Micro-ops as the little-endian bytes a LOAD of memType "uop" reads from DRAM. */
export function encodeUops(uops: readonly Uop[]): Uint8Array {
  const out = new Uint8Array(uops.length * UOP_BYTES);
  const view = new DataView(out.buffer);
  uops.forEach((u, i) => view.setUint32(i * UOP_BYTES, encodeUop(u, i), true));
  return out;
}

// ---------------------------------------------------------------------------------------
// Builders with defaults, so programs read as what they do.

const NO_DEPS: DepFlags = { popPrev: false, popNext: false, pushPrev: false, pushNext: false };
type Opt<T> = Partial<DepFlags> & T;

export function load(a: Opt<{ memType: Exclude<MemType, "out">; sramBase: number; dramBase: number; ySize: number; xSize: number; xStride?: number; yPad0?: number; yPad1?: number; xPad0?: number; xPad1?: number }>): MemInsn {
  return { ...NO_DEPS, yPad0: 0, yPad1: 0, xPad0: 0, xPad1: 0, ...a, xStride: a.xStride ?? a.xSize, op: "load" };
}

export function store(a: Opt<{ sramBase: number; dramBase: number; ySize: number; xSize: number; xStride?: number }>): MemInsn {
  return { ...NO_DEPS, yPad0: 0, yPad1: 0, xPad0: 0, xPad1: 0, ...a, xStride: a.xStride ?? a.xSize, memType: "out", op: "store" };
}

type LoopArgs = Pick<UopLoop, "uopBegin" | "uopEnd"> & Partial<UopLoop>;
const loopDefaults = (a: LoopArgs): UopLoop => ({
  iterOut: 1, iterIn: 1, dstFactorOut: 0, dstFactorIn: 0, srcFactorOut: 0, srcFactorIn: 0, ...a,
});

export function gemm(a: Opt<LoopArgs & { reset?: boolean; wgtFactorOut?: number; wgtFactorIn?: number }>): GemmInsn {
  return { ...NO_DEPS, reset: false, wgtFactorOut: 0, wgtFactorIn: 0, ...a, ...loopDefaults(a), op: "gemm" };
}

export function alu(a: Opt<LoopArgs & { aluOp: AluOp; useImm?: boolean; imm?: number }>): AluInsn {
  return { ...NO_DEPS, useImm: false, imm: 0, ...a, ...loopDefaults(a), op: "alu" };
}

export function finish(a: Partial<DepFlags> = {}): FinishInsn {
  return { ...NO_DEPS, ...a, op: "finish" };
}

// ---------------------------------------------------------------------------------------
// Static checks against a configuration (fsim and the runner call this first).

/**
 * Checks what can be checked without running: dependency flags legal for the module,
 * FINISH last and unique, memory types, pads, and that every SRAM range a LOAD/STORE
 * touches and every micro-op range lies inside its buffer. Index ranges of the affine
 * loops depend on micro-op contents and are checked while simulating.
 */
export function validateProgram(insns: readonly Insn[], p: VtaParams): void {
  if (insns.length === 0 || insns[insns.length - 1]!.op !== "finish") {
    throw new VtaIsaError("a program must end with FINISH");
  }
  const size: Record<MemType, number> = {
    uop: p.uopBufferEntries, inp: p.inpBufferEntries, wgt: p.wgtBufferEntries, acc: p.accBufferEntries, out: p.accBufferEntries,
  };
  insns.forEach((insn, i) => {
    const what = `instruction ${i} (${insn.op})`;
    if (insn.op === "finish" && i !== insns.length - 1) throw new VtaIsaError(`${what}: FINISH must be the last instruction`);
    const mod = moduleOf(insn);
    if (mod === "load" && (insn.popPrev || insn.pushPrev)) throw new VtaIsaError(`${what}: the load module has no previous module (popPrev/pushPrev)`);
    if (mod === "store" && (insn.popNext || insn.pushNext)) throw new VtaIsaError(`${what}: the store module has no next module (popNext/pushNext)`);
    switch (insn.op) {
      case "load": case "store": {
        if (insn.op === "load" && insn.memType === "out") throw new VtaIsaError(`${what}: LOAD cannot target the output buffer`);
        if (insn.op === "store" && insn.memType !== "out") throw new VtaIsaError(`${what}: STORE reads the output buffer (memType out), got ${insn.memType}`);
        if (insn.op === "store" && (insn.yPad0 | insn.yPad1 | insn.xPad0 | insn.xPad1)) throw new VtaIsaError(`${what}: STORE has no padding`);
        if (insn.xStride < insn.xSize && insn.ySize > 1) throw new VtaIsaError(`${what}: xStride=${insn.xStride} < xSize=${insn.xSize}`);
        const entries = (insn.yPad0 + insn.ySize + insn.yPad1) * (insn.xPad0 + insn.xSize + insn.xPad1);
        if (insn.sramBase + entries > size[insn.memType]) {
          throw new VtaIsaError(`${what}: writes ${insn.memType}[${insn.sramBase}..${insn.sramBase + entries - 1}] beyond the buffer's ${size[insn.memType]} entries`);
        }
        break;
      }
      case "gemm": case "alu":
        if (insn.uopBegin > insn.uopEnd || insn.uopEnd > p.uopBufferEntries) {
          throw new VtaIsaError(`${what}: micro-op range [${insn.uopBegin}, ${insn.uopEnd}) is not inside the ${p.uopBufferEntries}-entry buffer`);
        }
        break;
      case "finish":
        break;
    }
  });
}
