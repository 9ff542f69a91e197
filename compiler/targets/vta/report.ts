/**
 * Per-run reports: cycles, GEMM-core utilisation, DRAM traffic, and the same layer with
 * and without latency hiding (virtual threads 2 vs 1), against the core's compute-bound
 * limit (one batch × block-in × block-out GEMM per cycle).
 */
import type { VtaStats } from "./fsim.ts";
import type { VtaParams } from "./params.ts";
import type { ConvLayer } from "./layer.ts";
import { macs, outH, outW } from "./layer.ts";
import type { Tiling } from "./schedule.ts";

export interface LayerReport {
  readonly layer: string;
  readonly shape: string;
  readonly tiling: Tiling;
  readonly cycles: number;
  readonly gemmUtilization: number;
  readonly dramBytesRead: number;
  readonly dramBytesWritten: number;
  /** Cycles if the GEMM core multiplied every cycle (MACs / core MACs per cycle). */
  readonly computeBoundCycles: number;
}

export const describeLayer = (l: ConvLayer): string =>
  `${l.n}×${l.c}×${l.h}×${l.w} → ${l.o}×${outH(l)}×${outW(l)}, ${l.kh}×${l.kw}/s${l.strideH}`;

/** Cycles at 100% utilisation: useful MACs over the core's MACs per cycle. */
export const computeBoundCycles = (l: ConvLayer, p: VtaParams): number => Math.ceil(macs(l) / (p.batch * p.blockIn * p.blockOut));

export function layerReport(l: ConvLayer, p: VtaParams, stats: VtaStats, tiling: Tiling): LayerReport {
  return {
    layer: l.name, shape: describeLayer(l), tiling, cycles: stats.cycles, gemmUtilization: stats.gemmUtilization,
    dramBytesRead: stats.dramBytesRead, dramBytesWritten: stats.dramBytesWritten, computeBoundCycles: computeBoundCycles(l, p),
  };
}

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

/** A table: one row per report. */
export function formatReports(rows: readonly LayerReport[]): string {
  const head = ["layer", "shape", "tiles (th×tw×tco×tci, vt)", "cycles", "GEMM util", "DRAM read", "DRAM written", "bound"];
  const body = rows.map((r) => [
    r.layer, r.shape, `${r.tiling.th}×${r.tiling.tw}×${r.tiling.tco}×${r.tiling.tci}, ${r.tiling.vthreads}`,
    String(r.cycles), `${(100 * r.gemmUtilization).toFixed(1)}%`, kb(r.dramBytesRead), kb(r.dramBytesWritten), String(r.computeBoundCycles),
  ]);
  const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k]!.length)));
  return [head, ...body].map((r) => r.map((c, k) => c.padEnd(w[k]!)).join("  ")).join("\n");
}
