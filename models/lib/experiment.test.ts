import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { ExperimentReport, isMetricName, jsonText } from "./experiment.ts";
import { formatTable } from "./table.ts";

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
const HOST = { cpu: "test cpu", cores: 2, quick: false };
const DATE = new Date("2026-12-07T12:00:00.123Z");

function sample(seeds: readonly number[] = [0, 1, 2]): ExperimentReport {
  const r = new ExperimentReport("gim", { seeds, date: DATE });
  r.note("Fashion-MNIST 60k/10k; probe C chosen on a 10k validation split of train");
  r.table("Linear probe accuracy (test)", ["method", "module 1", "module 2", "module 3"])
    .row("GIM", 0.851, 0.866, 0.874)
    .row("CPC end to end", null, null, 0.881);
  r.metric("gim.probe_by_module", [0.851, 0.866, 0.874]).metric("cpc.probe", 0.881).metric("baseline.raw_pixels_lr", null);
  r.plot("probe", SVG);
  return r;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lathe-experiment-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the JSON", () => {
  test("has EXPERIMENTS.md's shape, and the plots written beside it", () => {
    const { json, plots } = sample().write(dir, { host: HOST, quick: false });
    expect(json).toBe(join(dir, "gim.json"));
    expect(plots).toEqual([join(dir, "gim-probe.svg")]);
    const text = readFileSync(json, "utf8");
    const got = JSON.parse(text);
    expect(Object.keys(got)).toEqual(["name", "date", "host", "quick", "seeds", "notes", "tables", "metrics", "plots"]);
    expect(got).toEqual({
      name: "gim",
      date: "2026-12-07T12:00:00Z",
      host: HOST,
      quick: false,
      seeds: [0, 1, 2],
      notes: ["Fashion-MNIST 60k/10k; probe C chosen on a 10k validation split of train"],
      tables: [{
        title: "Linear probe accuracy (test)",
        columns: ["method", "module 1", "module 2", "module 3"],
        rows: [["GIM", 0.851, 0.866, 0.874], ["CPC end to end", null, null, 0.881]],
      }],
      metrics: { "gim.probe_by_module": [0.851, 0.866, 0.874], "cpc.probe": 0.881, "baseline.raw_pixels_lr": null },
      plots: ["gim-probe.svg"],
    });
    // Laid out as the spec shows it: a table row and a metric's numbers on one line.
    expect(text).toContain('["CPC end to end", null, null, 0.881]');
    expect(text).toContain('"gim.probe_by_module": [0.851, 0.866, 0.874]');
    expect(text.endsWith("}\n")).toBe(true);
    expect(readFileSync(plots[0]!, "utf8")).toBe(SVG);
  });

  test("jsonText parses back to the value it was given", () => {
    const v = { a: [1, null, "x"], b: { c: [], d: {}, e: [{ f: ["a".repeat(80)] }] }, g: true };
    expect(JSON.parse(jsonText(v))).toEqual(v);
  });

  test("a quick run writes <name>.quick.json and .quick.svg and leaves the full results alone", () => {
    sample().write(dir, { host: HOST, quick: false });
    const fullJson = readFileSync(join(dir, "gim.json"), "utf8");
    const quick = new ExperimentReport("gim", { seeds: [0] });
    quick.metric("cpc.probe", 0.5).plot("probe", SVG.replace('width="10"', 'width="20"'));
    const w = quick.write(dir, { host: { ...HOST, quick: true }, quick: true });
    expect(w.json).toBe(join(dir, "gim.quick.json"));
    expect(w.plots).toEqual([join(dir, "gim-probe.quick.svg")]);
    expect(readdirSync(dir).sort()).toEqual(["gim-probe.quick.svg", "gim-probe.svg", "gim.json", "gim.quick.json"]);
    expect(readFileSync(join(dir, "gim.json"), "utf8")).toBe(fullJson);
    expect(readFileSync(join(dir, "gim-probe.svg"), "utf8")).toBe(SVG);
    const q = JSON.parse(readFileSync(w.json, "utf8"));
    expect(q.quick).toBe(true);
    expect(q.plots).toEqual(["gim-probe.quick.svg"]);
  });

  test("writing is atomic: no temporary files stay, and a failed write keeps the previous results", () => {
    sample().write(dir, { host: HOST, quick: false });
    expect(readdirSync(dir).sort()).toEqual(["gim-probe.svg", "gim.json"]);
    const before = readFileSync(join(dir, "gim.json"), "utf8");
    // A directory where a plot must go: its rename fails, and the JSON (written last) is not replaced.
    mkdirSync(join(dir, "gim-other.svg"));
    const next = new ExperimentReport("gim");
    next.metric("cpc.probe", 0.1).plot("other", SVG);
    expect(() => next.write(dir, { host: HOST, quick: false })).toThrow(/cannot write .*gim-other\.svg/);
    expect(readdirSync(dir).sort()).toEqual(["gim-other.svg", "gim-probe.svg", "gim.json"]);
    expect(readFileSync(join(dir, "gim.json"), "utf8")).toBe(before);
  });
});

describe("checks", () => {
  test("metric names are lower-case dotted segments of letters, digits, - and _", () => {
    for (const ok of ["digits.error.mv", "fmnist.error.online-ds", "split-fmnist.replay.final_acc", "digits.relabel.entropy.100.fixed", "cpc.probe", "accuracy"]) {
      expect(isMetricName(ok), ok).toBe(true);
    }
    for (const bad of ["Digits.error.mv", "digits..error", "digits.error.", ".error", "a b", "digits.error.mv!", "-x.y", "x.-y", "", "préc.x"]) {
      expect(isMetricName(bad), bad).toBe(false);
      const r = new ExperimentReport("crowd");
      expect(() => r.metric(bad, 1)).toThrow(LatheError);
      expect(() => r.metric(bad, 1)).toThrow(`"${bad}"`);
    }
  });

  test("a NaN or infinite metric is a LatheError naming it; null is a missing figure", () => {
    const r = new ExperimentReport("crowd");
    expect(() => r.metric("digits.error.mv", NaN)).toThrow(/metric "digits\.error\.mv" must be a finite number/);
    expect(() => r.metric("digits.error.ds", Infinity)).toThrow(/"digits\.error\.ds"/);
    expect(() => r.metric("digits.error.ds", -Infinity)).toThrow(LatheError);
    expect(() => r.metric("gim.probe_by_module", [0.5, NaN])).toThrow(/metric "gim\.probe_by_module"\[1\] must be a finite number, got NaN/);
    expect(() => r.metric("x.y", "0.5" as unknown as number)).toThrow(LatheError);
    r.metric("digits.error.mv", null);
    expect(() => r.metric("digits.error.mv", 0.1)).toThrow(/already set/);
    expect(r.metrics).toEqual({ "digits.error.mv": null });
  });

  test("tables, plots, seeds and names are checked", () => {
    const r = new ExperimentReport("crowd");
    const t = r.table("Label error", ["method", "digits"]);
    expect(() => t.row("mv")).toThrow(/table "Label error", row 1: has 1 cells for 2 columns/);
    expect(() => t.row("mv", NaN)).toThrow(/table "Label error", row 1, column "digits"/);
    expect(() => r.table("", ["a"])).toThrow(LatheError);
    expect(() => r.plot("error", "<html></html>")).toThrow(/not an SVG document/);
    expect(() => r.plot("Error Plot", SVG)).toThrow(/plot name/);
    r.plot("error", SVG);
    expect(() => r.plot("error", SVG)).toThrow(/already added/);
    expect(() => new ExperimentReport("Crowd")).toThrow(LatheError);
    expect(() => new ExperimentReport("../crowd")).toThrow(LatheError);
    expect(() => new ExperimentReport("crowd", { seeds: [0, -1] })).toThrow(/seed/);
    expect(() => new ExperimentReport("crowd", { seeds: [0.5] })).toThrow(/seed/);
  });
});

test("text() prints the tables, the metrics and the notes", () => {
  const text = sample().text({ quick: true });
  expect(text.split("\n")[0]).toBe("gim — 2026-12-07T12:00:00Z, seeds 0, 1, 2, quick");
  expect(text).toContain(`Linear probe accuracy (test)\n${formatTable(["method", "module 1", "module 2", "module 3"], [["GIM", 0.851, 0.866, 0.874], ["CPC end to end", null, null, 0.881]])}`);
  expect(text).toContain("CPC end to end  -         -         0.881");
  expect(text).toMatch(/gim\.probe_by_module\s+\[0\.851, 0\.866, 0\.874\]/);
  expect(text).toMatch(/baseline\.raw_pixels_lr\s+-/);
  expect(text).toContain("note: Fashion-MNIST 60k/10k");
});

test("formatTable rounds to 4 significant digits and keeps integers whole", () => {
  expect(formatTable(["a", "b"], [[60000, 0.0123456], [1.23456, null]])).toBe("a      b\n-----  -------\n60000  0.01235\n1.235  -");
});
