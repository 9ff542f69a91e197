/**
 * The VTA-style accelerator target, compiler half: quantized layers → schedule (schedule.ts)
 * → tiled plan (plan.ts) → instruction and micro-op streams (lower.ts) → a simulator
 * (run.ts; fsim, or runner.ts's generated hardware), with per-run reports (report.ts).
 */
export { convLayer, denseLayer, macs, outH, outW, type ConvLayer } from "./layer.ts";
export { convExpr, scheduleConv, gemmIntrin, GEMM_INTRIN, SCOPE, type Tiling, type VtaSchedule } from "./schedule.ts";
export { planFromSchedule, checkFits, type Plan, type Tile } from "./plan.ts";
export { lowerPlan, dramLayout, type VtaProgram, type DramLayout } from "./lower.ts";
export { chooseTiling, estimateCycles } from "./tiling.ts";
export { compileLayer, runLayer, runLayerOn, runQuantizedGraph, dramImage, readOutput, type LayerOptions, type LayerRun, type GraphRun } from "./run.ts";
export { layerReport, formatReports, computeBoundCycles, type LayerReport } from "./report.ts";
