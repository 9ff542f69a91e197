/**
 * The FPGA flow (compiler/targets/vta/hw/synth.ts): Yosys's statistics read as resources
 * (against hand-written histograms), bad names as one-line errors before any tool runs, the
 * scan wrapper's width against a hand count, and — where Yosys is installed — the `tiny`
 * configuration synthesized for iCE40 UP5K with its multipliers in SB_MAC16 blocks and its
 * buffers in SB_RAM40_4K block RAM. Place and route is left to `lathe vta synth` (minutes).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { VtaSynthError, classifyCells, parseNextpnrReport, parseYosysStat } from "../../compiler/targets/vta/hw/fpga.ts";
import { SYNTH_CONFIGS, parseDevice, parseFamily, synthConfig, synthesize, writeSynthReport } from "../../compiler/targets/vta/hw/synth.ts";
import { scanWrapper } from "../../compiler/targets/vta/hw/wrapper.ts";
import { hwConfig } from "../../compiler/targets/vta/hw/config.ts";
import { runSynthCli } from "../../cli/commands/vta.ts";
import { skipReason } from "../helpers/skip.ts";

const noYosys = await promisify(execFile)("yosys", ["-V"]).then(() => null, () => "needs Yosys; install: apt-get install yosys");

describe("FPGA synthesis reports", () => {
  test("iCE40 cells read as LUTs, flip-flops, SB_MAC16 and SB_RAM40_4K", () => {
    const r = classifyCells("ice40", { SB_LUT4: 100, SB_DFF: 3, SB_DFFE: 4, SB_DFFESR: 5, SB_CARRY: 7, SB_MAC16: 2, SB_RAM40_4K: 3, SB_IO: 4 });
    expect([r.luts, r.flipFlops, r.dsp, r.bram, r.bramKbit, r.carry]).toEqual([100, 12, 2, 3, 12, 7]);
  });

  test("7-series cells read as LUT1-6, FD*E, DSP48E1 and RAMB18E1/RAMB36E1", () => {
    const r = classifyCells("xc7", { LUT1: 1, LUT2: 2, LUT6: 6, FDRE: 10, FDSE: 1, FDCE: 2, DSP48E1: 16, RAMB18E1: 2, RAMB36E1: 3, CARRY4: 5, MUXF7: 9 });
    expect([r.luts, r.flipFlops, r.dsp, r.bram, r.bramKbit, r.carry]).toEqual([9, 13, 16, 5, 2 * 18 + 3 * 36, 5]);
  });

  test("stat -json: the design's histogram, else the top module's; malformed output is a one-line error", () => {
    const design = JSON.stringify({ modules: { "\\t": { num_cells_by_type: { SB_LUT4: 1 } } }, design: { num_cells_by_type: { SB_LUT4: 5 } } });
    expect(parseYosysStat(design, "t", "s.json")).toEqual({ SB_LUT4: 5 });
    expect(parseYosysStat(JSON.stringify({ modules: { "\\t": { num_cells_by_type: { LUT6: 2 } } } }), "t", "s.json")).toEqual({ LUT6: 2 });
    expect(() => parseYosysStat("{", "t", "s.json")).toThrow(VtaSynthError);
    expect(() => parseYosysStat(JSON.stringify({ modules: {} }), "t", "s.json")).toThrow(/s\.json: no num_cells_by_type for module t/);
  });

  test("nextpnr's report: the design clock's achieved and target frequency (the packer's constant nets are not clocks)", () => {
    const text = JSON.stringify({
      utilization: { ICESTORM_LC: { used: 10, available: 7680 } },
      fmax: { "$PACKER_GND_NET": { achieved: 154.7, constraint: 24 }, "clk$glb_clk": { achieved: 31.5, constraint: 24 } },
    });
    const r = parseNextpnrReport(text, "r.json");
    expect([r.clock, r.fmaxMHz, r.targetMHz, r.utilization.ICESTORM_LC!.used]).toEqual(["clk$glb_clk", 31.5, 24, 10]);
    expect(() => parseNextpnrReport(JSON.stringify({ fmax: {} }), "r.json")).toThrow(/r\.json: expected one clock/);
  });

  test("bad --config, --family and --device names are one-line errors naming the value", async () => {
    expect(() => synthConfig("huge")).toThrow(/^unknown --config "huge": expected one of tiny, small, default$/);
    expect(() => synthConfig("toString")).toThrow(VtaSynthError);
    expect(() => parseFamily("xc9")).toThrow(/^unknown --family "xc9": expected one of ice40, xc7$/);
    expect(() => parseDevice("lp1k")).toThrow(/^unknown --device "lp1k"/);
    const base = { config: "small", family: "ice40", device: "up5k", freq: "24", seed: "1", pnr: true };
    for (const bad of [{ config: "big" }, { family: "ecp5" }, { freq: "fast" }]) {
      const err = await runSynthCli({ ...base, ...bad }, () => {}).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(VtaSynthError);
      expect((err as Error).message).not.toContain("\n");
    }
  });

  test("the scan wrapper drives every input of vta_top but clk and rst, one shared segment per width (4-byte bus)", () => {
    // 1-bit inputs (start, the acks) share one bit; 32-bit ones (insn_base, insn_count, read data) 32.
    const w = scanWrapper(hwConfig(SYNTH_CONFIGS.tiny!));
    expect(w.scanBits).toBe(1 + 32);
    const conns = (w.module.items.find((i) => i.k === "inst") as { conns: Record<string, string> }).conns;
    expect([conns.start, conns.st_wr_ack, conns.insn_base, conns.load_rd_data]).toEqual(["scan[0]", "scan[0]", "scan[32:1]", "scan[32:1]"]);
  });

  test.skipIf(!!noYosys)(skipReason("Yosys maps the tiny configuration's multipliers to SB_MAC16 and its buffers to SB_RAM40_4K", noYosys), async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-vta-synth-"));
    try {
      const p = SYNTH_CONFIGS.tiny!;
      const r = await synthesize("tiny", p, { family: "ice40", device: parseDevice("up5k"), pnr: false, outDir: dir });
      expect(r.resources.luts).toBeGreaterThan(0);
      expect(r.resources.flipFlops).toBeGreaterThan(r.wrapper.scanFlipFlops);
      // One SB_MAC16 per int8 product (1×2×2), and no multiplier left in LUTs elsewhere.
      expect(r.gemmMultipliers).toBe(4);
      expect(r.resources.dsp).toBe(4);
      expect(r.multipliersInDsp).toBe(true);
      // SB_RAM40_4K is 16 bits wide: inp 16 → 1, wgt 32 → 2, out 16 → 1, acc 64 → 4 (two copies), uop 32 → 2.
      expect(r.resources.bram).toBe(1 + 2 + 1 + 2 * 4 + 2);
      expect(r.pnr).toEqual({ skipped: "not requested (--no-pnr)" });
      const file = path.join(dir, "report.json");
      writeSynthReport(file, r);
      expect(JSON.parse(readFileSync(file, "utf8")).resources.cells).toEqual(r.resources.cells);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
