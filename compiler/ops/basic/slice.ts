/**
 * Ops that cut tensors apart or put them together along axes: concat, split, slice (ONNX
 * semantics: negative indices count from the end, out-of-range ones clamp, steps may be
 * negative), its gradient `slice_grad` (scatter into zeros), and constant pad.
 */
import { ShapeError } from "../../../core/errors.ts";
import type { Dim, TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { Expr } from "../../te/expr.ts";
import { add, and, eq, float, floordiv, floormod, ge, int, lt, mul, select, sub } from "../../te/expr.ts";
import { compute } from "../../te/tensor.ts";
import { defineOp } from "../op.ts";
import { arity, at, dimsOf, normAxes, normAxis, outShape, sameDtype, sameShape, showShape } from "./common.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

// ---- concat / split --------------------------------------------------------------------------

type AxisAttrs = { readonly axis: number };

export const concat = defineOp<AxisAttrs>({
  name: "concat",
  fusion: "injective",
  attrs: { axis: { kind: "int" } },
  infer: (inputs, { axis }, node) => {
    if (inputs.length === 0) throw new ShapeError(`${at(node, "concat")}: needs at least one input`);
    const dtype = sameDtype(inputs, node, "concat");
    const first = inputs[0]!, rank = first.shape.length;
    const a = normAxis(axis, rank, node, "concat");
    const bad = (): never => {
      throw new ShapeError(`${at(node, "concat")}: cannot concatenate ${inputs.map(showType).join(", ")} along axis ${a}`);
    };
    for (const t of inputs) {
      if (t.shape.length !== rank || t.shape.some((d, k) => k !== a && d !== first.shape[k])) bad();
    }
    if (inputs.length === 1) return [{ shape: [...first.shape], dtype }];
    const sizes = inputs.map((t) => t.shape[a]!);
    // A sum of symbolic sizes is not a dimension we can name.
    if (sizes.some((d) => typeof d !== "number")) bad();
    return [{ shape: first.shape.map((d, k) => (k === a ? (sizes as number[]).reduce((p, q) => p + q, 0) : d)), dtype }];
  },
  compute: (xs, { axis }, ctx) => {
    const a = normAxis(axis, xs[0]!.shape.length, ctx.name, "concat");
    return [compute(outShape(ctx), (...o) => {
      const offsets: Expr[] = [int(0)];
      xs.forEach((x, k) => offsets.push(k === 0 ? x.shape[a]! : add(offsets[k]!, x.shape[a]!)));
      const read = (k: number): Expr => xs[k]!.at(...o.map((v, d) => (d === a ? sub(v, offsets[k]!) : v)));
      // Innermost choice last: select only evaluates the branch it takes, so reads stay in bounds.
      let e = read(xs.length - 1);
      for (let k = xs.length - 2; k >= 0; k--) e = select(lt(o[a]!, offsets[k + 1]!), read(k), e);
      return e;
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    const xs = node.inputs;
    if (!g || !differentiable(xs[0]!)) return xs.map(() => null);
    if (xs.length === 1) return [g];
    const a = normAxis((node.attrs as AxisAttrs).axis, xs[0]!.type.shape.length, node.name, "concat");
    const sizes = xs.map((x) => x.type.shape[a] as number); // infer made them all known
    return b.op("split", [g], { axis: a, sizes });
  },
});

type SplitAttrs = { readonly axis: number; readonly sizes: readonly number[] };

export const split = defineOp<SplitAttrs>({
  name: "split",
  fusion: "injective",
  attrs: { axis: { kind: "int", default: 0 }, sizes: { kind: "ints" } },
  infer: (inputs, { axis, sizes }, node) => {
    arity(inputs, 1, node, "split");
    const x = inputs[0]!, a = normAxis(axis, x.shape.length, node, "split");
    const total = sizes.reduce((p, q) => p + q, 0);
    if (sizes.length === 0 || sizes.some((s) => s < 0) || x.shape[a] !== total) {
      throw new ShapeError(`${at(node, "split")}: sizes [${sizes.join(", ")}] do not split axis ${a} of ${showType(x)}`);
    }
    return sizes.map((s) => ({ shape: x.shape.map((d, k) => (k === a ? s : d)), dtype: x.dtype }));
  },
  compute: ([x], { axis, sizes }, ctx) => {
    const a = normAxis(axis, x!.shape.length, ctx.name, "split");
    let off = 0;
    return sizes.map((s, k) => {
      const start = off;
      off += s;
      return compute(outShape(ctx, k), (...o) => x!.at(...o.map((v, d) => (d === a ? add(v, start) : v))), `${ctx.name}_${k}`);
    });
  },
  vjp: ({ node, b }, gs) => {
    const x = node.inputs[0]!;
    if (!differentiable(x) || gs.every((g) => g === null)) return [null];
    const o = graphOps(b);
    const parts = gs.map((g, k) => g ?? o.op("zeros_like", [node.outputs[k]!]));
    return [o.op("concat", parts, { axis: (node.attrs as SplitAttrs).axis })];
  },
});

// ---- slice ---------------------------------------------------------------------------------

type SliceAttrs = { readonly starts: readonly number[]; readonly ends: readonly number[]; readonly axes: readonly number[]; readonly steps: readonly number[] };

/** One sliced axis: out[i] = x[start + i·step] for i < len. */
interface SlicedAxis { readonly axis: number; readonly start: number; readonly step: number; readonly len: number }

/** An `ends` value at or above this means "to the end" (ONNX exporters write INT_MAX / INT64_MAX). */
const TO_END = 2 ** 31 - 1;

/** Normalises slice attributes against a shape (ONNX clamping rules); returns the sliced axes and the result shape. */
function sliceAxes(dims: readonly Dim[], attrs: SliceAttrs, node: string, op: string): { axes: SlicedAxis[]; shape: Dim[] } {
  const { starts, ends } = attrs;
  const n = starts.length;
  const axesIn = attrs.axes.length === 0 ? Array.from({ length: n }, (_, k) => k) : attrs.axes;
  const steps = attrs.steps.length === 0 ? starts.map(() => 1) : attrs.steps;
  if (ends.length !== n || axesIn.length !== n || steps.length !== n) {
    throw new ShapeError(`${at(node, op)}: starts, ends, axes and steps need equal lengths, got ${n}, ${ends.length}, ${axesIn.length}, ${steps.length}`);
  }
  const norm = axesIn.map((a) => normAxis(a, dims.length, node, op));
  normAxes(norm, dims.length, node, op, false); // rejects repeats
  const shape = [...dims];
  const axes: SlicedAxis[] = [];
  norm.forEach((axis, k) => {
    const d = dims[axis]!, step = steps[k]!;
    let s = starts[k]!, e = ends[k]!;
    if (step === 0) throw new ShapeError(`${at(node, op)}: step 0 on axis ${axis}`);
    if (typeof d !== "number") {
      // A symbolic axis can only be kept whole: any cut would need arithmetic on the symbol.
      if (s === 0 && e >= TO_END && step === 1) return;
      throw new ShapeError(`${at(node, op)}: cannot slice symbolic dimension ${d} (axis ${axis} of ${showShape(dims)}) other than whole`);
    }
    if (s < 0) s += d;
    if (e < 0) e += d;
    let len: number;
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      len = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      len = Math.max(0, Math.ceil((s - e) / -step));
    }
    shape[axis] = len;
    axes.push({ axis, start: s, step, len });
  });
  return { axes, shape };
}

const sliceAttrSpecs = {
  starts: { kind: "ints" }, ends: { kind: "ints" },
  axes: { kind: "ints", default: [] }, steps: { kind: "ints", default: [] },
} as const;

export const slice = defineOp<SliceAttrs>({
  name: "slice",
  fusion: "injective",
  attrs: sliceAttrSpecs,
  infer: (inputs, attrs, node) => {
    arity(inputs, 1, node, "slice");
    return [{ shape: sliceAxes(inputs[0]!.shape, attrs, node, "slice").shape, dtype: inputs[0]!.dtype }];
  },
  compute: ([x], attrs, ctx) => {
    const { axes } = sliceAxes(dimsOf(x!), attrs, ctx.name, "slice");
    return [compute(outShape(ctx), (...o) => x!.at(...o.map((v, d) => {
      const s = axes.find((a) => a.axis === d);
      return s ? add(s.start, mul(v, s.step)) : v;
    })), ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    const x = node.inputs[0]!;
    return [g && differentiable(x) ? graphOps(b).op("slice_grad", [g, x], node.attrs) : null];
  },
});

/** slice's adjoint: g placed where slice(like) read from, zeros elsewhere; shaped like `like`. */
export const sliceGrad = defineOp<SliceAttrs>({
  name: "slice_grad",
  fusion: "injective",
  attrs: sliceAttrSpecs,
  infer: (inputs, attrs, node) => {
    arity(inputs, 2, node, "slice_grad");
    const [g, like] = inputs as readonly [TensorType, TensorType];
    const { shape } = sliceAxes(like.shape, attrs, node, "slice_grad");
    if (!sameShape(shape, g.shape)) {
      throw new ShapeError(`${at(node, "slice_grad")}: gradient ${showType(g)} does not match the slice ${showShape(shape)} of ${showType(like)}`);
    }
    return [{ shape: [...like.shape], dtype: g.dtype }];
  },
  compute: ([g, like], attrs, ctx) => {
    const { axes } = sliceAxes(dimsOf(like!), attrs, ctx.name, "slice_grad");
    return [compute(outShape(ctx), (...o) => {
      let inside: Expr | null = null;
      const idx: Expr[] = [...o];
      for (const { axis, start, step, len } of axes) {
        const q = sub(o[axis]!, start), j = step === 1 ? q : floordiv(q, step);
        let c = and(ge(j, 0), lt(j, len));
        if (step !== 1) c = and(eq(floormod(q, step), 0), c);
        inside = inside ? and(inside, c) : c;
        idx[axis] = j;
      }
      return inside ? select(inside, g!.at(...idx), float(0, g!.dtype)) : g!.at(...idx);
    }, ctx.name)];
  },
  vjp: ({ node, b }, [gg]) => [gg ? graphOps(b).op("slice", [gg], node.attrs) : null, null],
});

// ---- pad ------------------------------------------------------------------------------------

type PadAttrs = { readonly pads: readonly number[]; readonly value: number };

/** Per-axis (before, after), checked. */
function padsOf(dims: readonly Dim[], pads: readonly number[], node: string): [number, number][] {
  const r = dims.length;
  if (pads.length !== 2 * r) throw new ShapeError(`${at(node, "pad")}: pads needs ${2 * r} entries (all befores, then all afters) for ${showShape(dims)}, got ${pads.length}`);
  if (pads.some((p) => p < 0)) throw new ShapeError(`${at(node, "pad")}: negative pads [${pads.join(", ")}] are not supported (use slice)`);
  return dims.map((d, k) => {
    const pr: [number, number] = [pads[k]!, pads[k + r]!];
    if (typeof d !== "number" && (pr[0] !== 0 || pr[1] !== 0)) {
      throw new ShapeError(`${at(node, "pad")}: cannot pad symbolic dimension ${d} (axis ${k} of ${showShape(dims)})`);
    }
    return pr;
  });
}

export const pad = defineOp<PadAttrs>({
  name: "pad",
  fusion: "injective",
  attrs: { pads: { kind: "ints" }, value: { kind: "float", default: 0 } },
  infer: (inputs, { pads }, node) => {
    arity(inputs, 1, node, "pad");
    const x = inputs[0]!, p = padsOf(x.shape, pads, node);
    return [{ shape: x.shape.map((d, k) => (typeof d === "number" ? d + p[k]![0] + p[k]![1] : d)), dtype: x.dtype }];
  },
  compute: ([x], { pads, value }, ctx) => {
    const p = padsOf(dimsOf(x!), pads, ctx.name);
    return [compute(outShape(ctx), (...o) => {
      let inside: Expr | null = null;
      const idx: Expr[] = [...o];
      p.forEach(([before, after], k) => {
        if (before === 0 && after === 0) return;
        const q = sub(o[k]!, before), c = and(ge(q, 0), lt(q, x!.shape[k]!));
        inside = inside ? and(inside, c) : c;
        idx[k] = q;
      });
      const read = x!.at(...idx);
      return inside ? select(inside, read, float(value, x!.dtype)) : read;
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    const x = node.inputs[0]!;
    if (!g || !differentiable(x)) return [null];
    const p = padsOf(x.type.shape, (node.attrs as PadAttrs).pads, node.name);
    const axes = p.flatMap(([bf, af], k) => (bf !== 0 || af !== 0 ? [k] : []));
    if (axes.length === 0) return [g];
    const starts = axes.map((k) => p[k]![0]);
    const ends = axes.map((k) => p[k]![0] + (x.type.shape[k] as number));
    return [graphOps(b).op("slice", [g], { starts, ends, axes })];
  },
});

export const sliceOps = [concat, split, slice, sliceGrad, pad];
