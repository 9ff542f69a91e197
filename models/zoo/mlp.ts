/** Multilayer perceptron: flatten, then Linear → ReLU for each hidden width, then a Linear to the classes. */
import type { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../../train/lt.ts";
import type { Layer } from "../../train/nn/index.ts";
import { Linear, Sequential } from "../../train/nn/index.ts";

export interface MlpOptions {
  readonly rng?: Rng;
}

/** sizes: [in, hidden…, out], e.g. [784, 256, 256, 10]. Input of any shape [batch, …] with `in` elements per row. */
export function mlp(sizes: readonly number[], opts: MlpOptions = {}): Sequential {
  const layers: Layer[] = [(x: Tracer) => x.reshape([0, -1])];
  for (let i = 0; i + 1 < sizes.length; i++) {
    layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { rng: opts.rng, name: `fc${i + 1}` }));
    if (i + 2 < sizes.length) layers.push((h: Tracer) => h.relu());
  }
  return new Sequential(...layers);
}
