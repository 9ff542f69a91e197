/**
 * FPGA families and devices the synthesis flow (synth.ts) targets, and how Yosys's cell
 * counts (`stat -json`) read as resources: LUTs, flip-flops, DSP blocks, block RAM.
 * Pure data and parsing, so the report's arithmetic is tested without the tools.
 */
import { LatheError } from "../../../../core/errors.ts";

export class VtaSynthError extends LatheError {
  override name = "VtaSynthError";
}

export const FAMILIES = ["ice40", "xc7"] as const;
export type Family = (typeof FAMILIES)[number];

/** An iCE40 part nextpnr-ice40 places and routes for, with what it has. */
export interface Ice40Device {
  readonly name: "up5k" | "hx8k";
  readonly flag: "--up5k" | "--hx8k";
  readonly package: string;
  readonly luts: number;
  readonly bram: number;
  readonly dsp: number;
}

export const ICE40_DEVICES: Readonly<Record<Ice40Device["name"], Ice40Device>> = {
  // iCE40 UltraPlus 5K: 5280 logic cells, 30 SB_RAM40_4K, 8 SB_MAC16 (Lattice DS1056).
  up5k: { name: "up5k", flag: "--up5k", package: "sg48", luts: 5280, bram: 30, dsp: 8 },
  // iCE40 HX8K: 7680 logic cells, 32 SB_RAM40_4K, no DSP blocks (Lattice DS1040).
  hx8k: { name: "hx8k", flag: "--hx8k", package: "ct256", luts: 7680, bram: 32, dsp: 0 },
};

/** Resources of a synthesized netlist, read from its cells. */
export interface Resources {
  readonly luts: number;
  readonly flipFlops: number;
  /** Hard multiplier blocks: SB_MAC16 (iCE40) or DSP48E1 (7-series). */
  readonly dsp: number;
  /** Block RAM primitives: SB_RAM40_4K (4 kbit) or RAMB18E1 + RAMB36E1 (18/36 kbit). */
  readonly bram: number;
  /** Block RAM in kbit (the primitives differ in size between families). */
  readonly bramKbit: number;
  readonly carry: number;
  /** Every cell type Yosys left, with its count. */
  readonly cells: Readonly<Record<string, number>>;
}

const sum = (cells: Readonly<Record<string, number>>, test: (t: string) => boolean): number =>
  Object.entries(cells).filter(([t]) => test(t)).reduce((s, [, n]) => s + n, 0);

/** Reads a family's resources from a cell-type histogram. */
export function classifyCells(family: Family, cells: Readonly<Record<string, number>>): Resources {
  if (family === "ice40") {
    const bram = cells.SB_RAM40_4K ?? 0;
    return {
      luts: cells.SB_LUT4 ?? 0, flipFlops: sum(cells, (t) => t.startsWith("SB_DFF")), dsp: cells.SB_MAC16 ?? 0,
      bram, bramKbit: bram * 4, carry: cells.SB_CARRY ?? 0, cells,
    };
  }
  const r18 = cells.RAMB18E1 ?? 0, r36 = cells.RAMB36E1 ?? 0;
  return {
    luts: sum(cells, (t) => /^LUT[1-6]$/.test(t)), flipFlops: sum(cells, (t) => /^FD[RSCP]E$/.test(t) || /^LD[CP]E$/.test(t)),
    dsp: cells.DSP48E1 ?? 0, bram: r18 + r36, bramKbit: r18 * 18 + r36 * 36, carry: cells.CARRY4 ?? 0, cells,
  };
}

/**
 * The cell histogram of the top module from `stat -json` output (Yosys ≥ 0.10): the
 * flattened design's `design` entry when present, else the named module's.
 */
export function parseYosysStat(text: string, top: string, where: string): Record<string, number> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VtaSynthError(`${where}: Yosys's stat -json output is not JSON (${(e as Error).message})`);
  }
  const j = json as { design?: { num_cells_by_type?: unknown }; modules?: Record<string, { num_cells_by_type?: unknown }> };
  const byType = j.design?.num_cells_by_type ?? j.modules?.[`\\${top}`]?.num_cells_by_type;
  if (!byType || typeof byType !== "object") throw new VtaSynthError(`${where}: no num_cells_by_type for module ${top} in Yosys's stat -json output`);
  const out: Record<string, number> = {};
  for (const [t, n] of Object.entries(byType as Record<string, unknown>)) {
    if (typeof n !== "number") throw new VtaSynthError(`${where}: cell count of ${t} is not a number`);
    out[t] = n;
  }
  return out;
}

/** What nextpnr-ice40's `--report` JSON says: the clock's achieved and target frequency, and cells used. */
export interface PnrReport {
  readonly clock: string;
  readonly fmaxMHz: number;
  readonly targetMHz: number;
  readonly utilization: Readonly<Record<string, { readonly used: number; readonly available: number }>>;
}

export function parseNextpnrReport(text: string, where: string): PnrReport {
  let j: { fmax?: Record<string, { achieved?: number; constraint?: number }>; utilization?: Record<string, { used: number; available: number }> };
  try {
    j = JSON.parse(text) as typeof j;
  } catch (e) {
    throw new VtaSynthError(`${where}: nextpnr's report is not JSON (${(e as Error).message})`);
  }
  // nextpnr also times the packer's constant nets ($PACKER_GND_NET …): not clocks of the design.
  const clocks = Object.entries(j.fmax ?? {}).filter(([name]) => !name.startsWith("$PACKER_"));
  if (clocks.length !== 1) throw new VtaSynthError(`${where}: expected one clock in nextpnr's report, found ${clocks.length}`);
  const [clock, f] = clocks[0]!;
  if (typeof f.achieved !== "number" || typeof f.constraint !== "number") throw new VtaSynthError(`${where}: clock ${clock} has no achieved/constraint frequency`);
  return { clock, fmaxMHz: f.achieved, targetMHz: f.constraint, utilization: j.utilization ?? {} };
}
