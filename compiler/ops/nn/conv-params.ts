/**
 * What the convolution family shares: attribute schemas and their validation, the channel
 * and group checks, and the op names per spatial rank (1 → conv1d…, 2 → conv2d…), so one
 * implementation serves conv1d and conv2d and their transposed and weight-gradient ops.
 *
 * Layouts: data N·C·spatial; conv weights F·(C/groups)·kernel (OIHW); transposed-conv
 * weights C_in·(C_out/groups)·kernel (PyTorch's), which is exactly a conv weight read the
 * other way round, so conv2d's input gradient is conv_transpose2d with the same weight.
 * `pads` are all befores then all afters ((top, left, bottom, right) in 2-D).
 */
import type { Attrs } from "../../graph/graph.ts";
import type { Dim, TensorType } from "../../graph/types.ts";
import type { AttrSpec } from "../op.ts";
import { attrError, checkInts, expectArity, expectFloat, expectRank, expectSameDtype, intsAttr, numAttr, shapeError } from "./common.ts";

export interface ConvParams {
  /** Spatial rank. */
  readonly d: number;
  readonly strides: readonly number[];
  readonly before: readonly number[];
  readonly after: readonly number[];
  readonly dilations: readonly number[];
  readonly groups: number;
  /** Transposed convolution only (else zeros). */
  readonly outputPadding: readonly number[];
}

export const convOpName = (d: number): string => `conv${d}d`;
export const convTransposeOpName = (d: number): string => `conv_transpose${d}d`;
export const convGradWeightOpName = (d: number): string => `conv${d}d_grad_weight`;

const ones = (d: number) => Array.from({ length: d }, () => 1);
const zeros = (d: number) => Array.from({ length: d }, () => 0);

export function convAttrSchema(d: number, extra: "none" | "transpose" | "grad_weight"): Record<string, AttrSpec> {
  return {
    strides: { kind: "ints", default: ones(d) },
    pads: { kind: "ints", default: zeros(2 * d) },
    dilations: { kind: "ints", default: ones(d) },
    groups: { kind: "int", default: 1 },
    ...(extra === "transpose" ? { output_padding: { kind: "ints", default: zeros(d) } } : {}),
    ...(extra === "grad_weight" ? { kernel: { kind: "ints" } } : {}),
  } as Record<string, AttrSpec>;
}

export function convParams(d: number, a: Attrs, node: string, op: string): ConvParams {
  const strides = intsAttr(a, "strides"), pads = intsAttr(a, "pads"), dilations = intsAttr(a, "dilations");
  const groups = numAttr(a, "groups");
  const outputPadding = "output_padding" in a ? intsAttr(a, "output_padding") : zeros(d);
  checkInts(node, op, "strides", strides, d, 1);
  checkInts(node, op, "pads", pads, 2 * d, 0);
  checkInts(node, op, "dilations", dilations, d, 1);
  checkInts(node, op, "output_padding", outputPadding, d, 0);
  if (groups < 1) throw attrError(node, op, `groups must be ≥ 1, got ${groups}`);
  // With output_padding ≥ stride the transposed conv's output is not the input size of a conv
  // with these parameters, so its adjoint would not be conv2d; PyTorch allows < max(stride, dilation).
  outputPadding.forEach((p, k) => {
    if (p >= strides[k]!) throw attrError(node, op, `output_padding [${outputPadding.join(", ")}] must be smaller than strides [${strides.join(", ")}]`);
  });
  return { d, strides, before: pads.slice(0, d), after: pads.slice(d), dilations, groups, outputPadding };
}

/** Common input checks: two float inputs of one dtype, rank 2 + d each. */
export function checkConvInputs(p: ConvParams, inputs: readonly TensorType[], node: string, op: string, names: readonly [string, string]): void {
  expectArity(node, op, inputs, 2);
  expectRank(node, op, inputs, 0, 2 + p.d, names[0]);
  expectRank(node, op, inputs, 1, 2 + p.d, names[1]);
  expectFloat(node, op, inputs, [0, 1]);
  expectSameDtype(node, op, inputs, [0, 1]);
}

/** A kernel's spatial sizes, which must be static. */
export function staticKernel(dims: readonly Dim[], inputs: readonly TensorType[], node: string, op: string): number[] {
  return dims.map((k) => {
    if (typeof k !== "number") throw shapeError(node, op, `kernel sizes must be static, got ${k}`, inputs);
    return k;
  });
}

/** A channel count divided by groups; with groups > 1 the count must be static and divisible. */
export function perGroup(c: Dim, groups: number, what: string, inputs: readonly TensorType[], node: string, op: string): Dim {
  if (groups === 1) return c;
  if (typeof c !== "number") throw shapeError(node, op, `${what} (${c}) must be static with groups ${groups}`, inputs);
  if (c % groups !== 0) throw shapeError(node, op, `${what} (${c}) is not divisible by groups ${groups}`, inputs);
  return c / groups;
}

/** A channel count times groups (static when groups > 1). */
export function timesGroups(c: Dim, groups: number, what: string, inputs: readonly TensorType[], node: string, op: string): Dim {
  if (groups === 1) return c;
  if (typeof c !== "number") throw shapeError(node, op, `${what} (${c}) must be static with groups ${groups}`, inputs);
  return c * groups;
}

/** The dilated extent of a kernel of size k. */
export const span = (p: ConvParams, k: number, axis: number): number => p.dilations[axis]! * (k - 1) + 1;

/**
 * The output size of a transposed convolution along one axis:
 * (n − 1)·stride − pads + dilation·(k − 1) + output_padding + 1. A symbolic size passes
 * through only when that is n (stride 1, pads = dilation·(k − 1)).
 */
export function transposeOut(p: ConvParams, n: Dim, k: number, axis: number, inputs: readonly TensorType[], node: string, op: string): Dim {
  const s = p.strides[axis]!, pads = p.before[axis]! + p.after[axis]!, ext = span(p, k, axis) - 1 + p.outputPadding[axis]!;
  if (typeof n === "string") {
    if (s === 1 && ext === pads) return n;
    throw shapeError(node, op, `symbolic spatial dimension ${n} only passes through a transposed convolution that preserves it (stride 1, pads = dilation·(kernel − 1))`, inputs);
  }
  const out = (n - 1) * s - pads + ext + 1;
  if (out < 1) throw shapeError(node, op, `output size along spatial axis ${axis} would be ${out}`, inputs);
  return out;
}

/**
 * The output_padding that makes a transposed convolution of a conv's output reproduce the
 * conv's input size n (the rows the conv's stride skipped at the end).
 */
export function outputPaddingFor(p: ConvParams, inSpatial: readonly Dim[], outSpatial: readonly Dim[], kernel: readonly number[]): number[] {
  return inSpatial.map((n, k) => {
    const o = outSpatial[k]!;
    if (typeof n !== "number" || typeof o !== "number") return 0; // a preserved symbolic size: stride 1
    return n + p.before[k]! + p.after[k]! - span(p, kernel[k]!, k) - (o - 1) * p.strides[k]!;
  });
}

/** The attributes to pass on to another op of the family. */
export function convAttrs(p: ConvParams, extra: Record<string, number[]> = {}): Attrs {
  return { strides: [...p.strides], pads: [...p.before, ...p.after], dilations: [...p.dilations], groups: p.groups, ...extra };
}
