/**
 * webgpu artifacts end to end through the CLI (in-process): `lathe compile --target webgpu`
 * writes manifest, params.bin, plan.json and one .wgsl per kernel; `lathe run` runs them on
 * Dawn (SwiftShader here). References: the cpu target's artifact of the same model (agreement
 * to |a − b| ≤ 1e-4·(1 + |b|), the WebGPU tolerance: f32 with other summation orders) and the
 * in-process webgpu graph runner, which the artifact must reproduce bit for bit (same kernels,
 * same plan, same device). Bad inputs get one-line errors naming the file, input or node.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { compile } from "../../compiler/driver/compile.ts";
import { parseGraph } from "../../compiler/graph/text/parse.ts";
import { gpuDevice } from "../../compiler/targets/webgpu/device.ts";
import { loadModule } from "../../runtime/module.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { loadWebGpuArtifact } from "../../runtime/webgpu-artifact.ts";
import { lathe } from "../helpers/cli.ts";
import { NEEDS, skipReason } from "../helpers/skip.ts";
import { MLP, hasGxx, writeModels } from "./artifact-fixtures.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-wgart-"));
const models = writeModels(tmp);
afterEach(() => { process.exitCode = 0; });

const TOL = 1e-4;
const expectClose = (got: Tensor, want: Tensor) => {
  expect(got.shape).toEqual(want.shape);
  const a = got.toArray(), b = want.toArray();
  b.forEach((w, i) => expect(Math.abs(a[i]! - w)).toBeLessThanOrEqual(TOL * (1 + Math.abs(w))));
};

async function compileTo(model: "mlp" | "cnn", target: string): Promise<string> {
  const out = path.join(tmp, `${model}-${target}`);
  const r = await lathe("compile", models[model].file, "--target", target, "-o", out, ...models[model].constArgs);
  expect(r.err.split("\n").filter((l) => !l.startsWith("lathe webgpu: adapter")).join("")).toBe("");
  expect(r.code).toBe(0);
  return out;
}

async function runCli(dir: string, x: Tensor, name: string): Promise<Tensor> {
  const xf = path.join(tmp, `${name}-x.npy`), yf = path.join(tmp, `${name}-y.npy`);
  writeNpy(xf, x);
  const r = await lathe("run", dir, "--input", xf, "--output", yf);
  expect(r.err.split("\n").filter((l) => !l.startsWith("lathe webgpu: adapter")).join("")).toBe("");
  expect(r.code).toBe(0);
  return readNpy(yf);
}

describe("webgpu artifacts", () => {
  test("compile writes manifest, params, plan and one WGSL file per kernel, each hashed", async () => {
    const dir = await compileTo("mlp", "webgpu");
    const m = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
    expect(m.target).toBe("webgpu");
    expect(m.lathe).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.symbolicDims).toEqual(["batch"]);
    expect(m.inputs).toEqual([{ name: "x", dtype: "f32", shape: ["batch", 6] }]);
    expect(m.kernels.length).toBeGreaterThan(0);
    const plan = JSON.parse(readFileSync(path.join(dir, "plan.json"), "utf8"));
    expect(new Set(plan.dispatches.map((d: { kernel: string }) => d.kernel))).toEqual(new Set(m.kernels.map((k: { file: string }) => k.file)));
    for (const ref of [m.params, m.plan, ...m.kernels]) {
      const bytes = readFileSync(path.join(dir, ref.file));
      expect(bytes.length).toBe(ref.bytes);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(ref.sha256);
    }
  });

  test("the artifact reproduces the in-process webgpu runner exactly (two batch sizes)", async () => {
    const dir = await compileTo("mlp", "webgpu");
    const g = parseGraph(MLP.text, { constants: models.mlp.constants });
    const live = await compile(g, "webgpu");
    for (const n of [1, 5]) {
      const x = Tensor.random([n, 6], "f32", 100 + n);
      const [want] = await live.run([x]);
      const got = await runCli(dir, x, `exact${n}`);
      expect(got.shape).toEqual(want!.shape);
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want!.data as Float32Array));
    }
  });

  test.skipIf(!hasGxx)(skipReason("MLP and CNN: webgpu artifact outputs equal the cpu artifact's (1e-4)", !hasGxx && NEEDS.gxx), async () => {
    for (const [model, shape] of [["mlp", [3, 6]], ["cnn", [2, 2, 8, 8]]] as const) {
      const wg = await compileTo(model, "webgpu"), cpu = await compileTo(model, "cpu");
      const x = Tensor.random([...shape], "f32", 7);
      const want = await runCli(cpu, x, `${model}-cpu`);
      const got = await runCli(wg, x, `${model}-wg`);
      expectClose(got, want);
      // The same numbers through the Node loader's API.
      const mod = await loadWebGpuArtifact(wg, (await gpuDevice()).device);
      expectClose((await mod.runTensors([x]))[0]!, want);
      mod.destroy();
    }
  }, 240_000);

  test("a tampered, missing or truncated file is refused, naming it", async () => {
    const dir = await compileTo("mlp", "webgpu");
    const m = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
    const x = path.join(tmp, "t-x.npy");
    writeNpy(x, Tensor.random([2, 6], "f32", 3));
    const kernel = path.join(dir, m.kernels[0].file);
    const code = readFileSync(kernel, "utf8");
    writeFileSync(kernel, code.replace(/\d/, (d) => String((Number(d) + 1) % 10)));
    let r = await lathe("run", dir, "--input", x);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`${kernel.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: the artifact's kernel does not match the manifest's sha256`));
    expect(r.err.split("\n").filter((l) => l.startsWith("lathe: "))).toHaveLength(1);
    writeFileSync(kernel, code);

    const params = path.join(dir, "params.bin"), bytes = readFileSync(params);
    writeFileSync(params, bytes.subarray(0, bytes.length - 8));
    r = await lathe("run", dir, "--input", x);
    expect(r.err).toMatch(/params\.bin: the artifact's parameters has \d+ bytes, the manifest says \d+ \(truncated or replaced\)/);
    writeFileSync(params, bytes);

    const planFile = path.join(dir, "plan.json"), plan = readFileSync(planFile);
    rmSync(planFile);
    r = await lathe("run", dir, "--input", x);
    expect(r.err).toMatch(/plan\.json: cannot read the artifact's file: ENOENT/);
    writeFileSync(planFile, plan);

    const mf = path.join(dir, "manifest.json"), manifest = readFileSync(mf, "utf8");
    writeFileSync(mf, manifest.replace('"batch"', '"batches"'));
    r = await lathe("run", dir, "--input", x);
    expect(r.err).toMatch(/manifest\.json: checksum mismatch/);
    writeFileSync(mf, manifest);
    expect((await lathe("run", dir, "--input", x)).code).toBe(0);
  });

  test("a consistent but malformed plan (hashes recomputed) is refused naming the field", async () => {
    const src = await compileTo("mlp", "webgpu"), dir = path.join(tmp, "malformed");
    cpSync(src, dir, { recursive: true });
    const planFile = path.join(dir, "plan.json");
    const plan = JSON.parse(readFileSync(planFile, "utf8"));
    plan.dispatches[1].kernel = "nope.wgsl";
    const bytes = Buffer.from(JSON.stringify(plan));
    writeFileSync(planFile, bytes);
    const { manifestSha256: _, ...body } = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
    body.plan = { ...body.plan, sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.length };
    const manifest = { ...body, manifestSha256: createHash("sha256").update(JSON.stringify(body, null, 2)).digest("hex") };
    writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
    await expect(loadWebGpuArtifact(dir, (await gpuDevice()).device)).rejects.toThrow(/plan\.json: dispatches\[1\]: kernel nope\.wgsl is not one of the manifest's kernels$/);
  });

  test("outputs that are an input or repeat another output are copied (plan copies)", async () => {
    const file = path.join(tmp, "alias.lg"), dir = path.join(tmp, "alias");
    writeFileSync(file, "graph g(x: f32[batch, 3]) {\n  y = relu(x)\n  return y, x, y\n}\n");
    expect((await lathe("compile", file, "--target", "webgpu", "-o", dir)).code).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, "plan.json"), "utf8")).copies).toHaveLength(2);
    const mod = await loadWebGpuArtifact(dir, (await gpuDevice()).device);
    const x = Tensor.random([4, 3], "f32", 9);
    const [y, xo, y2] = await mod.runTensors([x]);
    const relu = x.toArray().map((v) => Math.max(0, v));
    expect(y!.toArray()).toEqual(relu);
    expect(y2!.toArray()).toEqual(relu);
    expect(xo!.toArray()).toEqual(x.toArray());
    mod.destroy();
  });

  test("wrong input shape or dtype: one error naming the input", async () => {
    const dir = await compileTo("mlp", "webgpu");
    const mod = await loadWebGpuArtifact(dir, (await gpuDevice()).device);
    await expect(mod.runTensors([Tensor.random([2, 5], "f32", 1)])).rejects.toThrow(/^input x: dimension 1 must be 6, got 5$/);
    await expect(mod.runTensors([Tensor.random([2, 6], "i32", 1)])).rejects.toThrow(/^input x: expected dtype f32\[batch, 6\], got i32\[2, 6\]$/);
    await expect(mod.run({ x: { data: new Int32Array(12), shape: [2, 6] } })).rejects.toThrow(/input x: expected dtype f32 \(Float32Array\)/);
    await expect(mod.run({ y: new Float32Array(6) })).rejects.toThrow(/unknown input y \(the artifact takes x\)/);
    await expect(mod.runTensors([])).rejects.toThrow(/takes 1 inputs \(x\), got 0/);
    mod.destroy();
  });

  test.skipIf(!hasGxx)(skipReason("a cpu artifact given to the webgpu loader, and a webgpu artifact to the cpu loader", !hasGxx && NEEDS.gxx), async () => {
    const wg = await compileTo("mlp", "webgpu"), cpu = await compileTo("mlp", "cpu");
    await expect(loadWebGpuArtifact(cpu, (await gpuDevice()).device)).rejects.toThrow(/manifest\.json: is an artifact for target "cpu", not webgpu: .*--target webgpu/);
    expect(() => loadModule(wg)).toThrow(/manifest\.json: is a webgpu artifact .*loadWebGpuModule/);
  }, 120_000);

  test("a model with nodes webgpu cannot compile lists all of them at once", async () => {
    const file = path.join(tmp, "f64.lg");
    writeFileSync(file, "graph bad(a: f64[3, 3], b: f64[3]) {\n  c = exp(a)\n  d = add(c, b)\n  return d\n}\n");
    const r = await lathe("compile", file, "--target", "webgpu", "-o", path.join(tmp, "bad"));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/webgpu cannot compile 2 nodes: exp \(node c\): .*f64 has no WGSL type.*; add \(node d\): .*f64/);
    expect(existsSync(path.join(tmp, "bad", "manifest.json"))).toBe(false);
  });

  test("the target list is the registry's; cpu-only options are refused for webgpu", async () => {
    const r = await lathe("compile", models.mlp.file, "--target", "tpu", "-o", path.join(tmp, "x"));
    expect(r.err).toMatch(/unknown target "tpu" \(available: cpu, webgpu\)/);
    const t = await lathe("compile", models.mlp.file, "--target", "webgpu", "--layout", "nchw", "-o", path.join(tmp, "x"), ...models.mlp.constArgs);
    expect(t.err).toMatch(/target "webgpu" does not take --layout/);
  });
});
