// `lathe compile --plugin <package> --target <name>` end to end, in-process through main():
// the example OpenBLAS plugin compiles a graph text model, the manifest records the
// target, and `lathe run` executes the artifact with the interpreter's results.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { interpret } from "../../compiler/graph/interpret.ts";
import { parseGraph } from "../../compiler/graph/text/parse.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { lathe } from "../helpers/cli.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-plugin-cli-"));
const MODEL = `graph mlp(x: f32[batch, 4]) {
  const w1: f32[4, 3] = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, 1.2]
  const b1: f32[3] = [0.5, -0.5, 0.25]
  const w2: f32[3, 2] = [1.5, -1.0, 0.25, 0.75, -0.5, 2.0]
  h = matmul(x, w1)
  hb = add(h, b1)
  r = relu(hb)
  y = matmul(r, w2)
  s = sigmoid(y)
  return s
}
`;
const modelFile = path.join(tmp, "mlp.lg");
writeFileSync(modelFile, MODEL);


describe("lathe compile --plugin", () => {
  test("the OpenBLAS example compiles a model whose artifact lathe run executes", async () => {
    const art = path.join(tmp, "art");
    const c = await lathe("compile", modelFile, "--plugin", "./examples/openblas-target", "--target", "openblas-cpu", "-o", art);
    expect(c.err).toBe("");
    expect(c.code).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(art, "manifest.json"), "utf8")) as { target: string; compile: { flags: string[] } };
    expect(manifest.target).toBe("openblas-cpu");
    expect(manifest.compile.flags).toContain("-lopenblas");
    for (const n of [3, 1]) {
      const x = new Tensor(Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i) * 2), [n, 4], "f32");
      const xin = path.join(tmp, `x${n}.npy`), yout = path.join(tmp, `y${n}.npy`);
      writeNpy(xin, x);
      const r = await lathe("run", art, "--input", xin, "--output", yout);
      expect(r.err).toBe("");
      const got = readNpy(yout);
      const want = interpret(parseGraph(MODEL), [{ data: x.toArray(), shape: x.shape }]).outputs[0]!;
      expect(got.shape).toEqual(want.shape);
      got.toArray().forEach((v, i) => expect(Math.abs(v - want.data[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want.data[i]!))));
    }
  });

  test("a plugin target without --plugin, a missing package and a target that cannot write artifacts are diagnosed", async () => {
    const out = path.join(tmp, "never");
    const a = await lathe("compile", modelFile, "--target", "openblas-cpu", "-o", out);
    expect(a.code).toBe(1);
    expect(a.err).toMatch(/unknown target "openblas-cpu".*--plugin/);
    const b = await lathe("compile", modelFile, "--plugin", "./examples/no-such-plugin", "--target", "x", "-o", out);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/plugin package \.\/examples\/no-such-plugin: .* does not exist/);
    const c = await lathe("compile", modelFile, "--plugin", "./examples/openblas-target", "--target", "vta", "-o", out);
    expect(c.code).toBe(1);
    expect(c.err).toMatch(/target "vta" does not compile whole graphs into native libraries/);
  });
});
