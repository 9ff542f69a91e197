/** ONNX ops that read or write by index tensors: GatherElements, GatherND, Scatter*, Trilu. */
import type { Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";

const scatterElements: Converter = (ctx) => [ctx.op("scatter_elements", [ctx.input(0), ctx.input(1), ctx.input(2)], {
  axis: ctx.attrs.int("axis", 0),
  reduction: ctx.attrs.string("reduction", "none"),
})];

registerConverters({
  GatherElements: (ctx) => [ctx.op("gather_elements", [ctx.input(0), ctx.input(1)], { axis: ctx.attrs.int("axis", 0) })],
  GatherND: (ctx) => [ctx.op("gather_nd", [ctx.input(0), ctx.input(1)], { batch_dims: ctx.attrs.int("batch_dims", 0) })],
  ScatterElements: scatterElements,
  // Scatter (opset 9–10) is ScatterElements under its old name.
  Scatter: scatterElements,
  ScatterND: (ctx) => [ctx.op("scatter_nd", [ctx.input(0), ctx.input(1), ctx.input(2)], { reduction: ctx.attrs.string("reduction", "none") })],
  Trilu: (ctx) => [ctx.op("trilu", [ctx.input(0)], { upper: ctx.attrs.int("upper", 1), k: ctx.has(1) ? ctx.staticNumbers(1, "k")[0]! : 0 })],
} satisfies Record<string, Converter>);
