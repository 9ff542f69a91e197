/**
 * The nn compute rules through the cpu target (default schedules): each kernel must match
 * the reference evaluator, so the rules lower, stay in bounds and mean the same compiled.
 */
import { describe, test } from "vitest";
import type { Attrs } from "../../graph/graph.ts";
import type { TensorType } from "../../graph/types.ts";
import { createSchedule } from "../../schedule/schedule.ts";
import type { Tensor } from "../../te/tensor.ts";
import { placeholder } from "../../te/tensor.ts";
import { checkKernel, cname, randomInputs } from "../../../test/helpers/check.ts";
import { getOp, normalizeAttrs } from "../registry.ts";

/** An op's compute rule on f32 placeholders of static shapes; returns (inputs, outputs). */
function opTensors(op: string, shapes: readonly number[][], attrs: Attrs): { ins: Tensor[]; outs: Tensor[] } {
  const def = getOp(op);
  const full = normalizeAttrs(def, attrs, op);
  const types: TensorType[] = shapes.map((shape) => ({ shape, dtype: "f32" }));
  const outputs = def.infer(types, full, op);
  const ins = shapes.map((s, k) => placeholder(s, "f32", `in${k}`));
  const outs = [...def.compute(ins, full, { name: op, outputs, sizes: new Map() })];
  return { ins, outs };
}

describe("nn ops compiled for the cpu target", () => {
  const cases: [string, number[][], Attrs][] = [
    ["conv2d", [[1, 4, 9, 8], [6, 2, 3, 3]], { groups: 2, strides: [2, 2], dilations: [2, 1], pads: [1, 2, 2, 0] }],
    ["conv_transpose2d", [[1, 4, 4, 3], [4, 2, 3, 2]], { groups: 2, strides: [2, 3], pads: [1, 0, 2, 1], output_padding: [1, 2] }],
    ["max_pool2d_grad", [[2, 3, 3, 4], [2, 3, 5, 7]], { kernel: [3, 2], strides: [2, 2], pads: [1, 1, 1, 0] }],
    ["avg_pool2d", [[2, 3, 5, 7]], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    ["batch_norm_train", [[4, 3, 2, 2], [3], [3]], {}],
    ["log_softmax", [[3, 5, 4]], { axis: 1 }],
    ["lstm_cell", [[2, 3], [2, 4], [2, 4], [16, 3], [16, 4], [16]], {}],
  ];
  for (const [op, shapes, attrs] of cases) {
    test(op, async () => {
      const { ins, outs } = opTensors(op, shapes, attrs);
      await checkKernel(createSchedule(outs), [...ins, ...outs], randomInputs(ins, 5), { name: cname(`nn_${op}`) });
    });
  }
});
