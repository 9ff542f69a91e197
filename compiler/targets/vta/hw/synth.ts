/**
 * FPGA flows for the generated accelerator with Debian's open tools:
 *   Yosys      synth_ice40 (Lattice iCE40) or synth_xilinx -family xc7 (Xilinx 7-series),
 *              resources read from `stat -json`;
 *   nextpnr    (iCE40 only) places and routes on a UP5K or HX8K and reports the clock's Fmax;
 *   icepack    turns the placed-and-routed design into a bitstream.
 * The design is vta_top behind a four-pin scan wrapper (wrapper.ts). Every product goes into
 * `outDir`; the report is returned and written by the caller (writeSynthReport, atomically).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { writeFileAtomic } from "../../../../runtime/atomic-file.ts";
import { printModule } from "../../../codegen/verilog/print.ts";
import { type VtaParams, DEFAULT_PARAMS, makeParams } from "../params.ts";
import { hwConfig } from "./config.ts";
import {
  type Family, type Ice40Device, type PnrReport, type Resources, FAMILIES, ICE40_DEVICES, VtaSynthError, classifyCells, parseNextpnrReport, parseYosysStat,
} from "./fpga.ts";
import { generateVerilog } from "./verilog.ts";
import { WRAPPER_TOP, scanWrapper } from "./wrapper.ts";

const exec = promisify(execFile);

/**
 * Named configurations. `small` is sized for an iCE40: a 1×8×1 core (8 int8 products per
 * cycle: as many as a UP5K has SB_MAC16s; one accumulator lane, so one 32-bit ALU), 256-entry
 * buffers in block RAM, one-deep instruction queues. It places and routes on an HX8K (whose
 * multipliers are LUTs: it has no DSPs) and on a UP5K (multipliers in its SB_MAC16s; the
 * UP5K's slower fabric gives a lower Fmax).
 * `tiny` (1×2×2, 16 entries) keeps the test suite's Yosys runs short.
 */
export const SYNTH_CONFIGS: Readonly<Record<string, VtaParams>> = {
  tiny: makeParams({ blockIn: 2, blockOut: 2, dramWidthBytes: 4, inpBufferEntries: 16, wgtBufferEntries: 16, accBufferEntries: 16, uopBufferEntries: 16, insnQueueDepth: 1 }),
  small: makeParams({ blockIn: 8, blockOut: 1, dramWidthBytes: 4, inpBufferEntries: 256, wgtBufferEntries: 256, accBufferEntries: 256, uopBufferEntries: 256, insnQueueDepth: 1 }),
  default: DEFAULT_PARAMS,
};

/** The configuration called `name`, or a one-line error listing the names. */
export function synthConfig(name: string): VtaParams {
  const p = Object.hasOwn(SYNTH_CONFIGS, name) ? SYNTH_CONFIGS[name] : undefined;
  if (!p) throw new VtaSynthError(`unknown --config "${name}": expected one of ${Object.keys(SYNTH_CONFIGS).join(", ")}`);
  return p;
}

export function parseFamily(name: string): Family {
  if (!(FAMILIES as readonly string[]).includes(name)) throw new VtaSynthError(`unknown --family "${name}": expected one of ${FAMILIES.join(", ")}`);
  return name as Family;
}

export function parseDevice(name: string): Ice40Device {
  const d = Object.hasOwn(ICE40_DEVICES, name) ? ICE40_DEVICES[name as Ice40Device["name"]] : undefined;
  if (!d) throw new VtaSynthError(`unknown --device "${name}": expected one of ${Object.keys(ICE40_DEVICES).join(", ")}`);
  return d;
}

export interface SynthOptions {
  readonly family: Family;
  /** iCE40 part (default hx8k); ignored for xc7. */
  readonly device?: Ice40Device;
  /** Target clock for nextpnr, MHz (default 24). */
  readonly freqMHz?: number;
  /** Place and route (iCE40; default true). */
  readonly pnr?: boolean;
  readonly seed?: number;
  /** Where the Verilog, netlist, logs and bitstream go (created). */
  readonly outDir: string;
}

export interface SynthReport {
  readonly config: string;
  readonly family: Family;
  /** The iCE40 part synthesized for; null for xc7 (synthesis only, no part). */
  readonly device: string | null;
  readonly params: VtaParams;
  readonly tools: Readonly<Record<string, string>>;
  /** int8 × int8 products per cycle (batch × blockIn × blockOut): what the DSP count is compared with. */
  readonly gemmMultipliers: number;
  /** Whether every GEMM multiplier became a hard DSP block (false where the part has none, e.g. HX8K). */
  readonly multipliersInDsp: boolean;
  readonly resources: Resources;
  /** The scan wrapper's share: one flip-flop per scanned input bit. */
  readonly wrapper: { readonly top: string; readonly scanFlipFlops: number; readonly observedOutputBits: number };
  /** iCE40: nextpnr's result, why it was not run (skipped), or why it failed; null for xc7. */
  readonly pnr: (PnrReport & { readonly meetsTarget: boolean; readonly seed: number }) | { readonly skipped: string } | { readonly failed: string } | null;
  readonly bitstream: { readonly file: string; readonly bytes: number } | null;
  readonly files: Readonly<Record<string, string>>;
  readonly seconds: Readonly<Record<string, number>>;
}

async function version(tool: string, flag: string): Promise<string> {
  try {
    const r = await exec(tool, [flag]);
    return ((r.stdout || r.stderr).split("\n")[0] ?? "").trim();
  } catch (e) {
    if ((e as { code?: unknown }).code === "ENOENT") {
      const pkg = tool === "icepack" ? "fpga-icestorm" : tool;
      throw new VtaSynthError(`${tool} is not installed (apt-get install ${pkg}; \`lathe doctor\` lists the FPGA tools)`);
    }
    const out = (e as { stdout?: string; stderr?: string }).stdout || (e as { stderr?: string }).stderr || "";
    return out.split("\n")[0]?.trim() ?? "";
  }
}

async function tool(name: string, args: readonly string[], cwd: string, log: string): Promise<void> {
  try {
    await exec(name, [...args], { cwd, maxBuffer: 256 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    const tail = (err.stderr || err.stdout || err.message).trim().split("\n").slice(-6).join(" | ");
    throw new VtaSynthError(`${name} failed in ${cwd} (log: ${log}): ${tail}`);
  }
}

const timed = async (seconds: Record<string, number>, key: string, f: () => Promise<void>): Promise<void> => {
  const t0 = performance.now();
  try {
    await f();
  } finally {
    seconds[key] = Number(((performance.now() - t0) / 1e3).toFixed(1));
  }
};

/** Synthesizes configuration `name` (parameters `p`) for one family; places, routes and packs for iCE40. */
export async function synthesize(name: string, p: VtaParams, o: SynthOptions): Promise<SynthReport> {
  const device = o.family === "ice40" ? (o.device ?? ICE40_DEVICES.hx8k) : null;
  const freq = o.freqMHz ?? 24;
  if (!(Number.isFinite(freq) && freq > 0 && freq <= 1000)) throw new VtaSynthError(`--freq ${freq} must be a clock in MHz in (0, 1000]`);
  const tools: Record<string, string> = { yosys: await version("yosys", "-V") };
  const wantPnr = device !== null && o.pnr !== false;
  if (wantPnr) {
    tools.nextpnr = await version("nextpnr-ice40", "--version");
    tools.icepack = "icepack (fpga-icestorm)";
    await version("icepack", "-h");
  }
  const dir = path.resolve(o.outDir);
  mkdirSync(dir, { recursive: true });
  const c = hwConfig(p);
  const wrap = scanWrapper(c);
  writeFileAtomic(path.join(dir, "vta.v"), generateVerilog(p));
  writeFileAtomic(path.join(dir, "wrapper.v"), printModule(wrap.module));
  const seconds: Record<string, number> = {};
  const files: Record<string, string> = { verilog: path.join(dir, "vta.v"), wrapper: path.join(dir, "wrapper.v"), yosysLog: path.join(dir, "yosys.log") };

  // DSP inference on iCE40 is opt-in (-dsp) and only the UP5K has SB_MAC16s.
  const synthCmd = o.family === "ice40"
    ? `synth_ice40 -top ${WRAPPER_TOP}${device!.dsp > 0 ? " -dsp" : ""} -json netlist.json`
    : `synth_xilinx -family xc7 -top ${WRAPPER_TOP} -flatten`;
  const script = `read_verilog vta.v wrapper.v; ${synthCmd}; tee -q -o stat.json stat -json -top ${WRAPPER_TOP}`;
  await timed(seconds, "yosys", () => tool("yosys", ["-q", "-l", "yosys.log", "-p", script], dir, files.yosysLog!));
  const resources = classifyCells(o.family, parseYosysStat(readFileSync(path.join(dir, "stat.json"), "utf8"), WRAPPER_TOP, path.join(dir, "stat.json")));
  if (o.family === "ice40") files.netlist = path.join(dir, "netlist.json");
  const gemmMultipliers = p.batch * p.blockIn * p.blockOut;

  const finish = (pnrResult: SynthReport["pnr"], bits: SynthReport["bitstream"] = null): SynthReport => ({
    config: name, family: o.family, device: device?.name ?? null, params: p, tools,
    gemmMultipliers, multipliersInDsp: resources.dsp >= gemmMultipliers,
    resources, wrapper: { top: WRAPPER_TOP, scanFlipFlops: wrap.scanBits, observedOutputBits: wrap.observedBits },
    pnr: pnrResult, bitstream: bits, files, seconds,
  });
  let pnr: SynthReport["pnr"] = null;
  let bitstream: SynthReport["bitstream"] = null;
  if (device && o.pnr === false) pnr = { skipped: "not requested (--no-pnr)" };
  else if (device) {
    const over = [
      resources.luts > device.luts && `${resources.luts} LUTs > ${device.luts}`,
      resources.bram > device.bram && `${resources.bram} SB_RAM40_4K > ${device.bram}`,
      resources.dsp > device.dsp && `${resources.dsp} SB_MAC16 > ${device.dsp}`,
    ].filter(Boolean);
    if (over.length > 0) pnr = { skipped: `does not fit the iCE40 ${device.name.toUpperCase()}: ${over.join(", ")}` };
    else {
      const seed = o.seed ?? 1;
      files.asc = path.join(dir, "vta.asc");
      files.pnrLog = path.join(dir, "nextpnr.log");
      files.pnrReport = path.join(dir, "nextpnr-report.json");
      const failed = await timed(seconds, "nextpnr", () => tool("nextpnr-ice40", [
        device.flag, "--package", device.package, "--json", "netlist.json", "--asc", "vta.asc", "--freq", String(freq),
        "--seed", String(seed), "--timing-allow-fail", "--pcf-allow-unconstrained", "--report", "nextpnr-report.json", "-q", "-l", "nextpnr.log",
      ], dir, files.pnrLog!)).then(() => null, (e: unknown) => {
        if (!(e instanceof VtaSynthError)) throw e;
        return pnrFailure(files.pnrLog!, device, e.message);
      });
      if (failed) return finish({ failed });
      const r = parseNextpnrReport(readFileSync(files.pnrReport, "utf8"), files.pnrReport);
      pnr = { ...r, meetsTarget: r.fmaxMHz >= freq, seed };
      const bin = path.join(dir, "vta.bin");
      await timed(seconds, "icepack", () => tool("icepack", ["vta.asc", "vta.bin"], dir, files.asc!));
      if (!existsSync(bin)) throw new VtaSynthError(`icepack wrote no bitstream at ${bin}`);
      bitstream = { file: bin, bytes: statSync(bin).size };
    }
  }
  return finish(pnr, bitstream);
}

/** Why nextpnr failed, in one line: the logic-cell overflow when that was it. */
function pnrFailure(log: string, device: Ice40Device, message: string): string {
  const text = existsSync(log) ? readFileSync(log, "utf8") : "";
  const lc = /ICESTORM_LC:\s*(\d+)\/\s*(\d+)/.exec(text);
  if (lc && Number(lc[1]) > Number(lc[2])) return `does not fit the iCE40 ${device.name.toUpperCase()}: ${lc[1]} logic cells after packing > ${lc[2]}`;
  return message;
}

export function writeSynthReport(file: string, r: SynthReport): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, JSON.stringify(r, null, 2) + "\n");
}

/** The report as a few human lines. */
export function formatSynthReport(r: SynthReport): string {
  const x = r.resources;
  const dspName = r.family === "ice40" ? "SB_MAC16" : "DSP48E1";
  const bramName = r.family === "ice40" ? "SB_RAM40_4K" : "RAMB18E1/RAMB36E1";
  const lines = [
    `vta ${r.config} (${r.params.batch}×${r.params.blockIn}×${r.params.blockOut} int8 GEMM core) on ${r.family}${r.device ? ` ${r.device}` : ""} — ${r.tools.yosys}`,
    `  LUTs ${x.luts}, flip-flops ${x.flipFlops} (${r.wrapper.scanFlipFlops} of them the scan wrapper's), carry ${x.carry}`,
    `  DSP ${x.dsp} × ${dspName} for ${r.gemmMultipliers} GEMM multipliers (${r.multipliersInDsp ? "all in DSP blocks"
      : r.device === "hx8k" ? "the HX8K has no DSP blocks: the multipliers are LUTs" : "NOT all in DSP blocks"})`,
    `  block RAM ${x.bram} × ${bramName} (${x.bramKbit} kbit)`,
  ];
  if (r.pnr && "skipped" in r.pnr) lines.push(`  place and route: skipped — ${r.pnr.skipped}`);
  else if (r.pnr && "failed" in r.pnr) lines.push(`  place and route: FAILED — ${r.pnr.failed}`);
  else if (r.pnr) lines.push(`  place and route: Fmax ${r.pnr.fmaxMHz.toFixed(2)} MHz (target ${r.pnr.targetMHz} MHz, ${r.pnr.meetsTarget ? "met" : "NOT met"}), seed ${r.pnr.seed}`);
  if (r.bitstream) lines.push(`  bitstream ${r.bitstream.file} (${r.bitstream.bytes} bytes)`);
  return lines.join("\n");
}
