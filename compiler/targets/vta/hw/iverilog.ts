/** The generated Verilog under Icarus (`iverilog -g2012`) with the hex-image testbench. */
import path from "node:path";
import { generateVerilog } from "./verilog.ts";
import { hwConfig } from "./config.ts";
import { testbench } from "./harness.ts";
import { cachedBuild, run, toolFailure, toolVersion } from "./build.ts";
import type { VtaParams } from "../params.ts";

export async function buildIcarus(p: VtaParams, dramBytes: number): Promise<{ vvp: string; cached: boolean }> {
  const version = await toolVersion("iverilog", "-V");
  if (!version) throw new Error("iverilog is not installed");
  // One build per power-of-two DRAM size keeps the cache small.
  let size = 4096;
  while (size < dramBytes) size *= 2;
  const flags = ["-g2012", "-s", "tb", "-P", `tb.DRAM_BYTES=${size}`];
  const files = { "vta.v": generateVerilog(p), "tb.v": testbench(hwConfig(p)) };
  const b = await cachedBuild("icarus", files, [version, ...flags], async (dir) => {
    try {
      await run("iverilog", [...flags, "-o", "sim.vvp", "vta.v", "tb.v"], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      throw toolFailure("iverilog", err, `building ${dir}`);
    }
  });
  return { vvp: path.join(b.dir, "sim.vvp"), cached: b.cached };
}
