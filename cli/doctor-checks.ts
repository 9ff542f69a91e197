/**
 * What `lathe doctor` checks: one table row per dependency, each with its probe
 * and the exact fix. Add a dependency by adding a row.
 */
import { existsSync } from "node:fs";
import { NATIVE_ADDON_PATH, loadNative } from "../runtime/native.ts";
import { compileAndRun, findFiles, firstExisting, missing, ok, pythonModule, toolVersion, type ProbeResult } from "./probes.ts";

export interface Check {
  readonly name: string;
  /** Needed to build and test Lathe; the others enable optional targets, baselines and data. */
  readonly required: boolean;
  readonly probe: () => Promise<ProbeResult>;
  /** The command that installs or builds what is missing. */
  readonly fix: string;
}

export const MIN_NODE = [20, 17] as const;
export const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";
const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"];

const apt = (...pkgs: string[]): string => `apt-get install -y ${pkgs.join(" ")}`;

async function nodeVersion(): Promise<ProbeResult> {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const good = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return good ? ok(`v${process.versions.node}`) : missing(`v${process.versions.node} is older than ${MIN_NODE.join(".")}`);
}

async function nativeAddon(): Promise<ProbeResult> {
  if (!existsSync(NATIVE_ADDON_PATH)) return missing(`${NATIVE_ADDON_PATH} not built`);
  try {
    loadNative();
    return ok(NATIVE_ADDON_PATH);
  } catch (e) {
    return missing((e as Error).message);
  }
}

async function vulkanSwiftShader(): Promise<ProbeResult> {
  const loader = firstExisting(LIB_DIRS.map((d) => `${d}/libvulkan.so.1`));
  if (!loader) return missing("Vulkan loader libvulkan.so.1 not found");
  if (!existsSync(SWIFTSHADER_ICD)) return missing(`SwiftShader ICD ${SWIFTSHADER_ICD} not found`);
  return ok(`${loader}, ${SWIFTSHADER_ICD}`);
}

async function fashionMnist(): Promise<ProbeResult> {
  const files = findFiles("/usr/share", /-idx[13]-ubyte(\.gz)?$/, 3).filter((f) => f.includes("fashion"));
  return files.length >= 4 ? ok(`${files.length} IDX files in ${files[0]!.replace(/\/[^/]+$/, "")}`) : missing("Fashion-MNIST IDX files not found under /usr/share");
}

async function onnxTestdata(): Promise<ProbeResult> {
  const dir = "/usr/share/libonnx-testdata/data/node";
  return existsSync(dir) ? ok(dir) : missing(`${dir} not found`);
}

/** BullMQ (the job queue of lathe worker) runs on Redis 5 and recommends 6.2 or newer. */
export const MIN_REDIS = [6, 2] as const;

/** The verdict on `redis-server --version`'s line ("Redis server v=7.0.15 sha=…"). */
export function redisVersionVerdict(line: string): ProbeResult {
  const m = /v=(\d+)\.(\d+)\.(\d+)/.exec(line);
  if (!m) return missing(`cannot read a version from "${line}"`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const good = major > MIN_REDIS[0] || (major === MIN_REDIS[0] && minor >= MIN_REDIS[1]);
  const v = `${m[1]}.${m[2]}.${m[3]}`;
  return good ? ok(`Redis ${v}`) : missing(`Redis ${v} is older than ${MIN_REDIS.join(".")} (BullMQ's recommended minimum)`);
}

async function redisServer(): Promise<ProbeResult> {
  const r = await toolVersion("redis-server", ["--version"]);
  return r.ok ? redisVersionVerdict(r.detail) : r;
}

const OPENMP = `#include <omp.h>
#include <cstdio>
int main() { int n = 0;
#pragma omp parallel reduction(+ : n)
  n += 1;
  std::printf("OpenMP %d, %d threads\\n", _OPENMP, n); return n >= 1 ? 0 : 1; }`;

const OPENBLAS = `#include <cblas.h>
#include <cstdio>
int main() { float x[2] = {1, 2}; if (cblas_sdot(2, x, 1, x, 1) != 5) return 1;
  std::printf("%s\\n", openblas_get_config()); }`;

const XGBOOST = `#include <xgboost/c_api.h>
#include <cstdio>
int main() { int a, b, c; XGBoostVersion(&a, &b, &c); std::printf("XGBoost %d.%d.%d\\n", a, b, c); }`;

const DNNL = `#include <dnnl.h>
#include <cstdio>
int main() { const dnnl_version_t* v = dnnl_version(); std::printf("oneDNN %d.%d.%d\\n", v->major, v->minor, v->patch); }`;

const ASAN = `#include <cstdio>
int main() { int* p = new int[4]; p[3] = 7; int r = p[3] - 7; delete[] p; std::printf("AddressSanitizer works\\n"); return r; }`;

export const CHECKS: readonly Check[] = [
  { name: "node", required: true, probe: nodeVersion, fix: `install Node.js >= ${MIN_NODE.join(".")}` },
  { name: "g++", required: true, probe: () => toolVersion("g++", ["--version"]), fix: apt("g++") },
  { name: "cmake", required: true, probe: () => toolVersion("cmake", ["--version"]), fix: apt("cmake") },
  { name: "openmp", required: true, probe: () => compileAndRun(OPENMP, ["-fopenmp"]), fix: apt("g++") },
  { name: "native addon", required: true, probe: nativeAddon, fix: "npm run build:native" },
  { name: "libopenblas-dev", required: true, probe: () => compileAndRun(OPENBLAS, ["-lopenblas"]), fix: apt("libopenblas-dev") },
  { name: "libxgboost-dev", required: true, probe: () => compileAndRun(XGBOOST, ["-lxgboost"]), fix: apt("libxgboost-dev") },
  { name: "asan", required: true, probe: () => compileAndRun(ASAN, ["-fsanitize=address"]), fix: apt("g++") },
  { name: "vulkan+swiftshader", required: true, probe: vulkanSwiftShader, fix: apt("chromium", "libvulkan1") },
  { name: "verilator", required: true, probe: () => toolVersion("verilator", ["--version"]), fix: apt("verilator") },
  { name: "iverilog", required: true, probe: () => toolVersion("iverilog", ["-V"]), fix: apt("iverilog") },
  // The VTA FPGA flows (lathe vta synth): synthesis, iCE40 place and route, bitstream packing.
  { name: "yosys", required: true, probe: () => toolVersion("yosys", ["-V"]), fix: apt("yosys") },
  { name: "nextpnr-ice40", required: true, probe: () => toolVersion("nextpnr-ice40", ["--version"]), fix: apt("nextpnr-ice40") },
  { name: "icestorm", required: true, probe: async () => { const r = await toolVersion("icepack", ["-h"], [0, 1]); return r.ok ? ok("icepack (fpga-icestorm)") : r; }, fix: apt("fpga-icestorm") },
  { name: "redis-server", required: true, probe: redisServer, fix: apt("redis-server") },
  { name: "python3-torch", required: false, probe: () => pythonModule("torch"), fix: apt("python3-torch") },
  { name: "python3-torchvision", required: false, probe: () => pythonModule("torchvision"), fix: apt("python3-torchvision") },
  { name: "python3-onnx", required: false, probe: () => pythonModule("onnx"), fix: apt("python3-onnx") },
  { name: "libonnx-testdata", required: true, probe: onnxTestdata, fix: apt("libonnx-testdata") },
  { name: "dataset-fashion-mnist", required: true, probe: fashionMnist, fix: apt("dataset-fashion-mnist") },
  { name: "libdnnl-dev", required: false, probe: () => compileAndRun(DNNL, ["-ldnnl"]), fix: apt("libdnnl-dev") },
];

export interface CheckOutcome extends ProbeResult {
  readonly check: Check;
}

/** Runs every probe (concurrently) and returns outcomes in table order. */
export async function runChecks(checks: readonly Check[] = CHECKS): Promise<CheckOutcome[]> {
  return Promise.all(
    checks.map(async (check) => {
      try {
        return { check, ...(await check.probe()) };
      } catch (e) {
        return { check, ok: false, detail: `probe crashed: ${(e as Error).message}` };
      }
    }),
  );
}
