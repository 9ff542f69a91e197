/**
 * LeNet-style CNN for 1×28×28 images (input [batch, 28, 28] or [batch, 1, 28, 28]):
 * conv 5×5 (6) → relu → maxpool 2 → conv 5×5 (16) → relu → maxpool 2 → linear 256→120 → relu → linear 120→classes.
 */
import type { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../../runtime/train/lt.ts";
import { Conv2d, Linear, Sequential } from "../../runtime/train/nn/index.ts";

export interface LeNetOptions {
  readonly rng?: Rng;
  readonly classes?: number;
}

export function lenet(opts: LeNetOptions = {}): Sequential {
  const rng = opts.rng;
  const pool = (h: Tracer) => h.maxPool2d({ kernel: [2, 2] });
  return new Sequential(
    (x: Tracer) => x.reshape([0, 1, 28, 28]),
    new Conv2d(1, 6, 5, { rng, name: "conv1" }), (h: Tracer) => h.relu(), pool, // 6×12×12
    new Conv2d(6, 16, 5, { rng, name: "conv2" }), (h: Tracer) => h.relu(), pool, // 16×4×4
    (h: Tracer) => h.reshape([0, 256]),
    new Linear(256, 120, { rng, name: "fc1" }), (h: Tracer) => h.relu(),
    new Linear(120, opts.classes ?? 10, { rng, name: "fc2" }),
  );
}
