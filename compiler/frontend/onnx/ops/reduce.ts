/** ONNX reductions (Reduce*, ArgMax/ArgMin) and scans (CumSum) on Lathe's reduce ops. */
import type { Value } from "../../../graph/graph.ts";
import type { ConvertContext, Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";

/**
 * Reduction axes: an attribute before opset 13 (ReduceSum) / 18 (the others), then an
 * optional input. Empty axes reduce everything unless noop_with_empty_axes says otherwise.
 */
function axesOf(ctx: ConvertContext, inputSince: number): number[] | null {
  const axes = ctx.opset < inputSince ? ctx.attrs.ints("axes", []) : ctx.has(1) ? ctx.staticNumbers(1, "axes") : [];
  if (axes.length === 0 && ctx.attrs.int("noop_with_empty_axes", 0) === 1) return null;
  return axes;
}

/** ONNX name → (pre-map, Lathe reduction, post-map). */
const REDUCTIONS: Readonly<Record<string, { pre?: (ctx: ConvertContext, x: Value) => Value; op: string; post?: (ctx: ConvertContext, y: Value) => Value; axesInput?: number }>> = {
  ReduceSum: { op: "sum", axesInput: 13 },
  ReduceMean: { op: "mean" },
  ReduceMax: { op: "max" },
  ReduceMin: { op: "min" },
  ReduceProd: { op: "prod" },
  ReduceLogSumExp: { op: "logsumexp" },
  ReduceL1: { pre: (ctx, x) => ctx.op("abs", [x]), op: "sum" },
  ReduceL2: { pre: (ctx, x) => ctx.op("mul", [x, x]), op: "sum", post: (ctx, y) => ctx.op("sqrt", [y]) },
  ReduceSumSquare: { pre: (ctx, x) => ctx.op("mul", [x, x]), op: "sum" },
  ReduceLogSum: { op: "sum", post: (ctx, y) => ctx.op("log", [y]) },
};

const table: Record<string, Converter> = {};
for (const [name, r] of Object.entries(REDUCTIONS)) {
  table[name] = (ctx) => {
    const x = ctx.input(0);
    const axes = axesOf(ctx, r.axesInput ?? 18);
    if (axes === null) return [x];
    const keepdims = ctx.attrs.int("keepdims", 1) === 1;
    const pre = r.pre ? r.pre(ctx, x) : x;
    const y = ctx.op(r.op, [pre], { axes, keepdims });
    return [r.post ? r.post(ctx, y) : y];
  };
}

/** Lathe's argmax/argmin give i32 indices; ONNX's are i64. */
const argReduce = (op: string): Converter => (ctx) => [ctx.op("cast", [ctx.op(op, [ctx.input(0)], {
  axis: ctx.attrs.int("axis", 0),
  keepdims: ctx.attrs.int("keepdims", 1) === 1,
  select_last_index: ctx.attrs.int("select_last_index", 0),
})], { dtype: "i64" })];
table.ArgMax = argReduce("argmax");
table.ArgMin = argReduce("argmin");

table.CumSum = (ctx) => [ctx.op("cumsum", [ctx.input(0)], {
  axis: ctx.staticNumbers(1, "axis")[0]!,
  exclusive: ctx.attrs.int("exclusive", 0),
  reverse: ctx.attrs.int("reverse", 0),
})];

registerConverters(table);
