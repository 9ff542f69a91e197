/**
 * Greedy InfoMax settings and their checks. Defaults follow LEARNING.md ("Greedy InfoMax")
 * scaled to Fashion-MNIST: 28×28 images cut into 7×7 patches at stride 3 (an 8×8 grid),
 * 3 modules, prediction up to 3 grid rows ahead with 16 negatives, Adam 2e-4.
 */
import { LatheError } from "../../core/errors.ts";

export interface GimConfig {
  /** Image side (square images, one channel). */
  readonly image: number;
  readonly patch: number;
  readonly stride: number;
  /** Output channels of each module; its length is the number of modules M. */
  readonly channels: readonly number[];
  /** Residual blocks per module (each two 3×3 convolutions and a skip). */
  readonly blocks: number;
  /** Prediction steps k = 1 … steps (grid rows ahead). */
  readonly steps: number;
  readonly negatives: number;
  /** Images per training batch (static: the grid of a batch is one tensor). */
  readonly batch: number;
  readonly lr: number;
  readonly seed: number;
}

export const DEFAULT_GIM: GimConfig = {
  image: 28, patch: 7, stride: 3, channels: [32, 32, 32], blocks: 1, steps: 3, negatives: 16, batch: 16, lr: 2e-4, seed: 0,
};

/** Grid rows and columns of the patches. */
export const gridSide = (c: GimConfig): number => Math.floor((c.image - c.patch) / c.stride) + 1;

export class GimConfigError extends LatheError {}

/** Checks a configuration; every problem is one line naming the field. */
export function checkConfig(c: GimConfig): GimConfig {
  const bad = (field: string, msg: string): never => { throw new GimConfigError(`gim config: ${field}: ${msg}`); };
  const posInt = (field: string, v: number) => { if (!Number.isInteger(v) || v < 1) bad(field, `must be a positive integer, got ${v}`); };
  posInt("image", c.image); posInt("patch", c.patch); posInt("blocks", c.blocks); posInt("steps", c.steps);
  posInt("negatives", c.negatives); posInt("batch", c.batch);
  if (!Number.isInteger(c.stride) || c.stride < 1) bad("stride", `must be a positive integer, got ${c.stride}`);
  if (c.patch > c.image) bad("patch", `a ${c.patch}×${c.patch} patch is larger than the ${c.image}×${c.image} image`);
  if (c.channels.length === 0) bad("channels", "needs at least one module");
  c.channels.forEach((ch, m) => posInt(`channels[${m}]`, ch));
  const rows = gridSide(c);
  if (c.steps >= rows) bad("steps", `${c.steps} prediction steps need more than ${c.steps} grid rows; the grid has ${rows}`);
  if (!(c.lr > 0 && Number.isFinite(c.lr))) bad("lr", `must be a positive number, got ${c.lr}`);
  return c;
}
