/**
 * Strategies by name: each is the training loop (strategy.ts) with a list of plugins,
 * except JointTraining, which trains once on the whole stream (runner.ts). Plugins can
 * be combined by listing several names joined by "+" (e.g. "replay+lwf").
 */
import { LatheError } from "../../core/errors.ts";
import { checkCapacity } from "./buffers.ts";
import { EWC_FISHER_SAMPLES, EwcPlugin, LwfPlugin, MasPlugin, SiPlugin } from "./regularization.ts";
import { AgemPlugin, CumulativePlugin, DerPlugin, ErAcePlugin, GDUMB_EPOCHS, GdumbPlugin, GemPlugin, IcarlPlugin, ReplayPlugin } from "./rehearsal.ts";
import type { Plugin } from "./strategy.ts";

export const STRATEGIES = [
  "naive", "cumulative", "joint", "replay", "replay-reservoir", "gdumb", "ewc", "online-ewc", "si", "mas", "lwf", "agem", "gem", "er-ace", "der", "icarl",
] as const;
export type StrategyName = (typeof STRATEGIES)[number];

/** Hyperparameters (defaults in `DEFAULTS`); memory sizes are checked against the training set. */
export interface StrategyParams {
  readonly memory?: number;
  readonly ewcLambda?: number;
  /** EWC: examples the Fisher is estimated on per experience, or "all" (default EWC_FISHER_SAMPLES). */
  readonly ewcFisherSamples?: number | "all";
  readonly onlineDecay?: number;
  readonly siLambda?: number;
  readonly masLambda?: number;
  readonly lwfAlpha?: number;
  readonly lwfTemperature?: number;
  /** GDumb: epochs over its memory per experience (default GDUMB_EPOCHS, the paper's MNIST recipe). */
  readonly gdumbEpochs?: number;
  /** A-GEM / GEM: examples kept per experience. */
  readonly patterns?: number;
}

export const DEFAULTS = {
  memory: { replay: 2000, "replay-reservoir": 2000, gdumb: 4400, "er-ace": 2000, der: 2000, icarl: 2000 } as Record<string, number>,
  ewcLambda: 100, ewcFisherSamples: EWC_FISHER_SAMPLES as number | "all", onlineDecay: 0.9, siLambda: 1, masLambda: 1, lwfAlpha: 1, lwfTemperature: 2, patterns: 256,
};

export function parseStrategy(spec: string): StrategyName[] {
  const names = spec.split("+").map((s) => s.trim());
  for (const n of names) {
    if (!(STRATEGIES as readonly string[]).includes(n)) throw new LatheError(`unknown strategy "${n}"; one of ${STRATEGIES.join(", ")} (combine with +)`);
  }
  if (names.includes("joint") && names.length > 1) throw new LatheError(`strategy "joint" trains once on the whole stream and combines with nothing; got ${spec}`);
  if (new Set(names).size !== names.length) throw new LatheError(`strategy ${spec} lists a plugin twice`);
  return names as StrategyName[];
}

/** The plugins of a (possibly combined) strategy; throws on an impossible memory size before training. */
export function buildPlugins(spec: string, p: StrategyParams = {}, trainSize?: number): { plugins: Plugin[]; joint: boolean } {
  const names = parseStrategy(spec);
  const mem = (n: string) => {
    const m = p.memory ?? DEFAULTS.memory[n]!;
    checkCapacity(m, n, trainSize);
    return m;
  };
  const plugins = names.flatMap((n): Plugin[] => {
    switch (n) {
      case "naive": case "joint": return [];
      case "cumulative": return [new CumulativePlugin()];
      case "replay": return [new ReplayPlugin(mem(n), "class-balanced")];
      case "replay-reservoir": return [new ReplayPlugin(mem(n), "reservoir")];
      case "gdumb": return [new GdumbPlugin(mem(n), p.gdumbEpochs ?? GDUMB_EPOCHS)];
      case "ewc": return [new EwcPlugin(p.ewcLambda ?? DEFAULTS.ewcLambda, { fisherSamples: p.ewcFisherSamples ?? DEFAULTS.ewcFisherSamples })];
      case "online-ewc": return [new EwcPlugin(p.ewcLambda ?? DEFAULTS.ewcLambda, { mode: "online", decay: p.onlineDecay ?? DEFAULTS.onlineDecay, fisherSamples: p.ewcFisherSamples ?? DEFAULTS.ewcFisherSamples })];
      case "si": return [new SiPlugin(p.siLambda ?? DEFAULTS.siLambda)];
      case "mas": return [new MasPlugin(p.masLambda ?? DEFAULTS.masLambda)];
      case "lwf": return [new LwfPlugin(p.lwfAlpha ?? DEFAULTS.lwfAlpha, p.lwfTemperature ?? DEFAULTS.lwfTemperature)];
      case "agem": return [new AgemPlugin(p.patterns ?? DEFAULTS.patterns, 256)];
      case "gem": return [new GemPlugin(p.patterns ?? DEFAULTS.patterns)];
      case "er-ace": return [new ErAcePlugin(mem(n))];
      case "der": return [new DerPlugin(mem(n))];
      case "icarl": return [new IcarlPlugin(mem(n))];
    }
  });
  return { plugins, joint: names.includes("joint") };
}
