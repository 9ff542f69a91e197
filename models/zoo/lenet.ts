/**
 * LeNet-style CNN for 1×28×28 images (input [batch, 28, 28] or [batch, 1, 28, 28]):
 * conv 5×5 (c1) → relu → maxpool 2 → conv 5×5 (c2) → relu → maxpool 2 → linear 16·c2→hidden → relu →
 * linear hidden→classes; LeNet-5's sizes (6, 16, 120) by default.
 */
import type { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../../train/lt.ts";
import { Conv2d, Linear, Sequential } from "../../train/nn/index.ts";

export interface LeNetOptions {
  readonly rng?: Rng;
  readonly classes?: number;
  /** Filters of the two convolutions (LeNet-5: 6 and 16; Caffe's LeNet: 20 and 50). */
  readonly channels?: readonly [number, number];
  /** Width of the hidden linear layer (LeNet-5: 120). */
  readonly hidden?: number;
}

export function lenet(opts: LeNetOptions = {}): Sequential {
  const rng = opts.rng;
  const pool = (h: Tracer) => h.maxPool2d({ kernel: [2, 2] });
  const [c1, c2] = opts.channels ?? [6, 16];
  const hidden = opts.hidden ?? 120;
  return new Sequential(
    (x: Tracer) => x.reshape([0, 1, 28, 28]),
    new Conv2d(1, c1, 5, { rng, name: "conv1" }), (h: Tracer) => h.relu(), pool, // c1×12×12
    new Conv2d(c1, c2, 5, { rng, name: "conv2" }), (h: Tracer) => h.relu(), pool, // c2×4×4
    (h: Tracer) => h.reshape([0, c2 * 16]),
    new Linear(c2 * 16, hidden, { rng, name: "fc1" }), (h: Tracer) => h.relu(),
    new Linear(hidden, opts.classes ?? 10, { rng, name: "fc2" }),
  );
}
