import { describe, expect, it } from "vitest";
import { isMetricName } from "../lib/experiment.ts";
import { missingSklearnDigits } from "../data/index.ts";
import { run } from "./experiment.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const STRATEGIES = ["random", "entropy", "cent"];
const BUDGETS = ["5", "10", "20"];
const METHODS = ["mv", "wawa", "one-coin", "ds", "glad", "mace", "online-ds"];

describe.skipIf(missingSklearnDigits() !== null)(skipReason("crowd experiment (tiny)", missingSklearnDigits() !== null && NEEDS.sklearn), () => {
  it("reports every aggregator, relabel strategy × budget and a plot, in EXPERIMENTS.md's names", async () => {
    const report = await run({ quick: true, seeds: [0] }, { items: 900 });
    expect(report.name).toBe("crowd");
    const m = report.metrics;
    for (const name of Object.keys(m)) expect(isMetricName(name)).toBe(true);
    for (const method of METHODS) expect(typeof m[`digits.error.${method}`]).toBe("number");
    for (const labels of ["true", "mv", "ds", "online-ds"]) expect(typeof m[`digits.classifier.${labels}.accuracy`]).toBe("number");
    for (const s of STRATEGIES) for (const b of BUDGETS) expect(typeof m[`digits.relabel.${s}.${b}.fixed`]).toBe("number");
    expect(m["digits.error.ds"] as number).toBeLessThan(m["digits.error.mv"] as number);

    const titles = report.tables.map((t) => t.title);
    expect(titles.some((t) => t.startsWith("Label error"))).toBe(true);
    const relabel = report.tables.find((t) => t.title.startsWith("digits: relabelling"))!;
    const pairs = new Set(relabel.rows.map((r) => `${r[0]} ${r[1]}`));
    for (const s of STRATEGIES) for (const b of BUDGETS) expect(pairs.has(`${s} ${b}%`)).toBe(true);

    expect(report.plots).toContain("error-vs-labels");
    expect(report.plotSvg("accuracy-vs-budget")).toMatch(/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/);
  }, 240_000);
});
