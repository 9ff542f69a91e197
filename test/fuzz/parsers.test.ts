// Parser fuzzing (issue 23): 1,000 seeded mutations of valid inputs for each reader of
// user-supplied files — .npy, graph text (.lg), tensor expressions (.te), artifact manifests
// (raw and re-sealed with a valid checksum, so the structural checks run), params.bin and
// tuning logs. Each mutation must parse or fail with a LatheError; any other exception
// (a TypeError, a RangeError from a typed array) fails the test with the case's seed.
// FUZZ_PARSER_CASES raises the count (e.g. 10000) for a longer run.
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { readLog, makeRecord } from "../../compiler/autotune/log.ts";
import { parseGraph } from "../../compiler/graph/text/parse.ts";
import { printGraph } from "../../compiler/graph/text/print.ts";
import { parseTE } from "../../compiler/te/parse.ts";
import { ARTIFACT_FORMAT, ARTIFACT_VERSION, decodeParams, encodeParams, manifestText, parseManifest, sha256 } from "../../runtime/artifact.ts";
import { decodeNpy, encodeNpy } from "../../runtime/npy.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { buildCase, recipeArb } from "./graph-gen.ts";

const CASES = Number(process.env.FUZZ_PARSER_CASES ?? 1000);
const enc = new TextEncoder(), dec = new TextDecoder();

/** Token-level replacements that reach unusual paths: prototype names, huge and odd numbers, brackets. */
const NASTY = ["__proto__", "constructor", "toString", "-1", "0", "1e309", "NaN", "-0", "9007199254740993", "4294967296", "[]", "{}", "\"\"", "null", "true", "<", ">", "f16", "i64", "bool", "'", "\\u0000", "\n", ",", ":", "="];

/** One seeded mutation of `bytes` (1–3 edits). */
export function mutate(bytes: Uint8Array, rng: Rng): Uint8Array {
  let b = Array.from(bytes);
  const edits = 1 + rng.int(0, 3);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(0, Math.max(1, b.length)), len = 1 + rng.int(0, 8);
    switch (rng.int(0, 7)) {
      case 0: if (b.length) b[at % b.length] ^= 1 << rng.int(0, 8); break; // bit flip
      case 1: b = b.slice(0, at); break; // truncate
      case 2: b.splice(at, len); break; // delete a span
      case 3: b.splice(at, 0, ...b.slice(at, at + len)); break; // duplicate a span
      case 4: b.splice(at, 0, ...Array.from({ length: len }, () => rng.int(0, 256))); break; // random bytes
      case 5: { // replace a token (a run of word characters or digits) with a nasty one
        const text = dec.decode(Uint8Array.from(b));
        const tokens = [...text.matchAll(/[A-Za-z_0-9.+-]+/g)];
        if (!tokens.length) break;
        const t = tokens[rng.int(0, tokens.length)]!;
        b = Array.from(enc.encode(text.slice(0, t.index) + NASTY[rng.int(0, NASTY.length)]! + text.slice(t.index! + t[0].length)));
        break;
      }
      case 6: { // swap two lines
        const lines = dec.decode(Uint8Array.from(b)).split("\n");
        if (lines.length < 2) break;
        const i = rng.int(0, lines.length), j = rng.int(0, lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        b = Array.from(enc.encode(lines.join("\n")));
        break;
      }
    }
  }
  return Uint8Array.from(b);
}

/** Runs `parse` on CASES mutations of the seeds; returns the non-Lathe exceptions (case, message). */
function fuzzParser(seeds: readonly Uint8Array[], parse: (bytes: Uint8Array, k: number) => void, seed: number): string[] {
  const rng = new Rng(seed), bad: string[] = [];
  let parsed = 0;
  for (let k = 0; k < CASES; k++) {
    const input = mutate(seeds[k % seeds.length]!, rng);
    try {
      parse(input, k);
      parsed++;
    } catch (e) {
      if (!(e instanceof LatheError)) bad.push(`case ${k}: ${(e as Error).name}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  // Some mutations keep the input valid; if none did, the mutator only ever tests the first check.
  expect(parsed, "mutations that still parse").toBeGreaterThan(0);
  return bad;
}

describe("parser fuzzing: every mutation parses or gets a LatheError", () => {
  test(".npy (decodeNpy)", () => {
    const seeds = [
      Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3], "f32"), Tensor.fromArray([1, -2], [2], "i64"), Tensor.fromArray([1, 0, 1], [3], "bool"),
      Tensor.fromArray([7], [], "i32"), Tensor.fromArray([0.5, 1.5, 2.5, 3.5], [2, 1, 2], "f16"), Tensor.fromArray([], [0, 3], "f64"), Tensor.fromArray([1, 2], [2], "u8"),
    ].map(encodeNpy);
    expect(fuzzParser(seeds, (bytes, k) => {
      const t = decodeNpy(bytes, `case${k}.npy`);
      expect(t.data.length).toBe(t.shape.reduce((a, c) => a * c, 1));
    }, 1)).toEqual([]);
  });

  test("graph text (.lg, parseGraph)", () => {
    const seeds = fc.sample(recipeArb, { seed: 9, numRuns: 12 }).map((r) => enc.encode(printGraph(buildCase(r).graph, { inlineConstants: 64 })));
    expect(fuzzParser(seeds, (bytes, k) => { parseGraph(dec.decode(bytes), { source: `case${k}.lg` }); }, 2)).toEqual([]);
  });

  test("tensor expressions (.te, parseTE)", () => {
    const seeds = [
      "input X: f32[8, 100]\nM[i] = max(k: 100, X[i, k])\nE[i, j] = exp(X[i, j] - M[i])\nS[i] = sum(k: 100, E[i, k])\nY[i, j] = E[i, j] / S[i]\n",
      "n = size\ninput A: f32[64, 32]\ninput B: f32[32, n]\nC[i: 64, j: n] = sum(k: 32, A[i, k] * B[k, j])\nD[i, j] = max(C[i, j], 0.0)\n",
      "n = size\ninput D: f32[4, n]\nE[i]: f64 = sum((j: n, r: 2..5), D[i, j] * r, where j % 2 == 0, init = 1.0);\n",
      "input X: i32[4, 6]\nY[i, j] = cast<f32>(X[i, j] / 3 + X[i, j] % 5) * 2\n",
    ].map((t) => enc.encode(t));
    for (const s of seeds) parseTE(dec.decode(s), "seed.te"); // the seeds themselves are valid
    expect(fuzzParser(seeds, (bytes, k) => { parseTE(dec.decode(bytes), `case${k}.te`); }, 3)).toEqual([]);
  });

  test("artifact manifests (parseManifest), raw and re-sealed with a valid checksum", () => {
    const body = {
      format: ARTIFACT_FORMAT, formatVersion: ARTIFACT_VERSION, latheVersion: "0.0.0", target: "cpu", entry: "lathe_graph_run",
      library: { file: "model.so", sha256: "ab".repeat(32), bytes: 1000 }, params: { file: "params.bin", sha256: "cd".repeat(32), bytes: 24 },
      inputs: [{ name: "x", dtype: "f32", shape: ["n", 3] }], outputs: [{ name: "y", dtype: "f32", shape: ["n", 2] }], constants: [{ name: "w", dtype: "f32", shape: [3, 2] }],
      compile: { flags: ["-O3"], compiler: "g++", cpu: "test", isa: ["avx2"] },
    };
    const seal = (m: Record<string, unknown>) => { const { manifestSha256: _, ...rest } = m; return enc.encode(JSON.stringify({ ...rest, manifestSha256: sha256(enc.encode(manifestText(rest as never))) }, null, 2)); };
    const seed = seal(body);
    parseManifest(seed, "/a"); // valid as written
    expect(fuzzParser([seed], (bytes) => { parseManifest(bytes, "/a"); }, 4)).toEqual([]);
    // Re-sealed: a mutation that is still JSON gets a correct checksum, so the structure checks see it.
    expect(fuzzParser([seed], (bytes) => {
      let m: unknown;
      try { m = JSON.parse(dec.decode(bytes)); } catch { m = null; }
      parseManifest(m && typeof m === "object" ? seal(m as Record<string, unknown>) : bytes, "/a");
    }, 5)).toEqual([]);
  });

  test("params.bin (decodeParams)", () => {
    const seeds = [encodeParams([{ name: "w", dtype: "f32", shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }, { name: "b", dtype: "i64", shape: [2], data: BigInt64Array.of(1n, -1n) }])];
    expect(fuzzParser(seeds, (bytes, k) => { decodeParams(bytes, `case${k}/params.bin`); }, 6)).toEqual([]);
  });

  test("tuning logs (readLog)", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-logfuzz-"));
    const lines = [makeRecord("matmul:f32[64,64]x[64,64]", { mr: 4, nr: 16, ku: 1 }, [1e-3, 1.1e-3]), makeRecord("relu:f32[8]", { vec: 8 }, null, "crashed")].map((r) => JSON.stringify(r)).join("\n");
    const seeds = [enc.encode(`${lines}\n`)];
    expect(fuzzParser(seeds, (bytes, k) => {
      const file = path.join(dir, `case${k}.jsonl`);
      writeFileSync(file, bytes);
      readLog(file);
    }, 7)).toEqual([]);
  });
});
