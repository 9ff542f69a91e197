/**
 * Lathe's webgpu artifacts against onnxruntime-web's WebGPU execution provider, in one
 * headless Chromium page on the same adapter (SwiftShader here: chromium.ts's flags), on
 * the same ONNX models exported from PyTorch (export.py): an MLP, a small CNN, MobileNet-v2
 * and ResNet-18 (--quick: MLP and CNN). Each side runs from host arrays to host arrays
 * (upload, dispatches, readback), after a warm-up; figures are the median milliseconds per
 * run of alternating blocks (order reversed every block), with the fastest and slowest
 * block. The two sides' outputs must agree (1e-3 relative) or the run fails.
 *
 * On SwiftShader absolute times say nothing about GPUs, and MobileNet-v2/ResNet-18 take
 * 64×64 inputs instead of 224×224 (a ResNet-18 run at 224 takes tens of seconds there);
 * the ratio still compares the two compilers' kernels on one device.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LatheError } from "../../core/errors.ts";
import { compile } from "../../compiler/driver/compile.ts";
import { importOnnx } from "../../compiler/frontend/onnx/index.ts";
import { runGraphPasses, standardGraphPasses } from "../../compiler/graph/passes/index.ts";
import { writeWebGpuArtifact } from "../../compiler/targets/webgpu/artifact.ts";
import { buildWebBundle } from "../../runtime/web/bundle.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, hostInfo } from "../lib/report.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { CHROMIUM, hasChromium, launchChromium } from "./chromium.ts";
import { serveStatic } from "./server.ts";

const PY = "/usr/bin/python3";
const EXPORT = fileURLToPath(new URL("./export.py", import.meta.url));
/** Input side of MobileNet-v2 and ResNet-18 on SwiftShader (224 on a GPU would be the usual). */
const ZOO_RES = 64;
const BARS: Readonly<Record<string, number>> = { mlp: 1.0, cnn: 1.0, mobilenet_v2: 0.7, resnet18: 0.7 };

interface PageResult {
  readonly lathe: number[];
  readonly ort: number[];
  readonly maxRel: number;
  readonly ortWebGpu: boolean;
  /** Lathe's output in the page (checked against the cpu target in Node). */
  readonly output: number[];
}

/** Runs in the page: both sides on one model, `blocks` alternating blocks of `perBlock` runs. */
const PAGE_BENCH = `async ({ model, shape, blocks, perBlock }) => {
  const { loadWebGpuModule } = await import("/lathe-web.js");
  const ort = await import("/ort/ort.webgpu.min.mjs");
  ort.env.wasm.wasmPaths = "/ort/";
  ort.env.wasm.numThreads = 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(0.7 * i) / 2);
  const lm = await loadWebGpuModule("/models/" + model + "/");
  const session = await ort.InferenceSession.create("/onnx/" + model + ".onnx", { executionProviders: ["webgpu"], graphOptimizationLevel: "all" });
  const ortWebGpu = ort.env.webgpu.device !== undefined && ort.env.webgpu.device !== null;
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", data, shape) };
  const lathe = async () => Object.values(await lm.run([{ data, shape }]))[0].data;
  const base = async () => (await session.run(feeds))[session.outputNames[0]].data;
  const ly = await lathe(), oy = await base();
  let maxRel = 0;
  for (let i = 0; i < oy.length; i++) maxRel = Math.max(maxRel, Math.abs(ly[i] - oy[i]) / (1 + Math.abs(oy[i])));
  if (ly.length !== oy.length) maxRel = Infinity;
  const times = { lathe: [], ort: [] };
  for (let b = 0; b < blocks; b++) {
    const order = b % 2 === 0 ? [["lathe", lathe], ["ort", base]] : [["ort", base], ["lathe", lathe]];
    for (const [side, f] of order) {
      const t0 = performance.now();
      for (let r = 0; r < perBlock; r++) await f();
      times[side].push((performance.now() - t0) / perBlock);
    }
  }
  lm.destroy();
  await session.release();
  return { lathe: times.lathe, ort: times.ort, maxRel, ortWebGpu, output: Array.from(ly) };
}`;

const median = (xs: readonly number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const ms = (x: number): number => Number(x.toFixed(3));

function ortWebDist(): { dir: string; version: string } {
  const req = createRequire(import.meta.url);
  let main: string;
  // Its package.json is not among its exports: find the package from its main module.
  try { main = req.resolve("onnxruntime-web"); } catch { throw new LatheError("onnxruntime-web is not installed (npm install)"); }
  let root = path.dirname(main);
  while (!existsSync(path.join(root, "package.json")) && path.dirname(root) !== root) root = path.dirname(root);
  return { dir: path.join(root, "dist"), version: (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }).version };
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  if (!hasChromium) throw new LatheError(`bench webgpu-web needs Chromium at ${CHROMIUM} (apt-get install chromium)`);
  try { execFileSync(PY, ["-c", "import torch, torchvision, onnx"], { stdio: "ignore" }); } catch {
    throw new LatheError(`bench webgpu-web exports its models with PyTorch: ${PY} needs torch, torchvision and onnx (apt-get install python3-torch python3-torchvision python3-onnx)`);
  }
  const ortWeb = ortWebDist();
  const chromiumVersion = execFileSync(CHROMIUM, ["--version"], { encoding: "utf8" }).trim().split("\n")[0]!;
  const adapter = `${chromiumVersion}, WebGPU on SwiftShader (Vulkan)`;
  const report = new BenchReport("webgpu-web", { ...hostInfo(adapter), versions: { ...hostInfo(adapter).versions, "onnxruntime-web": ortWeb.version } });
  const models: readonly [string, number[]][] = opts.quick
    ? [["mlp", [1, 784]], ["cnn", [1, 3, 32, 32]]]
    : [["mlp", [1, 784]], ["cnn", [1, 3, 32, 32]], ["mobilenet_v2", [1, 3, ZOO_RES, ZOO_RES]], ["resnet18", [1, 3, ZOO_RES, ZOO_RES]]];
  const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-bench-web-"));
  // The same graphs on the cpu target: the page's outputs must match them (the bar).
  const cpuModules: Record<string, Awaited<ReturnType<typeof compile>>> = {};
  const browser = await launchChromium(true, 3_600_000);
  try {
    execFileSync(PY, [EXPORT, tmp, String(ZOO_RES), ...models.map(([m]) => m)], { stdio: ["ignore", "ignore", "inherit"] });
    const dirs: Record<string, string> = { "/ort/": ortWeb.dir, "/onnx/": tmp };
    for (const [m] of models) {
      const file = path.join(tmp, `${m}.onnx`);
      if (!existsSync(file)) throw new LatheError(`${EXPORT} did not write ${file}`);
      const onnx = importOnnx(readFileSync(file), {}, file);
      const graph = runGraphPasses(onnx.graph, standardGraphPasses, {});
      const out = path.join(tmp, m);
      writeWebGpuArtifact(await compile(graph, "webgpu"), out, { names: { inputs: onnx.inputs.map((v) => v.name), outputs: onnx.outputs.map((v) => v.name) } });
      dirs[`/models/${m}/`] = out;
      cpuModules[m] = await compile(graph, "cpu");
    }
    const server = await serveStatic(await buildWebBundle({ minify: true }), dirs);
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      for (const [m, shape] of models) {
        const heavy = m === "mobilenet_v2" || m === "resnet18";
        const blocks = opts.quick ? 5 : heavy ? 5 : 7, perBlock = opts.quick || heavy ? 1 : 5;
        const r = await page.evaluate(`(${PAGE_BENCH})(${JSON.stringify({ model: m, shape, blocks, perBlock })})`) as PageResult;
        if (!r.ortWebGpu) report.problem(`${m}: onnxruntime-web did not open a WebGPU device (it would have measured another execution provider)`);
        if (!(r.maxRel <= 1e-3)) report.problem(`${m}: Lathe's and onnxruntime-web's outputs differ (max rel ${r.maxRel.toExponential(2)})`);
        const n = shape.reduce((a, b) => a * b, 1);
        const x = Tensor.fromArray(Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(0.7 * i) / 2)), shape);
        const want = (await cpuModules[m]!.run([x]))[0]!.toArray();
        let cpuRel = want.length === r.output.length ? 0 : Infinity;
        for (let i = 0; i < want.length && cpuRel !== Infinity; i++) cpuRel = Math.max(cpuRel, Math.abs(r.output[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
        if (!(cpuRel <= 1e-3)) report.problem(`${m}: the page's output differs from the cpu target's (max rel ${cpuRel.toExponential(2)})`);
        report.note(`${m}: the page's output against the cpu target in Node, max |Δ|/(1+|cpu|) = ${cpuRel.toExponential(2)}; against onnxruntime-web ${r.maxRel.toExponential(2)}`);
        const caseName = `${m} ${shape.join("x")}`;
        report.row({
          case: caseName, threads: 1, metric: "latency ms", better: "lower",
          lathe: ms(median(r.lathe)), latheSpread: { min: ms(Math.min(...r.lathe)), max: ms(Math.max(...r.lathe)) },
          baseline: "onnxruntime-web webgpu", baselineValue: ms(median(r.ort)), baselineSpread: { min: ms(Math.min(...r.ort)), max: ms(Math.max(...r.ort)) },
          scales: false,
        });
        const ratio = median(r.ort) / median(r.lathe), bar = BARS[m]!;
        report.note(`bar (${m} ≥ ${bar}× onnxruntime-web's WebGPU speed): ${ratio.toFixed(2)} — ${ratio >= bar ? "met" : "NOT met"}`);
      }
      await page.close();
    } finally {
      await server.close();
    }
  } finally {
    await browser.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  report.note(`both sides in one page of ${adapter}, host arrays in and out (upload, dispatches, readback) after one warm-up run; onnxruntime-web ${ortWeb.version} with executionProviders ["webgpu"], wasm 1 thread; threads column: not applicable (1)`);
  report.note(`SwiftShader is a CPU emulator of a GPU: absolute times say nothing about GPUs; MobileNet-v2 and ResNet-18 at ${ZOO_RES}×${ZOO_RES} to keep runs short. No real GPU was available for a second set of rows`);
  return report;
}
