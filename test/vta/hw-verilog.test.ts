/**
 * The generated hardware sources for several configurations: the Verilog lints clean under
 * Verilator (-Wall minus width/unused warnings) and elaborates under Icarus; the HLS C++
 * compiles without warnings; Icarus's X-propagation exposes reads of unwritten state that
 * Verilator's two-state simulation would hide.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { VtaExecError } from "../../compiler/targets/vta/fsim.ts";
import { encodeUops, finish, gemm, load, store } from "../../compiler/targets/vta/isa.ts";
import { type VtaParams, DEFAULT_PARAMS, makeParams } from "../../compiler/targets/vta/params.ts";
import { runProgram, simulatorUnavailable } from "../../compiler/targets/vta/runner.ts";
import { generateVerilog } from "../../compiler/targets/vta/hw/verilog.ts";
import { generateHls } from "../../compiler/targets/vta/hw/hls.ts";
import { printModule } from "../../compiler/codegen/verilog/print.ts";
import { always, assign, cases, iff, input, nb, output, reg } from "../../compiler/codegen/verilog/ast.ts";
import { NEEDS, skipReason } from "../helpers/skip.ts";

const run = promisify(execFile);
const noVerilator = await simulatorUnavailable("verilator");
const noIcarus = await simulatorUnavailable("iverilog");
const noGxx = await simulatorUnavailable("hls");

const CONFIGS: [string, VtaParams][] = [
  ["default 1x16x16", DEFAULT_PARAMS],
  ["batch 2, 8x8, 16-byte bus", makeParams({ batch: 2, blockIn: 8, blockOut: 8, dramWidthBytes: 16, inpBufferEntries: 64, wgtBufferEntries: 64, accBufferEntries: 64, uopBufferEntries: 64 })],
  ["4x8, 4-byte bus", makeParams({ blockIn: 4, blockOut: 8, dramWidthBytes: 4, inpBufferEntries: 64, wgtBufferEntries: 64, accBufferEntries: 64, uopBufferEntries: 64 })],
  ["1x16x16, 32-byte bus", makeParams({ dramWidthBytes: 32, inpBufferEntries: 64, wgtBufferEntries: 64, accBufferEntries: 64, uopBufferEntries: 64 })],
];

function inTmp<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-vta-lint-"));
  return f(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe("VTA hardware sources", () => {
  test("the Verilog printer lays out a module", () => {
    const text = printModule({
      name: "counter", doc: "a counter",
      ports: [input("clk"), input("rst"), output("q", 4, true), output("odd")],
      items: [reg("n", 2), assign("odd", "q[0]"), always([iff("rst", [nb("q", 0)], [cases("n", { "2'd0": [nb("q", "q + 1")] }, [nb("q", "q")])])])],
    });
    expect(text).toBe([
      "// a counter", "module counter (", "  input wire clk,", "  input wire rst,", "  output reg [3:0] q,", "  output wire odd", ");",
      "  reg [1:0] n;", "  assign odd = q[0];", "  always @(posedge clk) begin", "    if (rst) begin", "      q <= 0;", "    end else begin",
      "      case (n)", "        2'd0: begin", "          q <= q + 1;", "        end", "        default: begin", "          q <= q;", "        end",
      "      endcase", "    end", "  end", "endmodule", "",
    ].join("\n"));
  });

  test.skipIf(!!noVerilator).each(CONFIGS)(skipReason("Verilator lints the %s design", !!noVerilator && NEEDS.verilator), async (_, p) => {
    await inTmp(async (dir) => {
      writeFileSync(path.join(dir, "vta.v"), generateVerilog(p));
      const r = await run("verilator", ["--lint-only", "-Wall", "-Wno-WIDTH", "-Wno-UNUSED", "-Wno-DECLFILENAME", "--top-module", "vta_top", "vta.v"], { cwd: dir });
      expect(r.stderr).toBe("");
    });
  }, 60_000);

  test.skipIf(!!noIcarus)(skipReason("Icarus elaborates the 4-byte-bus design", !!noIcarus && NEEDS.iverilog), async () => {
    await inTmp(async (dir) => {
      writeFileSync(path.join(dir, "vta.v"), generateVerilog(CONFIGS[2]![1]));
      const r = await run("iverilog", ["-g2012", "-Wall", "-s", "vta_top", "-o", "x.vvp", "vta.v"], { cwd: dir });
      expect(r.stderr.split("\n").filter((l) => /error/i.test(l))).toEqual([]);
    });
  }, 60_000);

  test.skipIf(!!noGxx)(skipReason("the HLS C++ compiles cleanly with -Wall -Wextra", !!noGxx && NEEDS.gxx), async () => {
    await inTmp(async (dir) => {
      writeFileSync(path.join(dir, "vta_hls.h"), generateHls(CONFIGS[1]![1]));
      writeFileSync(path.join(dir, "t.cpp"), '#include "vta_hls.h"\nint main() { return 0; }\n');
      const hlsDir = path.resolve(import.meta.dirname, "../../compiler/codegen/hls");
      const r = await run("g++", ["-std=c++17", "-fsyntax-only", "-Wall", "-Wextra", "-Wno-unknown-pragmas", "-Wno-unused-function", `-I${hlsDir}`, "t.cpp"], { cwd: dir });
      expect(r.stderr).toBe("");
    });
  }, 60_000);

  test.skipIf(!!noIcarus)(skipReason("Icarus shows X where a program reads accumulators nothing wrote; fsim names the read", !!noIcarus && NEEDS.iverilog), async () => {
    const p = makeParams({ inpBufferEntries: 128, wgtBufferEntries: 64, accBufferEntries: 128, uopBufferEntries: 128 });
    const dram = new Uint8Array(1024);
    dram.set(encodeUops([{ acc: 5, inp: 0, wgt: 0 }]), 0);
    const prog = [
      load({ memType: "uop", sramBase: 0, dramBase: 0, ySize: 1, xSize: 1 }),
      load({ memType: "inp", sramBase: 0, dramBase: 1, ySize: 1, xSize: 1 }),
      load({ memType: "wgt", sramBase: 0, dramBase: 1, ySize: 1, xSize: 1, pushNext: true }),
      gemm({ popPrev: true, uopBegin: 0, uopEnd: 1, pushNext: true }), // no reset: acc[5] was never written
      store({ popPrev: true, pushPrev: true, sramBase: 5, dramBase: 40, ySize: 1, xSize: 1 }),
      finish({ popNext: true }),
    ];
    await expect(runProgram(prog, dram, { sim: "fsim", params: p })).rejects.toThrow(/reads acc\[5\] before anything wrote it/);
    await expect(runProgram(prog, dram, { sim: "iverilog", params: p })).rejects.toThrow(VtaExecError);
    await expect(runProgram(prog, dram, { sim: "iverilog", params: p })).rejects.toThrow(/DRAM byte 640 is xx/);
  }, 120_000);
});
