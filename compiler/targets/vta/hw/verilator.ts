/** The generated Verilog under Verilator: `verilator --cc --exe --build` with the C++ DRAM harness. */
import path from "node:path";
import { generateVerilog } from "./verilog.ts";
import { hwConfig } from "./config.ts";
import { portsHeader } from "./harness.ts";
import { type CachedBuild, cachedBuild, readNative, run, toolFailure, toolVersion } from "./build.ts";
import type { VtaParams } from "../params.ts";

export const VERILATOR_FLAGS = [
  "--cc", "--exe", "--build", "-j", "2", "--top-module", "vta_top",
  "-Wno-fatal", "-Wno-WIDTH", "-Wno-UNUSED", "-Wno-DECLFILENAME",
  // Uninitialised state starts random (the harness calls randReset(2)), not zero.
  "--x-assign", "unique", "--x-initial", "unique",
  "-CFLAGS", "-O1",
] as const;

export async function buildVerilator(p: VtaParams): Promise<{ exe: string; cached: boolean }> {
  const version = await toolVersion("verilator");
  if (!version) throw new Error("verilator is not installed");
  const files = {
    "vta.v": generateVerilog(p),
    "vta_ports.h": portsHeader(hwConfig(p)),
    "harness.cpp": readNative("verilator_harness.cpp"),
  };
  const b: CachedBuild = await cachedBuild("verilator", files, [version, ...VERILATOR_FLAGS], async (dir) => {
    try {
      await run("verilator", [...VERILATOR_FLAGS, "--Mdir", "obj", "vta.v", "harness.cpp", "-CFLAGS", `-I${dir}`, "-o", "../Vvta_top"],
        { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      throw toolFailure("verilator", err, `building ${dir}`);
    }
  });
  return { exe: path.join(b.dir, "Vvta_top"), cached: b.cached };
}
