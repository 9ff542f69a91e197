/**
 * ONNX's element and N-d indexing: gather_elements{axis}, gather_nd{batch_dims},
 * scatter_elements{axis, reduction} and scatter_nd{reduction, batch_dims}. A scatter is not a
 * mutation: each output element is a reduction over the index positions that name it (with
 * reduction "none" the last such position wins, as onnxruntime does), so scatters are
 * ordinary TE reductions. Negative indices count from the end; index reads are clamped
 * into range so no schedule can read outside a buffer.
 */
import { LatheError, ShapeError } from "../../../core/errors.ts";
import type { Value } from "../../graph/graph.ts";
import type { Dim, TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { Expr, Var } from "../../te/expr.ts";
import { add, and, bool, eq, floordiv, floormod, ge, int, lt, max, min, mul, select, sub } from "../../te/expr.ts";
import type { IterVar, Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, prod, reduceAxis, rmax, rmin, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { arity, at, integral, normAxis, outShape, productExpr, showShape } from "./common.ts";
import { wrapIndex } from "./gather.ts";
import type { GraphOps } from "./vjp-util.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

const REDUCTIONS = ["none", "add", "mul", "max", "min"] as const;
type Reduction = (typeof REDUCTIONS)[number];

function checkReduction(r: string, data: TensorType, node: string, op: string): Reduction {
  if (!(REDUCTIONS as readonly string[]).includes(r)) {
    throw new ShapeError(`${at(node, op)}: reduction must be one of ${REDUCTIONS.join(", ")}, got "${r}"`);
  }
  if (r !== "none" && data.dtype === "bool") throw new ShapeError(`${at(node, op)}: reduction "${r}" on bool data ${showType(data)} (cast it first)`);
  return r as Reduction;
}

/** Same TE dimension: equal constants, or the same size variable. */
const sameDimExpr = (a: Expr, b: Expr): boolean =>
  a === b || (a.kind === "const" && b.kind === "const" && a.value === b.value);

/** Throws unless `small`'s dimension k (k ∉ skip) is at most `big`'s where both are numbers, and symbolic ones are equal. */
function checkFits(small: TensorType, big: TensorType, skip: (k: number) => boolean, node: string, op: string, what: string): void {
  small.shape.forEach((d: Dim, k) => {
    if (skip(k)) return;
    const e = big.shape[k]!;
    const ok = typeof d === "number" && typeof e === "number" ? d <= e : d === e;
    if (!ok) throw new ShapeError(`${at(node, op)}: ${what} ${showType(small)} does not fit in ${showType(big)} (dimension ${k})`);
  });
}

/** Combines scattered values (`red` over the hits) with the data element. */
function combine(reduction: Exclude<Reduction, "none">, data: Expr, red: Expr): Expr {
  switch (reduction) {
    case "add": return add(data, red);
    case "mul": return mul(data, red);
    case "max": return max(data, red);
    case "min": return min(data, red);
  }
}

const REDUCER = { add: sum, mul: prod, max: rmax, min: rmin } as const;

/**
 * The scatter compute shared by scatter_elements and scatter_nd: for output index o, the
 * reduce axes `rs` range over candidate positions; `hit(o, rs)` says whether a position
 * writes o and `update(o, rs)` is its value. "none" takes the position with the largest
 * `linear(rs)`.
 */
function scatterCompute(
  data: TeTensor, reduction: Reduction, shape: readonly Expr[], name: string,
  extents: readonly Expr[],
  hit: (o: readonly Var[], p: readonly Expr[]) => Expr,
  update: (o: readonly Var[], p: readonly Expr[]) => Expr,
): TeTensor {
  const axes = (): IterVar[] => extents.map((d, k) => reduceAxis(d, `p${k}`));
  if (reduction === "none") {
    // The last position writing o, as a row-major linear number over `extents` (−1: none).
    const strides = extents.map((_, k) => productExpr(extents.slice(k + 1)));
    const last = compute(shape, (...o) => {
      const rs = axes();
      const p = rs.map((r) => r.var);
      const lin = p.reduce<Expr>((acc, v, k) => add(acc, mul(v, strides[k]!)), int(0));
      return rs.length === 0 ? select(hit(o, p), int(0), int(-1)) : rmax(rs, lin, { where: hit(o, p), init: -1 });
    }, `${name}.last`);
    return compute(shape, (...o) => {
      const l = last.at(...o);
      const safe = max(l, 0);
      const p = extents.map((d, k) => floormod(floordiv(safe, strides[k]!), d));
      return select(ge(l, 0), update(o, p), data.at(...o));
    }, name);
  }
  const red = compute(shape, (...o) => {
    const rs = axes();
    const p = rs.map((r) => r.var);
    const r = REDUCER[reduction];
    if (rs.length > 0) return r(rs, update(o, p), { where: hit(o, p) });
    // No positions to reduce over (a single index): the update or the reduction's identity.
    const identity = reduction === "add" ? 0 : reduction === "mul" ? 1 : null;
    return identity === null ? select(hit(o, p), update(o, p), data.at(...o)) : select(hit(o, p), update(o, p), identity);
  }, `${name}.${reduction}`);
  return compute(shape, (...o) => combine(reduction, data.at(...o), red.at(...o)), name);
}

type AxisAttrs = { readonly axis: number };

/** out[o] = data[o with o[axis] replaced by indices[o]]; shaped like indices. */
export const gatherElements = defineOp<AxisAttrs>({
  name: "gather_elements",
  fusion: "injective",
  attrs: { axis: { kind: "int", default: 0 } },
  infer: (inputs, { axis }, node) => {
    arity(inputs, 2, node, "gather_elements");
    const [data, indices] = inputs as readonly [TensorType, TensorType];
    integral(indices, node, "gather_elements", "indices");
    if (indices.shape.length !== data.shape.length) {
      throw new ShapeError(`${at(node, "gather_elements")}: indices ${showType(indices)} must have the rank of data ${showType(data)}`);
    }
    const a = normAxis(axis, data.shape.length, node, "gather_elements");
    checkFits(indices, data, (k) => k === a, node, "gather_elements", "indices");
    return [{ shape: [...indices.shape], dtype: data.dtype }];
  },
  compute: ([data, indices], { axis }, ctx) => {
    const a = normAxis(axis, data!.shape.length, ctx.name, "gather_elements");
    return [compute(outShape(ctx), (...o) => {
      const j = wrapIndex(indices!.at(...o), data!.shape[a]!);
      return data!.at(...o.slice(0, a), j, ...o.slice(a + 1));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    const [data, indices] = node.inputs as [Value, Value];
    if (!g || !differentiable(data)) return [null, null];
    const o = graphOps(b);
    return [o.op("scatter_elements", [o.op("zeros_like", [data]), indices, g], { axis: node.attrs["axis"]!, reduction: "add" }), null];
  },
});

type ScatterElementsAttrs = { readonly axis: number; readonly reduction: string };

/**
 * A copy of data where, for each position p of indices, element p with p[axis] replaced by
 * indices[p] is set to (or combined by `reduction` with) updates[p].
 */
export const scatterElements = defineOp<ScatterElementsAttrs>({
  name: "scatter_elements",
  fusion: "reduce",
  attrs: { axis: { kind: "int", default: 0 }, reduction: { kind: "string", default: "none" } },
  infer: (inputs, { axis, reduction }, node) => {
    arity(inputs, 3, node, "scatter_elements");
    const [data, indices, updates] = inputs as readonly [TensorType, TensorType, TensorType];
    checkReduction(reduction, data, node, "scatter_elements");
    integral(indices, node, "scatter_elements", "indices");
    if (indices.shape.length !== data.shape.length || showShape(indices.shape) !== showShape(updates.shape)) {
      throw new ShapeError(`${at(node, "scatter_elements")}: indices ${showType(indices)} and updates ${showType(updates)} must have one shape, of the rank of data ${showType(data)}`);
    }
    if (updates.dtype !== data.dtype) throw new ShapeError(`${at(node, "scatter_elements")}: updates ${showType(updates)} and data ${showType(data)} differ in dtype`);
    const a = normAxis(axis, data.shape.length, node, "scatter_elements");
    checkFits(indices, data, (k) => k === a, node, "scatter_elements", "indices");
    return [{ shape: [...data.shape], dtype: data.dtype }];
  },
  compute: ([data, indices, updates], { axis, reduction }, ctx) => {
    const a = normAxis(axis, data!.shape.length, ctx.name, "scatter_elements");
    const ish = indices!.shape;
    // Index positions along every axis but `axis` follow the output's, clamped into indices' shape.
    const narrower = ish.map((d, k) => k !== a && !sameDimExpr(d, data!.shape[k]!));
    const pos = (o: readonly Var[], r: Expr): Expr[] => ish.map((d, k) => (k === a ? r : narrower[k] ? min(o[k]!, sub(d, 1)) : o[k]!));
    const inside = (o: readonly Var[]): Expr =>
      ish.reduce<Expr>((acc, d, k) => (narrower[k] ? and(acc, lt(o[k]!, d)) : acc), bool(true));
    return [scatterCompute(data!, reduction as Reduction, outShape(ctx), ctx.name, [ish[a]!],
      (o, [r]) => and(inside(o), eq(wrapIndex(indices!.at(...pos(o, r!)), data!.shape[a]!), o[a]!)),
      (o, [r]) => updates!.at(...pos(o, r!)))];
  },
  vjp: ({ node, b }, [g]) => {
    const [data, indices, updates] = node.inputs as [Value, Value, Value];
    if (!g || !differentiable(data)) return [null, null, null];
    const { axis, reduction } = node.attrs as ScatterElementsAttrs;
    const o = graphOps(b);
    const scatter = (d: Value, u: Value, r: string): Value => o.op("scatter_elements", [d, indices, u], { axis, reduction: r });
    const gather = (v: Value): Value => o.op("gather_elements", [v, indices], { axis });
    return [...scatterGrads(o, reduction, node.outputs[0]!, data, updates, g, scatter, gather, "scatter_elements", node.name)];
  },
});

/**
 * Gradients of a scatter: "none" zeroes the overwritten positions of g for data and gathers
 * g for updates; "add" passes g to data and gathers it for updates; "mul" multiplies by the
 * scattered product (data) and by out/update (updates: a zero update gets NaN). max/min
 * have none here.
 */
function scatterGrads(
  o: GraphOps, reduction: string, out: Value, data: Value, updates: Value, g: Value,
  scatter: (d: Value, u: Value, r: string) => Value, gather: (v: Value) => Value, op: string, node: string,
): [Value, null, Value] {
  switch (reduction) {
    case "none": return [scatter(g, o.op("zeros_like", [updates]), "none"), null, gather(g)];
    case "add": return [g, null, gather(g)];
    case "mul": return [o.mul(g, scatter(o.op("ones_like", [data]), updates, "mul")), null, o.div(gather(o.mul(g, out)), updates)];
    default: throw new LatheError(`${at(node, op)}: reduction "${reduction}" has no gradient (only none, add and mul have one)`);
  }
}

type GatherNdAttrs = { readonly batch_dims: number };

/** The static k of indices [..., k] and the checks ONNX's GatherND/ScatterND share. */
function ndIndexDepth(data: TensorType, indices: TensorType, batch: number, node: string, op: string): number {
  integral(indices, node, op, "indices");
  const q = indices.shape.length, r = data.shape.length;
  if (q < 1) throw new ShapeError(`${at(node, op)}: indices ${showType(indices)} must have rank ≥ 1`);
  if (batch < 0 || batch >= Math.min(q, r)) throw new ShapeError(`${at(node, op)}: batch_dims ${batch} must be in [0, ${Math.min(q, r)})`);
  const k = indices.shape[q - 1]!;
  if (typeof k !== "number") throw new ShapeError(`${at(node, op)}: the last dimension of indices ${showType(indices)} must be a number`);
  if (k < 1 || batch + k > r) throw new ShapeError(`${at(node, op)}: index depth ${k} with batch_dims ${batch} exceeds the rank of data ${showType(data)}`);
  for (let d = 0; d < batch; d++) {
    if (indices.shape[d] !== data.shape[d]) throw new ShapeError(`${at(node, op)}: batch dimension ${d} differs: indices ${showType(indices)}, data ${showType(data)}`);
  }
  return k;
}

/** indices [B..., q..., k] pick slices data[B..., i₀…i_{k−1}, :] → shape [B..., q..., data.shape[B+k:]...]. */
export const gatherNd = defineOp<GatherNdAttrs>({
  name: "gather_nd",
  fusion: "injective",
  attrs: { batch_dims: { kind: "int", default: 0 } },
  infer: (inputs, { batch_dims: batch }, node) => {
    arity(inputs, 2, node, "gather_nd");
    const [data, indices] = inputs as readonly [TensorType, TensorType];
    const k = ndIndexDepth(data, indices, batch, node, "gather_nd");
    return [{ shape: [...indices.shape.slice(0, -1), ...data.shape.slice(batch + k)], dtype: data.dtype }];
  },
  compute: ([data, indices], { batch_dims: batch }, ctx) => {
    const q = indices!.shape.length;
    const k = (indices!.shape[q - 1]! as { value: number }).value;
    return [compute(outShape(ctx), (...o) => {
      const pre = o.slice(0, q - 1);
      const picked = Array.from({ length: k }, (_, j) => wrapIndex(indices!.at(...pre, int(j)), data!.shape[batch + j]!));
      return data!.at(...o.slice(0, batch), ...picked, ...o.slice(q - 1));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    const [data, indices] = node.inputs as [Value, Value];
    if (!g || !differentiable(data)) return [null, null];
    const o = graphOps(b);
    return [o.op("scatter_nd", [o.op("zeros_like", [data]), indices, g], { reduction: "add", batch_dims: node.attrs["batch_dims"]! }), null];
  },
});

type ScatterNdAttrs = { readonly reduction: string; readonly batch_dims: number };

/**
 * A copy of data where slice data[B..., indices[B..., p, :], :] is set to (or combined with)
 * updates[B..., p, :]. batch_dims (an extension; ONNX's ScatterND has none) makes it
 * gather_nd's adjoint for every batch_dims.
 */
export const scatterNd = defineOp<ScatterNdAttrs>({
  name: "scatter_nd",
  fusion: "reduce",
  attrs: { reduction: { kind: "string", default: "none" }, batch_dims: { kind: "int", default: 0 } },
  infer: (inputs, { reduction, batch_dims: batch }, node) => {
    arity(inputs, 3, node, "scatter_nd");
    const [data, indices, updates] = inputs as readonly [TensorType, TensorType, TensorType];
    checkReduction(reduction, data, node, "scatter_nd");
    const k = ndIndexDepth(data, indices, batch, node, "scatter_nd");
    const want = [...indices.shape.slice(0, -1), ...data.shape.slice(batch + k)];
    if (showShape(want) !== showShape(updates.shape)) {
      throw new ShapeError(`${at(node, "scatter_nd")}: updates ${showType(updates)} must have shape ${showShape(want)} for indices ${showType(indices)} into ${showType(data)}`);
    }
    if (updates.dtype !== data.dtype) throw new ShapeError(`${at(node, "scatter_nd")}: updates ${showType(updates)} and data ${showType(data)} differ in dtype`);
    return [{ shape: [...data.shape], dtype: data.dtype }];
  },
  compute: ([data, indices, updates], { reduction, batch_dims: batch }, ctx) => {
    const q = indices!.shape.length;
    const k = (indices!.shape[q - 1]! as { value: number }).value;
    const positions = indices!.shape.slice(batch, q - 1);
    return [scatterCompute(data!, reduction as Reduction, outShape(ctx), ctx.name, positions,
      (o, p) => {
        const ip = [...o.slice(0, batch), ...p];
        let hit: Expr = bool(true);
        for (let j = 0; j < k; j++) hit = and(hit, eq(wrapIndex(indices!.at(...ip, int(j)), data!.shape[batch + j]!), o[batch + j]!));
        return hit;
      },
      (o, p) => updates!.at(...o.slice(0, batch), ...p, ...o.slice(batch + k)))];
  },
  vjp: ({ node, b }, [g]) => {
    const [data, indices, updates] = node.inputs as [Value, Value, Value];
    if (!g || !differentiable(data)) return [null, null, null];
    const { reduction, batch_dims } = node.attrs as ScatterNdAttrs;
    const o = graphOps(b);
    const scatter = (d: Value, u: Value, r: string): Value => o.op("scatter_nd", [d, indices, u], { reduction: r, batch_dims });
    const gather = (v: Value): Value => o.op("gather_nd", [v, indices], { batch_dims });
    return [...scatterGrads(o, reduction, node.outputs[0]!, data, updates, g, scatter, gather, "scatter_nd", node.name)];
  },
});

export const scatterOps: readonly OpDef[] = [gatherElements, scatterElements, gatherNd, scatterNd].map((op) => op as OpDef);
