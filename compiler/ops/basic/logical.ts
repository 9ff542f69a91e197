/**
 * Logical ops on bool (logical_not/and/or/xor), float predicates (isnan, isinf → bool) and
 * integer bit ops (bitwise_not/and/or/xor, bitshift{direction}). Binary ones broadcast like
 * the arithmetic ops; none of them passes a gradient.
 */
import { ShapeError } from "../../../core/errors.ts";
import type { TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { DType } from "../../../core/dtype.ts";
import { isFloat } from "../../../core/dtype.ts";
import type { Expr } from "../../te/expr.ts";
import { and, bool, call, eq, float, ne, not as notE, or } from "../../te/expr.ts";
import { compute } from "../../te/tensor.ts";
import type { AttrSpec, OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import type { Attrs } from "../../graph/graph.ts";
import { broadcastTypes, readBroadcast } from "./broadcast.ts";
import { arity, at, floatOnly, outShape, sameDtype } from "./common.ts";

function boolOnly(t: TensorType, node: string, op: string): DType {
  if (t.dtype !== "bool") throw new ShapeError(`${at(node, op)}: needs a bool input, got ${showType(t)}`);
  return "bool";
}

function intOnly(t: TensorType, node: string, op: string): DType {
  if (isFloat(t.dtype) || t.dtype === "bool") throw new ShapeError(`${at(node, op)}: needs an integer input, got ${showType(t)}`);
  return t.dtype;
}

type Check = (t: TensorType, node: string, op: string) => DType;

interface ElementwiseSpec<A extends Attrs> {
  readonly name: string;
  readonly attrs?: Readonly<Record<string, AttrSpec>>;
  /** Checks an input's dtype; returns the output dtype. */
  readonly check: Check;
  readonly f: (xs: readonly Expr[], attrs: A) => Expr;
}

function unaryPredicate<A extends Attrs = Attrs>(spec: ElementwiseSpec<A>): OpDef<A> {
  return defineOp<A>({
    name: spec.name,
    fusion: "elemwise",
    attrs: spec.attrs ?? {},
    infer: (inputs, _attrs, node) => {
      arity(inputs, 1, node, spec.name);
      return [{ shape: [...inputs[0]!.shape], dtype: spec.check(inputs[0]!, node, spec.name) }];
    },
    compute: ([x], attrs, ctx) => [compute(x!.shape, (...i) => spec.f([x!.at(...i)], attrs), ctx.name)],
    vjp: () => [null],
  });
}

function binaryLogic<A extends Attrs = Attrs>(spec: ElementwiseSpec<A>): OpDef<A> {
  return defineOp<A>({
    name: spec.name,
    fusion: "broadcast",
    attrs: spec.attrs ?? {},
    infer: (inputs, _attrs, node) => {
      arity(inputs, 2, node, spec.name);
      sameDtype(inputs, node, spec.name);
      return [{ shape: broadcastTypes(inputs, node, spec.name), dtype: spec.check(inputs[0]!, node, spec.name) }];
    },
    compute: ([a, b], attrs, ctx) =>
      [compute(outShape(ctx), (...i) => spec.f([readBroadcast(a!, i), readBroadcast(b!, i)], attrs), ctx.name)],
    vjp: () => [null, null],
  });
}

export const logicalNot = unaryPredicate({ name: "logical_not", check: boolOnly, f: ([x]) => notE(x!) });
export const logicalAnd = binaryLogic({ name: "logical_and", check: boolOnly, f: ([a, b]) => and(a!, b!) });
export const logicalOr = binaryLogic({ name: "logical_or", check: boolOnly, f: ([a, b]) => or(a!, b!) });
export const logicalXor = binaryLogic({ name: "logical_xor", check: boolOnly, f: ([a, b]) => ne(a!, b!) });

const toBool: Check = (t, node, op) => { floatOnly(t, node, op); return "bool"; };

/** NaN test by self-inequality (the C++ target compiles without -ffast-math, so x != x holds for NaN). */
export const isnan = unaryPredicate({ name: "isnan", check: toBool, f: ([x]) => ne(x!, x!) });

type IsInfAttrs = { readonly detect_positive: number; readonly detect_negative: number };
/** ONNX IsInf: +∞ and/or −∞ by the two flags (both 1 by default). */
export const isinf = unaryPredicate<IsInfAttrs>({
  name: "isinf",
  attrs: { detect_positive: { kind: "int", default: 1 }, detect_negative: { kind: "int", default: 1 } },
  check: toBool,
  f: ([x], { detect_positive: p, detect_negative: n }) => {
    const pos = eq(x!, float(Infinity, x!.dtype)), negv = eq(x!, float(-Infinity, x!.dtype));
    return p && n ? or(pos, negv) : p ? pos : n ? negv : bool(false);
  },
});

export const bitwiseNot = unaryPredicate({ name: "bitwise_not", check: intOnly, f: ([x]) => call("bitnot", x!) });
export const bitwiseAnd = binaryLogic({ name: "bitwise_and", check: intOnly, f: ([a, b]) => call("bitand", a!, b!) });
export const bitwiseOr = binaryLogic({ name: "bitwise_or", check: intOnly, f: ([a, b]) => call("bitor", a!, b!) });
export const bitwiseXor = binaryLogic({ name: "bitwise_xor", check: intOnly, f: ([a, b]) => call("bitxor", a!, b!) });

type ShiftAttrs = { readonly direction: string };
/**
 * a shifted by b bits (ONNX BitShift). Right shifts of signed values are arithmetic; a count
 * ≥ the bit width shifts every bit out, a negative count shifts by 0.
 */
export const bitshift = defineOp<ShiftAttrs>({
  name: "bitshift",
  fusion: "broadcast",
  attrs: { direction: { kind: "string" } },
  infer: (inputs, { direction }, node) => {
    arity(inputs, 2, node, "bitshift");
    if (direction !== "left" && direction !== "right") {
      throw new ShapeError(`${at(node, "bitshift")}: direction must be "left" or "right", got "${direction}"`);
    }
    sameDtype(inputs, node, "bitshift");
    return [{ shape: broadcastTypes(inputs, node, "bitshift"), dtype: intOnly(inputs[0]!, node, "bitshift") }];
  },
  compute: ([a, b], { direction }, ctx) =>
    [compute(outShape(ctx), (...i) => call(direction === "left" ? "shl" : "shr", readBroadcast(a!, i), readBroadcast(b!, i)), ctx.name)],
  vjp: () => [null, null],
});

export const logicalOps = [
  logicalNot, logicalAnd, logicalOr, logicalXor, isnan, isinf, bitwiseNot, bitwiseAnd, bitwiseOr, bitwiseXor, bitshift,
];
