/** The cpu target's compiler fingerprint: stable for the same inputs, different when any of them changes. */
import { afterEach, describe, expect, test } from "vitest";
import { cpuDesc, nativeIsa, hostCpuDesc } from "./host.ts";
import { cpuFingerprint, fingerprintSources, hostFingerprint, hostFingerprintInputs, sourcesHash, type FingerprintInputs } from "./fingerprint.ts";
import { cpuTuning } from "./task-template.ts";

const HOST = ["avx", "avx2", "avx512bw", "avx512f", "bmi2", "f16c", "fma", "sse4_2"];
const base = (over: Partial<FingerprintInputs> = {}): FingerprintInputs => {
  const desc = over.desc ?? cpuDesc("native", "avx512");
  return { desc, vectorBytes: desc.vectorBytes, extensions: HOST, compiler: "g++ (Ubuntu 13.2.0-23ubuntu4) 13.2.0", sources: "s0", ...over };
};

const savedIsa = process.env.LATHE_CPU_ISA;
afterEach(() => {
  if (savedIsa === undefined) delete process.env.LATHE_CPU_ISA;
  else process.env.LATHE_CPU_ISA = savedIsa;
});

describe("cpu compiler fingerprint", () => {
  test("stable for the same inputs; reads <isa>-<16 hex>", () => {
    const a = cpuFingerprint(base());
    expect(a).toMatch(/^avx512-[0-9a-f]{16}$/);
    expect(cpuFingerprint(base())).toBe(a);
    // Extension order does not matter (a set).
    expect(cpuFingerprint(base({ extensions: [...HOST].reverse() }))).toBe(a);
    expect(hostFingerprint()).toBe(hostFingerprint());
    expect(hostFingerprint()).toBe(cpuFingerprint(hostFingerprintInputs()));
    expect(cpuTuning.fingerprint?.()).toBe(hostFingerprint());
  });

  test("changes with the ISA description, the compiler, the host's extensions and the sources", () => {
    const a = cpuFingerprint(base());
    const avx2OnAvx512 = cpuFingerprint(base({ desc: cpuDesc("avx2", "avx512") }));
    const avx2Native = cpuFingerprint(base({ desc: cpuDesc("avx2", "avx2") }));
    expect(avx2OnAvx512).toMatch(/^avx2-/);
    const all = [
      a, avx2OnAvx512, avx2Native,
      cpuFingerprint(base({ desc: cpuDesc("sse", "avx512") })),
      cpuFingerprint(base({ desc: { ...cpuDesc("native", "avx512"), vectorRegisters: 16 } })),
      cpuFingerprint(base({ vectorBytes: 32 })), // LATHE_VECTOR_BYTES
      cpuFingerprint(base({ compiler: "g++ (GCC) 14.1.0" })),
      cpuFingerprint(base({ extensions: [...HOST, "avx512_fp16"] })),
      cpuFingerprint(base({ sources: "s1" })),
    ];
    expect(new Set(all).size).toBe(all.length);
    // Extensions that code for the ISA may not use do not matter: AVX2 code is the same on an
    // AVX-512 host with or without avx512_fp16.
    const avx2 = cpuDesc("avx2", "avx512");
    expect(cpuFingerprint(base({ desc: avx2, vectorBytes: 32, extensions: [...HOST, "avx512_fp16"] })))
      .toBe(cpuFingerprint(base({ desc: avx2, vectorBytes: 32 })));
  });

  test("--isa (LATHE_CPU_ISA) changes this process's fingerprint", () => {
    delete process.env.LATHE_CPU_ISA;
    const native = hostFingerprint();
    expect(native.startsWith(`${hostCpuDesc().isa}-`)).toBe(true);
    if (nativeIsa() === "sse") return; // nothing smaller to choose
    process.env.LATHE_CPU_ISA = "sse";
    expect(hostFingerprint()).toMatch(/^sse-/);
    expect(hostFingerprint()).not.toBe(native);
  });

  test("hashes the codegen sources, not their tests", () => {
    const files = fingerprintSources();
    for (const f of ["./schedules/templates.ts", "./schedules/gemm.ts", "./lower-group.ts", "./index.ts", "./measure-worker.ts", "../../codegen/cpp/print.ts", "../../tir/passes/vectorize.ts"]) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.endsWith(".test.ts"))).toBe(false);
    expect(sourcesHash()).toMatch(/^[0-9a-f]{64}$/);
    expect(sourcesHash()).toBe(sourcesHash());
  });
});
