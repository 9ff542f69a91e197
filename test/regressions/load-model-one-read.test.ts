// loadModel hashed one read of an ONNX file into the manifest's modelSha256 and imported a
// second read, so a file replaced in between was compiled under the old file's hash. The
// file is read once now. Here the file "changes" after its first read: every later read of
// it returns another model, and the graph must still be the first model's.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test, vi } from "vitest";
import { modelBytes, valueInfo } from "../../compiler/frontend/onnx/testing.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lathe-one-read-"));
const file = path.join(dir, "m.onnx");
const relu = modelBytes({ inputs: [valueInfo("x", "f32", [3])], outputs: [valueInfo("y", "f32", [3])], nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }] });
const neg = modelBytes({ inputs: [valueInfo("x", "f32", [3])], outputs: [valueInfo("y", "f32", [3])], nodes: [{ op: "Neg", inputs: ["x"], outputs: ["y"] }] });
fs.writeFileSync(file, relu);

const reads = { count: 0 };
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  const readFileSync = ((p: fs.PathOrFileDescriptor, o?: unknown) => {
    if (p === file) return reads.count++ === 0 ? Buffer.from(relu) : Buffer.from(neg);
    return (real.readFileSync as (p: fs.PathOrFileDescriptor, o?: unknown) => unknown)(p, o);
  }) as typeof real.readFileSync;
  return { ...real, readFileSync, default: { ...real, readFileSync } };
});

describe("loadModel reads an ONNX file once", () => {
  test("the graph compiled is the one whose sha256 the manifest records", async () => {
    const { loadModel } = await import("../../cli/load-model.ts");
    const m = await loadModel(file);
    expect(reads.count).toBe(1);
    expect(m.meta.modelSha256).toBe(createHash("sha256").update(relu).digest("hex"));
    expect(m.graph.nodes.map((n) => n.op)).toEqual(["relu"]);
  });
});
