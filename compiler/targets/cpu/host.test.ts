/** The cpu target's description: ISAs, their flags, and default register tiles that fit each ISA's register file. */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../graph/builder.ts";
import { extractTasks, taskSpec } from "../../autotune/task.ts";
import { cpuDesc, extensionsFor, nativeIsa, vectorRegisters } from "./host.ts";
import { defaultGemmTiling } from "./schedules/default.ts";
import { taskTemplate } from "./task-template.ts";

describe("cpu description", () => {
  test("ISAs: widths, registers, and the flags that hold -march=native code to a smaller ISA", () => {
    expect(nativeIsa("fpu sse2 avx avx2 fma avx512f avx512bw")).toBe("avx512");
    expect(nativeIsa("fpu sse2 avx avx2 fma bmi2")).toBe("avx2");
    expect(nativeIsa("fpu sse2 sse4_2 avx")).toBe("sse");
    expect(cpuDesc("native", "avx512")).toEqual({ isa: "avx512", vectorBytes: 64, vectorRegisters: 32, flags: [] });
    expect(cpuDesc("avx2", "avx512")).toEqual({ isa: "avx2", vectorBytes: 32, vectorRegisters: 16, flags: ["-mno-avx512f"] });
    expect(cpuDesc("sse", "avx2")).toEqual({ isa: "sse", vectorBytes: 16, vectorRegisters: 16, flags: ["-mno-avx"] });
    expect(() => cpuDesc("avx512", "avx2")).toThrow(/avx512 is not available on this host \(it has avx2\)/);
    expect(() => cpuDesc("neon" as never, "avx2")).toThrow(/unknown cpu ISA "neon"/);
  });

  test("an artifact built for a smaller ISA requires only that ISA's extensions", () => {
    const host = ["avx", "avx2", "avx512bw", "avx512f", "bmi2", "f16c", "fma", "sse4_2"];
    expect(extensionsFor(cpuDesc("native", "avx512"), host)).toEqual(host);
    expect(extensionsFor(cpuDesc("avx2", "avx512"), host)).toEqual(["avx", "avx2", "bmi2", "f16c", "fma", "sse4_2"]);
    expect(extensionsFor(cpuDesc("sse", "avx512"), host)).toEqual(["bmi2", "sse4_2"]);
  });

  // A register block needs its accumulators, its column loads and one broadcast in registers.
  test.each([64, 32, 16])("default GEMM blocks fit the register file (%i-byte vectors)", (vectorBytes) => {
    const regs = vectorRegisters(vectorBytes), lanes = vectorBytes / 4;
    for (const [m, n] of [[1024, 1024], [196, 256], [49, 512], [8, 24], [null, 1000]] as const) {
      const t = defaultGemmTiling(m, n, vectorBytes, "f32");
      const vecs = Math.ceil(t.nr / lanes);
      expect(t.mr * vecs + vecs + 1, `${m}×${n}: ${t.mr}×${t.nr}`).toBeLessThanOrEqual(regs);
    }
    // The widest block that fits: 6×4 vectors with 32 registers, 6×2 with 16.
    expect(defaultGemmTiling(1024, 1024, vectorBytes, "f32").nr).toBe((regs === 32 ? 4 : 2) * lanes);
  });

  test.each([64, 32])("the blocked convolution's tiles and default keep their accumulators within the register file less four (%i-byte vectors)", (vectorBytes) => {
    const lanes = vectorBytes / 4, regs = vectorRegisters(vectorBytes);
    for (const width of [56, 28, 14, 7, 13]) {
      const b = new GraphBuilder();
      const g = b.build([b.op1("conv2d_nchwc", [b.input("x", [1, 4, width, width, lanes]), b.input("w", [4, 4, 3, 3, lanes, lanes])], { pads: [1, 1, 1, 1], block_in: lanes, block_out: lanes })]);
      const tpl = taskTemplate(taskSpec(extractTasks(g)[0]!), vectorBytes)!;
      expect(tpl.kind).toBe("conv");
      const acc = (tile: string) => tile.split("x").map(Number).reduce((p, x) => p * x, 1);
      for (let i = 0; i < tpl.space.size; i++) expect(acc(tpl.space.get(i)["tile"] as string)).toBeLessThanOrEqual(regs - 4);
      const def = acc(tpl.defaultConfig!["tile"] as string);
      // The default uses the room: at least 7 accumulators (ResNet-18's widths all allow it).
      if (width !== 13) expect(def, `width ${width}`).toBeGreaterThanOrEqual(7);
    }
  });
});

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

test("LATHE_CPU_ISA=sse: graphs compile with -mno-avx, vectorize 4 lanes wide, and agree with the interpreter", () => {
  const out = execFileSync(process.execPath, ["--import", TSX, fileURLToPath(new URL("./isa.fixture.ts", import.meta.url))], {
    cwd: ROOT, env: { ...process.env, LATHE_CPU_ISA: "sse" }, encoding: "utf8",
  });
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as { flags: string[]; vectorBytes: number; maxErr: number; source: string };
  expect(r.flags).toContain("-mno-avx");
  expect(r.vectorBytes).toBe(16);
  expect(r.source).toMatch(/lathe_f32x4/);
  expect(r.source).not.toMatch(/lathe_f32x(8|16)\b/);
  expect(r.maxErr).toBeLessThan(1e-4);
}, 120_000);
