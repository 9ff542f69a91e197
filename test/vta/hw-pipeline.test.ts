/**
 * The compute core's micro-op pipeline (compiler/targets/vta/hw/compute.ts): consecutive
 * micro-ops that read the accumulator entry the previous one just wrote (the hazard the
 * forwarding register covers), under GEMM and every ALU op with both operand kinds, against
 * a closed form on every simulator; and the RTL's clock showing one micro-op per cycle in
 * steady state (ALU MUL: ten). Uses the same cached builds as test/vta/hw-sim.test.ts.
 */
import { describe, expect, test } from "vitest";
import { type Insn, alu, encodeUops, finish, gemm, load, store } from "../../compiler/targets/vta/isa.ts";
import { type VtaParams, entryBytes, makeParams } from "../../compiler/targets/vta/params.ts";
import { type SimKind, runProgram, simulatorUnavailable } from "../../compiler/targets/vta/runner.ts";
import { ALU_MUL_EXTRA_CYCLES } from "../../compiler/targets/vta/timing.ts";
import { buildGemm, randInt, rng } from "./hw-programs.ts";
import { SIMULATOR_NEEDS, skipReason } from "../helpers/skip.ts";

const p: VtaParams = makeParams({ inpBufferEntries: 128, wgtBufferEntries: 64, accBufferEntries: 128, uopBufferEntries: 128 });
const HW: SimKind[] = ["verilator", "iverilog", "hls"];
const available: SimKind[] = [];
for (const s of HW) if (!(await simulatorUnavailable(s))) available.push(s);
const rtlSims = available.filter((s) => s !== "hls");
const missingAll = available.length === 0 && HW.map((s) => SIMULATOR_NEEDS[s]!);
const missingRtl = rtlSims.length === 0 && [SIMULATOR_NEEDS.verilator!, SIMULATOR_NEEDS.iverilog!];

/**
 * Eight accumulator entries, then back-to-back read-after-write chains:
 *   add   acc[i] += acc[i − 1] for i = 1..7 (the source is the entry just written: prefix sums)
 *   mul   acc[0] *= acc[1], three times in a row on the same entry (the pipeline held in E)
 *   add   acc[2] += imm, five times in a row; shr acc[3] >>= 1, three times; max / min chains
 */
function chains(): { program: Insn[]; dram: Uint8Array; outOffset: number; expected: Int8Array } {
  const E = entryBytes(p), lanes = p.batch * p.blockOut, N = 8;
  const r = rng(5150);
  const acc = Array.from({ length: N }, () => Array.from({ length: lanes }, () => randInt(r, -3000, 3000)));
  const uops = [{ acc: 0, inp: 1, wgt: 0 }, ...Array.from({ length: N - 1 }, (_, i) => ({ acc: i + 1, inp: i, wgt: 0 }))];
  const uopOff = N * E.acc, outOff = uopOff + Math.ceil((uops.length * 4) / E.out) * E.out;
  const dram = new Uint8Array(outOff + N * E.out);
  const dv = new DataView(dram.buffer);
  acc.forEach((row, e) => row.forEach((v, l) => dv.setInt32((e * lanes + l) * 4, v, true)));
  dram.set(encodeUops(uops), uopOff);
  const same = (dst: number, times: number) => ({ uopBegin: 0, uopEnd: 1, iterOut: times, dstFactorOut: dst, srcFactorOut: 0 });
  const program: Insn[] = [
    load({ memType: "acc", sramBase: 0, dramBase: 0, ySize: 1, xSize: N }),
    load({ memType: "uop", sramBase: 0, dramBase: uopOff / 4, ySize: 1, xSize: uops.length }),
    alu({ aluOp: "add", uopBegin: 1, uopEnd: N }),
    alu({ aluOp: "mul", ...same(0, 3) }),
    alu({ aluOp: "add", useImm: true, imm: 77, uopBegin: 0, uopEnd: 1, iterOut: 2, iterIn: 5, dstFactorOut: 2, dstFactorIn: 0 }),
    alu({ aluOp: "shr", useImm: true, imm: 1, uopBegin: 0, uopEnd: 1, iterOut: 1, iterIn: 3, dstFactorOut: 0, dstFactorIn: 0 }),
    alu({ aluOp: "max", useImm: true, imm: -200, uopBegin: 5, uopEnd: 7 }),
    alu({ aluOp: "min", useImm: true, imm: 100, uopBegin: 0, uopEnd: N, pushNext: true }),
    store({ popPrev: true, pushPrev: true, sramBase: 0, dramBase: outOff / E.out, ySize: 1, xSize: N }),
    finish({ popNext: true }),
  ];
  // Closed form, in program order.
  const a = acc.map((row) => Int32Array.from(row));
  for (let i = 1; i < N; i++) for (let l = 0; l < lanes; l++) a[i]![l] = (a[i]![l]! + a[i - 1]![l]!) | 0;
  for (let t = 0; t < 3; t++) for (let l = 0; l < lanes; l++) a[0]![l] = Math.imul(a[0]![l]!, a[1]![l]!);
  for (let t = 0; t < 5; t++) for (const e of [0, 2]) for (let l = 0; l < lanes; l++) a[e]![l] = (a[e]![l]! + 77) | 0;
  for (let t = 0; t < 3; t++) for (let l = 0; l < lanes; l++) a[0]![l] = a[0]![l]! >> 1;
  for (const e of [5, 6]) for (let l = 0; l < lanes; l++) a[e]![l] = Math.max(a[e]![l]!, -200);
  for (let e = 0; e < N; e++) for (let l = 0; l < lanes; l++) a[e]![l] = Math.min(a[e]![l]!, 100);
  const expected = new Int8Array(N * E.out);
  for (let e = 0; e < N; e++) for (let l = 0; l < lanes; l++) expected[e * E.out + l] = a[e]![l]!;
  return { program, dram, outOffset: outOff, expected };
}

/** LOAD inp/wgt, then `n` GEMM micro-ops all accumulating into entry 0 (after a reset), FINISH. */
function sameRowGemm(n: number, op: "gemm" | "mul"): { program: Insn[]; dram: Uint8Array } {
  const E = entryBytes(p);
  const dram = new Uint8Array(E.inp + E.wgt + 16);
  for (let i = 0; i < E.inp + E.wgt; i++) dram[i] = (i * 29 + 3) & 0xff; // wgt entry 0, then inp entry 0
  dram.set(encodeUops([{ acc: 0, inp: 0, wgt: 0 }]), E.inp + E.wgt);
  const loop = { uopBegin: 0, uopEnd: 1, iterOut: n, dstFactorOut: 0 };
  return {
    dram,
    program: [
      load({ memType: "wgt", sramBase: 0, dramBase: 0, ySize: 1, xSize: 1 }),
      load({ memType: "inp", sramBase: 0, dramBase: E.wgt / E.inp, ySize: 1, xSize: 1, pushNext: true }),
      load({ memType: "uop", sramBase: 0, dramBase: (E.inp + E.wgt) / 4, ySize: 1, xSize: 1 }),
      gemm({ popPrev: true, reset: true, uopBegin: 0, uopEnd: 1 }),
      op === "gemm" ? gemm(loop) : alu({ aluOp: "mul", useImm: true, imm: 3, ...loop }),
      finish(),
    ],
  };
}

describe("VTA compute pipeline", () => {
  test.skipIf(available.length === 0)(skipReason("back-to-back read-after-write micro-ops (ALU chains, same-row GEMM) match a closed form everywhere", missingAll), async () => {
    const c = chains();
    const ref = await runProgram(c.program, c.dram, { sim: "fsim", params: p });
    expect(new Int8Array(ref.dram.buffer, c.outOffset, c.expected.length)).toEqual(c.expected);
    for (const sim of available) expect((await runProgram(c.program, c.dram, { sim, params: p })).dram, sim).toEqual(ref.dram);
    // Four reduction tiles: four consecutive GEMM micro-ops on each accumulator entry.
    const g = buildGemm({ m: 2, nb: 2, kb: 4, shift: 9, bias: true, inpChunks: 1 }, p, rng(8));
    for (const sim of available) {
      const got = await runProgram(g.program, g.dram, { sim, params: p });
      expect(new Int8Array(got.dram.buffer, g.outOffset, g.outBytes), sim).toEqual(g.expected);
    }
  }, 300_000);

  test.skipIf(rtlSims.length === 0)(skipReason("the RTL issues one GEMM micro-op per cycle in steady state (ALU MUL: 1 + its multiplier's cycles)", missingRtl), async () => {
    for (const sim of rtlSims) {
      const [g20, g60] = [await runProgram(sameRowGemm(20, "gemm").program, sameRowGemm(20, "gemm").dram, { sim, params: p }),
        await runProgram(sameRowGemm(60, "gemm").program, sameRowGemm(60, "gemm").dram, { sim, params: p })];
      expect(g60.stats.cycles - g20.stats.cycles, sim).toBe(40);
      expect(g60.stats.gemmBusyCycles - g20.stats.gemmBusyCycles, sim).toBe(40);
      const m4 = await runProgram(sameRowGemm(4, "mul").program, sameRowGemm(4, "mul").dram, { sim, params: p });
      const m8 = await runProgram(sameRowGemm(8, "mul").program, sameRowGemm(8, "mul").dram, { sim, params: p });
      expect(m8.stats.cycles - m4.stats.cycles, sim).toBe(4 * (1 + ALU_MUL_EXTRA_CYCLES));
    }
  }, 300_000);
});
