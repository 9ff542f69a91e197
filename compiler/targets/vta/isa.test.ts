import { describe, expect, test } from "vitest";
import {
  type Insn, ALU_OPS, MEM_TYPES, VtaIsaError, alu, decodeInsn, decodeProgram, decodeUop, encodeInsn, encodeProgram,
  encodeUop, finish, gemm, load, store, validateProgram,
} from "./isa.ts";
import { DEFAULT_PARAMS, VtaConfigError, makeParams } from "./params.ts";
import { rng, randInt } from "../../../test/vta/hw-programs.ts";

const r = rng(7);
const u = (bits: number): number => randInt(r, 0, 2 ** bits - 1);
const flags = () => ({ popPrev: r() < 0.5, popNext: r() < 0.5, pushPrev: r() < 0.5, pushNext: r() < 0.5 });
const loop = () => ({
  uopBegin: u(13), uopEnd: u(14), iterOut: u(14), iterIn: u(14),
  dstFactorOut: u(11), dstFactorIn: u(11), srcFactorOut: u(11), srcFactorIn: u(11),
});

function randomInsn(): Insn {
  switch (randInt(r, 0, 4)) {
    case 0: case 1: return {
      op: r() < 0.5 ? "load" : "store", ...flags(), memType: MEM_TYPES[randInt(r, 0, 4)]!, sramBase: u(16), dramBase: u(32),
      ySize: u(16), xSize: u(16), xStride: u(16), yPad0: u(4), yPad1: u(4), xPad0: u(4), xPad1: u(4),
    };
    case 2: return { op: "gemm", ...flags(), reset: r() < 0.5, ...loop(), wgtFactorOut: u(10), wgtFactorIn: u(10) };
    case 3: return { op: "alu", ...flags(), ...loop(), aluOp: ALU_OPS[randInt(r, 0, 4)]!, useImm: r() < 0.5, imm: randInt(r, -32768, 32767) };
    default: return { op: "finish", ...flags() };
  }
}

describe("VTA ISA encoding", () => {
  test("random instructions round-trip through encode/decode", () => {
    const insns = Array.from({ length: 2000 }, randomInsn);
    const bytes = encodeProgram(insns);
    expect(bytes.length).toBe(2000 * 16);
    expect(decodeProgram(bytes)).toEqual(insns);
  });

  test("micro-ops round-trip", () => {
    for (let i = 0; i < 1000; i++) {
      const uop = { acc: u(11), inp: u(11), wgt: u(10) };
      const w = encodeUop(uop);
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThan(2 ** 32);
      expect(decodeUop(w)).toEqual(uop);
    }
  });

  test("fields land at the documented bits", () => {
    const b = encodeInsn(gemm({ uopBegin: 1, uopEnd: 2, reset: true, pushNext: true }));
    // opcode 2 | pushNext bit 6 | reset bit 7 | uopBegin=1 at bit 8 | uopEnd=2 at bit 21 | iterOut=1 at 35 | iterIn=1 at 49
    let word = 0n;
    for (let i = 15; i >= 0; i--) word = (word << 8n) | BigInt(b[i]!);
    expect(word).toBe(2n | (1n << 6n) | (1n << 7n) | (1n << 8n) | (2n << 21n) | (1n << 35n) | (1n << 49n));
  });

  test("a value too wide for its field names the field", () => {
    expect(() => encodeInsn(load({ memType: "inp", sramBase: 1 << 16, dramBase: 0, ySize: 1, xSize: 1 }), 3))
      .toThrow(/instruction 3 \(load\): field sramBase=65536 does not fit in 16 bits/);
    expect(() => encodeInsn(alu({ aluOp: "add", uopBegin: 0, uopEnd: 1, useImm: true, imm: 40000 })))
      .toThrow(/field imm=40000 does not fit in 16 signed bits/);
    expect(() => encodeInsn(gemm({ uopBegin: 0, uopEnd: 1, wgtFactorIn: 1024 }))).toThrow(VtaIsaError);
    expect(() => encodeUop({ acc: 2048, inp: 0, wgt: 0 })).toThrow(/field acc=2048 does not fit in 11 bits/);
    expect(() => encodeInsn(gemm({ uopBegin: -1, uopEnd: 1 }))).toThrow(/uopBegin=-1/);
  });

  test("the decoder rejects garbage", () => {
    const b = new Uint8Array(16); b[0] = 7;
    expect(() => decodeInsn(b)).toThrow(/unknown opcode 7/);
    const f = encodeInsn(finish()); f[15] = 1;
    expect(() => decodeInsn(f)).toThrow(/unused bits/);
    expect(() => decodeProgram(new Uint8Array(17))).toThrow(/multiple of 16/);
  });

  test("static checks", () => {
    const p = DEFAULT_PARAMS;
    expect(() => validateProgram([load({ memType: "inp", sramBase: 0, dramBase: 0, ySize: 1, xSize: 1 })], p)).toThrow(/end with FINISH/);
    expect(() => validateProgram([load({ memType: "inp", sramBase: 0, dramBase: 0, ySize: 1, xSize: 1, popPrev: true }), finish()], p))
      .toThrow(/instruction 0 \(load\): the load module has no previous module/);
    expect(() => validateProgram([store({ sramBase: 0, dramBase: 0, ySize: 1, xSize: 1, pushNext: true }), finish()], p)).toThrow(/no next module/);
    expect(() => validateProgram([load({ memType: "wgt", sramBase: 1020, dramBase: 0, ySize: 1, xSize: 8 }), finish()], p)).toThrow(/beyond the buffer's 1024 entries/);
    expect(() => validateProgram([finish(), finish()], p)).toThrow(/FINISH must be the last/);
    expect(() => validateProgram([gemm({ uopBegin: 5, uopEnd: 4 }), finish()], p)).toThrow(/micro-op range/);
  });

  test("parameters are checked", () => {
    expect(() => makeParams({ blockIn: 12 })).toThrow(VtaConfigError);
    expect(() => makeParams({ accBufferEntries: 4096 })).toThrow(/exceeds what the ISA can address/);
    expect(makeParams({ blockIn: 8 }).blockIn).toBe(8);
  });
});
