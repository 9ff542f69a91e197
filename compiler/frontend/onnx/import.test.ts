import { describe, expect, it } from "vitest";
import { Tensor } from "../../../runtime/tensor.ts";
import { interpret } from "../../graph/interpret.ts";
import { compileGraph } from "../../targets/cpu/graph.ts";
import { LatheError } from "../../../core/errors.ts";
import { importOnnx, OnnxError, StaticInputError, UnsupportedOpsError } from "./index.ts";
import { decodeTensor, encodeTensor } from "./proto.ts";
import { tensorFromProto } from "./tensor.ts";
import { modelBytes, tensorProto, valueInfo } from "./testing.ts";

const run = (bytes: Uint8Array, inputs: Tensor[], opts = {}) => {
  const m = importOnnx(bytes, opts);
  return { m, out: interpret(m.graph, inputs.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs };
};

describe("ONNX tensors", () => {
  it("decodes raw_data and typed fields for every supported dtype", () => {
    for (const dtype of ["f32", "f64", "i8", "u8", "i32", "i64", "bool", "f16"] as const) {
      const vals = dtype === "bool" ? [1, 0, 1, 1, 0, 0] : [1, -2, 3, 4, 5, 6].map((v) => (dtype === "u8" ? Math.abs(v) : v));
      const t = Tensor.fromArray(vals, [2, 3], dtype);
      const back = tensorFromProto(decodeTensor(encodeTensor(tensorProto("t", t))));
      expect(back.dtype).toBe(dtype);
      expect(back.shape).toEqual([2, 3]);
      expect(back.toArray()).toEqual(t.toArray());
    }
    // Typed fields instead of raw bytes: floats in float_data, int64 in int64_data.
    expect(tensorFromProto({ dims: [3], data_type: 1, float_data: [1.5, 2, -3] }).toArray()).toEqual([1.5, 2, -3]);
    expect(tensorFromProto({ dims: [2], data_type: 7, int64_data: [7, -9] }).toArray()).toEqual([7, -9]);
  });

  it("names the tensor when its data does not match its shape or type", () => {
    expect(() => tensorFromProto({ name: "w", dims: [2, 2], data_type: 1, float_data: [1, 2, 3] })).toThrow(/tensor w: has 3 values, expected 4/);
    expect(() => tensorFromProto({ name: "w", dims: [2], data_type: 1, raw_data: new Uint8Array(7) })).toThrow(/tensor w: raw_data has 7 bytes, expected 8/);
    expect(() => tensorFromProto({ name: "s", dims: [1], data_type: 8 })).toThrow(/tensor s: element type string is not supported/);
  });
});

describe("importOnnx", () => {
  const gemmLike = (opset = 13) => modelBytes({
    opset,
    inputs: [valueInfo("x", "f32", ["batch", 3])],
    outputs: [valueInfo("y", "f32", ["batch", 2])],
    initializers: { w: Tensor.fromArray([1, 2, 3, 4, 5, 6], [3, 2], "f32"), b: Tensor.fromArray([0.5, -1], [2], "f32") },
    nodes: [
      { op: "MatMul", inputs: ["x", "w"], outputs: ["xw"], name: "mm" },
      { op: "Add", inputs: ["xw", "b"], outputs: ["z"] },
      { op: "Relu", inputs: ["z"], outputs: ["y"] },
    ],
  });

  it("imports initializers and symbolic dims; one graph serves any batch", async () => {
    const m = importOnnx(gemmLike());
    expect(m.inputs).toEqual([{ name: "x", dtype: "f32", shape: ["batch", 3] }]);
    expect(m.outputs[0]!.shape).toEqual(["batch", 2]);
    const x = Tensor.fromArray([1, 0, -1, 2, 1, 0], [2, 3], "f32");
    // relu(x·w + b) by hand: row0 = [1-5, 2-6] + b → [0, 0]; row1 = [2+3, 4+4] + b = [5.5, 7].
    const expected = [0, 0, 5.5, 7];
    expect(Array.from(interpret(m.graph, [{ data: x.toArray(), shape: x.shape }]).outputs[0]!.data)).toEqual(expected);
    const c = await compileGraph(m.graph);
    expect(c.run([x])[0]!.toArray()).toEqual(expected);
    expect(c.run([Tensor.fromArray([1, 0, -1], [1, 3], "f32")])[0]!.toArray()).toEqual([0, 0]);
  });

  it("fixes symbolic dims when asked", () => {
    expect(importOnnx(gemmLike(), { dims: { batch: 4 } }).inputs[0]!.shape).toEqual([4, 3]);
  });

  it("turns shape arithmetic on static shapes into constants", () => {
    // y = Reshape(x, Concat(Shape(x)[0:1], [-1])) : the shape operand is computed in the graph.
    const bytes = modelBytes({
      inputs: [valueInfo("x", "f32", [2, 3, 4])],
      outputs: [valueInfo("y", "f32", [2, 12])],
      initializers: { minus1: Tensor.fromArray([-1], [1], "i64"), zero: Tensor.fromArray([0], [1], "i64"), one: Tensor.fromArray([1], [1], "i64") },
      nodes: [
        { op: "Shape", inputs: ["x"], outputs: ["s"] },
        { op: "Slice", inputs: ["s", "zero", "one"], outputs: ["s0"] },
        { op: "Concat", inputs: ["s0", "minus1"], outputs: ["spec"], attrs: { axis: 0 } },
        { op: "Reshape", inputs: ["x", "spec"], outputs: ["y"] },
      ],
    });
    const m = importOnnx(bytes);
    expect(m.graph.nodes.map((n) => n.op)).toEqual(["reshape"]);
    expect(m.graph.outputs[0]!.type.shape).toEqual([2, 12]);
  });

  it("asks for graph inputs that must be static, and accepts them bound", () => {
    const bytes = modelBytes({
      inputs: [valueInfo("x", "f32", [2, 3]), valueInfo("shape", "i64", [1])],
      outputs: [valueInfo("y", "f32", [6])],
      nodes: [{ op: "Reshape", inputs: ["x", "shape"], outputs: ["y"], name: "r" }],
    });
    let err: unknown;
    try { importOnnx(bytes); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(StaticInputError);
    expect((err as StaticInputError).inputs).toEqual(["shape"]);
    expect((err as Error).message).toMatch(/Reshape \(node r\): operand 'shape'/);
    const { m, out } = run(bytes, [Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])], { bind: { shape: Tensor.fromArray([6], [1], "i64") } });
    expect(m.bound).toEqual(["shape"]);
    expect(m.inputs.map((i) => i.name)).toEqual(["x"]);
    expect(out[0]!.shape).toEqual([6]);
  });

  it("lists every unsupported op with its node at once", () => {
    const bytes = modelBytes({
      inputs: [valueInfo("x", "f32", [4])],
      outputs: [valueInfo("y", "f32", [4])],
      nodes: [
        { op: "Frobnicate", inputs: ["x"], outputs: ["a"], name: "first" },
        { op: "Relu", inputs: ["a"], outputs: ["b"] },
        { op: "Wibble", inputs: ["b"], outputs: ["c"], name: "second" },
        { op: "Thing", inputs: ["c"], outputs: ["y"], name: "third", domain: "com.example" },
      ],
    });
    let err: unknown;
    try { importOnnx(bytes); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(UnsupportedOpsError);
    expect((err as UnsupportedOpsError).unsupported.map((u) => `${u.op}@${u.node}`)).toEqual(["Frobnicate@first", "Wibble@second", "com.example.Thing@third"]);
  });

  it("rejects cycles, undefined values, bad files and out-of-range opsets with messages naming them", () => {
    const cyc = modelBytes({
      inputs: [valueInfo("x", "f32", [2])], outputs: [valueInfo("y", "f32", [2])],
      nodes: [{ op: "Add", inputs: ["x", "b"], outputs: ["a"], name: "n1" }, { op: "Relu", inputs: ["a"], outputs: ["b"], name: "n2" }, { op: "Relu", inputs: ["a"], outputs: ["y"] }],
    });
    expect(() => importOnnx(cyc)).toThrow(/cycle through node\(s\) n1, n2/);
    const undef = modelBytes({ inputs: [valueInfo("x", "f32", [2])], outputs: [valueInfo("y", "f32", [2])], nodes: [{ op: "Add", inputs: ["x", "w"], outputs: ["y"], name: "add" }] });
    expect(() => importOnnx(undef)).toThrow(/Add \(node add\)' 'w'|'w' is not defined/);
    expect(() => importOnnx(new Uint8Array([0xff, 0xff, 0xff, 0x0f, 1, 2, 3]))).toThrow(OnnxError);
    expect(() => importOnnx(new Uint8Array())).toThrow(/empty file/);
    expect(() => importOnnx("/nonexistent/model.onnx")).toThrow(/nonexistent\/model.onnx/);
    expect(() => importOnnx(modelBytes({ opset: 99, inputs: [], outputs: [], nodes: [] }))).toThrow(/opset 99/);
  });

  it("reports shape errors inside a converted node with the node's name", () => {
    const bytes = modelBytes({
      inputs: [valueInfo("a", "f32", [2, 3]), valueInfo("b", "f32", [4, 5])],
      outputs: [valueInfo("y", "f32", [2, 5])],
      nodes: [{ op: "MatMul", inputs: ["a", "b"], outputs: ["y"], name: "mm" }],
    });
    let err: unknown;
    try { importOnnx(bytes); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LatheError);
    expect((err as Error).message).toMatch(/mm/);
  });
});
