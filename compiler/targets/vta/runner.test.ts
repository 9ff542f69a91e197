import { describe, expect, test } from "vitest";
import { VtaExecError } from "./fsim.ts";
import { encodeProgram } from "./isa.ts";
import { DEFAULT_PARAMS } from "./params.ts";
import { SimulatorUnavailableError, parseHexImage, runProgram, simulatorUnavailable } from "./runner.ts";
import { buildGemm, rng } from "../../../test/vta/hw-programs.ts";

describe("VTA runner", () => {
  test("fsim through the runner: program as bytes or instructions, same result", async () => {
    const g = buildGemm({ m: 2, nb: 1, kb: 2, shift: 8, bias: true, inpChunks: 2 }, DEFAULT_PARAMS, rng(5));
    const a = await runProgram(g.program, g.dram);
    const b = await runProgram(encodeProgram(g.program), g.dram, { sim: "fsim" });
    expect(a.dram).toEqual(b.dram);
    expect(new Int8Array(a.dram.buffer, g.outOffset, g.outBytes)).toEqual(g.expected);
    expect(a.cycleModel).toBe("fsim-model");
    expect(a.sim).toBe("fsim");
  });

  test("hex images: addresses, and X bytes are errors that say where", () => {
    expect(Array.from(parseHexImage("// comment\n0a\nff\n@4\n01 02\n", 6))).toEqual([10, 255, 0, 0, 1, 2]);
    expect(() => parseHexImage("00\nxx\n", 2)).toThrow(VtaExecError);
    expect(() => parseHexImage("00\nxx\n", 2)).toThrow(/DRAM byte 1 is xx/);
  });

  test("a missing tool is reported, not crashed on", async () => {
    const old = process.env.LATHE_CXX;
    process.env.LATHE_CXX = "/nonexistent/g++";
    try {
      expect(await simulatorUnavailable("hls")).toMatch(/not installed/);
      const g = buildGemm({ m: 1, nb: 1, kb: 1, shift: 8, bias: false, inpChunks: 1 }, DEFAULT_PARAMS, rng(6));
      await expect(runProgram(g.program, g.dram, { sim: "hls" })).rejects.toThrow(SimulatorUnavailableError);
    } finally {
      if (old === undefined) delete process.env.LATHE_CXX; else process.env.LATHE_CXX = old;
    }
  });
});
