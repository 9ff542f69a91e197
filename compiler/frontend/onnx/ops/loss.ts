/**
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss. The target class is picked out of
 * the class axis (1) by a one-hot mask and a sum; per-element weights are weight[target]
 * (or 1), zero where target = ignore_index. "mean" divides by the sum of those weights,
 * as ONNX defines it.
 */
import type { Value } from "../../../graph/graph.ts";
import type { ConvertContext, Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";
import { ctxError, floatOnly } from "./nn-common.ts";

/** NLL of log-probabilities `logp` [N, C, d…] at integer `target` [N, d…]. */
function nll(ctx: ConvertContext, logp: Value, target: Value, weight: Value | undefined): Value {
  const rank = logp.type.shape.length;
  const t = logp.type.dtype;
  if (rank < 2) throw ctxError(ctx, `input must be [N, C, d…] of rank ≥ 2, got rank ${rank}`);
  if (target.type.shape.length !== rank - 1) throw ctxError(ctx, `target must have rank ${rank - 1} ([N, d…]), got rank ${target.type.shape.length}`);
  if (target.type.dtype !== "i32" && target.type.dtype !== "i64") throw ctxError(ctx, `target must be int32 or int64, got ${target.type.dtype}`);
  const classes = logp.type.shape[1]!;
  if (typeof classes !== "number") ctx.unsupported(`symbolic class count ${classes}`);
  const reduction = ctx.attrs.string("reduction", "mean");
  if (!["none", "sum", "mean"].includes(reduction)) throw ctxError(ctx, `unknown reduction '${reduction}'`);
  const ignore = ctx.attrs.has("ignore_index") ? ctx.attrs.int("ignore_index") : undefined;
  // Ignored positions read class 0 (any valid class) and get weight 0.
  const keep = ignore === undefined ? undefined : ctx.op("not_equal", [target, ctx.scalar(ignore, target.type.dtype)]);
  const safe = keep ? ctx.op("where", [keep, target, ctx.scalar(0, target.type.dtype)]) : target;
  let onehot = ctx.op("one_hot", [safe], { depth: classes, axis: 1 });
  if (onehot.type.dtype !== t) onehot = ctx.op("cast", [onehot], { dtype: t });
  const picked = ctx.op("sum", [ctx.op("mul", [logp, onehot])], { axes: [1], keepdims: false });
  let w: Value | undefined = weight ? ctx.op("gather", [weight, safe], { axis: 0 }) : undefined;
  if (keep) {
    const mask = ctx.op("cast", [keep], { dtype: t });
    w = w ? ctx.op("mul", [w, mask]) : mask;
  }
  const loss = ctx.op("neg", [w ? ctx.op("mul", [picked, w]) : picked]);
  if (reduction === "none") return loss;
  const total = ctx.op("sum", [loss], { axes: [], keepdims: false });
  if (reduction === "sum") return total;
  const count = w ? ctx.op("sum", [w], { axes: [], keepdims: false }) : ctx.scalar(loss.type.shape.reduce((a: number, d) => a * (d as number), 1), t);
  return ctx.op("div", [total, count]);
}

function nllLoss(ctx: ConvertContext): Value {
  const x = ctx.input(0);
  floatOnly(ctx, x);
  return nll(ctx, x, ctx.input(1), ctx.optional(2));
}

function softmaxCrossEntropy(ctx: ConvertContext): Value[] {
  const x = ctx.input(0);
  floatOnly(ctx, x);
  if (x.type.shape.length < 2) throw ctxError(ctx, `scores must be [N, C, d…] of rank ≥ 2, got rank ${x.type.shape.length}`);
  const logp = ctx.op("log_softmax", [x], { axis: 1 });
  return [nll(ctx, logp, ctx.input(1), ctx.optional(2)), logp];
}

const table: Record<string, Converter> = {
  NegativeLogLikelihoodLoss: (ctx) => [nllLoss(ctx)],
  SoftmaxCrossEntropyLoss: softmaxCrossEntropy,
};
registerConverters(table);
