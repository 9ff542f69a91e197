// `lathe compile`, `lathe run` and `lathe inspect` end to end, through main() in-process
// (one tsx start per command would cost seconds each).
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { interpret } from "../../compiler/graph/interpret.ts";
import { parseGraph } from "../../compiler/graph/text/parse.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { lathe } from "../../test/helpers/cli.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-cli-"));
const MODEL = `graph mlp(x: f32[batch, 4], s: f32[batch]) {
  const w: f32[4, 3] = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, 1.2]
  const b: f32[3]
  h = matmul(x, w)
  hb = add(h, b)
  y = relu(hb)
  t = sum(y, axes=[1])
  u = mul(t, s)
  return y, u
}
`;
const B = Float32Array.from([0.5, -0.5, 0.25]);
const modelFile = path.join(tmp, "mlp.lg");
writeFileSync(modelFile, MODEL);
writeNpy(path.join(tmp, "b.npy"), new Tensor(B, [3], "f32"));


afterEach(() => { process.exitCode = 0; });

const reference = (inputs: Tensor[]) =>
  interpret(parseGraph(MODEL, { constants: { b: B } }), inputs.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs;

const expectClose = (got: Tensor, want: { data: Float64Array; shape: number[] }) => {
  expect(got.shape).toEqual(want.shape);
  got.toArray().forEach((v, i) => expect(Math.abs(v - want.data[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want.data[i]!))));
};

describe("lathe compile / run / inspect", () => {
  const art = path.join(tmp, "art");

  test("compile a graph text file, then run it on .npy files for two batch sizes", async () => {
    const c = await lathe("compile", modelFile, "--target", "cpu", "-o", art, "--const", `b=${path.join(tmp, "b.npy")}`);
    expect(c.err).toBe("");
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/wrote .*art: model-[0-9a-f]{8}\.so .*entry lathe_graph_run.*2 constants/);
    expect(c.out).toMatch(/inputs: {2}x: f32\[batch, 4\], s: f32\[batch\]/);
    const manifest = JSON.parse(readFileSync(path.join(art, "manifest.json"), "utf8"));
    expect(manifest.meta.model).toBe(modelFile);
    expect(manifest.meta.modelSha256).toMatch(/^[0-9a-f]{64}$/);

    for (const n of [1, 5]) {
      const x = Tensor.random([n, 4], "f32", n), s = Tensor.random([n], "f32", n + 10);
      writeNpy(path.join(tmp, "x.npy"), x);
      writeNpy(path.join(tmp, "s.npy"), s);
      const r = await lathe("run", art, "--input", path.join(tmp, "x.npy"), "--input", path.join(tmp, "s.npy"),
        "--output", path.join(tmp, "y.npy"), "--output", path.join(tmp, "u.npy"), "--threads", "2");
      expect(r.err).toBe("");
      expect(r.out).toContain(`wrote ${path.join(tmp, "y.npy")} (y: f32[${n}, 3])`);
      const ref = reference([x, s]);
      expectClose(readNpy(path.join(tmp, "y.npy")), ref[0]!);
      expectClose(readNpy(path.join(tmp, "u.npy")), ref[1]!);
    }
  }, 120_000);

  test("run without --output prints a summary per output", async () => {
    const x = Tensor.fromArray([1, 2, 3, 4, -1, -2, -3, -4], [2, 4]), s = Tensor.fromArray([1, 2], [2]);
    writeNpy(path.join(tmp, "x2.npy"), x);
    writeNpy(path.join(tmp, "s2.npy"), s);
    const r = await lathe("run", art, "--input", path.join(tmp, "x2.npy"), "--input", path.join(tmp, "s2.npy"));
    expect(r.code).toBe(0);
    const [y, u] = reference([x, s]);
    const lines = r.out.split("\n");
    expect(lines).toHaveLength(2);
    const yd = [...y!.data];
    expect(lines[0]).toMatch(/^y: f32\[2, 3\] {2}min 0 {2}max \S+ {2}mean \S+ {2}\[/);
    expect(Number(/max (\S+)/.exec(lines[0]!)![1])).toBeCloseTo(Math.max(...yd), 4);
    expect(Number(/mean (\S+)/.exec(lines[0]!)![1])).toBeCloseTo(yd.reduce((a, b) => a + b, 0) / yd.length, 4);
    expect(lines[1]).toMatch(/^u: f32\[2\] /);
  });

  test("run errors: wrong input count, a wrong shape (named), conflicting symbolic sizes, no artifact", async () => {
    const one = await lathe("run", art, "--input", path.join(tmp, "x2.npy"));
    expect(one.code).toBe(1);
    expect(one.err).toMatch(/takes 2 inputs \(x, s\); got 1 --input files/);
    writeNpy(path.join(tmp, "bad.npy"), Tensor.zeros([2, 5], "f32"));
    const shape = await lathe("run", art, "--input", path.join(tmp, "bad.npy"), "--input", path.join(tmp, "s2.npy"));
    expect(shape.err).toMatch(/ShapeError: input x: dimension 1 must be 4, got 5/);
    const conflict = await lathe("run", art, "--input", path.join(tmp, "x2.npy"), "--input", path.join(tmp, "b.npy"));
    expect(conflict.err).toMatch(/input s: dimension 0 \(batch\) is 3, but batch = 2 from an earlier input/);
    const missing = await lathe("run", path.join(tmp, "nowhere"), "--input", "a.npy");
    expect(missing.err).toMatch(/not a Lathe artifact: manifest\.json is missing/);
    expect(missing.err).not.toMatch(/\n\s+at /);
  });

  test("compile errors: an unknown target, a constant without data, a syntax error with its position", async () => {
    expect((await lathe("compile", modelFile, "--target", "tpu", "-o", path.join(tmp, "x"))).err).toMatch(/unknown target "tpu" \(available: cpu, webgpu\)/);
    expect((await lathe("compile", modelFile, "-o", path.join(tmp, "x"))).err).toMatch(/constant 'b' has no data/);
    writeFileSync(path.join(tmp, "bad.lg"), "graph g(x: f32[2]) {\n  y = relu(x\n  return y\n}\n");
    const r = await lathe("compile", path.join(tmp, "bad.lg"), "-o", path.join(tmp, "x"));
    expect(r.err).toMatch(/ParseError: .*bad\.lg:3:\d+: /);
    expect(existsSync(path.join(tmp, "x"))).toBe(false);
  });

  test("inspect: the graph, fused kernels with their ops, each kernel's C++; --kernel; --pass-dump", async () => {
    const c = ["--const", `b=${path.join(tmp, "b.npy")}`];
    const all = await lathe("inspect", modelFile, ...c);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/\/\/ graph after the graph passes\ngraph main\(x: f32\[batch, 4\], s: f32\[batch\]\)/);
    expect(all.out).toMatch(/fused_0_matmul: matmul\* → add → relu/);
    const kernels = [...all.out.matchAll(/^\/\/ ---- kernel (\S+) ----$/gm)].map((m) => m[1]);
    expect(kernels.length).toBeGreaterThanOrEqual(2);
    expect(all.out).toContain(`extern "C" int32_t ${kernels[1]}(const LatheTensor* args`);
    expect(all.out).not.toContain("#include"); // kernels without the prelude

    const one = await lathe("inspect", modelFile, ...c, "--kernel", kernels[1]!);
    expect(one.out).toContain(`extern "C" int32_t ${kernels[1]}(`);
    expect(one.out).not.toContain(`int32_t ${kernels[0]}(`);
    expect((await lathe("inspect", modelFile, ...c, "--kernel", "nope")).err).toMatch(/no kernel named nope; the kernels are fused_0_matmul, /);

    const dump = await lathe("inspect", modelFile, ...c, "--pass-dump");
    for (const p of ["infer-shapes", "simplify", "fold-constants", "cse", "dce"]) expect(dump.out).toMatch(new RegExp(`^// after ${p}`, "m"));
  });

  const ONNX_RELU = "/usr/share/libonnx-testdata/data/node/test_relu";
  const noRelu = !existsSync(`${ONNX_RELU}/model.onnx`), noFrontend = !existsSync(new URL("../../compiler/frontend/onnx/index.ts", import.meta.url));
  test.runIf(!noRelu && !noFrontend)(
    skipReason("an ONNX model: compile, run on its test data set, equal to the expected output", noRelu ? NEEDS.onnxTestdata : noFrontend && "this checkout has no ONNX frontend (compiler/frontend/onnx)"), async () => {
      const { readTensorFile } = await import("../../compiler/frontend/onnx/index.ts");
      const out = path.join(tmp, "relu");
      const c = await lathe("compile", `${ONNX_RELU}/model.onnx`, "-o", out);
      expect(c.err).toBe("");
      const manifest = JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8"));
      expect(manifest.outputs.map((o: { name: string }) => o.name)).toEqual(["y"]); // the model's names
      expect(manifest.meta.onnxOpset).toBeGreaterThan(0);
      writeNpy(path.join(tmp, "relu_in.npy"), readTensorFile(`${ONNX_RELU}/test_data_set_0/input_0.pb`));
      await lathe("run", out, "--input", path.join(tmp, "relu_in.npy"), "--output", path.join(tmp, "relu_out.npy"));
      const want = readTensorFile(`${ONNX_RELU}/test_data_set_0/output_0.pb`);
      const got = readNpy(path.join(tmp, "relu_out.npy"));
      expect(got.shape).toEqual(want.shape);
      expect(got.toArray()).toEqual(want.toArray());
    }, 120_000);
});
