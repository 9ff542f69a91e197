/** The host facts every benchmark JSON records (BENCH.md's "host" object). */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { extensionsFor, hostCpuDesc } from "../../compiler/targets/cpu/host.ts";
import { hostIsa } from "../../runtime/host.ts";

export interface HostInfo {
  readonly cpu: string;
  /** /proc/cpuinfo's "cpu family" and "model" (null where there is none). */
  readonly family: number | null;
  readonly model: number | null;
  /** The vector ISA Lathe generated code for (LATHE_CPU_ISA or the host's), then the extensions it may use. */
  readonly isa: readonly string[];
  readonly cores: number;
  /** Measured by bench/lib/peak.ts when the run is written (null until then, or when it could not be measured). */
  readonly peak_gflops_per_core: number | null;
  readonly triad_gbs: number | null;
  readonly node: string;
  readonly cxx: string | null;
  /** The WebGPU adapter for GPU benchmarks; null for CPU-only runs. */
  readonly adapter: string | null;
  /** The commit the run measured, and whether the working tree differed from it. */
  readonly commit: string | null;
  readonly dirty: boolean | null;
  /** Whether `--quick` ran (written as <name>.quick.json). */
  readonly quick: boolean;
  /** The baselines' versions (Debian packages, onnxruntime-node), null where not installed. */
  readonly versions: Readonly<Record<string, string | null>>;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function cpuField(name: string): string | null {
  try {
    const m = new RegExp(`^${name}\\s*:\\s*(.+)$`, "m").exec(readFileSync("/proc/cpuinfo", "utf8"));
    return m ? m[1]!.trim() : null;
  } catch {
    return null; // not Linux
  }
}

const intOrNull = (s: string | null): number | null => (s !== null && /^\d+$/.test(s) ? Number(s) : null);

/** "g++ 12.2.0" from "g++ (Debian 12.2.0-14+deb12u1) 12.2.0": the name and the version, as BENCH.md shows. */
export function cxxVersion(firstLine: string): string {
  const words = firstLine.trim().split(/\s+/);
  return words.length >= 2 ? `${words[0]} ${words[words.length - 1]}` : firstLine.trim();
}

const run = (cmd: string, args: readonly string[]): string | null => {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
};

const debVersion = (pkg: string): string | null => run("dpkg-query", ["-W", "-f=${Version}", pkg]) || null;

function npmVersion(pkg: string): string | null {
  try {
    const file = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return null;
  }
}

/** The baselines' versions, for the host record. */
export function baselineVersions(): Record<string, string | null> {
  return {
    openblas: debVersion("libopenblas0"),
    onednn: debVersion("libdnnl2"),
    onnxruntime: npmVersion("onnxruntime-node"),
    torch: debVersion("python3-torch"),
  };
}

export function hostInfo(adapter: string | null = null): HostInfo {
  const firstLine = run("g++", ["--version"])?.split("\n")[0];
  const desc = hostCpuDesc();
  const status = run("git", ["status", "--porcelain", "--untracked-files=no"]);
  return {
    cpu: cpuField("model name") ?? cpus()[0]?.model ?? "unknown",
    family: intOrNull(cpuField("cpu family")),
    model: intOrNull(cpuField("model")),
    isa: [desc.isa, ...extensionsFor(desc, hostIsa())],
    cores: availableParallelism(),
    peak_gflops_per_core: null,
    triad_gbs: null,
    node: process.version,
    cxx: firstLine ? cxxVersion(firstLine) : null,
    adapter,
    commit: run("git", ["rev-parse", "--short", "HEAD"]),
    dirty: status === null ? null : status !== "",
    quick: false,
    versions: baselineVersions(),
  };
}
