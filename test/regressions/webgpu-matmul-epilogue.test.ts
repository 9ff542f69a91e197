// The webgpu GEMM schedule left a matmul's accumulator stage in global scope when an
// elementwise epilogue (relu, bias add) wrote the group's output, so lowering refused it
// ("buffer … would be allocated inside the kernel") and the graph compiler split every such
// group into one kernel per op: an extra kernel and a round trip through memory per matmul.
import { expect, test } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { compileGraphWebGpu } from "../../compiler/targets/webgpu/graph.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";

test("matmul + bias + relu is one webgpu kernel, equal to the interpreter", async () => {
  const b = new GraphBuilder();
  const x = b.input("x", [33, 48]), w = b.input("w", [48, 40]), bias = b.input("bias", [40]);
  const g = b.build([b.op1("relu", [b.op1("add", [b.op1("matmul", [x, w]), bias])])]);
  const c = await compileGraphWebGpu(g);
  expect(c.kernels.map((k) => k.args.length)).toEqual([4]);
  const rng = new Rng(3);
  const xs = [[33, 48], [48, 40], [40]].map((s) => Tensor.fromArray(Float32Array.from({ length: s.reduce((p, q) => p * q, 1) }, () => rng.uniform(-1, 1)), s));
  const got = (await c.run(xs))[0]!.data as Float32Array;
  const want = interpret(g, xs.map((t) => ({ data: t.data as Float32Array, shape: t.shape }))).outputs[0]!.data;
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(want[i]!)));
}, 120_000);
