/**
 * The graphs of Greedy InfoMax and its baselines, built from one encoder (encoder.ts) and
 * one loss (infonce.ts):
 * - GIM: module m's training step is its own graph and its own Adam. Its input is module
 *   m−1's output as data (a tensor the previous module's forward produced), so no gradient
 *   can reach module m−1: the isolation is structural. `stackedLosses` states the same
 *   thing inside one graph with stop_gradient between modules (used to test it, and to
 *   show what the end-to-end baseline differs in).
 * - End-to-end CPC: the same modules stacked in one graph, one InfoNCE on the top module,
 *   full backpropagation.
 * - Supervised: the same stack, the grid of top-module vectors averaged, a linear layer
 *   and cross-entropy.
 * Module 1 cuts the images into patches in-graph (the `patches` op); every later module
 * reads feature maps [B·g·g, C, p, p].
 */
import { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/lt.ts";
import type { InputSpec } from "../../train/feed.ts";
import { crossEntropy } from "../../train/losses.ts";
import { Linear } from "../../train/nn/linear.ts";
import type { Parameter } from "../../train/parameter.ts";
import type { GimConfig } from "./config.ts";
import { checkConfig, gridSide } from "./config.ts";
import { EncoderModule, pooledGrid } from "./encoder.ts";
import { infoNceLoss, negativeInputs, predictionWeights } from "./infonce.ts";

export interface GimModule {
  readonly index: number;
  readonly encoder: EncoderModule;
  /** W_1 … W_K of this module's InfoNCE. */
  readonly weights: readonly Parameter[];
}

/** The M modules, initialised from the config's seed (module m from its own stream, so a worker can rebuild it alone). */
export function buildModules(cfg: GimConfig): GimModule[] {
  checkConfig(cfg);
  return cfg.channels.map((ch, m) => buildModule(cfg, m, ch));
}

export function buildModule(cfg: GimConfig, m: number, ch = cfg.channels[m]!): GimModule {
  const rng = new Rng(cfg.seed * 1009 + m + 1);
  const cin = m === 0 ? 1 : cfg.channels[m - 1]!;
  return { index: m, encoder: new EncoderModule(cin, ch, cfg.blocks, rng, `m${m + 1}`), weights: predictionWeights(ch, cfg.steps, rng, `m${m + 1}.infonce`) };
}

export const moduleParameters = (mod: GimModule): Parameter[] => [...mod.encoder.parameters(), ...mod.weights];

/** Images [B, 1, H, W] for module 1, else the previous module's maps [B·g·g, C, p, p]. */
export function moduleInputSpec(cfg: GimConfig, m: number): InputSpec {
  const g = gridSide(cfg);
  return m === 0 ? { shape: [cfg.batch, 1, cfg.image, cfg.image] } : { shape: [cfg.batch * g * g, cfg.channels[m - 1]!, cfg.patch, cfg.patch] };
}

/** Negative-index inputs of one step, by name. */
export function negativeSpecs(cfg: GimConfig): Record<string, InputSpec> {
  const g = gridSide(cfg);
  return Object.fromEntries(negativeInputs(cfg.steps).map((name, i) => [name, { shape: [cfg.batch * (g - i - 1) * g, cfg.negatives], dtype: "i32" as const }]));
}

/** Images [B, 1, H, W] → patches as a batch of small images [B·g·g, 1, p, p]. */
export function patchify(x: Tracer, cfg: GimConfig): Tracer {
  const p = lt.op("patches", [x], { size: [cfg.patch, cfg.patch], strides: [cfg.stride, cfg.stride] })[0]!;
  const g = gridSide(cfg);
  return p.reshape([cfg.batch * g * g, 1, cfg.patch, cfg.patch]);
}

/** Module m's output maps for its input (images for module 1). */
export function moduleForward(mod: GimModule, x: Tracer, cfg: GimConfig): Tracer {
  return mod.encoder.forward(mod.index === 0 ? patchify(x, cfg) : x);
}

/** Module m's InfoNCE on its own output. */
export function moduleLoss(mod: GimModule, maps: Tracer, negs: readonly Tracer[], cfg: GimConfig): Tracer {
  return infoNceLoss(pooledGrid(maps, cfg.batch, gridSide(cfg)), mod.weights.map((w) => lt.param(w)), negs);
}

/**
 * Every module's loss in one graph from images: with `isolate`, module m+1 reads module m's
 * output through stop_gradient (GIM); without, gradients flow down the whole stack.
 */
export function stackedLosses(mods: readonly GimModule[], x: Tracer, negs: readonly Tracer[], cfg: GimConfig, isolate: boolean): Tracer[] {
  let h = x;
  return mods.map((mod) => {
    h = moduleForward(mod, mod.index > 0 && isolate ? h.stopGradient() : h, cfg);
    return moduleLoss(mod, h, negs, cfg);
  });
}

/** End-to-end CPC: one InfoNCE at the top of the stack, backpropagated through every module. */
export function cpcLoss(mods: readonly GimModule[], x: Tracer, negs: readonly Tracer[], cfg: GimConfig): Tracer {
  const h = mods.reduce((acc, mod) => moduleForward(mod, acc, cfg), x);
  return moduleLoss(mods.at(-1)!, h, negs, cfg);
}

/**
 * Probe features of maps [B·g·g, C, p, p]: the patch vectors averaged over the four
 * quadrants of the grid (overlapping by a row when g is odd), [B, 4·C].
 */
export function gridFeatures(maps: Tracer, cfg: GimConfig): Tracer {
  const g = gridSide(cfg), z = pooledGrid(maps, cfg.batch, g);
  const lo = Math.ceil(g / 2), hi = Math.floor(g / 2);
  const quads: Tracer[] = [];
  for (const [r0, r1] of [[0, lo], [hi, g]] as const) for (const [c0, c1] of [[0, lo], [hi, g]] as const) {
    quads.push(z.slice([r0, c0], [r1, c1], [1, 2]).mean([1, 2]));
  }
  return lt.concat(quads, 1);
}

/** The supervised network: the same stack, a linear classifier on the top module's grid features. */
export class SupervisedHead {
  readonly linear: Linear;
  constructor(cfg: GimConfig, classes: number) {
    this.linear = new Linear(4 * cfg.channels.at(-1)!, classes, { rng: new Rng(cfg.seed * 1009 + 999), name: "supervised.head" });
  }
  logits(mods: readonly GimModule[], x: Tracer, cfg: GimConfig): Tracer {
    const h = mods.reduce((acc, mod) => moduleForward(mod, acc, cfg), x);
    return this.linear.forward(gridFeatures(h, cfg));
  }
  loss(mods: readonly GimModule[], x: Tracer, y: Tracer, cfg: GimConfig): Tracer { return crossEntropy(this.logits(mods, x, cfg), y); }
}
