/** Seeded shuffling and mini-batching. */
import { LatheError } from "../../core/errors.ts";
import { permutation, type Rng } from "../../runtime/random.ts";
import type { Dataset } from "./dataset.ts";
import { checkDataset, sizeOf, subset } from "./dataset.ts";

export { permutation };

export const shuffle = (d: Dataset, rng: Rng): Dataset => subset(d, permutation(sizeOf(d), rng));

export interface BatchOptions {
  /** Drop a last batch smaller than `batchSize` (e.g. for a step compiled for a fixed batch). */
  readonly dropLast?: boolean;
}

/**
 * One epoch of mini-batches: examples in the order of a fresh `rng` permutation (in
 * order when `rng` is null). Each batch is `{ x, y }`, ready for a compiled step.
 */
export function* batches(data: Dataset, batchSize: number, rng: Rng | null, opts: BatchOptions = {}): Generator<Dataset> {
  checkDataset(data);
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new LatheError(`batches: batch size must be a positive integer, got ${batchSize}`);
  const n = sizeOf(data);
  const order = rng ? permutation(n, rng) : Array.from({ length: n }, (_, i) => i);
  for (let s = 0; s < n; s += batchSize) {
    if (opts.dropLast && s + batchSize > n) return;
    yield subset(data, order.slice(s, s + batchSize));
  }
}
