import { describe, expect, test } from "vitest";
import { VtaDeadlockError, VtaExecError, aluApply, insnCycles, simulate } from "./fsim.ts";
import { alu, encodeProgram, encodeUops, finish, gemm, load, store } from "./isa.ts";
import { DEFAULT_PARAMS, entryBytes, makeParams } from "./params.ts";
import { buildGemm, randInt, rng } from "../../../test/vta/hw-programs.ts";

describe("VTA functional simulator", () => {
  test("a small GEMM with shift/clip matches the int8 matmul reference", () => {
    const p = DEFAULT_PARAMS;
    const g = buildGemm({ m: 3, nb: 2, kb: 2, shift: 9, bias: false, inpChunks: 1 }, p, rng(1));
    const { dram, stats } = simulate(g.program, g.dram, p);
    expect(new Int8Array(dram.buffer, g.outOffset, g.outBytes)).toEqual(g.expected);
    // 3×2 output tiles × 2 reduction tiles = 12 multiplying iterations, the multipliers fire once in each.
    expect(stats.gemmBusyCycles).toBe(12);
    expect(stats.gemmUtilization).toBeCloseTo(12 / stats.cycles);
    const E = entryBytes(p);
    expect(stats.dramBytesRead).toBe(2 * 2 * E.wgt + 3 * 2 * E.inp + (1 + 1 + 2) * E.uop);
    expect(stats.dramBytesWritten).toBe(g.outBytes);
    expect(stats.insnCount).toEqual({ load: 2, compute: 7, store: 1 });
    expect(g.dram.some((x, i) => x !== dram[i])).toBe(true); // input untouched, copy returned
  });

  test("random GEMMs (bias, chunked input, other shapes) match the reference", () => {
    const r = rng(99);
    for (let t = 0; t < 12; t++) {
      const p = makeParams({ batch: 2 ** randInt(r, 0, 1), blockIn: 2 ** randInt(r, 1, 4), blockOut: 2 ** randInt(r, 1, 4) });
      const m = randInt(r, 1, 5);
      const g = buildGemm({ m, nb: randInt(r, 1, 3), kb: randInt(r, 1, 3), shift: randInt(r, 0, 12), bias: r() < 0.5, inpChunks: randInt(r, 1, m), gap: randInt(r, 0, 2) }, p, r);
      const { dram } = simulate(encodeProgram(g.program), g.dram, p);
      expect(new Int8Array(dram.buffer, g.outOffset, g.outBytes)).toEqual(g.expected);
    }
  });

  test("the timing model: a burst per data row (latency + 1 + its beats, + 1 to issue), pads one cycle, micro-ops one (+ 3 to drain), a write burst per stored row", () => {
    const p = DEFAULT_PARAMS;
    const l = load({ memType: "wgt", sramBase: 0, dramBase: 0, ySize: 2, xSize: 3, xStride: 3, xPad0: 1 });
    // 3 per instruction + 2 + 2 pad entries + 2 rows × (1 + 8 + 1 + 3 entries × 256/8 beats)
    expect(insnCycles(l, p)).toBe(3 + 2 + 2 + 2 * (1 + 8 + 1 + 3 * 32));
    // 4-byte micro-ops on an 8-byte bus: a narrow burst, one entry per beat.
    expect(insnCycles(load({ memType: "uop", sramBase: 0, dramBase: 0, ySize: 1, xSize: 5 }), p)).toBe(3 + 2 + (1 + 8 + 1 + 5));
    expect(insnCycles(gemm({ uopBegin: 0, uopEnd: 3, iterOut: 2, iterIn: 5 }), p)).toBe(3 + 30 + 3);
    expect(insnCycles(alu({ aluOp: "mul", uopBegin: 0, uopEnd: 1, iterOut: 2 }), p)).toBe(3 + (1 + 9) * 2 + 3);
    expect(insnCycles(gemm({ uopBegin: 0, uopEnd: 3, iterOut: 0, iterIn: 5 }), p)).toBe(3); // an empty loop
    // A write burst per row: 2 entries × (3 to read the SRAM + 2 beats) + latency + 1 before the port is ready.
    expect(insnCycles(store({ sramBase: 0, dramBase: 0, ySize: 1, xSize: 2 }), p)).toBe(3 + 2 * (3 + 2) + 9);
  });

  test("decoupled modules overlap: cycles < serial sum", () => {
    const p = DEFAULT_PARAMS;
    const g = buildGemm({ m: 8, nb: 1, kb: 4, shift: 8, bias: false, inpChunks: 4 }, p, rng(3));
    const { stats } = simulate(g.program, g.dram, p);
    const serial = g.program.reduce((s, i) => s + insnCycles(i, p), 0);
    expect(stats.cycles).toBeLessThan(serial);
  });

  test("ALU with a second accumulator operand and padding on LOAD", () => {
    const p = makeParams({ blockIn: 2, blockOut: 2 });
    // acc entries: 4 bytes × 2 lanes. Load 1 row of 2 entries with one pad before: acc[0]=0, acc[1..2]=data.
    const dram = new Uint8Array(64);
    const dv = new DataView(dram.buffer);
    [5, -7, 100, 3].forEach((v, i) => dv.setInt32(i * 4, v, true));
    dram.set(encodeUops([{ acc: 1, inp: 2, wgt: 0 }]), 32);
    const prog = [
      load({ memType: "acc", sramBase: 0, dramBase: 0, ySize: 1, xSize: 2, xPad0: 1 }),
      load({ memType: "uop", sramBase: 0, dramBase: 8, ySize: 1, xSize: 1 }),
      alu({ aluOp: "mul", uopBegin: 0, uopEnd: 1 }), // acc[1] *= acc[2]
      alu({ aluOp: "add", uopBegin: 0, uopEnd: 1, useImm: true, imm: -1, pushNext: true }),
      store({ popPrev: true, pushPrev: true, sramBase: 1, dramBase: 6, ySize: 1, xSize: 1 }),
      finish({ popNext: true }),
    ];
    const { dram: out } = simulate(prog, dram, p);
    expect(Array.from(new Int8Array(out.buffer, 12, 2))).toEqual([5 * 100 - 1 - 512, -7 * 3 - 1]); // 499 → int8 -13
  });

  test("ALU lanes", () => {
    expect(aluApply("shr", -9, 1)).toBe(-5);
    expect(aluApply("shr", 16, 33)).toBe(8);
    expect(aluApply("add", 2 ** 31 - 1, 1)).toBe(-(2 ** 31));
    expect(aluApply("mul", 65536, 65536)).toBe(0);
    expect(aluApply("min", -3, 2)).toBe(-3);
  });

  test("a pop that no push satisfies is a deadlock, reported with who waits", () => {
    const prog = [gemm({ popPrev: true, reset: true, uopBegin: 0, uopEnd: 0 }), finish()];
    expect(() => simulate(prog, new Uint8Array(16))).toThrow(VtaDeadlockError);
    expect(() => simulate(prog, new Uint8Array(16))).toThrow(/compute: instruction 0 \(gemm\) waits for a token from load \(popPrev\)/);
  });

  test("full instruction queues can deadlock too: fetch stalls before the push it waits for", () => {
    const p = makeParams({ insnQueueDepth: 2 });
    const ld = (popNext = false) => load({ memType: "inp", sramBase: 0, dramBase: 0, ySize: 1, xSize: 1, popNext });
    // load holds L0 (waiting for compute's token), L1 and L2 fill its queue, L3 cannot be
    // fetched, so the GEMM that would push the token is never fetched.
    const stuck = [ld(true), ld(), ld(), ld(), gemm({ reset: true, uopBegin: 0, uopEnd: 0, pushPrev: true }), finish()];
    expect(() => simulate(stuck, new Uint8Array(64), p)).toThrow(/fetch: stalled at instruction 3/);
    // One load fewer fits, and the same program runs.
    expect(simulate([ld(true), ld(), ld(), ...stuck.slice(4)], new Uint8Array(64), p).stats.insnCount.load).toBe(3);
  });

  test("execution errors name the instruction", () => {
    const p = DEFAULT_PARAMS;
    expect(() => simulate([load({ memType: "inp", sramBase: 0, dramBase: 100, ySize: 1, xSize: 1 }), finish()], new Uint8Array(64), p))
      .toThrow(/instruction 0 \(load inp\): DRAM entry 100/);
    const dram = new Uint8Array(64); dram.set(encodeUops([{ acc: 3, inp: 0, wgt: 0 }]));
    const prog = [load({ memType: "uop", sramBase: 0, dramBase: 0, ySize: 1, xSize: 1 }), alu({ aluOp: "add", useImm: true, uopBegin: 0, uopEnd: 1 }), finish()];
    expect(() => simulate(prog, dram, p)).toThrow(VtaExecError);
    expect(() => simulate(prog, dram, p)).toThrow(/instruction 1 \(alu\): reads acc\[3\] before anything wrote it/);
  });
});
