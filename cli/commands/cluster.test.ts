import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { blobs } from "../../models/data/synthetic.ts";
import { clusterScores } from "../../models/lib/cluster-metrics.ts";
import { main } from "../main.ts";

const T = 180_000;
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "lathe-cluster-cli-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);

/** Runs `lathe …` in process; returns what it printed. */
async function lathe(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const out = vi.spyOn(console, "log").mockImplementation(() => {});
  const err = vi.spyOn(console, "error").mockImplementation(() => {});
  process.exitCode = 0;
  try {
    await main(["node", "lathe", ...args]);
    return { stdout: out.mock.calls.map((c) => c.join(" ")).join("\n"), stderr: err.mock.calls.map((c) => c.join(" ")).join("\n"), code: Number(process.exitCode ?? 0) };
  } finally {
    out.mockRestore(); err.mockRestore();
    process.exitCode = 0;
  }
}

const set = blobs({ n: 120, centers: 3, dim: 2, std: 0.4, box: 10, seed: 4 });
const xs = set.x.data as Float32Array, truth = set.y.data as Int32Array;

describe("lathe cluster", () => {
  beforeAll(() => {
    writeNpy(at("blobs.npy"), set.x);
    writeNpy(at("truth.npy"), set.y);
    const rows = Array.from({ length: 120 }, (_, i) => `${xs[2 * i]},${xs[2 * i + 1]}`);
    writeFileSync(at("blobs.csv"), `x,y\n${rows.join("\n")}\n`);
  });

  test("kmeans on .npy and .csv blobs: labels file, sizes, ACC/NMI/ARI; --save then --model gives the same labels", async () => {
    const r = await lathe("cluster", at("blobs.npy"), "--method", "kmeans", "--k", "3", "--seed", "1", "-o", at("labels.npy"), "--labels", at("truth.npy"), "--save", at("model"));
    expect(r.code, r.stderr).toBe(0);
    const labels = readNpy(at("labels.npy"));
    expect(labels.dtype).toBe("i32");
    expect(labels.shape).toEqual([120]);
    expect(clusterScores(labels.data as Int32Array, truth)).toMatchObject({ acc: 1, ari: 1 });
    expect(r.stdout).toMatch(/^kmeans: 120 points × 2 features, k = 3: \d+ iterations \(converged\), objective [\d.e+]+; [\d.]+ s$/m);
    expect(r.stdout).toContain("cluster sizes: 0: 40, 1: 40, 2: 40");
    expect(r.stdout).toContain(`against ${at("truth.npy")}: ACC 1.0000  NMI 1.0000  ARI 1.0000`);
    expect(r.stdout).toContain(`wrote ${at("labels.npy")}, ${at("model")}`);
    expect(existsSync(join(at("model"), "model.json"))).toBe(true);

    const csv = await lathe("cluster", at("blobs.csv"), "--method", "kmeans", "--k", "3", "--seed", "1", "-o", at("labels-csv.npy"));
    expect(csv.code, csv.stderr).toBe(0);
    expect(readNpy(at("labels-csv.npy")).toArray()).toEqual(labels.toArray());

    const again = await lathe("cluster", at("blobs.csv"), "--model", at("model"), "-o", at("labels-model.npy"), "--labels", at("truth.npy"));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^kmeans: labelled 120 points × 2 features with the model in .* \(k = 3\); [\d.]+ s$/m);
    expect(readNpy(at("labels-model.npy")).toArray()).toEqual(labels.toArray());
  }, T);

  test("gmm and nmm are wired: diag covariance on the blobs; nmm fits, saves, and its saved network labels the points again", async () => {
    const g = await lathe("cluster", at("blobs.npy"), "--method", "gmm", "--covariance", "diag", "--k", "3", "--labels", at("truth.npy"));
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toContain("ACC 1.0000");
    const n = await lathe("cluster", at("blobs.npy"), "--method", "nmm", "--k", "3", "--seed", "2", "--epochs", "60", "-o", at("nmm.npy"), "--labels", at("truth.npy"), "--save", at("nmm-model"));
    expect(n.code, n.stderr).toBe(0);
    const acc = Number(/ACC ([\d.]+)/.exec(n.stdout)![1]);
    expect(acc).toBeGreaterThanOrEqual(0.95);
    const again = await lathe("cluster", at("blobs.npy"), "--model", at("nmm-model"), "-o", at("nmm-again.npy"));
    expect(again.code, again.stderr).toBe(0);
    expect(readNpy(at("nmm-again.npy")).toArray()).toEqual(readNpy(at("nmm.npy")).toArray());
    const wrong = await lathe("cluster", at("blobs.npy"), "--method", "kmeans", "--k", "3", "--image", "1x2");
    expect([wrong.code, wrong.stderr]).toEqual([1, "lathe: LatheError: --image works with --method nmm only"]);
    const badImage = await lathe("cluster", at("blobs.npy"), "--method", "nmm", "--k", "3", "--image", "28");
    expect([badImage.code, badImage.stderr]).toEqual([1, 'lathe: LatheError: --image must be HxW (e.g. 28x28), got "28"']);
  }, T);

  test("bad input: one line naming the file or field, exit 1, nothing written", async () => {
    const npy = (name: string, data: number[], shape: number[], dtype: "f32" | "i32" = "f32") => { writeNpy(at(name), Tensor.fromArray(data, shape, dtype)); return at(name); };
    const nan = npy("nan.npy", [0, 1, 2, NaN, 4, 5], [3, 2]);
    const empty = at("empty.npy"); writeFileSync(empty, "");
    const single = npy("single.npy", [1, 2], [1, 2]);
    const cube = npy("cube.npy", new Array(8).fill(1), [2, 2, 2]);
    const shortLabels = npy("short.npy", [0, 1, 2], [3], "i32");
    const noJson = at("no-json"); mkdirSync(noJson);
    const corrupt = at("corrupt"); mkdirSync(corrupt); writeFileSync(join(corrupt, "model.json"), "{ nope");
    const wideModel = at("wide-model");
    const w = await lathe("cluster", npy("wide.npy", Array.from({ length: 30 }, (_, i) => i % 7), [10, 3]), "--method", "kmeans", "--k", "2", "--save", wideModel);
    expect(w.code, w.stderr).toBe(0);
    const data = at("blobs.npy");
    const cases: [string[], string][] = [
      [[nan, "--method", "kmeans", "--k", "2"], `lathe: LatheError: ${nan}: row 1, column 1 (0-based) is NaN`],
      [[empty, "--method", "kmeans", "--k", "2"], `lathe: LatheError: ${empty}: empty file (no points)`],
      [[single, "--method", "kmeans", "--k", "1"], `lathe: LatheError: ${single}: a single point; clustering needs at least 2`],
      [[data, "--method", "kmeans", "--k", "121"], `lathe: LatheError: --k 121 is more than the 120 points in ${data}`],
      [[data, "--method", "kmeans", "--k", "0"], "lathe: LatheError: --k must be a positive integer, got 0"],
      [[data, "--method", "kmeans", "--k", "three"], `lathe: LatheError: --k must be an integer, got "three"`],
      [[cube, "--method", "kmeans", "--k", "2"], `lathe: LatheError: ${cube}: a 3-D array [2, 2, 2]; clustering takes a 2-D array [points, features]`],
      [[data, "--method", "kmeans", "--k", "3", "--labels", shortLabels], `lathe: LatheError: ${shortLabels}: 3 labels for the 120 points of ${data}`],
      [[data, "--method", "spectral", "--k", "3"], `lathe: LatheError: unknown method "spectral"; one of kmeans, gmm, nmm`],
      [[data, "--k", "3"], "lathe: LatheError: --method is required (one of kmeans, gmm, nmm) unless --model is given"],
      [[data, "--model", noJson], `lathe: LatheError: ${join(noJson, "model.json")}: missing (not a saved lathe cluster model; write one with --save)`],
      [[data, "--model", corrupt], `lathe: LatheError: ${join(corrupt, "model.json")}: not valid JSON`],
      [[data, "--model", wideModel], `lathe: LatheError: ${wideModel}: the model was fitted on 3 features, ${data} has 2`],
      [[data, "--model", at("model"), "--method", "gmm"], `lathe: LatheError: --method gmm, but ${at("model")} holds a kmeans model`],
      [[data, "--method", "kmeans", "--k", "3", "--covariance", "full"], "lathe: LatheError: --covariance works with --method gmm only"],
    ];
    for (const [args, message] of cases) {
      const r = await lathe("cluster", ...args, "-o", at("never.npy"), ...(args.includes("--model") ? [] : ["--save", at("never-model")]));
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr.split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr.startsWith(message), `${r.stderr}\n  wanted ${message}`).toBe(true);
      expect(existsSync(at("never.npy"))).toBe(false);
      expect(existsSync(at("never-model"))).toBe(false);
    }
  }, T);
});
