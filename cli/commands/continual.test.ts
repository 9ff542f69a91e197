import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import { main } from "../main.ts";

let dir = "";
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

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

// Tiny: 200 training and 100 test digits, an MLP 784-8-10, the graph interpreter.
const small = ["--benchmark", "split-mnist", "--train-limit", "200", "--test-limit", "100", "--hidden", "8", "--batch-size", "32", "--interpret", "--no-progress"];

describe("lathe continual", () => {
  test("--compare prints one table and writes the JSON (EXPERIMENTS.md metrics), CSV and HTML", async () => {
    dir = mkdtempSync(join(tmpdir(), "lathe-continual-cli-"));
    const json = join(dir, "out.json"), html = join(dir, "report.html"), csv = join(dir, "csv");
    const r = await lathe("continual", ...small, "--compare", "naive,replay", "--memory", "50", "--json", json, "--csv", csv, "--html", html);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/strategy\s+ACC\s+forgetting\s+BWT\s+FWT/);
    expect(r.stdout).toMatch(/\nnaive\s+0\.\d+/);
    expect(r.stdout).toMatch(/\nreplay\s+0\.\d+/);
    const j = JSON.parse(readFileSync(json, "utf8")) as { name: string; metrics: Record<string, number | null>; tables: { title: string; rows: unknown[][] }[] };
    expect(j.name).toBe("continual");
    for (const s of ["naive", "replay"]) for (const m of ["final_acc", "forgetting", "bwt"]) expect(typeof j.metrics[`split-mnist.${s}.${m}`]).toBe("number");
    // The JSON's ACC is the mean of the last row of the matrix it also lists.
    const matrix = j.tables.find((t) => t.title.startsWith("split-mnist naive: accuracy matrix"))!.rows.map((r) => r.slice(1) as number[]);
    expect(matrix.length).toBe(5);
    expect(j.metrics["split-mnist.naive.final_acc"]).toBeCloseTo(matrix[4]!.reduce((a, b) => a + b, 0) / 5, 10);
    expect(readFileSync(join(csv, "metrics.csv"), "utf8").split("\n")[0]).toBe("benchmark,strategy,final_acc,forgetting,bwt,fwt,final_loss,train_seconds,peak_rss_mb,macs_per_example");
    expect(readFileSync(join(csv, "replay-matrix.csv"), "utf8").split("\n").length).toBe(7);
    const page = readFileSync(html, "utf8");
    expect(page).toContain("<svg");
    expect(page).toContain("matrix-naive");
  }, 300_000);

  test("--gdumb-epochs sets how often GDumb retrains on its memory", async () => {
    dir = mkdtempSync(join(tmpdir(), "lathe-continual-gdumb-"));
    const loss = async (epochs: string) => {
      const csv = join(dir!, `gdumb-${epochs}`);
      const r = await lathe("continual", ...small, "--strategy", "gdumb", "--memory", "40", "--gdumb-epochs", epochs, "--csv", csv);
      expect(r.code, r.stderr).toBe(0);
      const [head, row] = readFileSync(join(csv, "metrics.csv"), "utf8").split("\n");
      return Number(row!.split(",")[head!.split(",").indexOf("final_loss")]);
    };
    const one = await loss("1"), four = await loss("4");
    expect(Number.isFinite(one)).toBe(true);
    // Four passes over the same memory fit it better than one.
    expect(four).toBeLessThan(one);
  }, 300_000);

  test("bad input: one line listing the valid values, nothing trained or written", async () => {
    const cases: [string[], RegExp][] = [
      [["--benchmark", "split-cifar"], /unknown benchmark "split-cifar"; one of split-mnist, split-fmnist/],
      [["--benchmark", "split-mnist", "--strategy", "ewc2"], /unknown strategy "ewc2"; one of naive, cumulative, joint, replay/],
      [["--benchmark", "split-mnist", "--compare", "naive,bogus"], /unknown strategy "bogus"/],
      [[...small, "--strategy", "replay", "--memory", "5000"], /replay: a memory of 5000 examples exceeds the 200 training examples; valid: 1..200/],
      [["--benchmark", "split-mnist", "--epochs", "0"], /--epochs must be ≥ 1/],
      [["--benchmark", "split-mnist", "--strategy", "gdumb", "--gdumb-epochs", "0"], /--gdumb-epochs must be ≥ 1/],
      [["--benchmark", "split-mnist", "--strategy", "ewc", "--ewc-fisher-samples", "0"], /--ewc-fisher-samples must be ≥ 1/],
      [["--benchmark", "split-mnist", "--strategy", "ewc", "--ewc-fisher-samples", "some"], /--ewc-fisher-samples must be a positive integer or "all", got "some"/],
      [["--benchmark", "split-mnist-task", "--strategy", "joint", "--train-limit", "100", "--test-limit", "50", "--hidden", "4", "--interpret", "--no-progress"], /strategy joint merges the stream into one experience and loses its task labels/],
    ];
    for (const [args, want] of cases) {
      const r = await lathe("continual", ...args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr.split("\n").length).toBe(1);
      expect(r.stderr).toMatch(want);
    }
    const out = join(mkdtempSync(join(tmpdir(), "lathe-continual-bad-")), "x.json");
    await lathe("continual", ...small, "--strategy", "nope", "--json", out);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
