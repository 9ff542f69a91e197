/** Resize and Upsample against ONNX's node tests and hand-checked interpolations. */
import { describe, expect, it } from "vitest";
import { Tensor } from "../../../../runtime/tensor.ts";
import { interpret } from "../../../graph/interpret.ts";
import { importOnnx } from "../index.ts";
import { modelBytes, valueInfo } from "../testing.ts";
import { nodeSuite } from "../../../../test/onnx/node-test-suite.ts";

nodeSuite("Resize, Upsample node tests", ["test_resize_", "test_upsample_"], {});

/** A 1×1×1×n row resized along its last axis. */
function resizeRow(opset: number, op: string, row: readonly number[], outLen: number, attrs: Record<string, string | number | { floats: number[] } | { float: number }>, scales?: number[], roi?: number[]) {
  const x = Tensor.fromArray(row, [1, 1, 1, row.length], "f32");
  const inputs = opset >= 11 && op === "Resize" ? ["x", roi ? "roi" : "", "scales"] : op === "Upsample" && opset < 9 ? ["x"] : ["x", "scales"];
  const init = scales && inputs.includes("scales") ? { scales: Tensor.fromArray(scales, [4], "f32"), ...(roi ? { roi: Tensor.fromArray(roi, [8], "f32") } : {}) } : undefined;
  const m = importOnnx(modelBytes({
    opset,
    inputs: [valueInfo("x", "f32", x.shape)],
    outputs: [valueInfo("y", "f32", [1, 1, 1, outLen])],
    initializers: init,
    nodes: [{ op, inputs, outputs: ["y"], attrs }],
  }));
  return Array.from(interpret(m.graph, [{ data: x.toArray(), shape: x.shape }]).outputs[0]!.data);
}

const close = (got: readonly number[], want: readonly number[]) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(Math.abs(got[i]! - w)).toBeLessThan(1e-5));
};

describe("interpolation by hand", () => {
  it("linear half_pixel ×2: edges clamp, the inside is 1/4–3/4 blends", () => {
    // x_in = (o + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25, … for [0, 4, 8].
    const y = resizeRow(13, "Resize", [0, 4, 8], 6, { mode: "linear" }, [1, 1, 1, 2]);
    close(y, [0, 1, 3, 5, 7, 8]);
  });

  it("nearest modes on asymmetric ×0.5 … ×2", () => {
    const row = [10, 20, 30, 40];
    close(resizeRow(13, "Resize", row, 8, { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" }, [1, 1, 1, 2]), [10, 10, 20, 20, 30, 30, 40, 40]);
    // x_in = o/2 = 0, .5, 1, 1.5, …: ceil takes the next cell at every half, clamped at the end.
    close(resizeRow(13, "Resize", row, 8, { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "ceil" }, [1, 1, 1, 2]), [10, 20, 20, 30, 30, 40, 40, 40]);
    close(resizeRow(13, "Resize", row, 2, { mode: "nearest", coordinate_transformation_mode: "asymmetric" }, [1, 1, 1, 0.5]), [10, 30]);
  });

  it("cubic with A = −0.5 reproduces a linear ramp inside (Keys' kernel is exact for linear data there)", () => {
    const ramp = [0, 1, 2, 3, 4, 5, 6, 7];
    const y = resizeRow(13, "Resize", ramp, 16, { mode: "cubic", coordinate_transformation_mode: "align_corners", cubic_coeff_a: -0.5 }, [1, 1, 1, 2]);
    // align_corners: x_in = o · 7 / (16 − 1); the ramp's value is x_in wherever all 4 taps are inside.
    y.forEach((v, o) => {
      const xin = (o * 7) / 15;
      if (xin >= 1 && xin <= 6) expect(Math.abs(v - xin)).toBeLessThan(1e-5);
    });
  });

  it("Upsample (opset 7 attribute scales, opset 9 input) and Resize-10 use asymmetric floor", () => {
    close(resizeRow(7, "Upsample", [1, 2], 4, { mode: "nearest", scales: { floats: [1, 1, 1, 2] } }), [1, 1, 2, 2]);
    close(resizeRow(9, "Upsample", [1, 2, 3], 9, { mode: "nearest" }, [1, 1, 1, 3]), [1, 1, 1, 2, 2, 2, 3, 3, 3]);
    // linear asymmetric ×2: x_in = o/2 → 1, 1.5, 2, 2.5, 3, 3 (clamped).
    close(resizeRow(9, "Upsample", [1, 2, 3], 6, { mode: "linear" }, [1, 1, 1, 2]), [1, 1.5, 2, 2.5, 3, 3]);
    close(resizeRow(10, "Resize", [1, 2, 3], 6, { mode: "linear" }, [1, 1, 1, 2]), [1, 1.5, 2, 2.5, 3, 3]);
  });

  it("tf_crop_and_resize samples the region and extrapolates outside the input", () => {
    // roi [0.5, 1.5] of a length-4 axis, 4 samples: x_in = 1.5 + o → 1.5, 2.5 inside; 3.5, 4.5 outside.
    const y = resizeRow(13, "Resize", [0, 10, 20, 30], 4, { mode: "linear", coordinate_transformation_mode: "tf_crop_and_resize", extrapolation_value: { float: -7 } }, [1, 1, 1, 1], [0, 0, 0, 0.5, 1, 1, 1, 1.5]);
    close(y, [15, 25, -7, -7]);
  });

  it("an unknown coordinate_transformation_mode is an error naming the node", () => {
    expect(() => resizeRow(13, "Resize", [1, 2], 4, { coordinate_transformation_mode: "sideways" }, [1, 1, 1, 2])).toThrow(/Resize.*sideways/);
  });
});
