/**
 * A small CNN exported from PyTorch to ONNX, compiled by Lathe, checked against PyTorch's
 * output; once with a fixed batch and once with the symbolic batch the export declares.
 * Skipped (visibly) without Debian's python3-torch. The big architectures are in
 * models/onnx/experiments/real-archs.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { importOnnx } from "../../compiler/frontend/onnx/index.ts";
import { compileGraph } from "../../compiler/targets/cpu/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { agreement, exportTorchModel, torchUnavailable } from "../../models/onnx/torch-models.ts";
import { skipReason } from "../helpers/skip.ts";

const why = torchUnavailable();
const dir = mkdtempSync(join(tmpdir(), "lathe-torch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(why !== null)(skipReason("PyTorch → ONNX → Lathe", why), () => {
  it("a conv-bn-relu-pool-linear-softmax net matches PyTorch at rtol 1e-3", async () => {
    const ex = exportTorchModel("tiny_cnn", dir, 2);
    const m = importOnnx(ex.model, { dims: { batch: 2 } });
    const c = await compileGraph(m.graph);
    const [y] = c.run([ex.input]);
    const a = agreement(y!, ex.output);
    expect(a.maxRel, `max |Δ| ${a.maxAbs}`).toBeLessThan(1e-3);
    expect(a.ok).toBe(true);
    // The interpreter agrees too (a differential check of the compiled code on a real model).
    const ref = interpret(m.graph, [{ data: ex.input.toArray(), shape: ex.input.shape }]).outputs[0]!;
    expect(agreement(y!, new Tensor(Float32Array.from(ref.data), ref.shape, "f32")).ok).toBe(true);
  }, 120_000);

  it("keeps the exported symbolic batch dimension: one compiled graph serves batch 1 and 2", async () => {
    const ex = exportTorchModel("tiny_cnn", dir, 2);
    const m = importOnnx(ex.model);
    expect(m.inputs[0]!.shape[0]).toBe("batch");
    const c = await compileGraph(m.graph);
    expect(agreement(c.run([ex.input])[0]!, ex.output).ok).toBe(true);
    const one = new Tensor(ex.input.data.slice(0, 3 * 16 * 16), [1, 3, 16, 16], "f32");
    const y1 = c.run([one])[0]!;
    expect(y1.shape).toEqual([1, 10]);
    expect(agreement(y1, new Tensor(ex.output.data.slice(0, 10), [1, 10], "f32")).ok).toBe(true);
  }, 120_000);
});
