/**
 * `lathe vta synth`: the generated accelerator through an FPGA flow (compiler/targets/vta/hw/synth.ts):
 * Yosys for iCE40 or Xilinx 7-series, and for iCE40 nextpnr (Fmax) and icepack (bitstream).
 */
import { Command } from "commander";
import path from "node:path";
import { VtaSynthError } from "../../compiler/targets/vta/hw/fpga.ts";
import { formatSynthReport, parseDevice, parseFamily, synthConfig, synthesize, writeSynthReport } from "../../compiler/targets/vta/hw/synth.ts";

export interface SynthCliOptions {
  config: string;
  family: string;
  device: string;
  freq: string;
  out?: string;
  json?: string;
  pnr: boolean;
  seed: string;
}

/** Runs the flow for parsed CLI options; every bad value is a one-line VtaSynthError before any tool runs. */
export async function runSynthCli(o: SynthCliOptions, log: (line: string) => void = console.log): Promise<void> {
  const p = synthConfig(o.config);
  const family = parseFamily(o.family);
  const device = parseDevice(o.device);
  const freqMHz = Number(o.freq), seed = Number(o.seed);
  if (!(Number.isFinite(freqMHz) && freqMHz > 0)) throw new VtaSynthError(`--freq must be a clock in MHz, got "${o.freq}"`);
  if (!Number.isInteger(seed)) throw new VtaSynthError(`--seed must be an integer, got "${o.seed}"`);
  const outDir = o.out ?? path.join("vta-synth", `${o.config}-${family}${family === "ice40" ? `-${device.name}` : ""}`);
  const json = o.json ?? path.join(outDir, "report.json");
  const r = await synthesize(o.config, p, { family, device, freqMHz, pnr: o.pnr, seed, outDir });
  writeSynthReport(json, r);
  log(formatSynthReport(r));
  log(`wrote ${json}`);
  if (r.pnr && "failed" in r.pnr) throw new VtaSynthError(`place and route failed: ${r.pnr.failed} (report: ${json})`);
}

export function vtaCommand(): Command {
  const vta = new Command("vta").description("the VTA-style accelerator's hardware");
  vta.command("synth")
    .description("synthesize the generated Verilog with Yosys (iCE40 or Xilinx 7-series); for iCE40 also place and route with nextpnr (Fmax) and pack a bitstream with icepack")
    .option("--config <name>", "small (1×8×1 core, 256-entry buffers, one-deep queues: sized for an iCE40), default (1×16×16) or tiny (1×2×2)", "small")
    .option("--family <name>", "ice40 or xc7", "ice40")
    .option("--device <name>", "iCE40 part: hx8k (7680 cells, no DSPs: multipliers in LUTs) or up5k (5280 cells, 8 SB_MAC16: multipliers in DSPs)", "hx8k")
    .option("--freq <MHz>", "target clock for nextpnr", "24")
    .option("--seed <n>", "nextpnr placement seed", "1")
    .option("--no-pnr", "iCE40: stop after synthesis")
    .option("--out <dir>", "where the Verilog, netlist, logs and bitstream go (default vta-synth/<config>-<family>[-<device>])")
    .option("--json <file>", "the report (default <out>/report.json); written atomically")
    .action((o: SynthCliOptions) => runSynthCli(o));
  return vta;
}
