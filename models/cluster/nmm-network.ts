/**
 * The networks whose K outputs become the neural mixture model's cluster densities
 * (nmm-objective.ts): an MLP for feature vectors and a small CNN for one-channel images.
 * Both take rows [B, d] (the CNN views them as [B, 1, h, w]) and return z [B, K].
 *
 * - "mlp": per hidden width, Linear → (BatchNorm) → ReLU; then Linear to K.
 * - "cnn": per channel count, Conv 3×3 (same padding) → ReLU → max-pool 2×2 (floor: 28 →
 *   14 → 7, 8 → 4 → 2); then flatten → per hidden width Linear → (BatchNorm) → ReLU; then
 *   Linear to K. No BatchNorm on the convolutions: the cpu target fuses its backward pass
 *   (a per-channel mean, then a broadcast product) into one kernel that recomputes the mean
 *   for every element, quadratic in N·H·W (52 s per step at 256 × 16 × 28 × 28).
 * Weights are drawn from `seed` (PyTorch's default uniform initialisation): the same seed
 * gives the same network.
 */
import { ShapeError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/lt.ts";
import { Linear } from "../../train/nn/linear.ts";
import type { Layer } from "../../train/nn/module.ts";
import { Module, Sequential, uniformParam } from "../../train/nn/module.ts";
import type { Parameter } from "../../train/parameter.ts";
import { BatchNorm } from "../../train/nn/norm.ts";

export type NmmArch = "mlp" | "cnn";

export interface NmmNetworkSpec {
  readonly arch: NmmArch;
  /** Input features per row. */
  readonly d: number;
  readonly k: number;
  /** Image height and width (the CNN's view of a row; h·w = d). */
  readonly image?: { readonly h: number; readonly w: number };
  /** Convolution channels per stage (CNN). */
  readonly channels: readonly number[];
  /** Fully connected hidden widths (after the convolutions for the CNN). */
  readonly hidden: readonly number[];
  readonly batchNorm: boolean;
  readonly seed: number;
}

const relu = (x: Tracer): Tracer => x.relu();

/**
 * A 3×3 convolution with same padding, weights OIHW as Conv2d's. Training graphs (static
 * batch) run it as im2col and one matrix product, whose gradients are matrix products too
 * (the cpu target's direct conv2d_grad_weight is an order of magnitude slower); inference
 * graphs (a symbolic batch, which im2col cannot take) run conv2d.
 */
export class Conv3x3 extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  constructor(readonly inChannels: number, readonly outChannels: number, opts: { rng: Rng; name: string; bias: boolean }) {
    super();
    const bound = 1 / Math.sqrt(inChannels * 9);
    this.weight = uniformParam(`${opts.name}.weight`, [outChannels, inChannels, 3, 3], bound, opts.rng);
    this.bias = opts.bias ? uniformParam(`${opts.name}.bias`, [outChannels], bound, opts.rng) : null;
  }
  forward(x: Tracer): Tracer {
    const w = lt.param(this.weight), O = this.outChannels;
    const [n, , h, wd] = x.shape;
    let y: Tracer;
    if (typeof n === "number" && typeof h === "number" && typeof wd === "number") {
      const col = lt.op("im2col", [x.pad([0, 0, 1, 1, 0, 0, 1, 1])], { kernel: [3, 3] })[0]!;
      y = w.reshape([O, this.inChannels * 9]).matmul(col).reshape([O, n, h, wd]).transpose([1, 0, 2, 3]);
    } else {
      y = x.conv2d(w, { pads: [1, 1, 1, 1] });
    }
    return this.bias ? y.add(lt.param(this.bias).reshape([O, 1, 1])) : y;
  }
}
const pool = (x: Tracer): Tracer => x.maxPool2d({ kernel: [2, 2] });

export function buildNetwork(spec: NmmNetworkSpec): Sequential {
  const rng = new Rng(spec.seed);
  const layers: Layer[] = [];
  let width = spec.d;
  if (spec.arch === "cnn") {
    const img = spec.image;
    if (!img || img.h * img.w !== spec.d) throw new ShapeError(`nmm: the cnn needs the image size (h·w = ${spec.d} features)`);
    let { h, w } = img, c = 1;
    layers.push((x: Tracer) => x.reshape([0, 1, img.h, img.w]));
    spec.channels.forEach((out, i) => {
      if (h < 2 || w < 2) throw new ShapeError(`nmm: a ${img.h}×${img.w} image is too small for ${spec.channels.length} pooling stages`);
      layers.push(new Conv3x3(c, out, { rng, name: `nmm.conv${i}`, bias: true }));
      layers.push(relu, pool);
      c = out;
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
    });
    layers.push((x: Tracer) => x.reshape([0, -1]));
    width = c * h * w;
  }
  spec.hidden.forEach((out, i) => {
    layers.push(new Linear(width, out, { rng, name: `nmm.fc${i}`, bias: !spec.batchNorm }));
    if (spec.batchNorm) layers.push(new BatchNorm(out, { name: `nmm.fc${i}.bn` }));
    layers.push(relu);
    width = out;
  });
  layers.push(new Linear(width, spec.k, { rng, name: "nmm.out" }));
  return new Sequential(...layers);
}
