import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { missingFashionMnistFile } from "../data/fashion-mnist.ts";
import { listExperiments } from "../lib/discover-experiments.ts";
import { run } from "./experiment.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const hasTorch = spawnSync("/usr/bin/python3", ["-c", "import torch, numpy"]).status === 0;

describe("lathe experiment continual", () => {
  test("is found by `lathe experiment`", () => expect(listExperiments()).toContain("continual"));
  test.skipIf(missingFashionMnistFile() !== null)(skipReason("a tiny run reports every benchmark's metrics in EXPERIMENTS.md's names, and the PyTorch peer's", missingFashionMnistFile() !== null && NEEDS.fashionMnist), async () => {
    const report = await run({ quick: true, seeds: [0] }, {
      trainLimit: 200, testLimit: 100, hidden: [8], memory: 40, strategies: ["naive", "ewc", "si"], exec: { executor: "interpreted" },
    });
    const m = report.metrics;
    for (const b of ["split-fmnist", "permuted-fmnist"]) for (const s of ["naive", "ewc", "si"]) expect(typeof m[`${b}.${s}.final_acc`], `${b}.${s}`).toBe("number");
    for (const s of ["naive", "ewc", "si"]) expect(typeof m[`split-mnist-task.${s}.final_acc`]).toBe("number");
    expect(typeof m["split-fmnist.ewc.overhead_vs_naive"]).toBe("number");
    if (hasTorch) {
      for (const s of ["naive", "replay", "ewc"]) expect(m[`split-fmnist.torch-${s}.final_acc`]).toBeGreaterThanOrEqual(0);
      expect(m["split-fmnist.naive.speed_vs_torch"]).toBeGreaterThan(0);
      expect(report.notes.some((n) => /^speed: Naive per experience \(experiences 2–3, 1 alternating block, 1 thread each\): Lathe \d+ ms/.test(n))).toBe(true);
    } else {
      expect(m["split-fmnist.torch-naive.final_acc"]).toBeNull();
      expect(report.notes.some((n) => n.includes("python3-torch"))).toBe(true);
    }
    expect(report.plots).toContain("split-fmnist-accuracy");
    expect(report.notes.some((n) => n.startsWith("bar (permuted-fmnist ewc ≥ Naive + 0.05)"))).toBe(true);
  }, 600_000);
});
