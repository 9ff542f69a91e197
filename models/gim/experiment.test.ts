import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { missingFashionMnistFile } from "../data/fashion-mnist.ts";
import { isMetricName } from "../lib/experiment.ts";
import { listExperiments } from "../lib/discover-experiments.ts";
import { run } from "./experiment.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

describe("gim experiment (tiny)", () => {
  test("is found by `lathe experiment`", () => expect(listExperiments()).toContain("gim"));


  test.skipIf(missingFashionMnistFile() !== null)(skipReason("a quick smoke run on a tiny subset reports every method under EXPERIMENTS.md's names, with both plots", missingFashionMnistFile() !== null && NEEDS.fashionMnist), async () => {
    const report = await run({ quick: true, seeds: [0] }, {
      trainLimit: 12, testLimit: 6, epochs: 1, probeEpochs: 1, executor: "interpreted",
      config: { channels: [2, 2, 2], batch: 2, negatives: 2, steps: 1 },
    });
    const m = report.metrics;
    for (const name of Object.keys(m)) expect(isMetricName(name)).toBe(true);
    for (const name of ["gim.probe_by_module", "cpc.probe", "supervised.accuracy", "random_encoder.probe", "baseline.raw_pixels_lr", "time.sequential_s", "time.async_s", "memory.gim_max_module_mb", "memory.cpc_mb"]) {
      expect(m[name], name).not.toBeNull();
    }
    expect((m["gim.probe_by_module"] as number[]).length).toBe(3);
    for (const a of [...(m["gim.probe_by_module"] as number[]), m["cpc.probe"] as number, m["baseline.raw_pixels_lr"] as number]) expect(a >= 0 && a <= 1).toBe(true);
    // The stack's step holds every module's activations; one module's step only its own.
    expect(m["memory.cpc_mb"] as number).toBeGreaterThan(m["memory.gim_max_module_mb"] as number);
    const table = report.tables[0]!;
    expect(table.columns).toEqual(["method", "module 1", "module 2", "module 3"]);
    expect(table.rows.map((r) => r[0])).toEqual(["GIM", "CPC end to end", "random encoder", "supervised end to end (probed)", "raw pixels"]);
    expect(report.plots).toEqual(["infonce-loss", "probe-accuracy"]);
    const dir = mkdtempSync(join(tmpdir(), "gim-exp-"));
    try {
      const written = report.write(dir, { host: {}, quick: true });
      expect(JSON.parse(readFileSync(written.json, "utf8")).name).toBe("gim");
      for (const p of written.plots) expect(existsSync(p)).toBe(true);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  }, 400_000);
});
