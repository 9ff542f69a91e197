/**
 * Compiled training steps and forwards: one per GIM module (its own graph and its own Adam),
 * one for end-to-end CPC and one for the supervised network. Each step draws its negatives
 * from its own seeded stream, so a module trained in a worker sees the same negatives as
 * in one thread and the two runs give the same parameters.
 */
import type { Graph } from "../../compiler/graph/graph.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { ExecOptions } from "../../train/executable.ts";
import { jit } from "../../train/jit.ts";
import { Adam } from "../../train/optim/adam.ts";
import { compileLossStep } from "../../train/step.ts";
import type { Parameter } from "../../train/parameter.ts";
import type { GimConfig } from "./config.ts";
import { gridSide } from "./config.ts";
import { negativeInputs, sampleNegatives } from "./infonce.ts";
import type { GimModule, SupervisedHead } from "./modules.ts";
import { cpcLoss, gridFeatures, moduleForward, moduleInputSpec, moduleLoss, moduleParameters, negativeSpecs } from "./modules.ts";
import { stepMemoryBytes } from "./memory.ts";

export interface Trainer {
  /** One update on `input`; returns the loss before it. */
  step(input: Tensor): number;
  readonly parameters: readonly Parameter[];
  readonly graph: Graph;
  /** Planned bytes of one step (inputs, outputs, intermediates after reuse). */
  readonly memoryBytes: number;
}

export interface ModuleTrainer extends Trainer {
  /** The module's output maps for `input` with its current parameters (the next module's data). */
  forward(input: Tensor): Promise<Tensor>;
}

const negativeStream = (cfg: GimConfig, what: number) => new Rng(cfg.seed * 7919 + 17 * what + 3);

function negativeFeed(cfg: GimConfig, rng: Rng): Record<string, Tensor> {
  const names = negativeInputs(cfg.steps);
  return Object.fromEntries(sampleNegatives(rng, cfg.batch, gridSide(cfg), cfg.steps, cfg.negatives).map((t, i) => [names[i]!, t]));
}

/** Module m's own training step (Adam, lr from the config) and forward. */
export async function moduleTrainer(cfg: GimConfig, mod: GimModule, opts: ExecOptions = {}): Promise<ModuleTrainer> {
  const spec = moduleInputSpec(cfg, mod.index);
  const negNames = negativeInputs(cfg.steps);
  const step = await compileLossStep((inp) => moduleLoss(mod, moduleForward(mod, inp["x"]!, cfg), negNames.map((n) => inp[n]!), cfg),
    new Adam({ lr: cfg.lr }), { x: spec, ...negativeSpecs(cfg) }, opts);
  const fwd = jit(({ x }) => moduleForward(mod, x, cfg), { x: spec }, opts);
  // Compile now, not on the first batch: training timers then measure training alone.
  await fwd({ x: Tensor.zeros(spec.shape as number[]) });
  const rng = negativeStream(cfg, mod.index);
  return {
    step: (input) => step({ x: input, ...negativeFeed(cfg, rng) }),
    forward: (input) => fwd({ x: input }),
    parameters: moduleParameters(mod),
    graph: step.graph,
    memoryBytes: stepMemoryBytes(step.graph),
  };
}

/** End-to-end CPC: images in, one InfoNCE at the top, every module's parameters updated by one Adam. */
export async function cpcTrainer(cfg: GimConfig, mods: readonly GimModule[], opts: ExecOptions = {}): Promise<Trainer> {
  const negNames = negativeInputs(cfg.steps);
  const step = await compileLossStep((inp) => cpcLoss(mods, inp["x"]!, negNames.map((n) => inp[n]!), cfg),
    new Adam({ lr: cfg.lr }), { x: moduleInputSpec(cfg, 0), ...negativeSpecs(cfg) }, opts);
  const rng = negativeStream(cfg, 1000);
  return { step: (input) => step({ x: input, ...negativeFeed(cfg, rng) }), parameters: step.parameters, graph: step.graph, memoryBytes: stepMemoryBytes(step.graph) };
}

/** The supervised network of the same shape, trained end to end on labels. */
export async function supervisedTrainer(cfg: GimConfig, mods: readonly GimModule[], head: SupervisedHead, opts: ExecOptions = {}) {
  const step = await compileLossStep((inp) => head.loss(mods, inp["x"]!, inp["y"]!, cfg), new Adam({ lr: cfg.lr }),
    { x: moduleInputSpec(cfg, 0), y: { shape: [cfg.batch], dtype: "i32" } }, opts);
  const predict = jit(({ x }) => head.logits(mods, x, cfg).argmax(1), { x: moduleInputSpec(cfg, 0) }, opts);
  return {
    step: (x: Tensor, y: Tensor) => step({ x, y }),
    predict: (x: Tensor) => predict({ x }),
    memoryBytes: stepMemoryBytes(step.graph),
  };
}

/** Probe features of every module for a batch of images: [B, 4·C_m] per module (modules.ts gridFeatures). */
export function stackFeatures(cfg: GimConfig, mods: readonly GimModule[], opts: ExecOptions = {}) {
  return jit(({ x }) => {
    let h = x;
    return mods.map((mod) => { h = moduleForward(mod, h, cfg); return gridFeatures(h, cfg); });
  }, { x: moduleInputSpec(cfg, 0) }, opts);
}

