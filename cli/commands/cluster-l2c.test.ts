import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { loadL2c } from "../../models/cluster/l2c-save.ts";
import { drawSet2d } from "../../models/cluster/l2c-sets.ts";
import { clusterScores } from "../../models/lib/cluster-metrics.ts";
import { main } from "../main.ts";

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "lathe-cluster-l2c-")); });
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

describe("lathe cluster with l2c", () => {
  test("train saves a model; clustering a set with it prints k, P(k), MR and NMI and writes the labels", async () => {
    const model = at("model");
    const t = await lathe("cluster", "train", "--method", "l2c", "--data", "points2d", "-o", model, "--steps", "4", "--batch-size", "4", "--set-size", "12", "--seed", "2", "--no-progress");
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^l2c: 4 steps on points2d sets; best validation MR [\d.]+ at step \d+/);
    expect(existsSync(join(model, "model.json"))).toBe(true);

    const s = drawSet2d(new Rng(8), { n: 12 });
    writeNpy(at("set.npy"), new Tensor(s.points, [12, 2], "f32"));
    writeNpy(at("truth.npy"), new Tensor(s.labels, [12], "i32"));
    const r = await lathe("cluster", at("set.npy"), "--model", model, "--labels", at("truth.npy"), "-o", at("labels.npy"));
    expect(r.code, r.stderr).toBe(0);
    const want = await loadL2c(model).cluster({ data: s.points, n: 12, d: 2 });
    expect(r.stdout).toContain(`l2c: 12 points: k = ${want.k}; P(k) 1: ${want.pk[0]!.toFixed(3)}`);
    const labels = readNpy(at("labels.npy"));
    expect(Array.from(labels.data as Int32Array)).toEqual(Array.from(want.labels));
    const sc = clusterScores(want.labels, s.labels);
    expect(r.stdout).toContain(`MR ${(1 - sc.acc).toFixed(4)}  NMI ${sc.nmi.toFixed(4)}`);

    // Bad input: one line each.
    writeNpy(at("three.npy"), new Tensor(new Float32Array(12), [4, 3], "f32"));
    const cases: [string[], string][] = [
      [["cluster", at("three.npy"), "--model", model], `lathe: LatheError: ${at("three.npy")}: 3 features per point, the l2c model in ${model} takes 2`],
      [["cluster", at("set.npy"), "--model", model, "--k", "3"], "lathe: LatheError: --k does not apply to l2c (it finds k itself)"],
      [["cluster", at("set.npy"), "--method", "kmeans", "--model", model], `lathe: LatheError: --method kmeans, but ${model} holds an l2c model`],
      // --method l2c takes the l2c path without reading the directory first.
      [["cluster", at("set.npy"), "--method", "l2c", "--model", at("nowhere")], `lathe: LatheError: ${at("nowhere")}: no such model directory`],
      [["cluster", at("set.npy"), "--method", "l2c"], "lathe: LatheError: --method l2c needs --model MODEL/ (train one with `lathe cluster train --method l2c`)"],
      [["cluster", "train", "--method", "l2c", "--data", "fmnist", "-o", at("m2")], "lathe: LatheError: cluster train: --data fmnist is not available yet; use points2d"],
      [["cluster", "train", "--method", "gmm", "--data", "points2d", "-o", at("m2")], 'lathe: LatheError: cluster train: --method must be l2c (the other methods fit DATA directly), got "gmm"'],
      [["cluster", "train", "--method", "l2c", "--data", "points2d", "-o", at("none/m2")], `lathe: LatheError: -o ${at("none/m2")}: the directory ${at("none")} does not exist`],
    ];
    for (const [args, msg] of cases) {
      const e = await lathe(...args);
      expect([e.code, e.stderr], args.join(" ")).toEqual([1, msg]);
    }
    expect(existsSync(at("m2"))).toBe(false);
  }, 240_000);
});
