/**
 * "Loading an artifact needs no compiler": a fresh process that imports `lathe/runtime`
 * alone runs an artifact, and every Lathe file it loads is under runtime/ or core/.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, expect, test } from "vitest";
import { compile } from "../../compiler/driver/compile.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { writeArtifact } from "../../compiler/targets/cpu/artifact.ts";
import { Tensor } from "../../runtime/tensor.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-runtime-alone-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test("a program importing lathe/runtime runs an artifact and loads no compiler, training or model code", async () => {
  const b = new GraphBuilder();
  const x = b.input("x", ["batch", 3]);
  const w = b.constant("w", Float32Array.from([1, -2, 0.5, 3, 0, -1]), [3, 2]);
  const g = b.build([b.op1("relu", [b.op1("matmul", [x, w])])]);
  const compiled = await compile(g, "cpu");
  const dir = path.join(tmp, "artifact");
  await writeArtifact(compiled, dir);

  const input = { data: [1, 2, 3, -1, 0.5, 2], shape: [2, 3] };
  const expected = compiled.run([Tensor.fromArray(input.data, input.shape, "f32")]);
  const log = path.join(tmp, "loads.txt");
  const stdout = execFileSync(process.execPath, [
    "--import", pathToFileURL(path.join(ROOT, "test/runtime/fixtures/record-loads.mjs")).href,
    "--import", TSX,
    path.join(ROOT, "test/runtime/fixtures/run-artifact.ts"), dir, JSON.stringify(input),
  ], { cwd: ROOT, env: { ...process.env, LATHE_LOAD_LOG: log }, encoding: "utf8" });

  const outs = JSON.parse(stdout) as { shape: number[]; data: number[] }[];
  expect(outs).toHaveLength(1);
  expect(outs[0]!.shape).toEqual([2, 2]);
  expect(outs[0]!.data).toEqual(Array.from(expected[0]!.toArray()));

  const lathe = readFileSync(log, "utf8").split("\n").filter(Boolean)
    .map((u) => path.relative(ROOT, fileURLToPath(u)))
    .filter((f) => !f.startsWith("..") && !f.startsWith("node_modules/"));
  expect(lathe.some((f) => f.startsWith("runtime/"))).toBe(true); // the log does record loads
  const outside = [...new Set(lathe.filter((f) => !/^(runtime|core)\//.test(f) && f !== "package.json" && !f.startsWith("test/runtime/fixtures/") && !f.startsWith("build/")))];
  expect(outside).toEqual([]);
});
