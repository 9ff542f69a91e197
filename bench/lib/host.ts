/** The host facts every benchmark JSON records (BENCH.md's "host" object). */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";

export interface HostInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly cxx: string | null;
  /** The WebGPU adapter for GPU benchmarks; null for CPU-only runs. */
  readonly adapter: string | null;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux: fall back to what Node reports
  }
  return cpus()[0]?.model ?? "unknown";
}

/** "g++ 12.2.0" from "g++ (Debian 12.2.0-14+deb12u1) 12.2.0": the name and the version, as BENCH.md shows. */
export function cxxVersion(firstLine: string): string {
  const words = firstLine.trim().split(/\s+/);
  return words.length >= 2 ? `${words[0]} ${words[words.length - 1]}` : firstLine.trim();
}

export function hostInfo(adapter: string | null = null): HostInfo {
  let cxx: string | null = null;
  try {
    cxx = cxxVersion(execFileSync("g++", ["--version"], { encoding: "utf8" }).split("\n")[0] ?? "");
  } catch {
    cxx = null;
  }
  return { cpu: cpuModel(), cores: availableParallelism(), node: process.version, cxx, adapter };
}
