/**
 * The cpu target's description, as TVM's target strings describe x86: which vector ISA the
 * generated code may use, and the sizes that schedules are derived from (vector width,
 * number of vector registers). Read from the host by default; LATHE_CPU_ISA chooses a
 * smaller ISA than the host has (an AVX-512 host compiles, runs and measures AVX2 code).
 */
import { LatheError } from "../../../core/errors.ts";
import { hostCpu } from "../../../runtime/host.ts";

export const CPU_ISAS = ["avx512", "avx2", "sse"] as const;
export type CpuIsa = (typeof CPU_ISAS)[number];

export interface CpuDesc {
  readonly isa: CpuIsa;
  /** The widest SIMD register, bytes. */
  readonly vectorBytes: number;
  /** Architectural vector registers: 32 with AVX-512, 16 with AVX2 or SSE on x86-64. */
  readonly vectorRegisters: number;
  /** g++ flags, after -march=native, that keep the code within `isa` on a host with more. */
  readonly flags: readonly string[];
}

const VECTOR_BYTES: Readonly<Record<CpuIsa, number>> = { avx512: 64, avx2: 32, sse: 16 };

/** Vector registers of the ISA whose widest vector has `vectorBytes` bytes. */
export const vectorRegisters = (vectorBytes: number): number => (vectorBytes >= 64 ? 32 : 16);

/** The best ISA the host's CPU flags allow. */
export function nativeIsa(cpuFlags: string = hostCpu().split("|")[1] ?? ""): CpuIsa {
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(cpuFlags);
  return has("avx512f") ? "avx512" : has("avx2") && has("fma") ? "avx2" : "sse";
}

/** The description for `isa` on a host whose best is `native` (an ISA above it is an error). */
export function cpuDesc(isa: CpuIsa | "native", native: CpuIsa = nativeIsa()): CpuDesc {
  const chosen = isa === "native" ? native : isa;
  if (!(CPU_ISAS as readonly string[]).includes(chosen)) throw new LatheError(`unknown cpu ISA "${String(isa)}" (known: native, ${CPU_ISAS.join(", ")})`);
  if (CPU_ISAS.indexOf(chosen) < CPU_ISAS.indexOf(native)) {
    throw new LatheError(`cpu ISA ${chosen} is not available on this host (it has ${native}); code for it would not run here`);
  }
  // -march=native enables all the host has; these switch off what lies above the chosen ISA.
  const flags = chosen === native ? [] : chosen === "avx2" ? ["-mno-avx512f"] : ["-mno-avx"];
  const vectorBytes = VECTOR_BYTES[chosen];
  return { isa: chosen, vectorBytes, vectorRegisters: vectorRegisters(vectorBytes), flags };
}

/** The cpu target's description for this process: LATHE_CPU_ISA (native, avx512, avx2, sse), default native. */
export function hostCpuDesc(): CpuDesc {
  const env = process.env.LATHE_CPU_ISA;
  if (env !== undefined && env !== "" && env !== "native" && !(CPU_ISAS as readonly string[]).includes(env)) {
    throw new LatheError(`LATHE_CPU_ISA=${env} is not an ISA (known: native, ${CPU_ISAS.join(", ")})`);
  }
  return cpuDesc((env || "native") as CpuIsa | "native");
}

/** The SIMD width the cpu target vectorizes for, in bytes (LATHE_VECTOR_BYTES overrides it). */
export function hostVectorBytes(): number {
  const override = Number(process.env.LATHE_VECTOR_BYTES);
  if (Number.isInteger(override) && override > 0) return override;
  return hostCpuDesc().vectorBytes;
}

/**
 * The host's instruction-set extensions (runtime/host.ts `hostIsa`) that code built for
 * `desc` may use: what an artifact compiled here requires of the machine that loads it.
 */
export function extensionsFor(desc: CpuDesc, host: readonly string[]): string[] {
  const above = desc.isa === "avx2" ? /^(avx512|amx)/ : desc.isa === "sse" ? /^(avx|fma|f16c|amx)/ : null;
  return above ? host.filter((f) => !above.test(f)) : [...host];
}
