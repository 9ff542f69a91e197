/**
 * Bit-exact functional simulator of the VTA-style accelerator (semantics: isa.ts), with a
 * simple timing model for cycles and GEMM-core utilisation.
 *
 * The fetch unit and the three modules are processes joined by bounded instruction queues
 * and token counters (a Kahn network), so the order in which this simulator lets them make
 * progress does not change the result nor whether the program deadlocks: the RTL and the
 * HLS C-simulation reach the same verdict. When nothing can progress before FINISH has
 * run and drained, the program deadlocks and `VtaDeadlockError` says who waits for what.
 *
 * Timing model (max-plus, per instruction; timing.ts gives each instruction's cycles, which
 * follow the generated RTL's state machines, so these cycles are the RTL's within 5%):
 *   fetch    one instruction per fetchCycles, stalled while the target queue is full
 *            (a slot frees the cycle after its instruction is taken)
 *   take     a module takes its next instruction when free, ≥ 1 cycle after it was fetched
 *   start    = max(take + 1, the cycle each popped token becomes visible)
 *   end      = start + body + 2; tokens pushed by an instruction become visible at its end
 *   cycles   = the last end.
 * GEMM utilisation = cycles the GEMM core's multipliers fire (one per non-reset GEMM iteration) / cycles.
 */
import { LatheError } from "../../../core/errors.ts";
import { type Insn, type MemInsn, type GemmInsn, type AluInsn, type ModuleName, type MemType, decodeProgram, decodeUop, moduleOf, validateProgram } from "./isa.ts";
import { type VtaParams, DEFAULT_PARAMS, entryBytes } from "./params.ts";
import { aluBusy, bodyCycles, fetchCycles, gemmBusy } from "./timing.ts";

/** A program that cannot finish: some pop waits for a push that never comes. */
export class VtaDeadlockError extends LatheError {
  override name = "VtaDeadlockError";
}

/** A program that reads outside DRAM or a buffer, or reads SRAM that was never written. */
export class VtaExecError extends LatheError {
  override name = "VtaExecError";
}

export interface VtaStats {
  /** Cycles under the timing model of the simulator that produced them (see each simulator's docs). */
  readonly cycles: number;
  /** Cycles the GEMM core spends multiplying. */
  readonly gemmBusyCycles: number;
  /** gemmBusyCycles / cycles. */
  readonly gemmUtilization: number;
  readonly aluBusyCycles: number;
  /** Data bytes LOAD read and STORE wrote (instruction fetch not included). */
  readonly dramBytesRead: number;
  readonly dramBytesWritten: number;
  readonly insnCount: Readonly<Record<ModuleName, number>>;
}

export interface SimResult {
  /** DRAM after the run (a copy; the input is not changed). */
  readonly dram: Uint8Array;
  readonly stats: VtaStats;
}

type TokenQueue = "l2c" | "c2l" | "c2s" | "s2c";
const POP: Record<ModuleName, { prev?: TokenQueue; next?: TokenQueue }> = {
  load: { next: "c2l" }, compute: { prev: "l2c", next: "s2c" }, store: { prev: "c2s" },
};
const PUSH: Record<ModuleName, { prev?: TokenQueue; next?: TokenQueue }> = {
  load: { next: "l2c" }, compute: { prev: "c2l", next: "c2s" }, store: { prev: "s2c" },
};
const MODULES: readonly ModuleName[] = ["load", "compute", "store"];

export { insnCycles, uopIterations } from "./timing.ts";

/** On-chip state: buffers plus which entries hold written data. */
class Buffers {
  readonly inp: Int8Array; readonly wgt: Int8Array; readonly acc: Int32Array; readonly out: Int8Array;
  readonly uop: Uint32Array;
  readonly written: Record<MemType, Uint8Array>;
  constructor(readonly p: VtaParams) {
    this.inp = new Int8Array(p.inpBufferEntries * p.batch * p.blockIn);
    this.wgt = new Int8Array(p.wgtBufferEntries * p.blockOut * p.blockIn);
    this.acc = new Int32Array(p.accBufferEntries * p.batch * p.blockOut);
    this.out = new Int8Array(p.accBufferEntries * p.batch * p.blockOut);
    this.uop = new Uint32Array(p.uopBufferEntries);
    this.written = {
      uop: new Uint8Array(p.uopBufferEntries), inp: new Uint8Array(p.inpBufferEntries), wgt: new Uint8Array(p.wgtBufferEntries),
      acc: new Uint8Array(p.accBufferEntries), out: new Uint8Array(p.accBufferEntries),
    };
  }
  size(m: MemType): number { return this.written[m].length; }
}

interface Pending { readonly insn: Insn; readonly index: number; readonly fetchedAt: number }
interface Current extends Pending { readonly dequeuedAt: number }

export function simulate(program: readonly Insn[] | Uint8Array, dramIn: Uint8Array, p: VtaParams = DEFAULT_PARAMS): SimResult {
  const insns = program instanceof Uint8Array ? decodeProgram(program) : program;
  validateProgram(insns, p);
  const dram = dramIn.slice();
  const buf = new Buffers(p);
  const E = entryBytes(p);
  const stats = { gemmBusyCycles: 0, aluBusyCycles: 0, dramBytesRead: 0, dramBytesWritten: 0 };
  const insnCount: Record<ModuleName, number> = { load: 0, compute: 0, store: 0 };

  const queue: Record<ModuleName, Pending[]> = { load: [], compute: [], store: [] };
  const dequeueTimes: Record<ModuleName, number[]> = { load: [], compute: [], store: [] };
  const dispatched: Record<ModuleName, number> = { load: 0, compute: 0, store: 0 };
  const current: Record<ModuleName, Current | null> = { load: null, compute: null, store: null };
  const freeAt: Record<ModuleName, number> = { load: 0, compute: 0, store: 0 };
  const tokens: Record<TokenQueue, number[]> = { l2c: [], c2l: [], c2s: [], s2c: [] };
  let fetchPtr = 0, lastFetch = 0, lastEnd = 0, finished = false;
  const fetchEvery = fetchCycles(p);

  const execute = (insn: Insn, index: number): void => {
    const what = `instruction ${index} (${insn.op}${"memType" in insn ? " " + insn.memType : ""})`;
    switch (insn.op) {
      case "load": case "store": return memory(insn, what);
      case "gemm": case "alu": return compute(insn, what);
      case "finish": finished = true; return;
    }
  };

  const memory = (insn: MemInsn, what: string): void => {
    const m = insn.memType, eb = E[m];
    const cols = insn.xPad0 + insn.xSize + insn.xPad1, rows = insn.yPad0 + insn.ySize + insn.yPad1;
    const checkDram = (entry: number): number => {
      const addr = entry * eb;
      if (addr + eb > dram.length) throw new VtaExecError(`${what}: DRAM entry ${entry} (bytes ${addr}..${addr + eb - 1}) lies outside the ${dram.length}-byte DRAM`);
      return addr;
    };
    if (insn.op === "store") {
      for (let y = 0; y < insn.ySize; y++) {
        for (let x = 0; x < insn.xSize; x++) {
          const s = insn.sramBase + y * insn.xSize + x;
          if (!buf.written.out[s]) throw new VtaExecError(`${what}: reads out[${s}], which no GEMM/ALU wrote`);
          const addr = checkDram(insn.dramBase + y * insn.xStride + x);
          dram.set(new Uint8Array(buf.out.buffer, s * eb, eb), addr);
        }
      }
      stats.dramBytesWritten += insn.ySize * insn.xSize * eb;
      return;
    }
    const target: Uint8Array = m === "uop" ? new Uint8Array(buf.uop.buffer) : m === "inp" ? new Uint8Array(buf.inp.buffer)
      : m === "wgt" ? new Uint8Array(buf.wgt.buffer) : new Uint8Array(buf.acc.buffer);
    // Little-endian host assumed for the int32/uint32 views (Node on x86/ARM is).
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const s = insn.sramBase + r * cols + c;
        const y = r - insn.yPad0, x = c - insn.xPad0;
        if (y < 0 || y >= insn.ySize || x < 0 || x >= insn.xSize) {
          target.fill(0, s * eb, (s + 1) * eb);
        } else {
          const addr = checkDram(insn.dramBase + y * insn.xStride + x);
          target.set(dram.subarray(addr, addr + eb), s * eb);
        }
        buf.written[m][s] = 1;
      }
    }
    stats.dramBytesRead += insn.ySize * insn.xSize * eb;
  };

  const compute = (insn: GemmInsn | AluInsn, what: string): void => {
    const { batch, blockIn: K, blockOut: O } = p;
    const tile = batch * O;
    const index = (kind: MemType, i: number, u: number): number => {
      if (i >= buf.size(kind)) throw new VtaExecError(`${what}: micro-op ${u} addresses ${kind}[${i}] beyond the buffer's ${buf.size(kind)} entries`);
      return i;
    };
    const need = (kind: MemType, i: number): void => {
      if (!buf.written[kind][i]) throw new VtaExecError(`${what}: reads ${kind}[${i}] before anything wrote it${kind === "acc" ? " (use a GEMM with reset or a LOAD acc first)" : ""}`);
    };
    for (let io = 0; io < insn.iterOut; io++) {
      for (let ii = 0; ii < insn.iterIn; ii++) {
        for (let u = insn.uopBegin; u < insn.uopEnd; u++) {
          need("uop", u);
          const uop = decodeUop(buf.uop[u]!);
          const a = index("acc", uop.acc + io * insn.dstFactorOut + ii * insn.dstFactorIn, u);
          const s = uop.inp + io * insn.srcFactorOut + ii * insn.srcFactorIn;
          if (insn.op === "gemm") {
            if (!insn.reset) {
              const w = index("wgt", uop.wgt + io * insn.wgtFactorOut + ii * insn.wgtFactorIn, u);
              index("inp", s, u);
              need("acc", a); need("inp", s); need("wgt", w);
              for (let b = 0; b < batch; b++) {
                for (let o = 0; o < O; o++) {
                  let sum = 0;
                  const ib = (s * batch + b) * K, wb = (w * O + o) * K;
                  for (let k = 0; k < K; k++) sum += buf.inp[ib + k]! * buf.wgt[wb + k]!;
                  const ai = a * tile + b * O + o;
                  buf.acc[ai] = (buf.acc[ai]! + sum) | 0;
                }
              }
            } else {
              buf.acc.fill(0, a * tile, (a + 1) * tile);
            }
          } else {
            need("acc", a);
            if (!insn.useImm) { index("acc", s, u); need("acc", s); }
            for (let e = 0; e < tile; e++) {
              const x = buf.acc[a * tile + e]!;
              const y = insn.useImm ? insn.imm : buf.acc[s * tile + e]!;
              buf.acc[a * tile + e] = aluApply(insn.aluOp, x, y);
            }
          }
          for (let e = 0; e < tile; e++) buf.out[a * tile + e] = buf.acc[a * tile + e]!; // Int8Array keeps the low 8 bits
          buf.written.acc[a] = 1;
          buf.written.out[a] = 1;
        }
      }
    }
    stats.gemmBusyCycles += gemmBusy(insn);
    stats.aluBusyCycles += aluBusy(insn, p);
  };

  const step = (): boolean => {
    let progress = false;
    // Fetch: in order, while the target queue has room.
    while (fetchPtr < insns.length) {
      const insn = insns[fetchPtr]!, mod = moduleOf(insn);
      if (queue[mod].length >= p.insnQueueDepth) break;
      const k = dispatched[mod]++;
      const slotFree = k >= p.insnQueueDepth ? dequeueTimes[mod][k - p.insnQueueDepth]! : 0;
      lastFetch = Math.max(lastFetch + fetchEvery, slotFree + 1);
      queue[mod].push({ insn, index: fetchPtr, fetchedAt: lastFetch });
      fetchPtr++;
      progress = true;
    }
    for (const mod of MODULES) {
      if (!current[mod] && queue[mod].length > 0) {
        const next = queue[mod].shift()!;
        const dequeuedAt = Math.max(freeAt[mod], next.fetchedAt + 1);
        dequeueTimes[mod].push(dequeuedAt);
        current[mod] = { ...next, dequeuedAt };
        progress = true;
      }
      const cur = current[mod];
      if (!cur) continue;
      const pops: TokenQueue[] = [];
      if (cur.insn.popPrev) pops.push(POP[mod].prev!);
      if (cur.insn.popNext) pops.push(POP[mod].next!);
      if (pops.some((q) => tokens[q].length === 0)) continue;
      let start = cur.dequeuedAt + 1;
      for (const q of pops) start = Math.max(start, tokens[q].shift()!);
      execute(cur.insn, cur.index);
      insnCount[mod]++;
      const end = start + bodyCycles(cur.insn, p) + 2;
      freeAt[mod] = end;
      lastEnd = Math.max(lastEnd, end);
      if (cur.insn.pushPrev) tokens[PUSH[mod].prev!].push(end);
      if (cur.insn.pushNext) tokens[PUSH[mod].next!].push(end);
      current[mod] = null;
      progress = true;
    }
    return progress;
  };

  const drained = (): boolean => fetchPtr === insns.length && MODULES.every((m) => !current[m] && queue[m].length === 0);
  while (!(finished && drained())) {
    if (!step()) throw new VtaDeadlockError(describeDeadlock(insns, current, queue, fetchPtr, tokens));
  }
  const cycles = Math.max(lastEnd, 1);
  return {
    dram,
    stats: { cycles, ...stats, gemmUtilization: stats.gemmBusyCycles / cycles, insnCount },
  };
}

/** One ALU lane: int32 in, int32 out (isa.ts gives the semantics). */
export function aluApply(op: AluInsn["aluOp"], x: number, y: number): number {
  switch (op) {
    case "min": return Math.min(x, y);
    case "max": return Math.max(x, y);
    case "add": return (x + y) | 0;
    case "shr": return x >> (y & 31);
    case "mul": return Math.imul(x, y);
  }
}

function describeDeadlock(
  insns: readonly Insn[], current: Record<ModuleName, Current | null>, queue: Record<ModuleName, Pending[]>,
  fetchPtr: number, tokens: Record<TokenQueue, number[]>,
): string {
  const lines: string[] = [];
  for (const mod of MODULES) {
    const cur = current[mod];
    if (!cur) { lines.push(`  ${mod}: idle, queue empty`); continue; }
    const waits: string[] = [];
    if (cur.insn.popPrev && tokens[POP[mod].prev!].length === 0) waits.push(`a token from ${mod === "compute" ? "load" : "compute"} (popPrev)`);
    if (cur.insn.popNext && tokens[POP[mod].next!].length === 0) waits.push(`a token from ${mod === "load" ? "compute" : "store"} (popNext)`);
    lines.push(`  ${mod}: instruction ${cur.index} (${cur.insn.op}) waits for ${waits.join(" and ")}; ${queue[mod].length} more queued`);
  }
  if (fetchPtr < insns.length) lines.push(`  fetch: stalled at instruction ${fetchPtr} (its module's queue is full)`);
  return `VTA program deadlocks: no module can make progress before FINISH drains\n${lines.join("\n")}`;
}
