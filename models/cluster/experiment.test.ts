import { describe, expect, it } from "vitest";
import { isMetricName } from "../lib/experiment.ts";
import { run, METHODS } from "./experiment.ts";

describe("cluster experiment (tiny)", () => {
  it("reports every method on a data set under EXPERIMENTS.md's names, with the ACC bar plot", async () => {
    // Quick without --seeds: k-means and the GMMs on seeds 0 and 1, NMM on seed 0.
    const report = await run({ quick: true }, { datasets: ["synthetic"], limit: 300, nmmEpochs: 5 });
    expect(report.name).toBe("cluster");
    expect(report.seeds).toEqual([0, 1]);
    const m = report.metrics;
    for (const name of Object.keys(m)) expect(isMetricName(name)).toBe(true);
    for (const method of METHODS) for (const s of ["acc", "nmi", "ari", "acc_std"]) expect(`synthetic.${method}.${s}` in m).toBe(true);
    // Vectors: no consistency row; the separated mixture is recovered by k-means and both GMMs.
    expect(m["synthetic.nmm-consistency.acc"]).toBeNull();
    for (const method of ["kmeans", "gmm-diag", "gmm-full"]) expect(m[`synthetic.${method}.acc`]).toBeGreaterThan(0.95);
    expect(typeof m["synthetic.nmm.acc"]).toBe("number");
    const table = report.tables.find((t) => t.title.startsWith("synthetic: 300 points"))!;
    expect(table.title).toContain("mean over seeds: k-means and GMMs 2, NMM 1");
    expect(table.columns).toEqual(["method", "ACC", "ACC std", "NMI", "ARI", "fit s"]);
    expect(table.rows.length).toBe(METHODS.length);
    expect(report.plots).toContain("acc");
    expect(report.plotSvg("nmm-confusion")).toMatch(/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/);
  }, 300_000);
});
