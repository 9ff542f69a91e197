import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { listBenches } from "../../bench/lib/discover.ts";
import { runBench } from "./bench.ts";

const REPORT = fileURLToPath(new URL("../../bench/lib/report.ts", import.meta.url));
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "lathe-benches-"));
  mkdirSync(join(root, "toy"));
  writeFileSync(
    join(root, "toy", "index.ts"),
    `import { BenchReport } from ${JSON.stringify(REPORT)};
export async function run(opts) {
  const r = new BenchReport("toy");
  r.row({ case: opts.quick ? "quick" : "full", threads: 1, metric: "ms", better: "lower", lathe: 2, baseline: "ref", baselineValue: 3 });
  return r;
}`,
  );
  mkdirSync(join(root, "broken"));
  writeFileSync(join(root, "broken", "index.ts"), "export const notRun = 1;");
  mkdirSync(join(root, "lib")); // no index.ts: not a benchmark
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("listBenches finds directories with an index.ts", () => {
  expect(listBenches(root)).toEqual(["broken", "toy"]);
});

test("runBench runs the module's run() and writes its JSON", async () => {
  const results = join(root, "results");
  const { report, path } = await runBench("toy", { quick: true, root, resultsDir: results });
  expect(path).toBe(join(results, "toy.quick.json"));
  const json = JSON.parse(readFileSync(path, "utf8"));
  expect(json.rows).toEqual([{ case: "quick", threads: 1, metric: "ms", better: "lower", lathe: 2, baseline: "ref", baseline_value: 3, ratio: 1.5 }]);
  expect(report.rows).toHaveLength(1);
  // The host record: the measured peak (plausible for any x86 core), the ISA and the commit.
  expect(json.host.quick).toBe(true);
  expect(json.host.peak_gflops_per_core).toBeGreaterThan(4);
  expect(json.host.peak_gflops_per_core).toBeLessThan(1000);
  expect(json.host.triad_gbs).toBeGreaterThan(0.5);
  expect(["avx512", "avx2", "sse"]).toContain(json.host.isa[0]);
  expect(json.host.commit).toMatch(/^[0-9a-f]{7,}$/);
  expect(typeof json.host.dirty).toBe("boolean");
  const full = await runBench("toy", { quick: false, root, resultsDir: results, peak: false });
  expect(full.path).toBe(join(results, "toy.json"));
});

test("unknown or malformed benchmarks are LatheErrors", async () => {
  await expect(runBench("nope", { quick: true, root })).rejects.toThrow(/no benchmark named "nope".*available: broken, toy/);
  await expect(runBench("broken", { quick: true, root })).rejects.toThrow(LatheError);
  await expect(runBench("broken", { quick: true, root })).rejects.toThrow(/must export run/);
});
