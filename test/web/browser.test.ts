/**
 * The demo page of `lathe serve` in headless Chromium with WebGPU on SwiftShader (flags:
 * chromium.ts). The page's outputs for its sample inputs equal `lathe run` on the same
 * inputs in Node and the cpu target's artifact, to |a − b| ≤ 1e-4·(1 + |b|) (f32 kernels on
 * two SwiftShader builds vs C++ with other summation orders); a tampered artifact, a cpu
 * artifact and a wrong input are refused in the page; a browser without a WebGPU adapter
 * shows a clear message; the screenshot shows the result table (DOM text, non-blank pixels).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { serveArtifact, type Served } from "../../cli/commands/serve.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { WebGpuTensorSpec } from "../../runtime/web/format.ts";
import { sampleInput } from "../../runtime/web/sample.ts";
import { lathe } from "../helpers/cli.ts";
import { skipReason } from "../helpers/skip.ts";
import { hasGxx, writeModels } from "../webgpu/artifact-fixtures.ts";
import { CHROMIUM, hasChromium, launchChromium } from "./chromium.ts";

const NO_CHROMIUM = !hasChromium && `Chromium (${CHROMIUM}); install: apt-get install chromium`;
const TOL = 1e-4;

interface Demo {
  status: "done" | "error";
  error?: string;
  times?: number[];
  outputs?: Record<string, { dtype: string; shape: number[]; data: number[] }>;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-browser-"));
let browser: Browser | undefined;
const servers: Served[] = [];

async function compileTo(model: "mlp" | "cnn", target: string): Promise<string> {
  const models = writeModels(tmp);
  const out = path.join(tmp, `${model}-${target}`);
  const r = await lathe("compile", models[model].file, "--target", target, "-o", out, ...models[model].constArgs);
  expect(r.code).toBe(0);
  return out;
}

async function openDemo(dir: string, query: string, b: Browser = browser!): Promise<{ page: Page; demo: Demo }> {
  const s = await serveArtifact(dir, 0);
  servers.push(s);
  const page = await b.newPage();
  await page.goto(`${s.url}${query}`);
  await page.waitForFunction(() => (window as unknown as { latheDemo?: unknown }).latheDemo !== undefined, { timeout: 90_000 });
  const demo = await page.evaluate(() => (window as unknown as { latheDemo: Demo }).latheDemo);
  return { page, demo };
}

const close = (got: readonly number[], want: readonly number[]) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(Math.abs(got[i]! - w)).toBeLessThanOrEqual(TOL * (1 + Math.abs(w))));
};

/** `lathe run` on the page's sample inputs. */
async function runNode(dir: string, dims: Record<string, number>, tag: string): Promise<Tensor> {
  const m = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8")) as { inputs: WebGpuTensorSpec[] };
  const args: string[] = [];
  m.inputs.forEach((s, k) => {
    const x = sampleInput(s, k, dims), f = path.join(tmp, `${tag}-in${k}.npy`);
    writeNpy(f, new Tensor(x.data, x.shape, s.dtype));
    args.push("--input", f);
  });
  const yf = path.join(tmp, `${tag}-y.npy`);
  const r = await lathe("run", dir, ...args, "--output", yf);
  expect(r.code).toBe(0);
  return readNpy(yf);
}

beforeAll(async () => { if (hasChromium) browser = await launchChromium(); }, 60_000);
afterAll(async () => {
  await browser?.close();
  for (const s of servers) await s.close();
  rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => { process.exitCode = 0; });

describe.skipIf(!hasChromium)(skipReason("lathe serve's demo page in headless Chromium", NO_CHROMIUM), () => {
  test("MLP and CNN: the page's outputs equal lathe run and the cpu target; the table is in the DOM and the screenshot", async () => {
    for (const [model, dims] of [["mlp", { batch: 2 }], ["cnn", { batch: 1 }]] as const) {
      const dir = await compileTo(model, "webgpu");
      const { page, demo } = await openDemo(dir, `?runs=3&dims=batch:${dims.batch}`);
      expect(demo.error).toBeUndefined();
      expect(demo.status).toBe("done");
      expect(demo.times).toHaveLength(3);
      const y = demo.outputs!["y"]!;
      const node = await runNode(dir, dims, `${model}-node`);
      expect(y.shape).toEqual(node.shape);
      close(y.data, node.toArray());
      if (hasGxx) close(y.data, (await runNode(await compileTo(model, "cpu"), dims, `${model}-cpu`)).toArray());

      const table = await page.$eval("#outputs", (t) => (t as HTMLElement).innerText);
      expect(table).toMatch(/output\s+dtype\s+shape/);
      expect(table).toMatch(new RegExp(`y\\s+f32\\s+\\[${y.shape.join(", ")}\\]`));
      expect(await page.$$eval("#timing tr", (rows) => rows.length)).toBe(3 + 2);
      // The screenshot, decoded by the browser itself: the page's text and table borders are not white.
      const png = await page.screenshot({ encoding: "base64" });
      const dark = await page.evaluate(async (b64: string) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement("canvas");
        c.width = img.width; c.height = img.height;
        const ctx = c.getContext("2d")!;
        ctx.drawImage(img, 0, 0);
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i]! + px[i + 1]! + px[i + 2]! < 600) n++;
        return { n, total: px.length / 4 };
      }, png);
      expect(dark.total).toBe(900 * 700);
      expect(dark.n).toBeGreaterThan(dark.total * 0.005);
      await page.close();
    }
  }, 300_000);

  test("a tampered artifact, a cpu manifest and a wrong input are refused in the page", async () => {
    const dir = await compileTo("mlp", "webgpu"), bad = path.join(tmp, "tampered");
    cpSync(dir, bad, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(bad, "manifest.json"), "utf8")) as { kernels: { file: string }[] };
    const k = path.join(bad, m.kernels[0]!.file);
    writeFileSync(k, readFileSync(k, "utf8").replace(/\d/, (d) => String((Number(d) + 1) % 10)));
    let { page, demo } = await openDemo(bad, "");
    expect(demo.status).toBe("error");
    expect(demo.error).toMatch(new RegExp(`/model/${m.kernels[0]!.file}: the artifact's kernel does not match the manifest's sha256`));
    expect(await page.$eval("#status", (e) => (e as HTMLElement).innerText)).toContain("does not match the manifest's sha256");
    await page.close();

    // A cpu artifact's manifest (the server checks the target once, at start; the page checks it again).
    cpSync(dir, bad, { recursive: true });
    const served = await serveArtifact(bad, 0);
    servers.push(served);
    writeFileSync(path.join(bad, "manifest.json"), JSON.stringify({ format: "lathe-artifact", formatVersion: 1, target: "cpu", entry: "lathe_graph_run" }));
    page = await browser!.newPage();
    await page.goto(served.url);
    await page.waitForFunction(() => (window as unknown as { latheDemo?: unknown }).latheDemo !== undefined, { timeout: 60_000 });
    demo = await page.evaluate(() => (window as unknown as { latheDemo: Demo }).latheDemo);
    expect(demo.error).toMatch(/manifest\.json: is an artifact for target "cpu", not webgpu/);
    await page.close();

    ({ page } = await openDemo(dir, "?runs=1"));
    // A string, so vitest does not rewrite the page's dynamic import.
    const err = await page.evaluate(`(async () => {
      const { loadWebGpuModule } = await import(new URL("./lathe-web.js", location.href).href);
      const mod = await loadWebGpuModule("./model/");
      try { await mod.run({ x: { data: new Float32Array(10), shape: [2, 5] } }); return "no error"; } catch (e) { return e.name + ": " + e.message; }
    })()`) as string;
    expect(err).toMatch(/^ShapeError: input x: dimension 1 must be 6, got 5$/);
    await page.close();
  }, 120_000);

  test("a browser without a WebGPU adapter shows a clear message", async () => {
    const plain = await launchChromium(false);
    try {
      const { demo, page } = await openDemo(await compileTo("mlp", "webgpu"), "", plain);
      expect(demo.error).toMatch(/^WebGpuUnavailableError: WebGPU (is enabled but the browser found no adapter|is not available here)/);
      expect(await page.$eval("#status", (e) => e.className)).toBe("error");
    } finally {
      await plain.close();
    }
  }, 60_000);
});
