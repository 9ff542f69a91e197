import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { encodeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { checkFitInput, checkModelFits, readPoints, readTrueLabels } from "./input.ts";
import type { ClusterModel } from "./types.ts";

const dir = mkdtempSync(join(tmpdir(), "lathe-cluster-input-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: Uint8Array | string): string => { const p = join(dir, name); writeFileSync(p, content); return p; };
const npy = (name: string, data: ArrayLike<number>, shape: number[], dtype: "f32" | "f64" | "i32" | "u8" = "f32") =>
  file(name, encodeNpy(Tensor.fromArray(data, shape, dtype)));

describe("reading points", () => {
  test(".npy of f32, f64, i32 and u8 become f32 points [n, d]", () => {
    for (const dtype of ["f32", "f64", "i32", "u8"] as const) {
      const p = readPoints(npy(`ok-${dtype}.npy`, [1, 2, 3, 4, 5, 6], [3, 2], dtype));
      expect(p.n).toBe(3);
      expect(p.d).toBe(2);
      expect(p.data).toBeInstanceOf(Float32Array);
      expect(Array.from(p.data)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  test(".csv with or without a header, blank lines skipped, a BOM allowed", () => {
    const a = readPoints(file("h.csv", "\uFEFFx,y\n1,2.5\n\n-3,4e1\n"));
    expect([a.n, a.d, ...a.data]).toEqual([2, 2, 1, 2.5, -3, 40]);
    const b = readPoints(file("nh.csv", "1,2\n3,4\n5,6\n"));
    expect([b.n, b.d, ...b.data]).toEqual([3, 2, 1, 2, 3, 4, 5, 6]);
  });

  test("bad points: each one LatheError line naming the file and where", () => {
    const bad: [string, string][] = [
      [npy("nan.npy", [1, 2, 3, 4, NaN, 6], [3, 2]), "nan.npy: row 2, column 0 (0-based) is NaN"],
      [npy("inf64.npy", [1, 2, 1e300, 4], [2, 2], "f64"), "inf64.npy: row 1, column 0 (0-based) is 1e+300, beyond the f32 range"],
      [file("empty.npy", new Uint8Array()), "empty.npy: empty file (no points)"],
      [file("empty.csv", ""), "empty.csv: empty file (no points)"],
      [file("blank.csv", "\n\n"), "blank.csv: no points (only blank lines)"],
      [file("header.csv", "a,b\n"), "header.csv: a header line but no points"],
      [npy("none.npy", [], [0, 3]), "none.npy: no points (shape [0, 3])"],
      [npy("cube.npy", new Array(8).fill(0), [2, 2, 2]), "cube.npy: a 3-D array [2, 2, 2]; clustering takes a 2-D array [points, features]"],
      [npy("vec.npy", [1, 2, 3], [3]), "vec.npy: a 1-D array [3]; clustering takes a 2-D array [points, features] (reshape one feature to [n, 1])"],
      [file("nan.csv", "a,b\n1,2\n3,NaN\n"), `nan.csv:3: column 2 ("b") is NaN, not a finite number`],
      [file("gap.csv", "1,2\n3,\n"), "gap.csv:2: column 2 is empty"],
      [file("word.csv", "1,2\n3,x4\n"), `word.csv:2: column 2 is "x4", not a number`],
      [file("ragged.csv", "1,2,3\n4,5\n"), "ragged.csv:2: 2 fields, expected 3 (as on line 1)"],
      [file("points.txt", "1,2\n"), "points.txt: expected a .npy or .csv file"],
      [file("notnpy.npy", "hello"), "notnpy.npy: not a .npy file"],
    ];
    for (const [path, message] of bad) {
      let err: unknown;
      try { readPoints(path); } catch (e) { err = e; }
      expect(err, path).toBeInstanceOf(LatheError);
      expect((err as Error).message, path).toContain(message);
      expect((err as Error).message).not.toContain("\n");
    }
    expect(() => readPoints(join(dir, "missing.npy"))).toThrow(/^cannot read .*missing\.npy/);
  });
});

describe("labels and checks", () => {
  test("true labels: integers of any dtype, [n] or [n, 1]; wrong length, non-integers and other shapes are errors", () => {
    expect(Array.from(readTrueLabels(npy("y.npy", [0, 2, 1], [3], "i32"), 3, "x.npy"))).toEqual([0, 2, 1]);
    expect(Array.from(readTrueLabels(npy("yf.npy", [1, 0], [2, 1], "f64"), 2, "x.npy"))).toEqual([1, 0]);
    expect(() => readTrueLabels(npy("short.npy", [0, 1], [2], "i32"), 3, "x.npy")).toThrow("short.npy: 2 labels for the 3 points of x.npy");
    expect(() => readTrueLabels(npy("frac.npy", [0, 1.5], [2], "f32"), 2, "x.npy")).toThrow("frac.npy: label 1 is 1.5, not an integer");
    expect(() => readTrueLabels(npy("wide.npy", [0, 1, 2, 3], [2, 2], "i32"), 2, "x.npy")).toThrow("wide.npy: labels must be a vector [n] (or [n, 1]), got shape [2, 2]");
  });

  test("fit input: a single point, k < 1 and k > n are errors; a model must match d", () => {
    const one = { data: new Float32Array(2), n: 1, d: 2 }, five = { data: new Float32Array(10), n: 5, d: 2 };
    expect(() => checkFitInput(one, 1, "p.npy")).toThrow("p.npy: a single point; clustering needs at least 2");
    expect(() => checkFitInput(five, 0, "p.npy")).toThrow("--k must be a positive integer, got 0");
    expect(() => checkFitInput(five, 6, "p.npy")).toThrow("--k 6 is more than the 5 points in p.npy");
    expect(() => checkFitInput(five, 5, "p.npy")).not.toThrow();
    const model = { method: "kmeans", k: 2, d: 3 } as unknown as ClusterModel;
    expect(() => checkModelFits(model, five, "m/", "p.npy")).toThrow("m/: the model was fitted on 3 features, p.npy has 2");
  });
});
