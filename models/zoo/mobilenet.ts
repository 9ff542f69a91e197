/**
 * MobileNet-v2 (Sandler et al.; torchvision's layout): conv 3×3/2 (32) → 17 inverted
 * residual blocks (1×1 expand → 3×3 depthwise → 1×1 linear projection, skip when the
 * shape is kept) → conv 1×1 (1280) → global average pool → linear. BN after every conv,
 * ReLU6 after all but the projections. Channels are `width` × the paper's, rounded to a
 * multiple of 8 as torchvision's _make_divisible. Input [batch, inChannels, H, W].
 */
import type { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../../train/lt.ts";
import type { Layer } from "../../train/nn/index.ts";
import { BatchNorm, Conv2d, Dropout, Linear, Module, Sequential } from "../../train/nn/index.ts";

export interface MobileNetV2Options {
  /** Width multiplier (default 1). */
  readonly width?: number;
  readonly classes?: number;
  readonly inChannels?: number;
  /** Classifier dropout (default 0.2, as torchvision). */
  readonly dropout?: number;
  readonly rng?: Rng;
}

/** torchvision's _make_divisible: nearest multiple of `d`, never below 90% of v. */
export function makeDivisible(v: number, d = 8): number {
  const r = Math.max(d, Math.floor((v + d / 2) / d) * d);
  return r < 0.9 * v ? r + d : r;
}

const relu6 = (h: Tracer) => h.relu().minimum(6);

function convBn(cin: number, cout: number, k: number, stride: number, groups: number, act: boolean, name: string, rng: Rng | undefined): Layer[] {
  const layers: Layer[] = [
    new Conv2d(cin, cout, k, { stride, padding: (k - 1) / 2, groups, bias: false, rng, name }),
    new BatchNorm(cout, { name: `${name}.bn` }),
  ];
  if (act) layers.push(relu6);
  return layers;
}

class InvertedResidual extends Module {
  readonly body: Sequential;
  readonly skip: boolean;
  constructor(cin: number, cout: number, stride: number, expand: number, name: string, rng: Rng | undefined) {
    super();
    const hidden = Math.round(cin * expand);
    this.skip = stride === 1 && cin === cout;
    this.body = new Sequential(
      ...(expand !== 1 ? convBn(cin, hidden, 1, 1, 1, true, `${name}.expand`, rng) : []),
      ...convBn(hidden, hidden, 3, stride, hidden, true, `${name}.dw`, rng),
      ...convBn(hidden, cout, 1, 1, 1, false, `${name}.project`, rng),
    );
  }
  forward(x: Tracer): Tracer {
    const y = this.body.forward(x);
    return this.skip ? y.add(x) : y;
  }
}

/** (expansion t, channels c, repeats n, first stride s) per stage, from the paper's Table 2. */
const STAGES: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

export function mobilenetV2(opts: MobileNetV2Options = {}): Sequential {
  const w = opts.width ?? 1, rng = opts.rng;
  let cin = makeDivisible(32 * w);
  const last = makeDivisible(1280 * Math.max(1, w));
  const layers: Layer[] = [...convBn(opts.inChannels ?? 3, cin, 3, 2, 1, true, "stem", rng)];
  STAGES.forEach(([t, c, n, s], i) => {
    const cout = makeDivisible(c * w);
    for (let j = 0; j < n; j++) {
      layers.push(new InvertedResidual(cin, cout, j === 0 ? s : 1, t, `features.${i}.${j}`, rng));
      cin = cout;
    }
  });
  layers.push(...convBn(cin, last, 1, 1, 1, true, "head", rng));
  layers.push((h: Tracer) => h.globalAvgPool2d().reshape([0, -1]));
  layers.push(new Dropout(opts.dropout ?? 0.2));
  layers.push(new Linear(last, opts.classes ?? 1000, { rng, name: "classifier" }));
  return new Sequential(...layers);
}
