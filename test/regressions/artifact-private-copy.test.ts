// loadModule hashed the artifact's library and then dlopened it by its path, so a library
// replaced between the check and dlopen ran unchecked. It now dlopens a private copy written
// from the verified bytes. Here NativeLibrary.open is wrapped so that, at the moment of
// dlopen, the artifact's library file is replaced by another library with the same entry
// point: the module must still compute what the verified library computes.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { writeArtifact } from "../../compiler/targets/cpu/artifact.ts";
import { compileGraph } from "../../compiler/targets/cpu/graph.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { MANIFEST_FILE } from "../../runtime/artifact.ts";
import { Tensor } from "../../runtime/tensor.ts";

const opened: { path: string; dirMode: number }[] = [];
const swap: { from?: Buffer; to?: string } = {};

vi.mock("../../runtime/native.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../runtime/native.ts")>();
  // module.ts only calls NativeLibrary.open.
  const NativeLibrary = {
    open(p: string) {
      opened.push({ path: p, dirMode: statSync(path.dirname(p)).mode & 0o777 });
      if (swap.from && swap.to) writeFileSync(swap.to, swap.from); // the attacker's moment: after hashing, before dlopen
      return real.NativeLibrary.open(p);
    },
  };
  return { ...real, NativeLibrary };
});

const { loadModule } = await import("../../runtime/module.ts");

const root = mkdtempSync(path.join(os.tmpdir(), "lathe-private-copy-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** y = x·k or y = x + k: the same signature (k is a parameter) and entry point, different code. */
function graph(op: "mul" | "add"): Graph {
  const b = new GraphBuilder();
  const x = b.input("x", [4]);
  return b.build([b.op1(op, [x, b.constant("k", Float32Array.from([2]), [1])])]);
}

describe("loadModule dlopens what it verified", () => {
  const good = path.join(root, "good"), evil = path.join(root, "evil");
  beforeAll(async () => {
    await writeArtifact(await compileGraph(graph("mul")), good);
    await writeArtifact(await compileGraph(graph("add")), evil);
  }, 120_000);

  test("a library swapped in after verification is not the one that runs", () => {
    const dir = path.join(root, "victim");
    cpSync(good, dir, { recursive: true });
    const lib = JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), "utf8")).library.file as string;
    const evilLib = JSON.parse(readFileSync(path.join(evil, MANIFEST_FILE), "utf8")).library.file as string;
    swap.from = readFileSync(path.join(evil, evilLib));
    swap.to = path.join(dir, lib);
    try {
      const m = loadModule(dir);
      expect(readFileSync(path.join(dir, lib))).toEqual(swap.from); // the file was replaced…
      expect(m.run([Tensor.fromArray([1, 2, 3, 4], [4], "f32")])[0]!.toArray()).toEqual([2, 4, 6, 8]); // …but x·2 runs, not x + 2
      m.close();
    } finally {
      swap.from = undefined;
    }
  });

  test("the copy is a fresh file in a private (0700) directory, gone after loading", () => {
    opened.length = 0;
    const m = loadModule(good);
    expect(opened).toHaveLength(1);
    const { path: p, dirMode } = opened[0]!;
    expect(path.dirname(p)).not.toBe(path.resolve(good));
    expect(path.basename(p)).toMatch(/^model-[0-9a-f]{8}\.so$/);
    expect(dirMode).toBe(0o700);
    expect(existsSync(p)).toBe(false);
    expect(existsSync(path.dirname(p))).toBe(false);
    expect(m.run([Tensor.fromArray([1, -1, 0.5, 0], [4], "f32")])[0]!.toArray()).toEqual([2, -2, 1, 0]);
    m.close();
  });
});
