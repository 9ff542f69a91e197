/**
 * Shape ops that move elements without arithmetic: reshape, transpose, squeeze, unsqueeze,
 * expand. Symbolic dimensions survive where they can be tracked by name: `reshape` with 0
 * copies an input dimension, and a -1 resolves to a symbolic dimension when that symbol is
 * the only thing left over.
 */
import { ShapeError } from "../../../core/errors.ts";
import type { Dim } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { Expr, Var } from "../../te/expr.ts";
import { add, floordiv, floormod, int, mul } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute } from "../../te/tensor.ts";
import { defineOp } from "../op.ts";
import { readBroadcast, tryBroadcast } from "./broadcast.ts";
import { arity, at, dimsOf, normAxes, outShape, showShape } from "./common.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

/** A shape's element count as (product of the known dimensions, sorted symbolic names). */
function factor(shape: readonly Dim[]): { n: number; syms: string[] } {
  let n = 1;
  const syms: string[] = [];
  for (const d of shape) {
    if (typeof d === "number") n *= d;
    else syms.push(d);
  }
  return { n, syms: syms.sort() };
}

/** Whether two shapes hold the same number of elements for every value of their symbols. */
export function sameCount(a: readonly Dim[], b: readonly Dim[]): boolean {
  const fa = factor(a), fb = factor(b);
  if (fa.n === 0 && fb.n === 0) return true;
  return fa.n === fb.n && fa.syms.length === fb.syms.length && fa.syms.every((s, k) => s === fb.syms[k]);
}

/** The output shape of reshape(x, spec): 0 copies x's dimension, one -1 takes what is left. */
export function reshapeTarget(input: readonly Dim[], spec: readonly number[], node: string): Dim[] {
  const fail = (why: string): never => {
    throw new ShapeError(`${at(node, "reshape")}: cannot reshape ${showShape(input)} to ${showShape(spec)}: ${why}`);
  };
  if (spec.filter((s) => s === -1).length > 1) fail("more than one -1");
  const out: (Dim | null)[] = spec.map((s, k) => {
    if (s === 0) return k < input.length ? input[k]! : fail(`0 at position ${k} has no input dimension to copy`);
    if (s === -1) return null;
    if (s < 0) return fail(`negative size ${s}`);
    return s;
  });
  const known = out.filter((d): d is Dim => d !== null);
  const hole = out.indexOf(null);
  if (hole < 0) {
    if (!sameCount(input, known)) fail("the element counts differ");
    return known;
  }
  const fi = factor(input), fo = factor(known);
  const left = [...fi.syms];
  for (const s of fo.syms) {
    const k = left.indexOf(s);
    if (k < 0) fail(`symbolic dimension ${s} is not a factor of the input`);
    left.splice(k, 1);
  }
  if (fo.n === 0) fail("-1 is ambiguous next to a zero-sized dimension");
  if (fi.n % fo.n !== 0) fail(`${fi.n} elements do not divide into parts of ${fo.n}`);
  const q = fi.n / fo.n;
  if (left.length === 0) out[hole] = q;
  else if (left.length === 1 && q === 1) out[hole] = left[0]!;
  else fail(`-1 would be ${[...(q === 1 ? [] : [q]), ...left].join("·")}, which is not a single dimension`);
  return out as Dim[];
}

const sameExpr = (a: Expr, b: Expr): boolean => a === b || (a.kind === "const" && b.kind === "const" && a.value === b.value);

/**
 * `x` read in row-major order into `shape`. A leading run of dimensions the two shapes share
 * (a batch dimension, typically) is indexed directly, so no division by a symbolic size appears.
 */
export function reshapeCompute(x: TeTensor, shape: readonly Expr[], name: string): TeTensor {
  let p = 0;
  while (p < shape.length && p < x.shape.length && sameExpr(shape[p]!, x.shape[p]!)) p++;
  return compute(shape, (...o) => {
    let flat: Expr = int(0);
    for (let k = p; k < shape.length; k++) flat = k === p ? o[k]! : add(mul(flat, shape[k]!), o[k]!);
    const idx: Expr[] = [];
    for (let k = x.shape.length - 1; k >= p; k--) {
      idx.unshift(k === p ? flat : floormod(flat, x.shape[k]!));
      flat = floordiv(flat, x.shape[k]!);
    }
    return x.at(...o.slice(0, p), ...idx);
  }, name);
}

type ReshapeAttrs = { readonly shape: readonly number[] };
export const reshape = defineOp<ReshapeAttrs>({
  name: "reshape",
  fusion: "injective",
  attrs: { shape: { kind: "ints" } },
  infer: (inputs, { shape }, node) => {
    arity(inputs, 1, node, "reshape");
    return [{ shape: reshapeTarget(inputs[0]!.shape, shape, node), dtype: inputs[0]!.dtype }];
  },
  compute: ([x], _attrs, ctx) => [reshapeCompute(x!, outShape(ctx), ctx.name)],
  vjp: ({ node, b }, [g]) => {
    const x = node.inputs[0]!;
    return [g && differentiable(x) ? graphOps(b).op("reshape_like", [g, x]) : null];
  },
});

/** The permutation, checked; empty means reversed axes. */
function permOf(perm: readonly number[], rank: number, node: string): number[] {
  if (perm.length === 0) return Array.from({ length: rank }, (_, k) => rank - 1 - k);
  const p = perm.map((a) => (a < 0 ? a + rank : a));
  if (p.length !== rank || [...p].sort((a, b) => a - b).some((a, k) => a !== k)) {
    throw new ShapeError(`${at(node, "transpose")}: perm [${perm.join(", ")}] is not a permutation of ${rank} axes`);
  }
  return p;
}

type TransposeAttrs = { readonly perm: readonly number[] };
export const transpose = defineOp<TransposeAttrs>({
  name: "transpose",
  fusion: "injective",
  attrs: { perm: { kind: "ints", default: [] } },
  infer: (inputs, { perm }, node) => {
    arity(inputs, 1, node, "transpose");
    const x = inputs[0]!;
    return [{ shape: permOf(perm, x.shape.length, node).map((a) => x.shape[a]!), dtype: x.dtype }];
  },
  compute: ([x], { perm }, ctx) => {
    const p = permOf(perm, x!.shape.length, ctx.name);
    return [compute(outShape(ctx), (...o) => {
      const idx: Var[] = [];
      p.forEach((a, k) => { idx[a] = o[k]!; });
      return x!.at(...idx);
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    const x = node.inputs[0]!;
    if (!g || !differentiable(x)) return [null];
    const p = permOf((node.attrs as TransposeAttrs).perm, x.type.shape.length, node.name);
    const inverse: number[] = [];
    p.forEach((a, k) => { inverse[a] = k; });
    return [graphOps(b).op("transpose", [g], { perm: inverse })];
  },
});

type AxesAttrs = { readonly axes: readonly number[] };

/** The axes squeeze removes: the given ones (each must have size 1), or every literal 1. */
function squeezed(shape: readonly Dim[], axes: readonly number[], node: string): number[] {
  if (axes.length === 0) return shape.flatMap((d, k) => (d === 1 ? [k] : []));
  const a = normAxes(axes, shape.length, node, "squeeze", false);
  for (const k of a) {
    if (shape[k] !== 1) throw new ShapeError(`${at(node, "squeeze")}: axis ${k} of ${showShape(shape)} has size ${shape[k]}, not 1`);
  }
  return a;
}

export const squeeze = defineOp<AxesAttrs>({
  name: "squeeze",
  fusion: "injective",
  attrs: { axes: { kind: "ints", default: [] } },
  infer: (inputs, { axes }, node) => {
    arity(inputs, 1, node, "squeeze");
    const x = inputs[0]!, drop = squeezed(x.shape, axes, node);
    return [{ shape: x.shape.filter((_, k) => !drop.includes(k)), dtype: x.dtype }];
  },
  compute: ([x], { axes }, ctx) => {
    const drop = squeezed(dimsOf(x!), axes, ctx.name);
    return [compute(outShape(ctx), (...o) => {
      let j = 0;
      return x!.at(...x!.shape.map((_, k) => (drop.includes(k) ? int(0) : o[j++]!)));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    const x = node.inputs[0]!;
    return [g && differentiable(x) ? graphOps(b).op("reshape_like", [g, x]) : null];
  },
});

/** Output positions of the new size-1 axes (normalised against the output's rank). */
const inserted = (rank: number, axes: readonly number[], node: string): number[] =>
  normAxes(axes, rank + axes.length, node, "unsqueeze", false);

export const unsqueeze = defineOp<AxesAttrs>({
  name: "unsqueeze",
  fusion: "injective",
  attrs: { axes: { kind: "ints" } },
  infer: (inputs, { axes }, node) => {
    arity(inputs, 1, node, "unsqueeze");
    const x = inputs[0]!, add1 = inserted(x.shape.length, axes, node);
    const rest = [...x.shape];
    return [{ shape: Array.from({ length: x.shape.length + axes.length }, (_, k) => (add1.includes(k) ? 1 : rest.shift()!)), dtype: x.dtype }];
  },
  compute: ([x], { axes }, ctx) => {
    const add1 = inserted(x!.shape.length, axes, ctx.name);
    return [compute(outShape(ctx), (...o) => x!.at(...o.filter((_, k) => !add1.includes(k))), ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    const x = node.inputs[0]!;
    return [g && differentiable(x) ? graphOps(b).op("reshape_like", [g, x]) : null];
  },
});

type ExpandAttrs = { readonly shape: readonly number[] };
/** Broadcasts x against `shape` (both ways, as ONNX Expand: a 1 in `shape` keeps x's dimension, symbolic ones included). */
export const expand = defineOp<ExpandAttrs>({
  name: "expand",
  fusion: "injective",
  attrs: { shape: { kind: "ints" } },
  infer: (inputs, { shape }, node) => {
    arity(inputs, 1, node, "expand");
    const x = inputs[0]!;
    const out = tryBroadcast([x.shape, shape]);
    if (!out) throw new ShapeError(`${at(node, "expand")}: cannot broadcast ${showType(x)} to ${showShape(shape)}`);
    return [{ shape: out, dtype: x.dtype }];
  },
  compute: ([x], _attrs, ctx) => [compute(outShape(ctx), (...o) => readBroadcast(x!, o), ctx.name)],
  vjp: ({ node, b }, [g]) => {
    const x = node.inputs[0]!;
    return [g && differentiable(x) ? graphOps(b).sumTo(g, x) : null];
  },
});

export const shapeOps = [reshape, transpose, squeeze, unsqueeze, expand];
