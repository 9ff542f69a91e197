/** NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against ONNX's node tests and closed forms. */
import { describe, expect, it } from "vitest";
import { Tensor } from "../../../../runtime/tensor.ts";
import { interpret } from "../../../graph/interpret.ts";
import { importOnnx } from "../index.ts";
import { modelBytes, valueInfo } from "../testing.ts";
import { nodeSuite } from "../../../../test/onnx/node-test-suite.ts";

// The *_expanded variants are the same losses written with other ops (GatherElements, …): not this family's.
nodeSuite("loss node tests", ["test_nllloss_", "test_sce_"], {}, /_expanded$/);

describe("losses by hand", () => {
  // logp [N=2, C=3, d=2], targets [[0, 2], [1, -1]] with ignore_index −1, weights [1, 2, 3].
  const logp = Tensor.fromArray([-1, -2, -0.5, -0.25, -3, -4, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6], [2, 3, 2], "f32");
  const target = Tensor.fromArray([0, 2, 1, -1], [2, 2], "i64");
  const weight = Tensor.fromArray([1, 2, 3], [3], "f32");
  const run = (op: string, reduction: string, outShape: number[]) => {
    const m = importOnnx(modelBytes({
      opset: 13,
      inputs: [valueInfo("x", "f32", logp.shape), valueInfo("t", "i64", target.shape)],
      outputs: [valueInfo("y", "f32", outShape)],
      initializers: { w: weight },
      nodes: [{ op, inputs: ["x", "t", "w"], outputs: ["y"], attrs: { reduction, ignore_index: -1 } }],
    }));
    return Array.from(interpret(m.graph, [logp, target].map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs[0]!.data);
  };
  // Picked: (n0,d0) class 0 → −1·w1 → 1; (n0,d1) class 2 → logp[0,2,1] = −4, w 3 → 12; (n1,d0) class 1 → −0.3, w 2 → 0.6; (n1,d1) ignored.
  it("NLL none / sum / mean (mean divides by the weights of the counted elements)", () => {
    expect(run("NegativeLogLikelihoodLoss", "none", [2, 2]).map((v) => +v.toFixed(5))).toEqual([1, 12, 0.6, 0]);
    expect(run("NegativeLogLikelihoodLoss", "sum", [])[0]).toBeCloseTo(13.6, 5);
    expect(run("NegativeLogLikelihoodLoss", "mean", [])[0]).toBeCloseTo(13.6 / (1 + 3 + 2), 5);
  });

  it("SoftmaxCrossEntropyLoss is NLL of log_softmax over the class axis", () => {
    const x = logp.toArray();
    const lsm = (n: number, c: number, d: number) => {
      const col = [0, 1, 2].map((k) => x[n * 6 + k * 2 + d]!);
      const m = Math.max(...col);
      return col[c]! - m - Math.log(col.reduce((a, v) => a + Math.exp(v - m), 0));
    };
    const want = -(1 * lsm(0, 0, 0) + 3 * lsm(0, 2, 1) + 2 * lsm(1, 1, 0));
    expect(run("SoftmaxCrossEntropyLoss", "sum", [])[0]).toBeCloseTo(want, 5);
  });
});
