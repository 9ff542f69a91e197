import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { crossCheckBaseline } from "./cross-check.ts";
import { BenchReport, type HostInfo } from "./report.ts";

const HOST: HostInfo = {
  cpu: "Test CPU", family: 25, model: 1, isa: ["avx2", "avx", "avx2", "fma"], cores: 2, peak_gflops_per_core: null, triad_gbs: null,
  node: "v20.20.2", cxx: "g++ 12.2.0", adapter: null, commit: "abc1234", dirty: false, quick: false, versions: {},
};
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A results dir holding a gemm.json from `host` with Lathe at 120 GFLOP/s for N=512 on 2 threads. */
function gemmResults(host: HostInfo): string {
  const dir = mkdtempSync(join(tmpdir(), "lathe-cross-"));
  dirs.push(dir);
  const r = new BenchReport("gemm", host, new Date("2026-12-01T00:00:00Z"));
  r.row({ case: "N=512", threads: 2, metric: "GFLOP/s", better: "higher", lathe: 120, baseline: "openblas", baselineValue: 130 });
  r.write(dir);
  return dir;
}

const check = (dir: string, value: number) => {
  const r = new BenchReport("webgpu", HOST);
  crossCheckBaseline(r, { bench: "gemm", case: "N=512", threads: 2, value, what: "GEMM N=512's cpu-target row" }, dir);
  return r;
};

test("the same figure from two benches on one host must agree within 2×, or the run fails naming the row", () => {
  const dir = gemmResults(HOST);
  expect(check(dir, 70).problems()).toEqual([]);
  expect(check(dir, 70).notes.join("\n")).toMatch(/within 2×/);
  const far = check(dir, 7.9).problems();
  expect(far).toHaveLength(1);
  expect(far[0]).toMatch(/GEMM N=512's cpu-target row: 7.9 GFLOP\/s here, 120 in bench gemm .*15\.2× apart/);
  expect(check(dir, 241).problems()).toHaveLength(1);
});

test("results from another host, a missing row or no results file are a note, not a failure", () => {
  const other = gemmResults({ ...HOST, cpu: "Other CPU", isa: ["avx512", "avx512f"] });
  const r = check(other, 7.9);
  expect(r.problems()).toEqual([]);
  expect(r.notes.join("\n")).toMatch(/comes from Other CPU avx512/);
  const none = mkdtempSync(join(tmpdir(), "lathe-cross-"));
  dirs.push(none);
  expect(check(none, 7.9).notes.join("\n")).toMatch(/no gemm results/);
  const dir = gemmResults(HOST);
  const r2 = new BenchReport("webgpu", HOST);
  crossCheckBaseline(r2, { bench: "gemm", case: "N=4096", threads: 2, value: 1, what: "x" }, dir);
  expect(r2.problems()).toEqual([]);
  expect(r2.notes.join("\n")).toMatch(/no row "N=4096"/);
});
