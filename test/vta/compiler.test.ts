/**
 * The accelerator's compiler path against the reference interpreter, bit for bit:
 * requantized convolutions (3×3 and 1×1, stride 1 and 2, padding, edge tiles, other core
 * shapes) and dense layers lowered through the VTA schedule and run on fsim; the quantize
 * pass on a small CNN run layer by layer on fsim; schedule errors; latency hiding under
 * fsim's cycle model. (compiler-hw.test.ts runs a layer on the generated hardware.)
 */
import { describe, expect, test } from "vitest";
import { ScheduleError } from "../../core/errors.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { Rng } from "../../runtime/random.ts";
import { makeParams, DEFAULT_PARAMS } from "../../compiler/targets/vta/params.ts";
import type { VtaParams } from "../../compiler/targets/vta/params.ts";
import type { ConvLayer } from "../../compiler/targets/vta/layer.ts";
import { convLayer, denseLayer } from "../../compiler/targets/vta/layer.ts";
import { blockPack, blockUnpack } from "../../compiler/targets/vta/pack.ts";
import { planFromSchedule } from "../../compiler/targets/vta/plan.ts";
import { gemmIntrin, scheduleConv } from "../../compiler/targets/vta/schedule.ts";
import { compileLayer, runLayer } from "../../compiler/targets/vta/run.ts";
import { decodeProgram, encodeProgram } from "../../compiler/targets/vta/isa.ts";
import { lowerSchedule } from "../../compiler/tir/lower.ts";
import type { Stmt } from "../../compiler/tir/stmt.ts";
import { constInt } from "../../compiler/te/expr.ts";

const randInt8 = (rng: Rng, n: number): Int8Array => Int8Array.from({ length: n }, () => rng.int(-128, 128));

/** requantize(qconv2d(x, w)) (or qmatmul for a dense layer) through the reference interpreter. */
function reference(l: ConvLayer, x: Int8Array, w: Int8Array, dense = false): number[] {
  const b = new GraphBuilder();
  const xs = dense ? [l.n, l.c] : [l.n, l.c, l.h, l.w], ws = dense ? [l.o, l.c] : [l.o, l.c, l.kh, l.kw];
  const X = b.input("x", xs, "i8"), W = b.input("w", ws, "i8");
  const acc = dense ? b.op1("qmatmul", [X, W]) : b.op1("qconv2d", [X, W], { strides: [l.strideH, l.strideW], pads: [...l.pads] });
  const out = b.op1("requantize", [acc], { shift: l.shift, relu: l.relu });
  return Array.from(interpret(b.build([out]), [{ data: x, shape: xs }, { data: w, shape: ws }]).outputs[0]!.data);
}

function check(l: ConvLayer, opts: Parameters<typeof runLayer>[3] = {}, dense = false, seed = 1) {
  const rng = new Rng(seed);
  const x = randInt8(rng, l.n * l.c * l.h * l.w), w = randInt8(rng, l.o * l.c * l.kh * l.kw);
  const r = runLayer(l, x, w, opts);
  expect(Array.from(r.out)).toEqual(reference(l, x, w, dense));
  return r;
}

describe("packing", () => {
  test("host packing equals the block_pack op, and unpacking inverts it", () => {
    const rng = new Rng(3);
    const shape = [3, 20, 2, 3];
    const x = randInt8(rng, 360);
    const b = new GraphBuilder();
    const X = b.input("x", shape, "i8");
    const want = interpret(b.build([b.op1("block_pack", [X], { blocks: [2, 16] })]), [{ data: x, shape }]).outputs[0]!;
    const got = blockPack(x, shape, 2, 16);
    expect(Array.from(got)).toEqual(Array.from(want.data));
    expect(Array.from(blockUnpack(got, shape, 2, 16))).toEqual(Array.from(x));
  });
});

describe("convolution on fsim equals the interpreter's int8 semantics", () => {
  type Geo = Partial<Pick<ConvLayer, "kh" | "kw" | "strideH" | "strideW" | "pads">> & { kh: number; kw: number };
  test.each<[string, Geo]>([
    ["3×3 s1 p1", { kh: 3, kw: 3, pads: [1, 1, 1, 1] }],
    ["3×3 s2 p1", { kh: 3, kw: 3, strideH: 2, strideW: 2, pads: [1, 1, 1, 1] }],
    ["1×1 s1", { kh: 1, kw: 1 }],
    ["1×1 s2", { kh: 1, kw: 1, strideH: 2, strideW: 2 }],
    ["3×3 asymmetric pads, mixed strides", { kh: 3, kw: 3, strideH: 2, strideW: 1, pads: [0, 2, 1, 0] }],
  ])("%s", (_name, geo) => {
    for (const vthreads of [1, 2]) {
      const l = convLayer({ name: "c", n: 1, c: 20, h: 9, w: 7, o: 40, shift: 7, relu: vthreads === 2, ...geo });
      check(l, { vthreads });
    }
  });

  test("edge tiles in every dimension (tiles that do not divide the output)", () => {
    const l = convLayer({ name: "c", n: 1, c: 40, h: 7, w: 9, o: 40, kh: 3, kw: 3, pads: [1, 1, 1, 1], shift: 9 });
    for (const vthreads of [1, 2]) {
      const r = check(l, { vthreads, tiling: { th: 3, tw: 4, tco: 2, tci: 2 } });
      expect(r.program.plan.groups.flat().length).toBe(3 * 3 * 2);
    }
  });

  test("batch 2 and other core shapes (2×8×8, 1×16×16 with small buffers)", () => {
    const small = makeParams({ batch: 2, blockIn: 8, blockOut: 8 });
    check(convLayer({ name: "c", n: 3, c: 12, h: 6, w: 6, o: 10, kh: 3, kw: 3, pads: [1, 1, 1, 1], shift: 5, relu: true }), { params: small, vthreads: 2 });
    const tiny = makeParams({ inpBufferEntries: 256, wgtBufferEntries: 64, accBufferEntries: 128 });
    check(convLayer({ name: "c", n: 1, c: 32, h: 10, w: 10, o: 32, kh: 3, kw: 3, pads: [1, 1, 1, 1], shift: 8 }), { params: tiny, vthreads: 2 });
  });

  test("tiles wholly in the padding (1×1 kernel, pads 2)", () => {
    check(convLayer({ name: "c", n: 1, c: 16, h: 3, w: 3, o: 16, kh: 1, kw: 1, pads: [2, 2, 2, 2], shift: 4 }), { tiling: { th: 1, tw: 1, tco: 1, tci: 1 } });
  });

  test("shift 0 and saturation both ways", () => {
    check(convLayer({ name: "c", n: 1, c: 16, h: 4, w: 4, o: 16, kh: 1, kw: 1, shift: 0 }));
  });
});

describe("dense layers on fsim", () => {
  test("qmatmul + requantize as a 1×1 convolution over rows", () => {
    for (const [m, k, o] of [[1, 40, 24], [5, 64, 33]] as const) check(denseLayer("fc", m, k, o, 8, false), { vthreads: 2 }, true);
  });
});

describe("the instruction stream", () => {
  test("encodes and decodes losslessly (every field fits its bits)", () => {
    const { program } = compileLayer(convLayer({ name: "c", n: 1, c: 64, h: 14, w: 14, o: 64, kh: 3, kw: 3, pads: [1, 1, 1, 1], shift: 8 }));
    expect(decodeProgram(encodeProgram(program.insns))).toEqual(program.insns);
  });

  test("latency hiding: two virtual threads take fewer fsim cycles than one, same result", () => {
    const l = convLayer({ name: "c", n: 1, c: 32, h: 8, w: 8, o: 32, kh: 3, kw: 3, pads: [1, 1, 1, 1], shift: 8, relu: true });
    const rng = new Rng(9);
    const x = randInt8(rng, l.n * l.c * l.h * l.w), w = randInt8(rng, l.o * l.c * l.kh * l.kw);
    const want = reference(l, x, w);
    const tiling = { th: 4, tw: 8, tco: 1, tci: 1 };
    const [one, two] = [1, 2].map((vthreads) => runLayer(l, x, w, { vthreads, tiling }));
    for (const r of [one!, two!]) expect(Array.from(r.out)).toEqual(want);
    expect(two!.tiling.vthreads).toBe(2);
    expect(two!.stats.cycles).toBeLessThan(one!.stats.cycles);
    expect(two!.stats.gemmBusyCycles).toBe(one!.stats.gemmBusyCycles);
  });
});

describe("the schedule", () => {
  test("lowers through the loop IR with buffers in the accelerator's scopes, sized as the plan's tiles", () => {
    const l = convLayer({ name: "c", n: 1, c: 32, h: 8, w: 8, o: 64, kh: 3, kw: 3, strideH: 2, strideW: 1, pads: [1, 1, 1, 1], shift: 8 });
    const vs = scheduleConv(l, { th: 2, tw: 8, tco: 2, tci: 1, vthreads: 2 }, DEFAULT_PARAMS);
    const plan = planFromSchedule(vs);
    const f = lowerSchedule(vs.schedule, [vs.data, vs.weight, vs.res.tensor], "vta_conv");
    const allocs = new Map<string, number[]>();
    const kinds: string[] = [];
    const walk = (st: Stmt): void => {
      switch (st.kind) {
        case "allocate": allocs.set(st.buffer.scope, st.buffer.shape.map((e) => constInt(e)!)); return walk(st.body);
        case "for": kinds.push(st.forKind); return walk(st.body);
        case "attr": kinds.push(`${st.key}=${st.value}`); return walk(st.body);
        case "seq": return st.body.forEach(walk);
        case "if": walk(st.then); if (st.else) walk(st.else); return;
        case "let": return walk(st.body);
        default: return;
      }
    };
    walk(f.body);
    // Bounds inference and the plan agree on the tile each buffer holds.
    const R = (plan.th - 1) * 2 + 3, C = (plan.tw - 1) + 3;
    expect(allocs.get("vta.inp")).toEqual([1, plan.tci, R, C, 1, 16]);
    expect(allocs.get("vta.wgt")).toEqual([plan.tco, plan.tci, 3, 3, 16, 16]);
    expect(allocs.get("vta.acc")).toEqual([1, plan.tco, plan.th, plan.tw, 1, 16]);
    expect(kinds).toContain("vthread");
    expect(kinds).toContain("tensorize=vta.gemm");
    expect(plan.contexts).toBe(2);
  });
});

describe("schedule errors", () => {
  const l = convLayer({ name: "conv3", n: 1, c: 64, h: 56, w: 56, o: 64, kh: 3, kw: 3, pads: [1, 1, 1, 1], shift: 8 });
  const p: VtaParams = DEFAULT_PARAMS;
  test("a tile that does not fit the input buffer names the sizes", () => {
    expect(() => compileLayer(l, { tiling: { th: 28, tw: 56, tco: 1, tci: 4, vthreads: 2 } }))
      .toThrow(/layer conv3: the input tile \(4 channel blocks × 30×58 window = 6960 entries\) does not fit the input buffer \(1024 entries per context, 2 contexts\)/);
    expect(() => compileLayer(l, { tiling: { th: 8, tw: 56, tco: 4, tci: 1, vthreads: 2 } })).toThrow(/accumulator tile .*1792 entries.*1024 entries per context/);
  });
  test("the GEMM nest must be tensorized with the core's shape", () => {
    const t = { th: 4, tw: 56, tco: 1, tci: 1, vthreads: 2 };
    const untensorized = scheduleConv(l, t, p);
    untensorized.gemm.tensorized.clear();
    expect(() => planFromSchedule(untensorized)).toThrow(ScheduleError);
    expect(() => planFromSchedule(untensorized)).toThrow(/must tensorize/);
    const wrong = scheduleConv(l, t, p);
    wrong.gemm.tensorized.clear();
    wrong.gemm.tensorize(wrong.gemm.leaves.at(-2)!, gemmIntrin(p));
    expect(() => planFromSchedule(wrong)).toThrow(/vta\.gemm computes a 1×16×16 .* tensorized loops are \[co\.i=16, rci=16\]/);
  });
  test("loads computed outside the chunk loop are rejected", () => {
    const vs = scheduleConv(l, { th: 4, tw: 56, tco: 1, tci: 1, vthreads: 1 }, p);
    vs.inp.computeRoot();
    expect(() => planFromSchedule(vs)).toThrow(/load stage .* must be computed at a reduction loop/);
  });
});

describe("quantized CNN", () => {
  test("quantize pass → int8 graph; fsim layer by layer equals the interpreter bit for bit", async () => {
    const { quantizeGraph } = await import("../../compiler/graph/passes/quantize.ts");
    const { runQuantizedGraph } = await import("../../compiler/targets/vta/run.ts");
    const rng = new Rng(11);
    const normal = (n: number, s: number) => Float32Array.from({ length: n }, () => rng.normal() * s);
    const b = new GraphBuilder();
    const x = b.input("x", [1, 3, 12, 12]);
    const w1 = b.constant("w1", normal(16 * 3 * 9, 0.3), [16, 3, 3, 3]);
    const w2 = b.constant("w2", normal(32 * 16 * 9, 0.1), [32, 16, 3, 3]);
    const w3 = b.constant("w3", normal(1152 * 10, 0.05), [1152, 10]);
    const h1 = b.op1("relu", [b.op1("conv2d", [x, w1], { pads: [1, 1, 1, 1] })]);
    const h2 = b.op1("relu", [b.op1("conv2d", [h1, w2], { strides: [2, 2], pads: [1, 1, 1, 1] })]);
    const y = b.op1("matmul", [b.op1("reshape", [h2], { shape: [1, 1152] }), w3]);
    const g = b.build([y]);
    const batch = () => [{ data: Float32Array.from({ length: 432 }, () => rng.uniform(-1, 1)), shape: [1, 3, 12, 12] }];
    const { graph: q } = quantizeGraph(g, { calibration: [batch(), batch(), batch()] });
    expect(q.nodes.map((n) => n.op)).toEqual(["quantize", "qconv2d", "requantize", "qconv2d", "requantize", "reshape", "qmatmul", "requantize", "dequantize"]);
    const input = batch();
    const want = interpret(q, input).outputs[0]!;
    const got = await runQuantizedGraph(q, input, { vthreads: 2 });
    expect(got.layers.map((r) => r.layer.name)).toEqual(q.nodes.filter((n) => n.op.startsWith("q") && n.op !== "quantize").map((n) => n.name));
    expect(got.outputs[0]!.shape).toEqual([1, 10]);
    for (const { report } of got.layers) expect(report.gemmUtilization).toBeGreaterThan(0);
    expect(Array.from(got.outputs[0]!.data)).toEqual(Array.from(want.data));
    // The int8 network approximates the float one.
    const f = interpret(g, input).outputs[0]!.data;
    const scale = Math.max(...Array.from(f, Math.abs));
    const err = Math.max(...Array.from(f, (v, i) => Math.abs(v - want.data[i]!)));
    expect(err / scale).toBeLessThan(0.15);
  });
});
