/**
 * Bad ONNX input gets a LatheError whose message names the node, input, field or file —
 * never a crash. Models are built here with protobufjs from the frontend's onnx.proto, so
 * each test shows exactly what is wrong with its model.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { describe, expect, test } from "vitest";
import { LatheError, ShapeError } from "../../core/errors.ts";
import { OnnxError, StaticInputError, UnsupportedOpsError, importOnnx, readTensorFile } from "../../compiler/frontend/onnx/index.ts";
import { compileGraph } from "../../compiler/targets/cpu/graph.ts";
import { Tensor } from "../../runtime/tensor.ts";

const ModelProto = protobuf.parse(readFileSync(new URL("../../compiler/frontend/onnx/onnx.proto", import.meta.url), "utf8"), { keepCase: true })
  .root.lookupType("onnx.ModelProto");

const F32 = 1, I64 = 7, STRING = 8;
type Dim = number | string;
const vi = (name: string, elem: number, dims: readonly Dim[]) => ({
  name, type: { tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) } } },
});
const node = (op: string, input: string[], output: string[], name: string, attribute: object[] = []) => ({ op_type: op, input, output, name, attribute });
interface GraphSpec { node?: object[]; input?: object[]; output?: object[]; initializer?: object[] }
const model = (graph: GraphSpec, opset = 13): Uint8Array =>
  ModelProto.encode(ModelProto.fromObject({ ir_version: 8, opset_import: [{ domain: "", version: opset }], graph: { name: "g", ...graph } })).finish();

const reluModel = () => model({ node: [node("Relu", ["x"], ["y"], "relu0")], input: [vi("x", F32, [2, 3])], output: [vi("y", F32, [2, 3])] });

/** The LatheError `f` throws (fails the test when it throws nothing or something else). */
function latheError(f: () => unknown): LatheError {
  try {
    f();
  } catch (e) {
    if (e instanceof LatheError) return e;
    throw new Error(`expected a LatheError, got ${String(e)}`);
  }
  throw new Error("expected a LatheError, nothing was thrown");
}

const tmp = mkdtempSync(join(tmpdir(), "lathe-onnx-bad-"));

describe("run-time inputs of a compiled ONNX model", () => {
  test("wrong shape, dtype and count name the input", async () => {
    const compiled = await compileGraph(importOnnx(reluModel()).graph);
    expect(compiled.run([Tensor.fromArray([-1, 2, -3, 4, -5, 6], [2, 3])])[0]!.toArray()).toEqual([0, 2, 0, 4, 0, 6]);
    const shape = latheError(() => compiled.run([Tensor.zeros([3, 3])]));
    expect(shape).toBeInstanceOf(ShapeError);
    expect(shape.message).toMatch(/input x: dimension 0 must be 2, got 3/);
    expect(latheError(() => compiled.run([Tensor.zeros([2, 3, 1])])).message).toMatch(/input x: expected 2 dimensions/);
    expect(latheError(() => compiled.run([Tensor.zeros([2, 3], "i32")])).message).toMatch(/input x: expected dtype f32\[2, 3\], got i32\[2, 3\]/);
    expect(latheError(() => compiled.run([])).message).toMatch(/graph takes 1 inputs \(x\), got 0/);
  });
});

describe("malformed graphs", () => {
  test("a node input that nothing defines (missing initializer) names the node and the value", () => {
    const bytes = model({ node: [node("Add", ["x", "w"], ["y"], "add_w")], input: [vi("x", F32, [3])], output: [vi("y", F32, [3])] });
    const e = latheError(() => importOnnx(bytes));
    expect(e).toBeInstanceOf(OnnxError);
    expect(e.message).toMatch(/Add \(node add_w\)/);
    expect(e.message).toMatch(/'w' is not defined by any input, initializer or node/);
  });

  test("a cycle names the nodes on it", () => {
    const bytes = model({
      node: [node("Relu", ["b_out"], ["a_out"], "node_a"), node("Relu", ["a_out"], ["b_out"], "node_b")],
      input: [vi("x", F32, [3])], output: [vi("a_out", F32, [3])],
    });
    expect(latheError(() => importOnnx(bytes)).message).toMatch(/cycle through node\(s\) node_a, node_b/);
  });

  test("unknown ops are all listed with their nodes", () => {
    const bytes = model({
      node: [node("FancyOp", ["x"], ["t"], "fancy1"), node("Relu", ["t"], ["u"], "relu1"), node("OtherOp", ["u"], ["y"], "other1")],
      input: [vi("x", F32, [3])], output: [vi("y", F32, [3])],
    });
    const e = latheError(() => importOnnx(bytes));
    expect(e).toBeInstanceOf(UnsupportedOpsError);
    expect((e as UnsupportedOpsError).unsupported.map((u) => `${u.op}@${u.node}`)).toEqual(["FancyOp@fancy1", "OtherOp@other1"]);
    expect(e.message).toMatch(/FancyOp \(node fancy1\)/);
  });

  test("a missing operand and a wrongly typed attribute name the node", () => {
    const oneInput = model({ node: [node("Add", ["x"], ["y"], "half_add")], input: [vi("x", F32, [3])], output: [vi("y", F32, [3])] });
    expect(latheError(() => importOnnx(oneInput)).message).toMatch(/Add \(node half_add\).*input 1 is required/);
    const intAlpha = model({
      node: [node("LeakyRelu", ["x"], ["y"], "leaky", [{ name: "alpha", type: 2, i: 3 }])],
      input: [vi("x", F32, [3])], output: [vi("y", F32, [3])],
    });
    expect(latheError(() => importOnnx(intAlpha)).message).toMatch(/LeakyRelu \(node leaky\).*attribute 'alpha' should be float, got int/);
  });

  test("graph outputs: none, or one nothing defines", () => {
    const none = model({ node: [node("Relu", ["x"], ["y"], "r")], input: [vi("x", F32, [3])], output: [] });
    expect(latheError(() => importOnnx(none)).message).toMatch(/the graph has no outputs/);
    const dangling = model({ node: [node("Relu", ["x"], ["y"], "r")], input: [vi("x", F32, [3])], output: [vi("nope", F32, [3])] });
    expect(latheError(() => importOnnx(dangling)).message).toMatch(/graph output 'nope' is not defined/);
  });

  test("an initializer whose data does not fit its dims names the initializer", () => {
    const bytes = model({
      node: [node("Add", ["x", "w"], ["y"], "add_w")], input: [vi("x", F32, [2, 3])], output: [vi("y", F32, [2, 3])],
      initializer: [{ name: "w", data_type: F32, dims: [2, 3], raw_data: new Uint8Array(3) }],
    });
    expect(latheError(() => importOnnx(bytes)).message).toMatch(/initializer w: raw_data has 3 bytes, expected 24/);
    const fields = model({
      node: [node("Add", ["x", "w"], ["y"], "add_w")], input: [vi("x", F32, [2])], output: [vi("y", F32, [2])],
      initializer: [{ name: "w", data_type: F32, dims: [2], float_data: [1, 2, 3] }],
    });
    expect(latheError(() => importOnnx(fields)).message).toMatch(/initializer w: has 3 values, expected 2/);
  });

  test("unsupported element and value types name the graph input", () => {
    const str = model({ node: [node("Identity", ["s"], ["y"], "id")], input: [vi("s", STRING, [2])], output: [vi("y", STRING, [2])] });
    expect(latheError(() => importOnnx(str)).message).toMatch(/graph input s: element type string is not supported/);
    const seq = model({
      node: [node("Identity", ["s"], ["y"], "id")],
      input: [{ name: "s", type: { sequence_type: { elem_type: { tensor_type: { elem_type: F32 } } } } }], output: [vi("y", F32, [2])],
    });
    expect(latheError(() => importOnnx(seq)).message).toMatch(/graph input s is not a tensor/);
  });

  test("opsets outside the supported range, and binding an input the graph lacks", () => {
    const future = model({ node: [node("Relu", ["x"], ["y"], "r")], input: [vi("x", F32, [3])], output: [vi("y", F32, [3])] }, 99);
    expect(latheError(() => importOnnx(future)).message).toMatch(/opset 99 of the default domain is outside the supported range/);
    expect(latheError(() => importOnnx(reluModel(), { bind: { nope: Tensor.zeros([1]) } })).message).toMatch(/cannot bind 'nope'/);
  });

  test("an operand that must be static names the node, the operand and the inputs to bind", () => {
    const bytes = model({
      node: [node("Reshape", ["x", "shape"], ["y"], "reshape0")],
      input: [vi("x", F32, [2, 3]), vi("shape", I64, [2])], output: [vi("y", F32, [3, 2])],
    });
    const e = latheError(() => importOnnx(bytes));
    expect(e).toBeInstanceOf(StaticInputError);
    expect((e as StaticInputError).inputs).toEqual(["shape"]);
    expect(e.message).toMatch(/Reshape \(node reshape0\): operand '.+' must be known at compile time/);
    const bound = importOnnx(bytes, { bind: { shape: Tensor.fromArray([3, 2], [2], "i64") } });
    expect(bound.bound).toEqual(["shape"]);
    expect(bound.inputs.map((i) => i.name)).toEqual(["x"]);
    expect(bound.outputs[0]!.shape).toEqual([3, 2]);
  });
});

describe("broken files", () => {
  test("truncated bytes", () => {
    const bytes = reluModel();
    // Cut inside the graph message: protobuf decoding itself fails.
    const e = latheError(() => importOnnx(bytes.slice(0, bytes.length - 7)));
    expect(e).toBeInstanceOf(OnnxError);
    expect(e.message).toMatch(/^model: not a valid ONNX ModelProto/);
  });

  test("garbage, empty and missing files name the file", () => {
    const garbage = join(tmp, "garbage.onnx");
    writeFileSync(garbage, new Uint8Array(Array.from({ length: 64 }, (_, i) => (i * 97 + 13) & 255)));
    const e = latheError(() => importOnnx(garbage));
    expect(e).toBeInstanceOf(OnnxError);
    expect(e.message).toContain(garbage);
    const empty = join(tmp, "empty.onnx");
    writeFileSync(empty, new Uint8Array());
    expect(latheError(() => importOnnx(empty)).message).toBe(`${empty}: empty file`);
    const missing = join(tmp, "missing.onnx");
    expect(latheError(() => importOnnx(missing)).message).toContain(missing);
  });

  test("a garbage test-data tensor file names the file", () => {
    const f = join(tmp, "input_0.pb");
    writeFileSync(f, new Uint8Array([0x08, 0x05, 0x10, 0xff, 0xff, 0xff]));
    const e = latheError(() => readTensorFile(f));
    expect(e.message).toContain(f);
  });
});
