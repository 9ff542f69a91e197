/**
 * ONNX Scan and Loop imported as scan nodes: hand-built models run by onnxruntime-node (the
 * reference), the interpreter and the compiled cpu graph; ONNX's own node tests; and the
 * variants that are refused, each with one error naming the node.
 */
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Tensor } from "../../../../runtime/tensor.ts";
import type { DType } from "../../../../core/dtype.ts";
import { interpret } from "../../../graph/interpret.ts";
import { isScan, someNode } from "../../../graph/scan.ts";
import { dataToNumbers } from "../../../graph/passes/constant-data.ts";
import { compileGraphs, type CompiledGraph } from "../../../targets/cpu/graph.ts";
import { StaticInputError, UnsupportedOpsError } from "../errors.ts";
import { importOnnx, type ImportedModel } from "../import.ts";
import type { GraphProto, ModelProto } from "../proto.ts";
import { encodeModel } from "../proto.ts";
import type { ModelSpec, NodeSpec } from "../testing.ts";
import { modelProto, valueInfo } from "../testing.ts";
import { nodeSuite } from "../../../../test/onnx/node-test-suite.ts";

nodeSuite("Scan and Loop node tests", ["test_scan", "test_loop11", "test_range_float_type_positive_delta_expanded", "test_range_int32_type_negative_delta_expanded"], {
  // Its body slices x[i:i+1] with the iteration number i: a per-step Slice start, which Lathe's static slice cannot take.
  test_loop11: /Slice: operand 'starts' changes from step to step of the enclosing loop/,
});

/** A body graph (inputs, outputs, nodes, initializers as in a model spec). */
const graph = (spec: ModelSpec): GraphProto => ({ ...modelProto(spec).graph!, name: "body" });

/** A model whose node `op` carries graph attribute `body` (testing.ts builds the other attributes). */
function withBody(spec: ModelSpec, nodeName: string, body: GraphProto): ModelProto {
  const m = modelProto(spec);
  const n = m.graph!.node!.find((x) => x.name === nodeName)!;
  n.attribute = [...(n.attribute ?? []), { name: "body", type: 5, g: body }];
  return m;
}

const f32 = (values: readonly number[], shape: readonly number[]) => Tensor.fromArray(values, shape, "f32");
const i64 = (values: readonly number[], shape: readonly number[]) => Tensor.fromArray(values, shape, "i64");
const bool = (v: boolean) => Tensor.fromArray([v ? 1 : 0], [], "bool");
const seq = (n: number, scale: number, shift = 0) => Array.from({ length: n }, (_, k) => Math.sin(scale * (k + 1) + shift));
const f = (name: string, shape: readonly (number | string)[], dtype: DType = "f32") => valueInfo(name, dtype, shape);

/** Scan over xs[4,3] with state [3]; the body reads w, which a node placed after the Scan computes. */
const forwardScan = (): ModelProto => withBody({
  inputs: [f("s0", [3]), f("xs", [4, 3]), f("w_in", [3])],
  outputs: [f("sT", [3]), f("ys", [4, 3])],
  initializers: { two: f32([2], []) },
  nodes: [
    { op: "Scan", name: "scan", inputs: ["s0", "xs"], outputs: ["sT", "ys"], attrs: { num_scan_inputs: 1 } },
    { op: "Mul", name: "scale_w", inputs: ["w_in", "two"], outputs: ["w"] },
  ],
}, "scan", graph({
  inputs: [f("s", [3]), f("x", [3])],
  outputs: [f("s_out", [3]), f("y", [3])],
  nodes: [
    { op: "Mul", inputs: ["x", "w"], outputs: ["t"] },
    { op: "Add", inputs: ["s", "t"], outputs: ["s_out"] },
    { op: "Tanh", inputs: ["s_out"], outputs: ["y"] },
  ],
}));

/**
 * Scan over xa (axis 0) and xb (along its last axis) in the directions given (default: both
 * reversed); the first output is stacked in reverse, the second forward along axis 1. The
 * body captures c.
 */
const reverseScan = (directions: readonly number[] = [1, 1]): ModelProto => withBody({
  opset: 11,
  inputs: [f("s0", [2]), f("xa", [3, 2]), f("xb", [2, 3]), f("c", [2])],
  outputs: [f("sT", [2]), f("Y1", [3, 2]), f("Y2", [2, 3])],
  nodes: [{
    op: "Scan", name: "rscan", inputs: ["s0", "xa", "xb"], outputs: ["sT", "Y1", "Y2"],
    attrs: { num_scan_inputs: 2, scan_input_directions: directions, scan_input_axes: [0, -1], scan_output_directions: [1, 0], scan_output_axes: [0, 1] },
  }],
}, "rscan", graph({
  inputs: [f("s", [2]), f("a", [2]), f("b", [2])],
  outputs: [f("s_out", [2]), f("y1", [2]), f("y2", [2])],
  nodes: [
    { op: "Mul", inputs: ["s", "c"], outputs: ["sc"] },
    { op: "Sub", inputs: ["a", "b"], outputs: ["d"] },
    { op: "Add", inputs: ["sc", "d"], outputs: ["s_out"] },
    { op: "Mul", inputs: ["s_out", "a"], outputs: ["y1"] },
    { op: "Add", inputs: ["s_out", "b"], outputs: ["y2"] },
  ],
}));

/** The body of a Loop over x[2]: x += v·i (v captured), y = x², cond passed through (or `cond` nodes). */
const loopBody = (cond: NodeSpec[] = [{ op: "Identity", inputs: ["cond_in"], outputs: ["cond_out"] }], initializers: Record<string, Tensor> = {}): GraphProto => graph({
  inputs: [f("i", [], "i64"), f("cond_in", [], "bool"), f("x", [2])],
  outputs: [f("cond_out", [], "bool"), f("x_out", [2]), f("y", [2])],
  initializers,
  nodes: [
    ...cond,
    { op: "Cast", inputs: ["i"], outputs: ["fi"], attrs: { to: 1 } },
    { op: "Mul", inputs: ["v", "fi"], outputs: ["vi"] },
    { op: "Add", inputs: ["x", "vi"], outputs: ["x_out"] },
    { op: "Mul", inputs: ["x_out", "x_out"], outputs: ["y"] },
  ],
});

const loopModel = (body: GraphProto, opts: { M?: "initializer" | "input" | "none" } = {}): ModelProto => {
  const M = opts.M ?? "initializer";
  return withBody({
    inputs: [f("x0", [2]), f("v", [2]), ...(M === "input" ? [f("M", [], "i64")] : [])],
    outputs: [f("xT", [2]), f("ys", [5, 2])],
    initializers: { ...(M === "initializer" ? { M: i64([5], []) } : {}), cond: bool(true) },
    nodes: [{ op: "Loop", name: "loop", inputs: [M === "none" ? "" : "M", "cond", "x0"], outputs: ["xT", "ys"] }],
  }, "loop", body);
};

/** A Scan whose body runs a Loop (M = 2) whose body reads w from the model's graph and x from the Scan's body. */
const nestedModel = (): ModelProto => {
  const inner = graph({
    inputs: [f("i", [], "i64"), f("c", [], "bool"), f("a", [2])],
    outputs: [f("c_out", [], "bool"), f("a_out", [2])],
    nodes: [
      { op: "Identity", inputs: ["c"], outputs: ["c_out"] },
      { op: "Mul", inputs: ["a", "w"], outputs: ["m"] },
      { op: "Add", inputs: ["m", "x"], outputs: ["a_out"] },
    ],
  });
  const outerBody = graph({
    inputs: [f("s", [2]), f("x", [2])],
    outputs: [f("s_out", [2]), f("y", [2])],
    initializers: { two: i64([2], []), yes: bool(true) },
    nodes: [
      { op: "Loop", name: "inner", inputs: ["two", "yes", "s"], outputs: ["s_out"] },
      { op: "Sub", inputs: ["s_out", "x"], outputs: ["y"] },
    ],
  });
  outerBody.node![0]!.attribute = [{ name: "body", type: 5, g: inner }];
  return withBody({
    inputs: [f("s0", [2]), f("xs", [3, 2]), f("w", [2])],
    outputs: [f("sT", [2]), f("ys", [3, 2])],
    nodes: [{ op: "Scan", name: "outer", inputs: ["s0", "xs"], outputs: ["sT", "ys"], attrs: { num_scan_inputs: 1 } }],
  }, "outer", outerBody);
};

interface Case {
  readonly name: string;
  readonly model: () => ModelProto;
  readonly inputs: Record<string, Tensor>;
}

const CASES: Case[] = [
  { name: "Scan forward, body reads an outer value computed after it", model: forwardScan, inputs: { s0: f32(seq(3, 0.7), [3]), xs: f32(seq(12, 1.3), [4, 3]), w_in: f32(seq(3, 2.1), [3]) } },
  { name: "Scan reverse, one input along axis -1, outputs in both directions and along axis 1", model: () => reverseScan(),
    inputs: { s0: f32(seq(2, 0.4), [2]), xa: f32(seq(6, 0.9), [3, 2]), xb: f32(seq(6, 1.7, 1), [2, 3]), c: f32([0.5, -0.75], [2]) } },
  { name: "Scan with a reverse and a forward input (one flipped), outputs in both directions", model: () => reverseScan([1, 0]),
    inputs: { s0: f32(seq(2, 0.4), [2]), xa: f32(seq(6, 0.9), [3, 2]), xb: f32(seq(6, 1.7, 1), [2, 3]), c: f32([0.5, -0.75], [2]) } },
  { name: "Loop with static M: a carried sum and a scan output, reading the iteration number and an outer value", model: () => loopModel(loopBody()),
    inputs: { x0: f32([0.25, -1], [2]), v: f32([0.5, 2], [2]) } },
  { name: "Scan whose body runs a Loop reading values of both enclosing graphs", model: nestedModel,
    inputs: { s0: f32([0.5, -0.25], [2]), xs: f32(seq(6, 0.8), [3, 2]), w: f32([0.9, -0.6], [2]) } },
];

async function runOrt(bytes: Uint8Array, inputs: Record<string, Tensor>): Promise<Float64Array[]> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor("float32", t.data as Float32Array, [...t.shape])]));
    const out = await session.run(feeds);
    return session.outputNames.map((n) => Float64Array.from(out[n]!.data as Float32Array));
  } finally {
    await session.release();
  }
}

const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
  expect(got.length, `${what}: size`).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${what} element ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!)));
};

describe("ONNX Scan and Loop against onnxruntime-node, the interpreter and compiled cpu code", () => {
  const imported: ImportedModel[] = [];
  let compiled: CompiledGraph[] = [];
  beforeAll(async () => {
    for (const c of CASES) imported.push(importOnnx(encodeModel(c.model()), {}, c.name));
    compiled = await compileGraphs(imported.map((m) => m.graph));
  }, 300_000);
  afterAll(() => { compiled.length = 0; });

  test.each(CASES.map((c, k) => [c.name, k] as const))("%s", async (_, k) => {
    const c = CASES[k]!, m = imported[k]!;
    expect(someNode(m.graph, isScan), "imported as a scan").toBe(true);
    const feed = m.inputs.map((i) => c.inputs[i.name]!);
    const want = await runOrt(encodeModel(c.model()), c.inputs);
    const interp = interpret(m.graph, feed.map((t) => ({ data: dataToNumbers(t.dtype, t.data), shape: t.shape }))).outputs;
    const cpu = compiled[k]!.run(feed);
    want.forEach((w, j) => {
      expect(interp[j]!.shape).toEqual([...m.outputs[j]!.shape]);
      close(interp[j]!.data, w, `${c.name}: interpreter output ${j}`);
      close(cpu[j]!.toArray(), w, `${c.name}: cpu output ${j}`);
    });
  });

  test("the loop's closed form: x_T = x0 + v·(0+1+2+3+4), y_t = (x0 + v·t(t+1)/2)²", () => {
    const m = imported[CASES.findIndex((c) => c.name.startsWith("Loop"))]!;
    const [xT, ys] = interpret(m.graph, [{ data: [0.25, -1], shape: [2] }, { data: [0.5, 2], shape: [2] }]).outputs;
    close(xT!.data, [0.25 + 0.5 * 10, -1 + 2 * 10], "x_T");
    close(ys!.data, [0, 1, 2, 3, 4].flatMap((t) => [0.25 + 0.5 * (t * (t + 1)) / 2, -1 + (2 * (t * (t + 1))) / 2].map((x) => x * x)), "ys");
  });
});

describe("refused Scan and Loop variants: one error naming the node", () => {
  const importBytes = (m: ModelProto) => () => importOnnx(encodeModel(m), {}, "test.onnx");

  test("a Loop whose condition is computed from the iteration number (dynamic termination)", () => {
    const m = loopModel(loopBody([{ op: "Less", inputs: ["i", "three"], outputs: ["cond_out"] }], { three: i64([3], []) }));
    expect(importBytes(m)).toThrow(UnsupportedOpsError);
    expect(importBytes(m)).toThrow(/Loop \(node loop\): the body computes its condition from run-time values \(dynamic termination is not supported/);
  });

  test("a Loop condition that is false after the first step runs once", () => {
    const falseBody = loopBody([{ op: "Not", inputs: ["cond_in"], outputs: ["cond_out"] }]);
    const m = importOnnx(encodeModel(loopModel(falseBody)));
    const [xT, ys] = interpret(m.graph, [{ data: [0.25, -1], shape: [2] }, { data: [0.5, 2], shape: [2] }]).outputs;
    close(xT!.data, [0.25, -1], "x after one step (i = 0)");
    expect(ys!.shape).toEqual([1, 2]);
  });

  test("a Loop trip count from a graph input must be bound; without M and with a condition that stays true it would not end", () => {
    expect(importBytes(loopModel(loopBody(), { M: "input" }))).toThrow(StaticInputError);
    expect(importBytes(loopModel(loopBody(), { M: "input" }))).toThrow(/Loop \(node loop\): operand 'M \(trip count\)' must be known at compile time; it comes from graph input\(s\) M/);
    expect(importBytes(loopModel(loopBody(), { M: "none" }))).toThrow(/Loop \(node loop\): no trip count M and a condition that never turns false/);
    const bound = importOnnx(encodeModel(loopModel(loopBody(), { M: "input" })), { bind: { M: i64([5], []) } });
    expect(bound.inputs.map((i) => i.name)).toEqual(["x0", "v"]);
  });

  test("reversing one scan input over a symbolic length", () => {
    const m = reverseScan([1, 0]);
    m.graph!.input = [f("s0", [2]), f("xa", ["T", 2]), f("xb", [2, "T"]), f("c", [2])];
    expect(importBytes(m)).toThrow(/Scan \(node rscan\): scan input 0 runs in the other direction over symbolic length T \(reversing it needs a static length\)/);
    // Same direction everywhere: a symbolic length is fine.
    const n = forwardScan();
    n.graph!.input = [f("s0", [3]), f("xs", ["T", 3]), f("w_in", [3])];
    const g = importOnnx(encodeModel(n)).graph;
    expect(interpret(g, [{ data: [0, 0, 0], shape: [3] }, { data: seq(6, 1), shape: [2, 3] }, { data: [1, 1, 1], shape: [3] }]).outputs[1]!.shape).toEqual([2, 3]);
  });

  test("a malformed node inside a body: one line naming the model, the Scan and the inner node", () => {
    const m = forwardScan();
    m.graph!.initializer!.push({ name: "pair", dims: [2], data_type: 1, float_data: [1, 2] });
    m.graph!.node![0]!.attribute!.find((a) => a.name === "body")!.g!.node!.push({ op_type: "Add", name: "add_pair", input: ["x", "pair"], output: ["bad"] });
    let msg = "";
    try { importBytes(m)(); } catch (e) { msg = (e as Error).message; }
    expect(msg).toMatch(/^test\.onnx: Scan \(node scan\) body: .*add_pair/);
    expect(msg).not.toContain("\n");
  });

  test("an unsupported op inside a body is listed with the model's others, as outer/inner", () => {
    const m = forwardScan();
    m.graph!.node![0]!.attribute!.find((a) => a.name === "body")!.g!.node!.push({ op_type: "StringNormalizer", name: "norm", input: ["x"], output: ["unused"] });
    expect(importBytes(m)).toThrow(/StringNormalizer \(node scan\/norm\): no converter for this op/);
  });

  test("a carried value whose shape changes per step, and a body of the wrong arity, name the node", () => {
    const grow = withBody({
      inputs: [f("s0", [3]), f("xs", [4, 3])], outputs: [f("sT", [3]), f("ys", [4, 3])],
      nodes: [{ op: "Scan", name: "grow", inputs: ["s0", "xs"], outputs: ["sT", "ys"], attrs: { num_scan_inputs: 1 } }],
    }, "grow", graph({
      inputs: [f("s", [3]), f("x", [3])], outputs: [f("s_out", [1]), f("y", [3])],
      nodes: [{ op: "ReduceSum", inputs: ["s"], outputs: ["s_out"], attrs: { keepdims: 1 } }, { op: "Identity", inputs: ["x"], outputs: ["y"] }],
    }));
    expect(importBytes(grow)).toThrow(/test\.onnx: .*node grow.*body carry output 0/);
    const arity = forwardScan();
    arity.graph!.node![0]!.attribute!.find((a) => a.name === "num_scan_inputs")!.i = 3;
    expect(importBytes(arity)).toThrow(/test\.onnx: Scan \(node scan\): num_scan_inputs 3 exceeds the 2 state and scan inputs/);
    const wrongBody = forwardScan();
    wrongBody.graph!.node![0]!.attribute!.find((a) => a.name === "body")!.g!.input!.push(f("extra", [3]));
    expect(importBytes(wrongBody)).toThrow(/test\.onnx: Scan \(node scan\) body: the body takes 3 inputs, expected 2/);
  });
});
