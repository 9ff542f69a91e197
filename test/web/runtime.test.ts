/**
 * The browser runtime (runtime/web) outside a browser: its esbuild bundle has no Node APIs
 * (platform "browser" rejects any Node built-in) and exports the loader; loadWebGpuModule
 * over HTTP from `lathe serve`'s loopback server, on Dawn's device, gives bit-identical
 * outputs to the Node loader (the same plan code, the same device); missing files and
 * missing WebGPU get one clear error. The real-browser test is browser.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { gpuDevice } from "../../compiler/targets/webgpu/device.ts";
import { serveArtifact, type Served } from "../../cli/commands/serve.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { buildWebBundle } from "../../runtime/web/bundle.ts";
import { loadWebGpuModule, requestWebGpuDevice } from "../../runtime/web/index.ts";
import { loadWebGpuArtifact } from "../../runtime/webgpu-artifact.ts";
import { lathe } from "../helpers/cli.ts";
import { writeModels } from "../webgpu/artifact-fixtures.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-web-"));
const models = writeModels(tmp);
const dir = path.join(tmp, "mlp-webgpu");
let served: Served;

beforeAll(async () => {
  const r = await lathe("compile", models.mlp.file, "--target", "webgpu", "-o", dir, ...models.mlp.constArgs);
  expect(r.code).toBe(0);
  served = await serveArtifact(dir, 0);
}, 60_000);
afterAll(async () => { await served?.close(); rmSync(tmp, { recursive: true, force: true }); });
afterEach(() => { process.exitCode = 0; });

describe("browser runtime", () => {
  test("the bundle builds for the browser platform (no Node APIs) and exports loadWebGpuModule", async () => {
    const js = await buildWebBundle();
    expect(js).toMatch(/export\s*\{[^}]*\bloadWebGpuModule\b/);
    expect(js).not.toMatch(/\bfrom\s*["']node:|require\(["']node:/);
  });

  test("loadWebGpuModule over loopback HTTP equals the Node loader exactly", async () => {
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const device = (await gpuDevice()).device;
    const web = await loadWebGpuModule(`${served.url}model`, { device });
    const node = await loadWebGpuArtifact(dir, device);
    const x = Tensor.random([3, 6], "f32", 5);
    const { y } = await web.run({ x: { data: x.data, shape: x.shape } });
    const [want] = await node.runTensors([x]);
    expect(y!.shape).toEqual([3, 5]);
    expect(Array.from(y!.data as Float32Array)).toEqual(Array.from(want!.data as Float32Array));
    web.destroy(); node.destroy();
  });

  test("a missing or tampered file over HTTP is named by its URL", async () => {
    const device = (await gpuDevice()).device;
    const plan = path.join(dir, "plan.json"), bytes = readFileSync(plan);
    rmSync(plan);
    await expect(loadWebGpuModule(`${served.url}model/`, { device })).rejects.toThrow(/^http:\/\/127\.0\.0\.1:\d+\/model\/plan\.json: cannot fetch the artifact's file: HTTP 404/);
    writeFileSync(plan, bytes.toString("utf8").replace('"version": 1', '"version": 2'));
    await expect(loadWebGpuModule(`${served.url}model/`, { device })).rejects.toThrow(/\/model\/plan\.json: the artifact's execution plan does not match the manifest's sha256/);
    writeFileSync(plan, bytes);
    await expect(loadWebGpuModule(`${served.url}model/`, { device })).resolves.toBeDefined();
  });

  test("no navigator.gpu, or no adapter: a clear error", async () => {
    await expect(requestWebGpuDevice(undefined)).rejects.toThrow(/WebGPU is not available here \(navigator\.gpu is undefined\)/);
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(requestWebGpuDevice(noAdapter)).rejects.toThrow(/WebGPU is enabled but the browser found no adapter/);
  });

  test("lathe serve: the page, the bundle and the artifact's plain files only", async () => {
    const status = async (p: string) => (await fetch(new URL(p, served.url))).status;
    expect(await (await fetch(served.url)).text()).toContain("loadWebGpuModule");
    expect(await status("/lathe-web.js")).toBe(200);
    expect(await status("/model/manifest.json")).toBe(200);
    for (const p of ["/model/..%2Fmlp.lg", "/model/missing.wgsl", "/mlp.lg", "/model/.hidden"]) expect(await status(p)).toBe(404);
  });

  test("lathe serve refuses a cpu artifact or a directory without one", async () => {
    await expect(serveArtifact(tmp, 0)).rejects.toThrow(/is not a Lathe artifact: manifest\.json is missing/);
    const fake = path.join(tmp, "fake-cpu");
    (await import("node:fs")).mkdirSync(fake, { recursive: true });
    writeFileSync(path.join(fake, "manifest.json"), JSON.stringify({ target: "cpu" }));
    await expect(serveArtifact(fake, 0)).rejects.toThrow(/is a cpu artifact; lathe serve runs webgpu artifacts/);
  });
});
