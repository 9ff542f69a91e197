// The oneDNN baseline shims against Lathe's reference interpreter (conv) and a plain triple
// loop (sgemm), so the vendor benchmarks compare against a baseline that computes the answer.
import { existsSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { interpret } from "../../compiler/graph/interpret.ts";
import { BenchReport } from "../lib/report.ts";
import { ONEDNN_FLAGS, vendorShim } from "../lib/vendor.ts";
import { convGraph, layerGraph, outSize, RESNET18_CONVS, transformData } from "./index.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const haveDnnl = existsSync("/usr/include/dnnl.hpp") || existsSync("/usr/include/oneapi/dnnl/dnnl.hpp");
const fill = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));

describe("ResNet-18 layer table", () => {
  test("output sizes match the graph's shape inference", () => {
    for (const l of RESNET18_CONVS) {
      const g = convGraph(l, new Float32Array(l.o * l.c * l.k * l.k));
      expect(g.outputs[0]!.type.shape).toEqual([1, l.o, outSize(l), outSize(l)]);
    }
    expect(RESNET18_CONVS.map(outSize)).toEqual([112, 56, 28, 28, 28, 14, 14, 14, 7, 7, 7]);
  });
});

describe("the conv2d bench's blocked layers", () => {
  test("layerGraph on the blocked input, transformed back, is conv2d on x and w", () => {
    const l = { name: "t", c: 8, o: 12, hw: 5, k: 3, stride: 1, pad: 1 }, b = 4, oh = outSize(l);
    const x = fill(l.c * l.hw * l.hw, 5), w = fill(l.o * l.c * 9, 6);
    const want = interpret(convGraph(l, w), [{ data: x, shape: [1, l.c, l.hw, l.hw] }]).outputs[0]!;
    const { g, blocked } = layerGraph(l, w, b);
    expect(blocked).toBe(true);
    expect(g.nodes.map((n) => n.op)).toEqual(["conv2d_nchwc"]); // the weight's transform folded into a constant
    const xb = transformData(x, [1, l.c, l.hw, l.hw], "NCHW", "NCHW4c");
    const got = interpret(g, [{ data: xb, shape: [1, l.c / b, l.hw, l.hw, b] }]).outputs[0]!;
    const back = transformData(Float32Array.from(got.data), [1, l.o / b, oh, oh, b], "NCHW4c", "NCHW");
    for (let i = 0; i < back.length; i++) expect(Math.abs(back[i]! - want.data[i]!)).toBeLessThan(1e-5);
    expect(layerGraph({ ...l, c: 3 }, fill(l.o * 3 * 9, 6), b).blocked).toBe(false);
  });
});

describe.skipIf(!haveDnnl)(skipReason("oneDNN shims", !haveDnnl && NEEDS.dnnl), () => {
  test("onednn_conv_prepare computes the interpreter's convolution (stride 2, pad 1)", async () => {
    const report = new BenchReport("t");
    const lib = (await vendorShim(report, "oneDNN", new URL("./onednn.cc", import.meta.url), ONEDNN_FLAGS))!;
    expect(report.notes).toEqual([]);
    const l = { name: "t", c: 5, o: 16, hw: 9, k: 3, stride: 2, pad: 1 };
    const x = fill(l.c * l.hw * l.hw, 1), w = fill(l.o * l.c * 9, 2), oh = outSize(l);
    const y = new Float32Array(l.o * oh * oh), impl = new Uint8Array(128);
    lib.setNumThreads(1);
    lib.kernel("onednn_conv_prepare").call([
      { data: x, shape: [1, l.c, l.hw, l.hw], dtype: "f32" }, { data: w, shape: [l.o, l.c, 3, 3], dtype: "f32" },
      { data: y, shape: [1, l.o, oh, oh], dtype: "f32" }, { data: Int32Array.of(2, 1), shape: [2], dtype: "i32" },
      { data: impl, shape: [128], dtype: "u8" },
    ]);
    expect(impl[0]).not.toBe(0); // an implementation name came back
    lib.kernel("onednn_conv_run").call([]);
    const want = interpret(convGraph(l, w), [{ data: x, shape: [1, l.c, l.hw, l.hw] }]).outputs[0]!;
    expect(want.shape).toEqual([1, l.o, oh, oh]);
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i]! - want.data[i]!)).toBeLessThan(1e-4);
  }, 60_000);

  test("onednn_sgemm computes a row-major product", async () => {
    const report = new BenchReport("t");
    const lib = (await vendorShim(report, "oneDNN", new URL("../gemm/onednn.cc", import.meta.url), ONEDNN_FLAGS))!;
    const [M, N, K] = [7, 13, 5];
    const a = fill(M * K, 3), b = fill(K * N, 4), c = new Float32Array(M * N);
    lib.kernel("onednn_sgemm").call([{ data: a, shape: [M, K], dtype: "f32" }, { data: b, shape: [K, N], dtype: "f32" }, { data: c, shape: [M, N], dtype: "f32" }]);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[i * K + k]! * b[k * N + j]!;
        expect(Math.abs(c[i * N + j]! - s)).toBeLessThan(1e-5);
      }
    }
  }, 60_000);

  test("a bad call is an error, not a crash", async () => {
    const lib = (await vendorShim(new BenchReport("t"), "oneDNN", new URL("./onednn.cc", import.meta.url), ONEDNN_FLAGS))!;
    expect(() => lib.kernel("onednn_conv_prepare").call([])).toThrow(/expected x, w, y/);
  }, 60_000);
});
