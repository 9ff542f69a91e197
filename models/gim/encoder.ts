/**
 * The GIM encoder: a residual conv stack without batch norm, split into modules. Module m
 * maps feature maps [P, C_{m−1}, p, p] (P = patches of a batch, read as one batch of
 * small images) to [P, C_m, p, p]: a 3×3 convolution, then `blocks` pre-activation
 * residual blocks h + conv(relu(conv(relu(h)))) (ResNet v2 without its norms, as the
 * paper's encoder). The vector of a patch is the spatial mean of its module output.
 */
import type { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../../train/lt.ts";
import { Conv2d } from "../../train/nn/conv.ts";
import { Module } from "../../train/nn/module.ts";

class ResidualBlock extends Module {
  readonly a: Conv2d;
  readonly b: Conv2d;
  constructor(ch: number, rng: Rng, name: string) {
    super();
    this.a = new Conv2d(ch, ch, 3, { padding: 1, rng, name: `${name}.a` });
    this.b = new Conv2d(ch, ch, 3, { padding: 1, rng, name: `${name}.b` });
  }
  forward(h: Tracer): Tracer { return h.add(this.b.forward(this.a.forward(h.relu()).relu())); }
}

export class EncoderModule extends Module {
  readonly stem: Conv2d;
  readonly blocks: ResidualBlock[];
  constructor(readonly inChannels: number, readonly outChannels: number, blocks: number, rng: Rng, readonly name: string) {
    super();
    this.stem = new Conv2d(inChannels, outChannels, 3, { padding: 1, rng, name: `${name}.stem` });
    this.blocks = Array.from({ length: blocks }, (_, k) => new ResidualBlock(outChannels, rng, `${name}.block${k}`));
  }
  /** [P, C_in, p, p] → [P, C_out, p, p]. */
  forward(x: Tracer): Tracer { return this.blocks.reduce((h, blk) => blk.forward(h), this.stem.forward(x)); }
}

/** One vector per patch: the spatial mean of feature maps [B·g·g, C, p, p], as a grid [B, g, g, C]. */
export function pooledGrid(h: Tracer, batch: number, grid: number): Tracer {
  const c = h.shape[1] as number;
  return h.mean([2, 3]).reshape([batch, grid, grid, c]);
}
