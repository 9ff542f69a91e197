/**
 * Runs a VTA program on any of the simulators, so callers and tests compare them bit for bit:
 *   fsim      — the TypeScript functional simulator (fsim.ts), cycles from its timing model
 *   verilator — the generated Verilog under Verilator, cycles counted on the RTL
 *   iverilog  — the same Verilog under Icarus (4-state: X from a missing reset shows up)
 *   hls       — the HLS C++ compiled with g++ and run as C-simulation (no cycles)
 * The hardware simulators see one DRAM image: the caller's bytes, then the program at the
 * next 16-byte boundary. The returned DRAM is the caller's part only.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LatheError } from "../../../core/errors.ts";
import { type SimResult, VtaDeadlockError, VtaExecError, insnCycles, simulate } from "./fsim.ts";
import { type Insn, INSN_BYTES, decodeProgram, encodeProgram, moduleOf, validateProgram } from "./isa.ts";
import { type VtaParams, DEFAULT_PARAMS } from "./params.ts";
import { run, toolVersion } from "./hw/build.ts";
import { buildHls } from "./hw/hls.ts";
import { buildIcarus } from "./hw/iverilog.ts";
import { buildVerilator } from "./hw/verilator.ts";

export type SimKind = "fsim" | "verilator" | "iverilog" | "hls";

export interface RunOptions {
  readonly sim?: SimKind;
  readonly params?: VtaParams;
  /** Hardware simulators: DRAM latency in cycles of the harness's DRAM model (default params.dramLatency). */
  readonly dramLatency?: number;
}

export interface RunResult extends SimResult {
  readonly sim: SimKind;
  /** What the cycles mean: fsim's timing model, the RTL's clock, or nothing (HLS C-simulation). */
  readonly cycleModel: "fsim-model" | "rtl" | "none";
}

/** A simulator the host lacks (verilator, iverilog, g++): tests skip with this reason. */
export class SimulatorUnavailableError extends LatheError {
  override name = "SimulatorUnavailableError";
}

/** Why `sim` cannot run here, or null when it can. */
export async function simulatorUnavailable(sim: SimKind): Promise<string | null> {
  switch (sim) {
    case "fsim": return null;
    case "verilator": return (await toolVersion("verilator")) ? null : "verilator is not installed (apt-get install verilator)";
    case "iverilog": return (await toolVersion("iverilog", "-V")) ? null : "iverilog is not installed (apt-get install iverilog)";
    case "hls": return (await toolVersion(process.env.LATHE_CXX ?? "g++")) ? null : "g++ is not installed";
  }
}

export async function runProgram(program: readonly Insn[] | Uint8Array, dram: Uint8Array, opts: RunOptions = {}): Promise<RunResult> {
  const sim = opts.sim ?? "fsim";
  const p = opts.params ?? DEFAULT_PARAMS;
  const insns = program instanceof Uint8Array ? decodeProgram(program) : program;
  if (sim === "fsim") return { ...simulate(insns, dram, p), sim, cycleModel: "fsim-model" };
  validateProgram(insns, p);
  const why = await simulatorUnavailable(sim);
  if (why) throw new SimulatorUnavailableError(why);

  const insnBase = Math.ceil(dram.length / INSN_BYTES) * INSN_BYTES;
  const image = new Uint8Array(insnBase + insns.length * INSN_BYTES);
  image.set(dram);
  image.set(encodeProgram(insns), insnBase);
  const latency = opts.dramLatency ?? p.dramLatency;
  // A safety net only (deadlocks are caught by the harness's idle detector long before): the
  // RTL spends at most ~2·(latency + 3) cycles per beat the timing model counts as one.
  const pl = { ...p, dramLatency: latency };
  const maxCycles = 4 * (latency + 4) * insns.reduce((s, i) => s + insnCycles(i, pl) + 64, 0) + 100_000;
  const work = mkdtempSync(path.join(os.tmpdir(), "lathe-vta-"));
  try {
    const inFile = path.join(work, "dram.in"), outFile = path.join(work, "dram.out");
    let line: string, out: Uint8Array;
    if (sim === "verilator" || sim === "hls") {
      const exe = sim === "verilator" ? (await buildVerilator(p)).exe : (await buildHls(p)).exe;
      writeFileSync(inFile, image);
      line = await runTool(exe, [inFile, outFile, String(insnBase), String(insns.length), String(latency), String(maxCycles)]);
      out = new Uint8Array(readFileSync(outFile));
    } else {
      const { vvp } = await buildIcarus(p, image.length);
      writeFileSync(inFile, Array.from(image, (b) => b.toString(16).padStart(2, "0")).join("\n") + "\n");
      const stdout = await runTool("vvp", ["-n", vvp, `+DRAM=${inFile}`, `+OUT=${outFile}`, `+SIZE=${image.length}`,
        `+INSN_BASE=${insnBase}`, `+INSN_COUNT=${insns.length}`, `+LATENCY=${latency}`, `+MAX_CYCLES=${maxCycles}`]);
      line = /VTA-RESULT (.*)/.exec(stdout)?.[1] ?? stdout;
      out = parseHexImage(readFileSync(outFile, "utf8"), image.length);
    }
    const r = parseResult(line, sim, insns);
    const cycles = sim === "hls" ? 0 : Math.max(r.cycles ?? 0, 1);
    const gemm = r.gemmCycles ?? 0;
    return {
      sim, cycleModel: sim === "hls" ? "none" : "rtl",
      dram: out.slice(0, dram.length),
      stats: {
        cycles, gemmBusyCycles: gemm, gemmUtilization: sim === "hls" ? 0 : gemm / cycles, aluBusyCycles: r.aluCycles ?? 0,
        dramBytesRead: r.busBytesRead ?? 0, dramBytesWritten: r.busBytesWritten ?? 0, insnCount: countByModule(insns),
      },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface HarnessLine {
  status?: string | number; cycles?: number; gemmCycles?: number; aluCycles?: number;
  busBytesRead?: number; busBytesWritten?: number; state?: number; message?: string;
}

async function runTool(exe: string, args: string[]): Promise<string> {
  try {
    return (await run(exe, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    // A deadlock or timeout exits non-zero but still prints its result line.
    const e = err as { stdout?: string; stderr?: string; message: string };
    if (e.stdout && /"status"/.test(e.stdout)) return e.stdout;
    throw new LatheError(`${path.basename(exe)} failed: ${(e.stderr || e.message).slice(0, 2000)}`);
  }
}

function parseResult(text: string, sim: SimKind, insns: readonly Insn[]): HarnessLine {
  const json = /\{.*\}/.exec(text)?.[0];
  if (!json) throw new LatheError(`the ${sim} simulation printed no result:\n${text.slice(0, 2000)}`);
  const r = JSON.parse(json) as HarnessLine;
  const status = r.status === 0 ? "ok" : r.status === 3 ? "deadlock" : r.status === 4 ? "timeout" : r.status;
  if (status === "deadlock") {
    const s = r.state ?? 0;
    const idle = ["fetch", "load", "compute", "store"].filter((_, i) => (s >> (7 - i)) & 1);
    throw new VtaDeadlockError(`VTA program deadlocks on ${sim}: after ${r.cycles} cycles no module can make progress ` +
      `(idle: ${idle.join(", ") || "none"}; the others wait for tokens); ${insns.length} instructions`);
  }
  if (status === "timeout") throw new VtaDeadlockError(`VTA program did not finish on ${sim} within ${r.cycles} cycles`);
  if (status === "exec-error") throw new VtaExecError(`${sim}: ${r.message ?? "execution error"}`);
  if (status !== "ok") throw new LatheError(`the ${sim} simulation failed: ${json}`);
  return r;
}

/** $writememh output → bytes; an X or Z byte means the RTL stored something never initialised. */
export function parseHexImage(text: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let i = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("//")) continue;
    if (line.startsWith("@")) { i = parseInt(line.slice(1), 16); continue; }
    for (const tok of line.split(/\s+/)) {
      if (/[xXzZ]/.test(tok)) throw new VtaExecError(`iverilog: DRAM byte ${i} is ${tok}: the RTL stored an undefined value (a missing reset or a read of unwritten SRAM)`);
      out[i++] = parseInt(tok, 16);
    }
  }
  return out;
}

function countByModule(insns: readonly Insn[]): Record<"load" | "compute" | "store", number> {
  const n = { load: 0, compute: 0, store: 0 };
  for (const i of insns) n[moduleOf(i)]++;
  return n;
}
