/**
 * Imported NN graphs compiled to native code (cpu target) and run on the node tests' data:
 * the converters' compositions must survive fusion and lowering, not only interpretation.
 * One shared library for all cases keeps this to one g++ run.
 */
import { describe, expect, it } from "vitest";
import { compileGraphs } from "../../../targets/cpu/graph.ts";
import { haveNodeTests, loadNodeTest, mismatch } from "../../../../test/onnx/node-test-runner.ts";
import { NEEDS, skipReason } from "../../../../test/helpers/skip.ts";

const CASES = [
  "test_conv_with_strides_and_asymmetric_padding", "test_basic_conv_with_padding", "test_convtranspose_pads", "test_convtranspose_1d",
  "test_gemm_all_attributes", "test_matmul_3d", "test_maxpool_2d_ceil", "test_maxpool_2d_dilations", "test_maxpool_1d_default",
  "test_averagepool_2d_pads_count_include_pad", "test_averagepool_2d_same_lower", "test_globalaveragepool", "test_globalmaxpool",
  "test_resize_upsample_scales_linear", "test_resize_downsample_scales_cubic", "test_resize_upsample_sizes_nearest",
  "test_layer_normalization_3d_axis1_epsilon", "test_instancenorm_example", "test_batchnorm_example", "test_lrn",
  "test_softmax_axis_1", "test_hardmax_axis_1", "test_einsum_batch_matmul", "test_sce_mean_weight_ii", "test_nllloss_NCd1d2_with_weight",
  "test_mvn", "pytorch-converted/test_MaxPool2d_stride_padding_dilation", "pytorch-converted/test_Conv2d_depthwise_strided",
  "pytorch-operator/test_operator_conv",
  "test_lstm_with_peepholes", "test_lstm_batchwise", "test_gru_with_initial_bias", "test_rnn_seq_length",
];

describe.skipIf(!haveNodeTests)(skipReason("compiled NN node tests", !haveNodeTests && NEEDS.onnxTestdata), () => {
  it("match the stored outputs", { timeout: 300_000 }, async () => {
    const cases = CASES.map((name) => ({ name, ...loadNodeTest(name) }));
    const compiled = await compileGraphs(cases.map((c) => c.model.graph));
    const failures: string[] = [];
    cases.forEach((c, i) => {
      const outs = compiled[i]!.run(c.inputs);
      c.expected.forEach((want, k) => {
        const got = outs[k]!;
        if (got.shape.join() !== want.shape.join()) failures.push(`${c.name} output ${k}: shape [${got.shape}], expected [${want.shape}]`);
        else {
          const bad = mismatch(got.toArray(), want);
          if (bad) failures.push(`${c.name} output ${k}: ${bad}`);
        }
      });
    });
    expect(failures).toEqual([]);
  });
});
