/**
 * The four VTA simulators agree bit for bit: fsim (TypeScript), the generated Verilog under
 * Verilator and under Icarus, and the HLS C++ C-simulation. Each program's whole DRAM is
 * compared against fsim's, and the output region against the closed form.
 * CI runs two configurations (1×16×16 with small buffers, and the FPGA flow's 1×8×1 `small`
 * with one-deep queues: a Verilator build each, ~1 min cold);
 * LATHE_VTA_HW_EXTRA=1 adds configurations with batch 2, 8×8 tiles and other bus widths.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { type VtaStats, VtaDeadlockError } from "../../compiler/targets/vta/fsim.ts";
import { type Insn, alu, encodeUops, finish, gemm, load, store } from "../../compiler/targets/vta/isa.ts";
import { type VtaParams, entryBytes, makeParams } from "../../compiler/targets/vta/params.ts";
import { type SimKind, runProgram, simulatorUnavailable } from "../../compiler/targets/vta/runner.ts";
import { buildIcarus } from "../../compiler/targets/vta/hw/iverilog.ts";
import { buildVerilator } from "../../compiler/targets/vta/hw/verilator.ts";
import { buildHls } from "../../compiler/targets/vta/hw/hls.ts";
import { SYNTH_CONFIGS } from "../../compiler/targets/vta/hw/synth.ts";
import { buildAluFuzz, buildGemm, randInt, rng } from "./hw-programs.ts";
import { SIMULATOR_NEEDS, skipReason } from "../helpers/skip.ts";

const small = { inpBufferEntries: 128, wgtBufferEntries: 64, accBufferEntries: 128, uopBufferEntries: 128 };
// The synthesis flow's `small` configuration too (1×8×1, one-deep instruction queues): what goes on the FPGA.
const CONFIGS: VtaParams[] = [makeParams(small), SYNTH_CONFIGS.small!];
if (process.env.LATHE_VTA_HW_EXTRA) {
  CONFIGS.push(makeParams({ ...small, batch: 2, blockIn: 8, blockOut: 8, dramWidthBytes: 16, insnQueueDepth: 4 }));
  CONFIGS.push(makeParams({ ...small, blockIn: 4, blockOut: 8, dramWidthBytes: 4, dramLatency: 3 }));
}
const HW: SimKind[] = ["verilator", "iverilog", "hls"];
const unavailable = new Map<SimKind, string | null>();
for (const s of HW) unavailable.set(s, await simulatorUnavailable(s));
for (const [s, why] of unavailable) if (why) console.warn(`skipping VTA ${s} tests: ${why}`);
const available = HW.filter((s) => !unavailable.get(s));
/** Every hardware simulator is missing: the title names all three (any one of them runs these tests). */
const noSimulator = available.length === 0 && HW.map((s) => SIMULATOR_NEEDS[s]!);

/** A padded LOAD acc (2×2 data, one zero entry around), ALU add 1 over all 16 entries, STORE. */
function paddedProgram(p: VtaParams): { program: Insn[]; dram: Uint8Array; expected: Int8Array; outOffset: number } {
  const E = entryBytes(p);
  const lanes = p.batch * p.blockOut;
  const dram = new Uint8Array(4 * E.acc + 16 * E.out + E.acc);
  const dv = new DataView(dram.buffer);
  for (let i = 0; i < 4 * lanes; i++) dv.setInt32(i * 4, i * 37 - 100, true);
  const uopOff = 4 * E.acc; // the uop follows the acc data (acc entries are 4-byte aligned)
  dram.set(encodeUops([{ acc: 0, inp: 0, wgt: 0 }]), uopOff);
  const outOffset = 5 * E.acc;
  const program = [
    load({ memType: "acc", sramBase: 0, dramBase: 0, ySize: 2, xSize: 2, yPad0: 1, yPad1: 1, xPad0: 1, xPad1: 1 }),
    load({ memType: "uop", sramBase: 0, dramBase: uopOff / 4, ySize: 1, xSize: 1 }),
    alu({ aluOp: "add", useImm: true, imm: 1, uopBegin: 0, uopEnd: 1, iterOut: 4, iterIn: 4, dstFactorOut: 4, dstFactorIn: 1, pushNext: true }),
    store({ popPrev: true, pushPrev: true, sramBase: 0, dramBase: outOffset / E.out, ySize: 4, xSize: 4, xStride: 4 }),
    finish({ popNext: true }),
  ];
  const expected = new Int8Array(16 * E.out);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) for (let l = 0; l < lanes; l++) {
    const inside = r >= 1 && r < 3 && c >= 1 && c < 3;
    const v = inside ? ((r - 1) * 2 + (c - 1)) * lanes + l : -1;
    expected[(r * 4 + c) * lanes + l] = inside ? v * 37 - 100 + 1 : 1;
  }
  return { program, dram, expected, outOffset };
}

describe.each(CONFIGS.map((p) => [`${p.batch}x${p.blockIn}x${p.blockOut} bus ${p.dramWidthBytes}B`, p] as const))("VTA hardware %s", (_, p) => {
  beforeAll(async () => {
    // Build all three in parallel, once (content-hashed cache).
    await Promise.all([
      available.includes("verilator") ? buildVerilator(p) : null,
      available.includes("iverilog") ? buildIcarus(p, 1 << 14) : null,
      available.includes("hls") ? buildHls(p) : null,
    ]);
  }, 600_000);

  test.skipIf(available.length === 0)(skipReason("random GEMM programs: every simulator matches fsim and the int8 reference", noSimulator), async () => {
    const r = rng(2026 + p.blockIn);
    for (let t = 0; t < 5; t++) {
      const m = randInt(r, 1, 4);
      const g = buildGemm({ m, nb: randInt(r, 1, 2), kb: randInt(r, 1, 3), shift: randInt(r, 4, 12), bias: t % 2 === 1, inpChunks: randInt(r, 1, m), gap: randInt(r, 0, 2) }, p, r);
      const ref = await runProgram(g.program, g.dram, { sim: "fsim", params: p });
      expect(new Int8Array(ref.dram.buffer, g.outOffset, g.outBytes)).toEqual(g.expected);
      const latency = randInt(r, 0, 4);
      const rtl: VtaStats[] = [];
      for (const sim of available) {
        const got = await runProgram(g.program, g.dram, { sim, params: p, dramLatency: latency });
        expect(got.dram, `${sim}, case ${t}`).toEqual(ref.dram);
        if (got.cycleModel === "rtl") rtl.push(got.stats);
      }
      // Verilator and Icarus run the same RTL against the same DRAM model: same clock count.
      if (rtl.length === 2) {
        expect(rtl[0]!.cycles).toBe(rtl[1]!.cycles);
        expect(rtl[0]!.gemmBusyCycles).toBe(rtl[1]!.gemmBusyCycles);
      }
      // fsim's cycle model at the same DRAM latency (timing.ts: bursts, pads, micro-ops) counts the RTL's clock.
      const model = (await runProgram(g.program, g.dram, { sim: "fsim", params: { ...p, dramLatency: latency } })).stats;
      for (const s of rtl) {
        // fsim counts busy cycles as the RTL does (timing.ts: one per GEMM micro-op iteration).
        expect(s.gemmBusyCycles).toBe(ref.stats.gemmBusyCycles);
        expect(s.aluBusyCycles).toBe(ref.stats.aluBusyCycles);
        expect(s.cycles, `case ${t}, latency ${latency}`).toBe(model.cycles);
      }
    }
  }, 300_000);

  test.skipIf(available.length === 0)(skipReason("random ALU programs (every op, immediates and accumulator operands) agree everywhere", noSimulator), async () => {
    const r = rng(77);
    for (let t = 0; t < 3; t++) {
      const f = buildAluFuzz(p, r);
      const ref = await runProgram(f.program, f.dram, { sim: "fsim", params: p });
      expect(ref.dram).not.toEqual(f.dram);
      for (const sim of available) expect((await runProgram(f.program, f.dram, { sim, params: p })).dram, `${sim}, case ${t}`).toEqual(ref.dram);
    }
  }, 120_000);

  test.skipIf(available.length === 0)(skipReason("padded LOAD, ALU and int8 truncation agree everywhere", noSimulator), async () => {
    const prog = paddedProgram(p);
    const ref = await runProgram(prog.program, prog.dram, { sim: "fsim", params: p });
    expect(new Int8Array(ref.dram.buffer, prog.outOffset, prog.expected.length)).toEqual(prog.expected);
    for (const sim of available) {
      expect((await runProgram(prog.program, prog.dram, { sim, params: p })).dram, sim).toEqual(ref.dram);
    }
  }, 120_000);

  test.skipIf(available.length === 0)(skipReason("a deadlocking stream is a clear error on every simulator", noSimulator), async () => {
    // compute pops a token that load never pushes.
    const prog = [
      load({ memType: "inp", sramBase: 0, dramBase: 0, ySize: 1, xSize: 1 }),
      gemm({ popPrev: true, reset: true, uopBegin: 0, uopEnd: 0 }),
      finish(),
    ];
    const dram = new Uint8Array(256);
    await expect(runProgram(prog, dram, { sim: "fsim", params: p })).rejects.toThrow(/deadlocks/);
    for (const sim of available) {
      await expect(runProgram(prog, dram, { sim, params: p }), sim).rejects.toThrow(VtaDeadlockError);
    }
  }, 120_000);

  test.skipIf(available.length === 0)(skipReason("a deadlock from full instruction queues is seen by every simulator", noSimulator), async () => {
    // load holds L0 (waiting for compute's token) while depth more loads fill its queue; the
    // next cannot be fetched, so the GEMM that would push the token never arrives.
    const ld = (popNext = false) => load({ memType: "inp", sramBase: 0, dramBase: 0, ySize: 1, xSize: 1, popNext });
    const loads = [ld(true), ...Array.from({ length: p.insnQueueDepth + 1 }, () => ld())];
    const prog = [...loads, gemm({ reset: true, uopBegin: 0, uopEnd: 0, pushPrev: true }), finish()];
    const dram = new Uint8Array(256);
    await expect(runProgram(prog, dram, { sim: "fsim", params: p })).rejects.toThrow(/fetch: stalled/);
    for (const sim of available) await expect(runProgram(prog, dram, { sim, params: p }), sim).rejects.toThrow(VtaDeadlockError);
    // With one load fewer everything fits and all of them finish.
    const fits = [...loads.slice(0, -1), ...prog.slice(-2)];
    for (const sim of ["fsim" as const, ...available]) await runProgram(fits, dram, { sim, params: p });
  }, 120_000);

  test.skipIf(available.length === 0)(skipReason("more queued work than the instruction queues hold still completes", noSimulator), async () => {
    // 3 × depth inp loads, each handing compute a token, before any compute instruction.
    const n = 3 * p.insnQueueDepth;
    const E = entryBytes(p);
    const dram = new Uint8Array(n * E.inp + 64);
    for (let i = 0; i < dram.length; i++) dram[i] = (i * 7) & 0xff;
    const prog: Insn[] = [];
    for (let i = 0; i < n; i++) prog.push(load({ memType: "inp", sramBase: i % p.inpBufferEntries, dramBase: i, ySize: 1, xSize: 1, pushNext: true }));
    for (let i = 0; i < n; i++) prog.push(gemm({ popPrev: true, reset: true, uopBegin: 0, uopEnd: 0 }));
    prog.push(finish());
    await runProgram(prog, dram, { sim: "fsim", params: p });
    for (const sim of available) await runProgram(prog, dram, { sim, params: p });
  }, 120_000);
});
