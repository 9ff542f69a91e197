// The webgpu device cached compiled pipelines by WGSL source and returned the cached entry
// whole, with the launch grid of the first kernel that printed that source. A block loop that
// covers the whole grid is not guarded, so its extent is not in the code: relu over 64×64 and
// over 128×64 elements print the same WGSL, and the second ran on the first one's 64×64/64
// blocks, leaving half its output unwritten (stale data from the buffer pool). Found by the
// 10,000-graph fuzz run (seed 20261207, draws #6242 on webgpu and #7573 on webgpu-unfused:
// wrong values only after an earlier graph in the same process had printed the same source;
// each shrunk repro passed on its own).
import { expect, test } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { compileGraphWebGpu } from "../../compiler/targets/webgpu/graph.ts";
import { Tensor } from "../../runtime/tensor.ts";

test("kernels that print the same WGSL each run on their own grid", async () => {
  const codes: string[] = [];
  for (const shape of [[64, 64], [128, 64], [4096], [8192]]) {
    const b = new GraphBuilder();
    const c = await compileGraphWebGpu(b.build([b.op1("relu", [b.input("x", shape)])]));
    expect(c.kernels).toHaveLength(1);
    const k = c.kernels[0]!;
    codes.push(k.wgsl.code);
    expect(k.pipeline.kernel).toBe(k.wgsl);
    const x = Tensor.random(shape, "f32", 1);
    const got = (await c.run([x]))[0]!.toArray(), want = x.toArray().map((v) => Math.max(0, v));
    expect(got.filter((v, i) => v !== want[i]).length).toBe(0);
  }
  // The collision this guards against: the pairs print alike.
  expect(codes[1]).toBe(codes[0]);
  expect(codes[3]).toBe(codes[2]);
}, 120_000);
