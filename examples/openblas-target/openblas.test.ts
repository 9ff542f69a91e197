// The example plugin end to end: its matmuls become cblas_sgemm calls, the rest is the
// cpu target's code, and the compiled graph equals Lathe's reference interpreter.
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { compileGraph } from "../../compiler/targets/cpu/graph.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { expectInterpreter, mlp } from "../../test/plugin/fixtures.ts";
import openblas from "./index.ts";

const rng = new Rng(17);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));
const count = (s: string, sub: string) => s.split(sub).length - 1;

describe("openblas-cpu (examples/openblas-target)", () => {
  test("an MLP's matmul + bias layers call cblas_sgemm and match the interpreter", async () => {
    const g = mlp();
    const c = await compileGraph(g, { target: openblas });
    expect(c.target).toBe("openblas-cpu");
    expect(c.flags).toContain("-lopenblas");
    expect(count(c.source, "cblas_sgemm(CblasRowMajor")).toBe(2);
    expect(c.source).toContain("#include <cblas.h>");
    expect(c.source).not.toMatch(/fused_\d+_matmul/);
    for (const n of [1, 9]) {
      const x = new Tensor(rand(n * 20), [n, 20], "f32");
      expectInterpreter(g, [x], c.run([x]));
    }
    // Without fusion (one group per node) the same chains are taken.
    const unfused = await compileGraph(g, { target: openblas, fuse: false });
    expect(count(unfused.source, "cblas_sgemm(CblasRowMajor")).toBe(2);
    const x = new Tensor(rand(3 * 20), [3, 20], "f32");
    expectInterpreter(g, [x], unfused.run([x]));
  });

  test("a matmul read twice takes the plain pattern; a batched (3-D) matmul stays with the cpu codegen", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", ["n", 12], "f32");
    const a3 = b.input("a3", [2, 3, 4], "f32");
    const h = b.op1("matmul", [x, b.constant("w", rand(12 * 7), [12, 7])]);
    const y1 = b.op1("relu", [h]);
    const y2 = b.op1("mul", [h, h]);
    const z = b.op1("matmul", [a3, b.constant("v", rand(4 * 5), [4, 5])]);
    const g = b.build([y1, y2, z]);
    const c = await compileGraph(g, { target: openblas });
    expect(count(c.source, "cblas_sgemm(CblasRowMajor")).toBe(1);
    expect(c.source).toMatch(/ext_\d+_sgemm\(/);
    expect(c.source).not.toMatch(/ext_\d+_sgemm_bias/);
    expect(c.source).toMatch(/fused_\d+_matmul/);
    for (const n of [4, 1]) {
      const ins = [new Tensor(rand(n * 12), [n, 12], "f32"), new Tensor(rand(24), [2, 3, 4], "f32")];
      expectInterpreter(g, ins, c.run(ins));
    }
  });

  test("f64 matmuls are not taken (the pattern accepts only f32)", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [3, 4], "f64");
    const g = b.build([b.op1("matmul", [x, b.constant("w", Float64Array.from(rand(8)), [4, 2], "f64")])]);
    const c = await compileGraph(g, { target: openblas });
    expect(c.source).not.toContain("cblas_sgemm");
    const ins = [new Tensor(Float64Array.from(rand(12)), [3, 4], "f64")];
    expectInterpreter(g, ins, c.run(ins), 1e-9);
  });
});
