/**
 * ResNet-18 (He et al.; torchvision's layout): conv 7×7/2 → BN → ReLU → maxpool 3×3/2,
 * four stages of two BasicBlocks (widths 64, 128, 256, 512 × `width`), a 1×1/2 conv + BN
 * on the shortcut where a stage halves the resolution, global average pool, linear.
 * Convolutions carry no bias (BN follows each). Input [batch, inChannels, H, W].
 */
import type { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../../train/lt.ts";
import { BatchNorm, Conv2d, Linear, Module, Sequential } from "../../train/nn/index.ts";

export interface ResNetOptions {
  /** Width multiplier on every channel count (default 1). */
  readonly width?: number;
  readonly classes?: number;
  readonly inChannels?: number;
  readonly rng?: Rng;
}

const relu = (h: Tracer) => h.relu();

class BasicBlock extends Module {
  readonly body: Sequential;
  readonly shortcut: Sequential | null;
  constructor(cin: number, cout: number, stride: number, name: string, rng: Rng | undefined) {
    super();
    this.body = new Sequential(
      new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false, rng, name: `${name}.conv1` }), new BatchNorm(cout, { name: `${name}.bn1` }), relu,
      new Conv2d(cout, cout, 3, { padding: 1, bias: false, rng, name: `${name}.conv2` }), new BatchNorm(cout, { name: `${name}.bn2` }),
    );
    this.shortcut = stride !== 1 || cin !== cout
      ? new Sequential(new Conv2d(cin, cout, 1, { stride, bias: false, rng, name: `${name}.downsample` }), new BatchNorm(cout, { name: `${name}.downsample_bn` }))
      : null;
  }
  forward(x: Tracer): Tracer {
    return this.body.forward(x).add(this.shortcut ? this.shortcut.forward(x) : x).relu();
  }
}

export function resnet18(opts: ResNetOptions = {}): Sequential {
  const w = opts.width ?? 1, rng = opts.rng;
  const ch = (c: number) => Math.max(1, Math.round(c * w));
  const widths = [64, 128, 256, 512].map(ch);
  const blocks: BasicBlock[] = [];
  let cin = ch(64);
  widths.forEach((c, s) => {
    blocks.push(new BasicBlock(cin, c, s === 0 ? 1 : 2, `layer${s + 1}.0`, rng));
    blocks.push(new BasicBlock(c, c, 1, `layer${s + 1}.1`, rng));
    cin = c;
  });
  return new Sequential(
    new Conv2d(opts.inChannels ?? 3, ch(64), 7, { stride: 2, padding: 3, bias: false, rng, name: "conv1" }), new BatchNorm(ch(64), { name: "bn1" }), relu,
    (h: Tracer) => h.maxPool2d({ kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
    ...blocks,
    (h: Tracer) => h.globalAvgPool2d().reshape([0, -1]),
    new Linear(cin, opts.classes ?? 1000, { rng, name: "fc" }),
  );
}
