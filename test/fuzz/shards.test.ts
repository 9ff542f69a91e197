// scripts/fuzz.ts --jobs N: the draws split over child processes by index (i mod N), the
// reports merged. The merged report must be the single-process one: same graphs, same
// per-variant totals, gradient counts, op coverage and findings.
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { WEBGPU_VARIANTS } from "./differential.ts";
import type { Variant } from "./differential.ts";
import type { FuzzReport } from "./run.ts";
import { fuzz } from "./run.ts";
import { mergeFuzzReports, mergeVtaReports, parseShard } from "./shards.ts";
import type { VtaFuzzReport } from "./vta.ts";
import { fuzzVta } from "./vta.ts";
import { hostCpuDesc } from "../../compiler/targets/cpu/host.ts";

const SEED = 3, GRAPHS = 5;
// webgpu (no g++ build) and a test-only variant whose "pass" refuses graphs with an odd
// number of nodes (before any compilation), so there are findings to merge; gradients on.
const failsOnOdd: Variant = { name: "cpu-fails-on-odd", opts: {}, passes: [{ name: "test-refuse-odd", run: (g) => { if (g.nodes.length % 2 === 1) throw new LatheError("odd graph refused"); return g; } }] };
const run = (shard?: { index: number; count: number }) =>
  fuzz({ graphs: 10, seed: 11, variants: [WEBGPU_VARIANTS[0]!, failsOnOdd], gradients: true, shrink: false, ...(shard ? { shard } : {}) });
const comparable = (r: FuzzReport) => ({ graphs: r.graphs, seed: r.seed, variants: r.variants, gradients: r.gradients, ops: r.ops, skippedSteps: r.skippedSteps, findings: r.findings });

describe("sharded fuzz runs", () => {
  test("the shards of a run, merged, are the run: totals, coverage and findings (by draw index)", async () => {
    const whole = await run();
    expect(whole.findings.length).toBeGreaterThan(0);
    // The report names the host and the ISA its cpu code was generated for.
    expect(whole.host).toContain(`cpu code for ${hostCpuDesc().isa}`);
    const parts = [await run({ index: 1, count: 3 }), await run({ index: 0, count: 3 }), await run({ index: 2, count: 3 })];
    expect(parts.map((p) => p.variants.reduce((a, v) => a + v.cases, 0))).toEqual([3, 4, 3]);
    const merged = mergeFuzzReports(parts, 1);
    expect(comparable(merged)).toEqual(comparable(whole));
    expect(merged.shard).toBeUndefined();
    // Missing, duplicated or foreign shards are refused.
    expect(() => mergeFuzzReports(parts.slice(0, 2), 1)).toThrow(/report 0 is not one of 2 shards/);
    expect(() => mergeFuzzReports([parts[0]!, parts[0]!, parts[2]!], 1)).toThrow(/shard 1\/3 appears twice/);
    expect(() => mergeFuzzReports([{ ...parts[0]!, seed: 12 }, parts[1]!, parts[2]!], 1)).toThrow(/comes from another run/);
  }, 300_000);

  test("vta shards merge to the unsharded run", async () => {
    const whole = await fuzzVta(6, SEED, "fsim");
    const merged = mergeVtaReports([await fuzzVta(6, SEED, "fsim", undefined, undefined, { index: 1, count: 2 }), await fuzzVta(6, SEED, "fsim", undefined, undefined, { index: 0, count: 2 })]);
    expect(merged).toEqual(whole);
  }, 120_000);

  test("scripts/fuzz.ts --jobs 2 writes the single-process report (graph count, per-variant totals, gradients, vta)", async () => {
    const json = path.join(mkdtempSync(path.join(os.tmpdir(), "lathe-fuzz-jobs-")), "report.json");
    const r = spawnSync(path.resolve("node_modules/.bin/tsx"), ["scripts/fuzz.ts", "--graphs", String(GRAPHS), "--seed", String(SEED), "--target", "webgpu,vta-fsim", "--no-shrink", "--jobs", "2", "--json", json], { encoding: "utf8", env: { ...process.env, LATHE_QUIET: "1" } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\[0\/2\] /m);
    expect(r.stdout).toMatch(/^\[1\/2\] /m);
    const got = JSON.parse(readFileSync(json, "utf8")) as FuzzReport & { vta: VtaFuzzReport[] };
    const want = await fuzz({ graphs: GRAPHS, seed: SEED, variants: [WEBGPU_VARIANTS[0]!], gradients: true, shrink: false });
    expect(comparable(got)).toEqual(comparable(want));
    expect(got.vta).toEqual([await fuzzVta(GRAPHS, SEED, "fsim")]);
  }, 300_000);

  test("--shard INDEX/COUNT: a bad one is a one-line LatheError", () => {
    expect(parseShard("1/3")).toEqual({ index: 1, count: 3 });
    for (const bad of ["2/2", "0/0", "1", "-1/2", "a/b"]) expect(() => parseShard(bad)).toThrow(new LatheError(`--shard: expected INDEX/COUNT with INDEX < COUNT, got "${bad}"`));
  });
});
