/**
 * fsim's cycle model (compiler/targets/vta/timing.ts) against the RTL's clock: compiled
 * convolution layers run on fsim and under Verilator, and the cycle counts and GEMM-core
 * busy cycles agree within 5% (the model follows the state machines, so they agree exactly
 * today; 5% is the bar `lathe bench vta` reports against). And the DRAM bursts on their own:
 * a LOAD of R rows × C entries costs, on Verilator, what the burst protocol implies
 * (hw/harness.ts: a row's burst answers its first beat latency + 1 cycles after the request,
 * then one beat per cycle), and fsim counts the same cycles.
 */
import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { convLayer } from "../../compiler/targets/vta/layer.ts";
import { entryBytes, makeParams } from "../../compiler/targets/vta/params.ts";
import { simulate } from "../../compiler/targets/vta/fsim.ts";
import { finish, load } from "../../compiler/targets/vta/isa.ts";
import { compileLayer, dramImage, readOutput, runLayer } from "../../compiler/targets/vta/run.ts";
import { runProgram, simulatorUnavailable } from "../../compiler/targets/vta/runner.ts";
import { NEEDS, skipReason } from "../helpers/skip.ts";

const noVerilator = await simulatorUnavailable("verilator");
// The buffers of test/vta/hw-sim.test.ts's first configuration: the same cached Verilator build.
// The harness's DRAM latency is a run-time argument, so one build serves both latencies.
const small = { inpBufferEntries: 128, wgtBufferEntries: 64, accBufferEntries: 128, uopBufferEntries: 128 };
const built = makeParams(small);

const cases = [
  { name: "3×3 conv, two virtual threads, DRAM latency 8", params: makeParams(small), vthreads: 2, l: convLayer({ name: "c3", n: 1, c: 32, h: 6, w: 6, o: 32, kh: 3, kw: 3, pads: [1, 1, 1, 1], shift: 6, relu: true }) },
  { name: "1×1 conv stride 2, one virtual thread, DRAM latency 3", params: makeParams({ ...small, dramLatency: 3 }), vthreads: 1, l: convLayer({ name: "c1", n: 1, c: 16, h: 8, w: 8, o: 32, kh: 1, kw: 1, strideH: 2, strideW: 2, pads: [0, 0, 0, 0], shift: 5 }) },
];

describe("fsim's cycle model against Verilator", () => {
  test.skipIf(!!noVerilator).each(cases)(skipReason("$name: cycles and GEMM busy cycles within 5%", !!noVerilator && NEEDS.verilator), async ({ params, vthreads, l }) => {
    const rng = new Rng(9);
    const x = Int8Array.from({ length: l.c * l.h * l.w }, () => rng.int(-128, 128));
    const w = Int8Array.from({ length: l.o * l.c * l.kh * l.kw }, () => rng.int(-128, 128));
    const model = runLayer(l, x, w, { params, vthreads });
    const { program } = compileLayer(l, { params, vthreads });
    const rtl = await runProgram(program.insns, dramImage(program, x, w), { sim: "verilator", params: built, dramLatency: params.dramLatency });
    expect(Array.from(readOutput(program, rtl.dram))).toEqual(Array.from(model.out));
    expect(Math.abs(model.stats.cycles - rtl.stats.cycles) / rtl.stats.cycles).toBeLessThanOrEqual(0.05);
    expect(Math.abs(model.stats.gemmBusyCycles - rtl.stats.gemmBusyCycles) / rtl.stats.gemmBusyCycles).toBeLessThanOrEqual(0.05);
    expect(Math.abs(model.stats.gemmUtilization - rtl.stats.gemmUtilization)).toBeLessThanOrEqual(0.05 * rtl.stats.gemmUtilization);
  }, 600_000);
});

describe("burst DRAM reads on Verilator", () => {
  // inp: 16-byte entries, 2 beats each; wgt: 256 bytes, 32 beats; uop: 4 bytes, a narrow beat each (8-byte bus).
  const kinds = [["inp", 2], ["wgt", 32], ["uop", 1]] as const;
  test.skipIf(!!noVerilator).each([8, 3])(skipReason("DRAM latency %i: each row of a LOAD costs latency + 2 + its beats, each entry its beats, and fsim agrees", !!noVerilator && NEEDS.verilator), async (latency) => {
    const p = makeParams({ ...small, dramLatency: latency });
    const E = entryBytes(p);
    const dram = new Uint8Array(16384).map((_, i) => (i * 7) & 255);
    for (const [memType, nb] of kinds) {
      expect(nb).toBe(Math.max(1, E[memType] / p.dramWidthBytes));
      // LOAD then FINISH, which waits for it (a token, or the compute module's own order for
      // micro-ops): the run's cycles grow by exactly the load's.
      const cycles = async (R: number, C: number): Promise<number> => {
        const onLoad = memType !== "uop";
        const prog = [load({ memType, sramBase: 0, dramBase: 0, ySize: R, xSize: C, xStride: C + 3, pushNext: onLoad }), finish({ popPrev: onLoad })];
        const rtl = await runProgram(prog, dram, { sim: "verilator", params: built, dramLatency: latency });
        expect(simulate(prog, dram, p).stats.cycles).toBe(rtl.stats.cycles);
        return rtl.stats.cycles;
      };
      const [c11, c14, c34] = [await cycles(1, 1), await cycles(1, 4), await cycles(3, 4)];
      expect(c14 - c11).toBe(3 * nb); // 3 more entries in the burst: a cycle per beat
      expect(c34 - c14).toBe(2 * (1 + latency + 1 + 4 * nb)); // 2 more rows: issue, latency, the beats
    }
  }, 600_000);
});
