/**
 * Continual learning (Avalanche's feature set on Lathe graphs): benchmarks as streams of
 * experiences, a training loop with plugin hooks, strategies as plugins, metrics as
 * evaluation plugins, loggers and checkpoints. docs/continual.md is the guide.
 */
export type { Benchmark, Experience, ScenarioKind } from "./scenarios.ts";
export { checkClassOrder, fromDatasets, online, permuted, rotated, rotateImages, splitByClass } from "./scenarios.ts";
export { BENCHMARKS, checkBenchmarkName, loadBenchmark } from "./benchmarks.ts";
export type { BenchmarkName, BenchmarkOptions } from "./benchmarks.ts";
export { ContinualMlp, MASKED } from "./model.ts";
export { TrainStep, compileGradients, compileGradientSum, compileLogits, compileEmbed, baseSpecs, rowCrossEntropy } from "./program.ts";
export type { GraphTerms, TermContext, Tracker } from "./program.ts";
export { agemProjection, distillation, gemProjection, logitRegression, quadraticPenalty, sigmoidDistillation, siTracker } from "./terms.ts";
export { Strategy, concatData, toData } from "./strategy.ts";
export type { EvalResult, Plugin, Rows, StrategyOptions, TrainData } from "./strategy.ts";
export { Memory, checkCapacity, BUFFER_POLICIES } from "./buffers.ts";
export type { BufferPolicy, Example } from "./buffers.ts";
export { EwcPlugin, LwfPlugin, MasPlugin, SiPlugin } from "./regularization.ts";
export { AgemPlugin, CumulativePlugin, DerPlugin, ErAcePlugin, GdumbPlugin, GemPlugin, IcarlPlugin, ReplayPlugin, herding } from "./rehearsal.ts";
export { STRATEGIES, DEFAULTS, buildPlugins, parseStrategy } from "./registry.ts";
export type { StrategyName, StrategyParams } from "./registry.ts";
export { MetricsPlugin, backwardTransfer, confusionMatrix, finalAccuracy, forgetting, forwardTransfer, perClassAccuracy } from "./metrics.ts";
export type { MetricsSummary } from "./metrics.ts";
export { readCheckpoint, runStrategy, writeCheckpoint } from "./runner.ts";
export type { RunOptions, RunResult } from "./runner.ts";
export { TextLogger, buildReport, textTable, writeCsv, writeHtml, writeJson } from "./loggers.ts";
