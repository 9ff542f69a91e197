import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { listExperiments } from "../../models/lib/discover-experiments.ts";
import { experimentCommand, parseSeeds, runExperiment } from "./experiment.ts";
import { CPU_ISAS } from "../../compiler/targets/cpu/host.ts";

const REPORT = fileURLToPath(new URL("../../models/lib/experiment.ts", import.meta.url));
const HOST = { cpu: "test" };
let root: string;

/** A toy experiment whose run() body is `body` (it has `opts` and `ExperimentReport`). */
function toy(name: string, body: string): void {
  mkdirSync(join(root, name));
  writeFileSync(join(root, name, "experiment.ts"), `import { ExperimentReport } from ${JSON.stringify(REPORT)};\nexport async function run(opts) {\n${body}\n}`);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "lathe-experiments-"));
  toy("toy", `const r = new ExperimentReport("toy", { seeds: opts.seeds ?? [7] });
r.table("t", ["quick"]).row(String(opts.quick));
r.metric("toy.value", 1);
return r;`);
  toy("misnamed", `return new ExperimentReport("other");`);
  toy("deaf", `return new ExperimentReport("deaf", { seeds: [0] });`);
  toy("wrongtype", `return { name: "wrongtype" };`);
  mkdirSync(join(root, "broken"));
  writeFileSync(join(root, "broken", "experiment.ts"), "export const notRun = 1;");
  mkdirSync(join(root, "data")); // no experiment.ts: not an experiment
  mkdirSync(join(root, "lib")); // the shared code, never an experiment
  writeFileSync(join(root, "lib", "experiment.ts"), "export class ExperimentReport {}");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("listExperiments finds folders with an experiment.ts, but lib/", () => {
  expect(listExperiments(root)).toEqual(["broken", "deaf", "misnamed", "toy", "wrongtype"]);
  expect(listExperiments()).toContain("example");
  expect(listExperiments()).not.toContain("lib");
});

test("runExperiment runs the toy with the options given and writes its results", async () => {
  const results = join(root, "results");
  const quick = await runExperiment("toy", { quick: true, root, resultsDir: results, host: HOST });
  expect(quick.written).toEqual({ json: join(results, "toy.quick.json"), plots: [] });
  const json = JSON.parse(readFileSync(quick.written.json, "utf8"));
  expect(json).toMatchObject({ name: "toy", host: HOST, quick: true, seeds: [7], tables: [{ rows: [["true"]] }], metrics: { "toy.value": 1 } });
  const full = await runExperiment("toy", { quick: false, seeds: [1, 2], root, resultsDir: results, host: HOST });
  expect(full.report.seeds).toEqual([1, 2]);
  expect(readdirSync(results).sort()).toEqual(["toy.json", "toy.quick.json"]);
});

test("unknown or malformed experiments are LatheErrors", async () => {
  const run = (name: string, seeds?: number[]) => runExperiment(name, { quick: true, root, resultsDir: join(root, "never"), host: HOST, ...(seeds ? { seeds } : {}) });
  await expect(run("nope")).rejects.toThrow(/no experiment named "nope".*available: broken, deaf, misnamed, toy, wrongtype/);
  await expect(run("data")).rejects.toThrow(LatheError);
  await expect(run("broken")).rejects.toThrow(/must export run/);
  await expect(run("wrongtype")).rejects.toThrow(/must resolve to an ExperimentReport/);
  await expect(run("misnamed")).rejects.toThrow(/named "other"; it must be named after its folder, "misnamed"/);
  await expect(run("deaf", [3])).rejects.toThrow(/asked for seeds 3, but the report says it used 0/);
  expect(existsSync(join(root, "never"))).toBe(false);
});

test("parseSeeds reads 0,1,2 and rejects anything else", () => {
  expect(parseSeeds("0,1,2")).toEqual([0, 1, 2]);
  expect(parseSeeds(" 5 ")).toEqual([5]);
  for (const bad of ["", "a", "1,,2", "-1", "1.5", "1,1", "99999999999999999999"]) expect(() => parseSeeds(bad), bad).toThrow(LatheError);
});

describe("the example experiment", () => {
  test("runs end to end: JSON, plot and figures", async () => {
    const results = join(root, "example-results");
    const { report, written } = await runExperiment("example", { quick: true, seeds: [0, 1], resultsDir: results });
    expect(written.json).toBe(join(results, "example.quick.json"));
    expect(written.plots).toEqual([join(results, "example-loss.quick.svg")]);
    expect(readdirSync(results).sort()).toEqual(["example-loss.quick.svg", "example.quick.json"]);
    const json = JSON.parse(readFileSync(written.json, "utf8"));
    expect(json.name).toBe("example");
    expect(json.quick).toBe(true);
    expect(json.seeds).toEqual([0, 1]);
    expect(json.host.quick).toBe(true);
    expect(json.host.commit).toMatch(/^[0-9a-f]{7,}$/);
    expect(CPU_ISAS).toContain(json.host.isa[0]);
    expect(json.host.peak_gflops_per_core).toBeGreaterThan(0); // measured, as in a bench's host record
    expect(json.host.triad_gbs).toBeGreaterThan(0);
    expect(json.plots).toEqual(["example-loss.quick.svg"]);
    expect(json.tables).toHaveLength(1);
    // Gradient descent converges to the least-squares solution: both at the noise floor (0.1² = 0.01).
    const closed = json.metrics["closed_form.test_mse"], gd = json.metrics["gd.test_mse"];
    expect(closed).toBeGreaterThan(0.005);
    expect(closed).toBeLessThan(0.02);
    expect(Math.abs(gd - closed) / closed).toBeLessThan(0.05);
    const svg = readFileSync(written.plots[0]!, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain(">training MSE</text>");
    expect(svg.split('aria-roledescription="line mark"').length - 1).toBe(5); // 4 learning rates and the closed form
    expect(report.text()).toContain("gradient descent (40 steps, Lathe)");
  });

  test("lathe experiment --list and with no name list the experiments", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    try {
      await experimentCommand().parseAsync(["--list"], { from: "user" });
      await experimentCommand().parseAsync([], { from: "user" });
      expect(log).toHaveBeenCalledTimes(2);
      for (const [text] of log.mock.calls) {
        expect(text).toMatch(/^experiments \(models\/<name>\/experiment\.ts\):$/m);
        expect(text).toMatch(/^ {2}example$/m);
        expect(text).toMatch(/^ {2}crowd$/m);
        expect(text).toMatch(/^ {2}cluster$/m);
      }
    } finally {
      log.mockRestore();
    }
  });
});
