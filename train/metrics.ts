/** Evaluation metrics on runtime tensors. */
import { ShapeError } from "../core/errors.ts";
import type { Tensor } from "../runtime/tensor.ts";

/** Share of rows of `logits` [n, k] whose largest entry (first on ties) is the row's label. */
export function accuracy(logits: Tensor, labels: Tensor): number {
  if (logits.shape.length !== 2 || labels.shape.length !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new ShapeError(`accuracy: expected logits [n, k] and labels [n], got [${logits.shape.join(", ")}] and [${labels.shape.join(", ")}]`);
  }
  const [n, k] = logits.shape as [number, number];
  const z = logits.toArray(), y = labels.toArray();
  let right = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (z[i * k + j]! > z[i * k + best]!) best = j;
    if (best === y[i]) right++;
  }
  return right / n;
}
