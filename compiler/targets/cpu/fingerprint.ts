/**
 * The cpu target's compiler fingerprint: a short hash of everything that decides what a
 * schedule config compiles to and how fast the result runs here, stamped on every tuning
 * record (autotune/log.ts `TuneRecord.fingerprint`). A record measured by another version
 * of the code generator, another g++ or on a host with another ISA carries another
 * fingerprint, and is reported instead of trusted (schedules/templates.ts `loadTunedConfigs`,
 * autotune/tuner.ts resume).
 *
 * Inputs, in this order:
 * - the ISA description (host.ts `CpuDesc`: isa, vector bytes, vector registers, the flags
 *   that keep code within the ISA), the vector width schedules are derived from
 *   (`hostVectorBytes`, which LATHE_VECTOR_BYTES overrides) and the whole g++ command line's
 *   flags (toolchain.ts `BASE_FLAGS` plus the ISA's);
 * - the host's instruction-set extensions that code built for the ISA may use (host.ts
 *   `extensionsFor` of runtime/host.ts `hostIsa`): -march=native code differs between two
 *   AVX-512 hosts with different extensions;
 * - the first line of `g++ --version` (LATHE_CXX);
 * - the contents of the sources that lower, schedule and print a config's kernel: the cpu
 *   target's schedules folder, lower-group.ts, index.ts and measure-worker.ts (how a record
 *   is timed), compiler/codegen/cpp,
 *   compiler/tir/passes (tests and fixtures skipped) and the runtime header the kernels
 *   include (native/include/lathe_rt.h).
 *
 * The fingerprint reads "<isa>-<16 hex digits>", e.g. "avx2-3f09c1d2a4b5e6f7", so that a
 * report or a cache folder named by it says which ISA it was for.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hostIsa } from "../../../runtime/host.ts";
import { extensionsFor, hostCpuDesc, hostVectorBytes, type CpuDesc } from "./host.ts";
import { BASE_FLAGS, CXX, hasLibmvec } from "./toolchain.ts";

/** What a fingerprint is computed from (cpuFingerprint); `hostFingerprintInputs` gives this process's. */
export interface FingerprintInputs {
  readonly desc: CpuDesc;
  /** The vector width schedules use, bytes (hostVectorBytes: desc.vectorBytes unless LATHE_VECTOR_BYTES). */
  readonly vectorBytes: number;
  /** The host's ISA extensions (runtime/host.ts hostIsa); only those code for `desc` may use count. */
  readonly extensions: readonly string[];
  /** The C++ compiler's version line. */
  readonly compiler: string;
  /** A hash of the codegen sources (sourcesHash). */
  readonly sources: string;
}

/** The folders (every non-test .ts file) and files whose contents decide what a config compiles to. */
const SOURCE_DIRS = ["./schedules/", "../../codegen/cpp/", "../../tir/passes/"] as const;
// measure-worker.ts: how a record was timed (one call per sample, or repeated to min_repeat_ms) is part of what its cost means.
const SOURCE_FILES = ["./lower-group.ts", "./index.ts", "./measure-worker.ts", "../../../native/include/lathe_rt.h"] as const;

/** The files hashed into the fingerprint, as paths relative to this module, in a fixed order. */
export function fingerprintSources(): string[] {
  const out: string[] = [];
  for (const dir of SOURCE_DIRS) {
    const abs = fileURLToPath(new URL(dir, import.meta.url));
    const names = existsSync(abs) ? readdirSync(abs) : [];
    out.push(...names.filter((n) => n.endsWith(".ts") && !n.endsWith(".test.ts") && !n.endsWith(".fixture.ts") && n !== "testing.ts").sort().map((n) => dir + n));
  }
  return [...out, ...SOURCE_FILES];
}

let sourcesCache: string | null = null;
/** A hash of the codegen sources' contents (read once per process; a missing file hashes as missing). */
export function sourcesHash(): string {
  if (sourcesCache !== null) return sourcesCache;
  const h = createHash("sha256");
  for (const rel of fingerprintSources()) {
    const abs = fileURLToPath(new URL(rel, import.meta.url));
    h.update(rel).update("\0");
    h.update(existsSync(abs) ? readFileSync(abs) : "<missing>").update("\0");
  }
  sourcesCache = h.digest("hex");
  return sourcesCache;
}

let compilerCache: string | null = null;
/** The first line of `$LATHE_CXX --version` (g++), read once per process; "no C++ compiler" when it does not run. */
export function compilerVersion(): string {
  if (compilerCache !== null) return compilerCache;
  try {
    compilerCache = execFileSync(CXX, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 30_000 }).split("\n")[0]?.trim() ?? "";
  } catch {
    // Nothing can be compiled then; a fingerprint is still well defined (and matches no real build).
    compilerCache = `no C++ compiler (${CXX})`;
  }
  return compilerCache;
}

/** The fingerprint of `inputs`: "<isa>-<16 hex digits>". */
export function cpuFingerprint(inputs: FingerprintInputs): string {
  const { desc } = inputs;
  const parts = [
    `isa=${desc.isa}`,
    `vectorBytes=${desc.vectorBytes}`,
    `vectorRegisters=${desc.vectorRegisters}`,
    `isaFlags=${desc.flags.join(" ")}`,
    `scheduleVectorBytes=${inputs.vectorBytes}`,
    `flags=${[...BASE_FLAGS, ...desc.flags, ...(hasLibmvec() ? ["-DLATHE_MVEC"] : [])].join(" ")}`,
    `extensions=${extensionsFor(desc, inputs.extensions).sort().join(" ")}`,
    `compiler=${inputs.compiler}`,
    `sources=${inputs.sources}`,
  ];
  const hex = createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 16);
  return `${desc.isa}-${hex}`;
}

/** This process's fingerprint inputs (the ISA LATHE_CPU_ISA / --isa chose, read now). */
export function hostFingerprintInputs(): FingerprintInputs {
  return { desc: hostCpuDesc(), vectorBytes: hostVectorBytes(), extensions: hostIsa(), compiler: compilerVersion(), sources: sourcesHash() };
}

/** The fingerprint of what this process compiles: records it writes carry it, records it trusts match it. */
export function hostFingerprint(): string {
  return cpuFingerprint(hostFingerprintInputs());
}
