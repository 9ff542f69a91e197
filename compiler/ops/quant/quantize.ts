/**
 * Conversions between float and int8 with power-of-two scales (scale = 2^exp):
 * `quantize` (float → int8, round half up, saturate), `dequantize` (int → float) and
 * `requantize` (int32 accumulator → int8: rounding shift right, saturate, optional ReLU) —
 * the last is exactly what the accelerator's ALU does before a store.
 */
import { add, call, cast, float, max, min, mul } from "../../te/expr.ts";
import { compute } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { boolAttr, expectArity, numAttr } from "../nn/common.ts";
import { checkShift, clipToInt8, expectDtype, INT8_MAX, INT8_MIN, roundingShift } from "./common.ts";

/** Integer ops carry no gradient (quantized graphs are for inference). */
const noGrad: OpDef["vjp"] = ({ node }) => node.inputs.map(() => null);

export const quantize: OpDef = defineOp({
  name: "quantize",
  fusion: "elemwise",
  attrs: { exp: { kind: "int" } },
  infer: (inputs, a, node) => {
    expectArity(node, "quantize", inputs, 1);
    expectDtype(node, "quantize", inputs, 0, ["f32", "f64"]);
    numAttr(a, "exp");
    return [{ shape: inputs[0]!.shape, dtype: "i8" }];
  },
  // q = clip(⌊x · 2^−exp + ½⌋, −128, 127); the scaling is exact (a power of two).
  compute: ([x], a, ctx) => {
    const k = 2 ** -numAttr(a, "exp");
    return [compute(x!.shape, (...ix) => {
      const v = call("floor", add(mul(x!.at(...ix), float(k, x!.dtype)), float(0.5, x!.dtype)));
      return cast("i8", max(min(v, float(INT8_MAX, x!.dtype)), float(INT8_MIN, x!.dtype)));
    }, ctx.name)];
  },
  vjp: noGrad,
});

export const dequantize: OpDef = defineOp({
  name: "dequantize",
  fusion: "elemwise",
  attrs: { exp: { kind: "int" } },
  infer: (inputs, a, node) => {
    expectArity(node, "dequantize", inputs, 1);
    expectDtype(node, "dequantize", inputs, 0, ["i8", "i32"]);
    numAttr(a, "exp");
    return [{ shape: inputs[0]!.shape, dtype: "f32" }];
  },
  compute: ([x], a, ctx) =>
    [compute(x!.shape, (...ix) => mul(cast("f32", x!.at(...ix)), float(2 ** numAttr(a, "exp"))), ctx.name)],
  vjp: noGrad,
});

export const requantize: OpDef = defineOp({
  name: "requantize",
  fusion: "elemwise",
  attrs: { shift: { kind: "int" }, relu: { kind: "bool", default: false } },
  infer: (inputs, a, node) => {
    expectArity(node, "requantize", inputs, 1);
    expectDtype(node, "requantize", inputs, 0, ["i32"]);
    checkShift(node, "requantize", numAttr(a, "shift"));
    return [{ shape: inputs[0]!.shape, dtype: "i8" }];
  },
  compute: ([x], a, ctx) => {
    const s = numAttr(a, "shift"), relu = boolAttr(a, "relu");
    return [compute(x!.shape, (...ix) => clipToInt8(roundingShift(x!.at(...ix), s), relu), ctx.name)];
  },
  vjp: noGrad,
});

export { noGrad };
