// Ahead-of-time artifacts: write → loadModule → run equals the interpreter; tampered,
// truncated or half-written artifacts are refused with an error naming the file.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { LatheError, ShapeError } from "../core/errors.ts";
import { GraphBuilder } from "../compiler/graph/builder.ts";
import { compileGraph } from "../compiler/targets/cpu/graph.ts";
import type { Graph } from "../compiler/graph/graph.ts";
import { interpret } from "../compiler/graph/interpret.ts";
import { DTYPES } from "../core/dtype.ts";
import { decodeParams, encodeParams, MANIFEST_FILE, PARAMS_FILE, sha256 } from "./artifact.ts";
import { writeArtifact } from "../compiler/targets/cpu/artifact.ts";
import { hostIsa } from "./host.ts";
import { loadModule } from "./module.ts";
import { Rng } from "./random.ts";
import { Tensor } from "./tensor.ts";

const rng = new Rng(3);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));
const root = mkdtempSync(path.join(os.tmpdir(), "lathe-artifact-"));

function mlp(): Graph {
  const b = new GraphBuilder();
  const x = b.input("x", ["batch", 8]);
  const w = b.constant("w", rand(8 * 5, 0.4), [8, 5]);
  const bias = b.constant("bias", rand(5, 0.1), [5]);
  const h = b.op1("add", [b.op1("matmul", [x, w]), bias]);
  return b.build([b.op1("log_softmax", [b.op1("relu", [h])], { axis: -1 }), b.op1("sum", [h], { axes: [1] })]);
}

function expectInterpreter(g: Graph, inputs: Tensor[], got: Tensor[]): void {
  const ref = interpret(g, inputs.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs;
  got.forEach((t, k) => {
    expect(t.shape).toEqual(ref[k]!.shape);
    t.toArray().forEach((v, i) => expect(Math.abs(v - ref[k]!.data[i]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(ref[k]!.data[i]!))));
  });
}

const thrown = (f: () => unknown): Error => {
  try { f(); } catch (e) { return e as Error; }
  throw new Error("expected an error");
};

describe("artifacts", () => {
  const g = mlp();
  const dir = path.join(root, "mlp");
  beforeAll(async () => {
    await writeArtifact(await compileGraph(g), dir, { meta: { model: "mlp (test)" } });
  }, 120_000);

  test("the manifest describes the signature, symbolic dims as strings", () => {
    const m = JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), "utf8"));
    expect(m.format).toBe("lathe-artifact");
    expect(m.entry).toBe("lathe_graph_run");
    expect(m.inputs).toEqual([{ name: "x", dtype: "f32", shape: ["batch", 8] }]);
    expect(m.outputs.map((o: { shape: unknown }) => o.shape)).toEqual([["batch", 5], ["batch"]]);
    expect(m.constants.map((c: { name: string }) => c.name)).toEqual(["w", "bias"]);
    expect(m.library.file).toMatch(/^model-[0-9a-f]{8}\.so$/);
    expect(m.compile.flags).toContain("-march=native");
    expect(m.meta).toEqual({ model: "mlp (test)" });
    expect(readdirSync(dir).sort()).toEqual([m.library.file, MANIFEST_FILE, PARAMS_FILE].sort());
  });

  test("loadModule runs any batch size and equals the interpreter", () => {
    const mod = loadModule(dir);
    expect(mod.inputs).toEqual([{ name: "x", dtype: "f32", shape: ["batch", 8] }]);
    mod.setNumThreads(1);
    for (const n of [1, 6]) {
      const x = new Tensor(rand(n * 8), [n, 8], "f32");
      expectInterpreter(g, [x], mod.run([x]));
    }
  });

  test("wrong inputs are ShapeErrors naming the input", () => {
    const mod = loadModule(dir);
    const e1 = thrown(() => mod.run([new Tensor(rand(2 * 9), [2, 9], "f32")]));
    expect(e1).toBeInstanceOf(ShapeError);
    expect(e1.message).toMatch(/input x: dimension 1 must be 8, got 9/);
    expect(thrown(() => mod.run([Tensor.zeros([2, 8], "f64")])).message).toMatch(/input x: expected dtype f32/);
    expect(thrown(() => mod.run([])).message).toMatch(/takes 1 inputs \(x\), got 0/);
    expect(thrown(() => mod.run([Tensor.zeros([8], "f32")])).message).toMatch(/input x: expected 2 dimensions/);
  });

  describe("damaged artifacts are refused", () => {
    const copy = (name: string) => { const d = path.join(root, name); cpSync(dir, d, { recursive: true }); return d; };
    const manifest = (d: string) => JSON.parse(readFileSync(path.join(d, MANIFEST_FILE), "utf8"));
    const flip = (file: string, at: (b: Buffer) => number) => { const b = readFileSync(file); b[at(b)]! ^= 0x01; writeFileSync(file, b); };
    const refused = (d: string, re: RegExp, file: string) => {
      const e = thrown(() => loadModule(d));
      expect(e).toBeInstanceOf(LatheError);
      expect(e.message).toContain(file);
      expect(e.message).toMatch(re);
    };

    test("a flipped byte in the library", () => {
      const d = copy("flip-lib");
      const lib = path.join(d, manifest(d).library.file);
      flip(lib, (b) => b.length >> 1);
      refused(d, /library does not match the manifest's sha256/, lib);
    });
    test("a flipped byte in the parameters", () => {
      const d = copy("flip-params");
      flip(path.join(d, PARAMS_FILE), (b) => b.length - 3);
      refused(d, /parameters does not match/, path.join(d, PARAMS_FILE));
    });
    test("a flipped byte in the manifest (a value, and the JSON syntax)", () => {
      const d = copy("flip-manifest");
      const file = path.join(d, MANIFEST_FILE);
      flip(file, (b) => b.indexOf('"batch"') + 3); // "batch" → "bauch": a different signature
      refused(d, /checksum mismatch/, file);
      const d2 = copy("flip-manifest-syntax");
      flip(path.join(d2, MANIFEST_FILE), (b) => b.indexOf("{")); // '{' → 'z'
      refused(d2, /not valid JSON/, path.join(d2, MANIFEST_FILE));
    });
    test("truncated library and parameters", () => {
      const d = copy("trunc-lib");
      const lib = path.join(d, manifest(d).library.file);
      truncateSync(lib, 1000);
      refused(d, /library has 1000 bytes, the manifest says \d+ \(truncated/, lib);
      const d2 = copy("trunc-params");
      truncateSync(path.join(d2, PARAMS_FILE), 10);
      refused(d2, /parameters has 10 bytes/, path.join(d2, PARAMS_FILE));
    });
    test("a library built for instruction sets this CPU lacks (a consistently re-signed manifest)", () => {
      const lacking = ["amx_tile", "avx512_fp16", "avx512f", "avx2"].find((f) => !hostIsa().includes(f));
      if (lacking === undefined) return; // this host has every candidate extension
      const d = copy("foreign-isa");
      const file = path.join(d, MANIFEST_FILE);
      const { manifestSha256: _, ...body } = manifest(d);
      body.compile.isa.push(lacking);
      writeFileSync(file, JSON.stringify({ ...body, manifestSha256: sha256(new TextEncoder().encode(JSON.stringify(body, null, 2))) }, null, 2));
      refused(d, new RegExp(`compiled for a CPU with ${lacking}, which this host lacks`), d);
    });
    test("a missing manifest (an interrupted compile)", () => {
      const d = copy("no-manifest");
      rmSync(path.join(d, MANIFEST_FILE));
      refused(d, /not a Lathe artifact: manifest\.json is missing/, d);
    });
  });

  test("rewriting an artifact in place loads the new library and removes the old one", async () => {
    const d = copy2("rewrite");
    const before = loadModule(d);
    const b = new GraphBuilder();
    const x = b.input("x", ["batch", 8]);
    const g2 = b.build([b.op1("mul", [x, x])]);
    await writeArtifact(await compileGraph(g2), d);
    const after = loadModule(d);
    expect(after.manifest.library.file).not.toBe(before.manifest.library.file);
    const t = new Tensor(rand(16), [2, 8], "f32");
    expectInterpreter(g2, [t], after.run([t]));
    expect(readdirSync(d).filter((f) => f.endsWith(".so"))).toEqual([after.manifest.library.file]);
    expect(readdirSync(d).filter((f) => f.includes(".tmp-"))).toEqual([]);
  }, 120_000);

  const copy2 = (name: string) => { const d = path.join(root, name); cpSync(dir, d, { recursive: true }); return d; };
});

describe("params.bin", () => {
  test("round trip of every dtype, aligned data, and no tensors at all", () => {
    const params = DTYPES.map((d, i) => { const t = Tensor.random([i + 1, 3], d, i); return { name: `p${i}`, dtype: d, shape: t.shape, data: t.data }; });
    const bytes = encodeParams(params);
    const back = decodeParams(bytes, "x.bin");
    expect(back.map((p) => [p.name, p.dtype, p.shape])).toEqual(params.map((p) => [p.name, p.dtype, p.shape]));
    back.forEach((p, i) => expect(p.data).toEqual(params[i]!.data));
    const index = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + new DataView(bytes.buffer).getUint32(12, true))));
    for (const e of index) expect(e.offset % 64).toBe(0);
    expect(decodeParams(encodeParams([]), "empty.bin")).toEqual([]);
  });

  test("many parameters (an index longer than the first guess)", () => {
    const params = Array.from({ length: 40 }, (_, i) => ({ name: `layer${i}.weight`, dtype: "f32" as const, shape: [2], data: new Float32Array([i, -i]) }));
    expect(decodeParams(encodeParams(params), "p.bin").map((p) => p.data[1])).toEqual(params.map((_, i) => -i));
  });

  test("malformed files name the file", () => {
    expect(() => decodeParams(new Uint8Array(20), "bad.bin")).toThrow(/bad\.bin: not a Lathe parameters file/);
    const ok = encodeParams([{ name: "w", dtype: "f64", shape: [4], data: new Float64Array(4) }]);
    expect(() => decodeParams(ok.subarray(0, ok.length - 8), "short.bin")).toThrow(/short\.bin: parameter w: data lies outside the file/);
  });
});
