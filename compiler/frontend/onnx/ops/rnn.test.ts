/**
 * RNN, GRU, LSTM: ONNX's node tests, PyTorch's bidirectional layers exported to ONNX (when
 * /usr/bin/python3 has torch), and a plain-JS recurrence for sequence_lens and direction.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Tensor } from "../../../../runtime/tensor.ts";
import { interpret } from "../../../graph/interpret.ts";
import { someNode } from "../../../graph/scan.ts";
import { compileGraphs } from "../../../targets/cpu/graph.ts";
import { importOnnx, readTensorFile } from "../index.ts";
import { modelBytes, valueInfo } from "../testing.ts";
import { mismatch } from "../../../../test/onnx/node-test-runner.ts";
import { nodeSuite } from "../../../../test/onnx/node-test-suite.ts";

nodeSuite("recurrent node tests", ["test_rnn_", "test_simple_rnn_", "test_gru_", "test_lstm_"], {});

const PY = "/usr/bin/python3";
const hasTorch = existsSync(PY) && (() => {
  try {
    execFileSync(PY, ["-c", "import torch, onnx"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const EXPORT = `
import sys, torch, warnings
from onnx import numpy_helper
warnings.filterwarnings("ignore")
out = sys.argv[1]
torch.manual_seed(0)
for name, m in {"lstm": torch.nn.LSTM(3, 4, bidirectional=True), "gru": torch.nn.GRU(3, 4, bidirectional=True),
                "rnn_relu": torch.nn.RNN(3, 4, nonlinearity="relu")}.items():
    x = torch.randn(5, 2, 3)
    m.eval()
    y = m(x)[0]
    torch.onnx.export(m, (x,), f"{out}/{name}.onnx", opset_version=13, input_names=["x"], output_names=["y"])
    open(f"{out}/{name}.x.pb", "wb").write(numpy_helper.from_array(x.numpy()).SerializeToString())
    open(f"{out}/{name}.y.pb", "wb").write(numpy_helper.from_array(y.detach().numpy()).SerializeToString())
`;
import { NEEDS, skipReason } from "../../../../test/helpers/skip.ts";

describe.skipIf(!hasTorch)(skipReason("PyTorch's recurrent layers exported to ONNX", !hasTorch && NEEDS.torchOnnx), () => {
  const dir = mkdtempSync(join(tmpdir(), "lathe-rnn-"));
  const exported = () => {
    if (!existsSync(join(dir, "gru.onnx"))) {
      writeFileSync(join(dir, "export.py"), EXPORT);
      execFileSync(PY, [join(dir, "export.py"), dir], { stdio: "ignore" });
    }
  };
  it.each(["lstm", "gru", "rnn_relu"])("%s matches torch (bidirectional lstm/gru; rnn_relu has an explicit activations list)", { timeout: 120_000 }, (name) => {
    exported();
    const m = importOnnx(join(dir, `${name}.onnx`));
    const x = readTensorFile(join(dir, `${name}.x.pb`)), y = readTensorFile(join(dir, `${name}.y.pb`));
    const got = interpret(m.graph, [{ data: x.toArray(), shape: x.shape }]).outputs[0]!;
    expect(got.shape).toEqual(y.shape);
    expect(mismatch(got.data, y)).toBeNull();
  });
});

describe("RNN sequence_lens and direction against a plain-JS recurrence", () => {
  // T=3, B=2, I=2, H=2; row 1 stops after 1 step.
  const T = 3, B = 2, I = 2, H = 2;
  const xs = Array.from({ length: T * B * I }, (_, k) => Math.sin(k + 1));
  const w = [0.5, -0.3, 0.2, 0.8], r = [0.1, 0.4, -0.6, 0.3], bias = [0.05, -0.1, 0.2, 0.03];
  const lens = [3, 1];

  function reference(reverse: boolean): { y: number[]; yh: number[] } {
    const y = new Array<number>(T * B * H).fill(0), yh: number[] = [];
    for (let b = 0; b < B; b++) {
      let h = [0, 0];
      const steps = Array.from({ length: lens[b]! }, (_, k) => (reverse ? lens[b]! - 1 - k : k));
      for (const t of steps) {
        const x = xs.slice((t * B + b) * I, (t * B + b) * I + I);
        h = [0, 1].map((j) => Math.tanh(x[0]! * w[j * I]! + x[1]! * w[j * I + 1]! + h[0]! * r[j * H]! + h[1]! * r[j * H + 1]! + bias[j]! + bias[H + j]!));
        y[(t * B + b) * H] = h[0]!;
        y[(t * B + b) * H + 1] = h[1]!;
      }
      yh.push(...h);
    }
    return { y, yh };
  }

  it.each(["forward", "reverse"])("%s", (direction) => {
    const m = importOnnx(modelBytes({
      opset: 14,
      inputs: [valueInfo("x", "f32", [T, B, I]), valueInfo("len", "i32", [B])],
      outputs: [valueInfo("y", "f32", [T, 1, B, H]), valueInfo("yh", "f32", [1, B, H])],
      initializers: { w: Tensor.fromArray(w, [1, H, I], "f32"), r: Tensor.fromArray(r, [1, H, H], "f32"), b: Tensor.fromArray(bias, [1, 2 * H], "f32") },
      nodes: [{ op: "RNN", inputs: ["x", "w", "r", "b", "len"], outputs: ["y", "yh"], attrs: { hidden_size: H, direction } }],
    }));
    const [y, yh] = interpret(m.graph, [{ data: xs, shape: [T, B, I] }, { data: lens, shape: [B] }]).outputs;
    const want = reference(direction === "reverse");
    Array.from(y!.data).forEach((v, k) => expect(v).toBeCloseTo(want.y[k]!, 5));
    Array.from(yh!.data).forEach((v, k) => expect(v).toBeCloseTo(want.yh[k]!, 5));
  });
});

describe("LSTM: lstm_cell path and the gate-by-gate composition agree", () => {
  // A clip no value reaches selects the composition; without it the standard LSTM uses lstm_cell.
  const T = 4, B = 2, I = 3, H = 2;
  const vals = (n: number, s: number) => Array.from({ length: n }, (_, k) => Math.sin(k * s + 0.3) * 0.8);
  const inits = { w: Tensor.fromArray(vals(2 * 4 * H * I, 1.7), [2, 4 * H, I], "f32"), r: Tensor.fromArray(vals(2 * 4 * H * H, 2.3), [2, 4 * H, H], "f32"), b: Tensor.fromArray(vals(2 * 8 * H, 0.9), [2, 8 * H], "f32") };
  const run = (attrs: Record<string, string | number | { float: number }>) => {
    const m = importOnnx(modelBytes({
      opset: 14,
      inputs: [valueInfo("x", "f32", [T, B, I]), valueInfo("len", "i32", [B])],
      outputs: [valueInfo("y", "f32", [T, 2, B, H]), valueInfo("yh", "f32", [2, B, H]), valueInfo("yc", "f32", [2, B, H])],
      initializers: inits,
      nodes: [{ op: "LSTM", inputs: ["x", "w", "r", "b", "len"], outputs: ["y", "yh", "yc"], attrs: { hidden_size: H, direction: "bidirectional", ...attrs } }],
    }));
    const usesCell = someNode(m.graph, (n) => n.op === "lstm_cell"); // inside the scans' bodies
    const outs = interpret(m.graph, [{ data: vals(T * B * I, 0.61), shape: [T, B, I] }, { data: [4, 2], shape: [B] }]).outputs;
    return { usesCell, outs: outs.map((o) => Array.from(o.data)) };
  };
  it("bidirectional with sequence_lens", () => {
    const fused = run({}), composed = run({ clip: { float: 1e9 } });
    expect(fused.usesCell).toBe(true);
    expect(composed.usesCell).toBe(false);
    fused.outs.forEach((o, k) => o.forEach((v, i) => expect(v).toBeCloseTo(composed.outs[k]![i]!, 5)));
  });
});

describe("recurrent layers compiled (one scan per direction)", () => {
  const T = 5, B = 2, I = 3, H = 2;
  const vals = (n: number, s: number) => Array.from({ length: n }, (_, k) => Math.sin(k * s + 0.3) * 0.8);
  const model = (op: "LSTM" | "GRU", attrs: Record<string, string | number | { float: number }>) => {
    const G = op === "LSTM" ? 4 : 3;
    return importOnnx(modelBytes({
      opset: 14,
      inputs: [valueInfo("x", "f32", [T, B, I]), valueInfo("len", "i32", [B])],
      outputs: [valueInfo("y", "f32", [T, 2, B, H]), valueInfo("yh", "f32", [2, B, H])],
      initializers: { w: Tensor.fromArray(vals(2 * G * H * I, 1.7), [2, G * H, I], "f32"), r: Tensor.fromArray(vals(2 * G * H * H, 2.3), [2, G * H, H], "f32"), b: Tensor.fromArray(vals(2 * 2 * G * H, 0.9), [2, 2 * G * H], "f32") },
      nodes: [{ op, inputs: ["x", "w", "r", "b", "len"], outputs: ["y", "yh"], attrs: { hidden_size: H, direction: "bidirectional", ...attrs } }],
    })).graph;
  };
  it("bidirectional LSTM (lstm_cell and composed) and GRU with sequence_lens: compiled equals the interpreter", { timeout: 240_000 }, async () => {
    const graphs = [model("LSTM", {}), model("LSTM", { clip: { float: 1e9 } }), model("GRU", { linear_before_reset: 1 })];
    graphs.forEach((g) => expect(g.nodes.filter((n) => n.op === "scan")).toHaveLength(2));
    const compiled = await compileGraphs(graphs);
    const x = Tensor.fromArray(vals(T * B * I, 0.61), [T, B, I], "f32"), len = Tensor.fromArray([5, 2], [B], "i32");
    graphs.forEach((g, k) => {
      const want = interpret(g, [{ data: x.toArray(), shape: x.shape }, { data: len.toArray(), shape: len.shape }]).outputs;
      compiled[k]!.run([x, len]).forEach((o, j) => o.toArray().forEach((v, i) => expect(Math.abs(v - want[j]!.data[i]!)).toBeLessThan(1e-5)));
    });
  });
});
