/** Loss functions: each returns a scalar Tracer averaged over every element (or row). */
import { ShapeError } from "../core/errors.ts";
import type { Tracer } from "./lt.ts";

/**
 * Mean over rows of −log softmax(logits)[label]: logits [..., classes] with a known class
 * count, labels i32 [...] (the leading dims of logits).
 */
export function crossEntropy(logits: Tracer, labels: Tracer): Tracer {
  const classes = logits.shape.at(-1);
  if (typeof classes !== "number") throw new ShapeError(`cross_entropy: logits ${logits.value.name} need a known class count, got [${logits.shape.join(", ")}]`);
  if (labels.dtype !== "i32") throw new ShapeError(`cross_entropy: labels ${labels.value.name} must be i32 class indices, got ${labels.dtype}`);
  const target = labels.oneHot(classes).cast(logits.dtype);
  return target.mul(logits.logSoftmax(-1)).sum([-1]).mean().neg();
}

/**
 * Mean binary cross-entropy of targets in [0, 1] given logits z:
 * softplus(z) − z·y = −y·log σ(z) − (1 − y)·log(1 − σ(z)), with softplus written stably
 * (max(z, 0) + log(1 + e^−|z|)), so large |z| neither overflows nor loses the gradient.
 */
export function binaryCrossEntropy(logits: Tracer, targets: Tracer): Tracer {
  return logits.softplus().sub(logits.mul(targets.cast(logits.dtype))).mean();
}

/** Mean squared error. */
export function mse(pred: Tracer, target: Tracer): Tracer {
  return pred.sub(target).square().mean();
}
