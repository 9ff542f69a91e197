// Found by the ONNX import fuzzer at 10× (FUZZ_ONNX_CASES=10000, cases 5119, 5198, 6035,
// 6985, 9287, 9665: an attribute mangled to type TENSOR with no tensor in it): the importer
// read the missing tensor's fields and crashed with a TypeError instead of a one-line error.
import { expect, test } from "vitest";
import { importOnnx } from "../../compiler/frontend/onnx/index.ts";
import { encodeModel } from "../../compiler/frontend/onnx/proto.ts";
import { modelProto, valueInfo } from "../../compiler/frontend/onnx/testing.ts";
import { LatheError } from "../../core/errors.ts";

test("a TENSOR attribute without its tensor is a one-line LatheError naming the node and attribute", () => {
  const m = modelProto({
    inputs: [valueInfo("x", "f32", [2, 3])], outputs: [valueInfo("y", "f32", [2, 3])],
    nodes: [{ op: "LeakyRelu", inputs: ["x"], outputs: ["y"], attrs: { alpha: 0.1 } }],
  });
  const attr = m.graph!.node![0]!.attribute![0]!;
  (attr as { type?: number }).type = 4; // TENSOR, with no `t`
  delete (attr as { f?: number }).f;
  let err: unknown;
  try { importOnnx(encodeModel(m), {}, "bad.onnx"); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(LatheError);
  expect((err as Error).message).toMatch(/attribute alpha is of type TENSOR but holds no tensor/);
  expect((err as Error).message.split("\n")).toHaveLength(1);
});
