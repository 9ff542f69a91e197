import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { LabelSet, OnlineDawidSkene, simulateCrowd } from "../../models/crowd/index.ts";
import type { Triple } from "../../models/crowd/index.ts";
import { loadCrowdState } from "../../models/crowd/state.ts";
import { main } from "../main.ts";
import { aggregate } from "./crowd.ts";

const T = 180_000;
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "lathe-crowd-cli-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);
const quiet = () => {};

/** A simulated crowd with spammers as named triples, rows in a scrambled (but seeded) order. */
const sim = simulateCrowd({ numItems: 240, numClasses: 3, workers: { good: 3, spammer: 4, adversarial: 1 }, labelsPerItem: 6, batches: 2, seed: 11 });
const named = (ls: LabelSet): Triple[] => [...ls.triples()].map(([i, w, l]) => [`t${i}`, `w${w}`, `c${l}`]);
function scramble<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  for (let k = out.length - 1, s = 7; k > 0; k--) { s = (s * 1103515245 + 12345) % 2147483648; const j = s % (k + 1); [out[k], out[j]] = [out[j]!, out[k]!]; }
  return out;
}
const toCsv = (rows: readonly Triple[]) => "task,worker,label\n" + rows.map((r) => r.join(",")).join("\n") + "\n";

/** Parses the output CSV (no quoting needed for these names). */
function readOut(text: string): { header: string[]; rows: string[][] } {
  const [h, ...rest] = text.trimEnd().split("\n");
  return { header: h!.split(","), rows: rest.map((r) => r.split(",")) };
}

/** Runs `lathe …` in process; returns what it printed to stderr. */
async function lathe(...args: string[]): Promise<{ stderr: string; stdout: string; code: number }> {
  const err = vi.spyOn(console, "error").mockImplementation(() => {});
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  process.exitCode = 0;
  try {
    await main(["node", "lathe", ...args]);
    return { stderr: err.mock.calls.map((c) => c.join(" ")).join("\n"), stdout: out.mock.calls.map((c) => String(c[0])).join(""), code: Number(process.exitCode ?? 0) };
  } finally {
    err.mockRestore(); out.mockRestore();
    process.exitCode = 0;
  }
}

describe("lathe crowd aggregate", () => {
  test("mv and ds: columns, first-seen task order, rows sum to 1, confidence = top posterior; DS beats MV against the truth; gold error", async () => {
    const rows = scramble(named(sim.labels));
    writeFileSync(at("labels.csv"), toCsv(rows));
    const firstSeen = [...new Set(rows.map((r) => r[0]))];
    // Gold for every task: the simulation's truth.
    writeFileSync(at("gold.csv"), "task,label\n" + firstSeen.map((t) => `${t},c${sim.truth[Number(t.slice(1))]}`).join("\n") + "\n");
    const err: Record<string, number> = {};
    for (const method of ["mv", "ds"]) {
      const r = await lathe("crowd", "aggregate", at("labels.csv"), "--method", method, "-o", at(`${method}.csv`), "--gold", at("gold.csv"));
      expect(r.code).toBe(0);
      const { header, rows: out } = readOut(readFileSync(at(`${method}.csv`), "utf8"));
      const classes = [...new Set(rows.map((r) => r[2]))];
      expect(header).toEqual(["task", "label", "confidence", ...classes.map((c) => `p_${c}`)]);
      expect(out.map((r) => r[0])).toEqual(firstSeen);
      let wrong = 0;
      for (const row of out) {
        const p = row.slice(3).map(Number);
        expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
        expect(Number(row[2])).toBe(Math.max(...p));
        expect(row[1]).toBe(classes[p.indexOf(Math.max(...p))]);
        if (row[1] !== `c${sim.truth[Number(row[0]!.slice(1))]}`) wrong++;
      }
      err[method] = wrong / out.length;
      const gold = /gold: 240 tasks, (\d+) wrong, label error ([\d.]+)/.exec(r.stderr)!;
      expect(Number(gold[1])).toBe(wrong);
    }
    expect(err["ds"]!).toBeLessThan(err["mv"]!);

    // Gold naming a task with no labels: the one-line error, nothing written.
    writeFileSync(at("gold-bad.csv"), "task,label\nt1,c0\nt999,c1\n");
    const bad = await lathe("crowd", "aggregate", at("labels.csv"), "--method", "mv", "-o", at("never.csv"), "--gold", at("gold-bad.csv"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`lathe: ParseError: ${at("gold-bad.csv")}:3:1: gold names task "t999", which has no labels`);
    expect(existsSync(at("never.csv"))).toBe(false);
  }, T);

  test("--state with online-ds: two CSVs in two runs equal OnlineDawidSkene fed the same two batches in process; the state is versioned", async () => {
    const [b0, b1] = [named(sim.batches[0]!), named(sim.batches[1]!)];
    writeFileSync(at("day1.csv"), toCsv(b0));
    writeFileSync(at("day2.csv"), toCsv(b1));
    const state = at("state");
    const r1 = await aggregate(at("day1.csv"), { method: "online-ds", state, out: at("online.csv"), annotators: at("annotators.json") }, quiet);
    expect(r1.written).toEqual([at("online.csv"), at("annotators.json"), join(state, "state.json")]);
    const m1 = JSON.parse(readFileSync(join(state, "state.json"), "utf8"));
    expect(m1).toMatchObject({ format: "lathe-crowd-state", formatVersion: 1, generation: 1, method: "online-ds", batches: 1, numLabels: b0.length });
    const r2 = await aggregate(at("day2.csv"), { method: "online-ds", state, out: at("online.csv") }, quiet);
    expect(r2.labelsRead).toBe(b1.length);
    expect(r2.labelsTotal).toBe(b0.length + b1.length);
    expect(loadCrowdState(state)!.manifest).toMatchObject({ generation: 2, batches: 2 });

    const online = new OnlineDawidSkene();
    const l0 = LabelSet.fromTriples(b0);
    await online.partialFit(l0);
    await online.partialFit(LabelSet.fromTriples(b1, { extend: l0, classes: l0.classes }));
    const want = online.posteriors();
    expect(r2.posteriors.length).toBe(want.length);
    let d = 0;
    for (let k = 0; k < want.length; k++) d = Math.max(d, Math.abs(want[k]! - r2.posteriors[k]!));
    expect(d).toBeLessThanOrEqual(1e-6);
    // The written CSV says the same (every task seen in either run, first-seen order).
    const { rows } = readOut(readFileSync(at("online.csv"), "utf8"));
    expect(rows.map((r) => r[0])).toEqual([...new Set([...b0, ...b1].map((t) => t[0]))]);
    const K = r2.classes.length;
    rows.forEach((row, i) => row.slice(3).forEach((p, c) => expect(Math.abs(Number(p) - want[i * K + c]!)).toBeLessThanOrEqual(1e-6)));
    const ann = JSON.parse(readFileSync(at("annotators.json"), "utf8"));
    expect(ann.workers[0].confusion[ann.classes[0]]).toBeDefined();

    // Re-feeding day 2 repeats (task, worker) pairs already in the state: an error, state and output untouched.
    const before = readFileSync(at("online.csv"), "utf8");
    await expect(aggregate(at("day2.csv"), { method: "online-ds", state, out: at("online.csv") }, quiet)).rejects.toThrow(/once already in the state/);
    expect(readFileSync(at("online.csv"), "utf8")).toBe(before);
    expect(loadCrowdState(state)!.manifest.generation).toBe(2);
  }, T);

  test("every bad input: one line naming file:line:column, and no output written (a new one not created, an old one unchanged)", async () => {
    const H = "task,worker,label\n";
    const cases: [string, string | Uint8Array, RegExp][] = [
      ["empty", "", /:1:1: the file is empty/],
      ["no-header", "t1,a,cat\nt1,b,cat\n", /:1:1: the header has no "task" column/],
      ["no-column", "task,worker\nt1,a\n", /:1:1: the header has no "label" column/],
      ["header-only", H, /:2:1: no labels after the header/],
      ["no-label", H + "t1,a,cat\nt1,b,cat\nt2,a,\n", /:4:3: task "t2" has no label/],
      ["once", H + "t1,a,cat\nt1,b,cat\nt2,a,dgo\nt2,b,dog\nt3,a,dog\n", /:4:3: label "dgo" is seen only once/],
      ["duplicate", H + "t1,a,cat\nt1,b,dog\nt1,a,dog\nt2,a,dog\nt2,b,cat\n", /:4:2: worker "a" labelled task "t1" twice/],
      ["ragged", H + "t1,a,cat\nt1,b,cat,extra\n", /:3:4: ragged row/],
      ["latin1", Uint8Array.from([...new TextEncoder().encode(H + "t1,a,cat\nt1,b,cat\nt2,caf"), 0xe9, ...new TextEncoder().encode(",cat\n")]), /:4:7: invalid UTF-8 byte 0xe9/],
    ];
    writeFileSync(at("old.csv"), "old output\n");
    for (const [name, data, msg] of cases) {
      const input = at(`bad-${name}.csv`);
      writeFileSync(input, data);
      for (const out of [at("old.csv"), at(`new-${name}.csv`)]) {
        const r = await lathe("crowd", "aggregate", input, "--method", "mv", "-o", out);
        expect(r.code).toBe(1);
        expect(r.stderr.split("\n")).toHaveLength(1);
        expect(r.stderr.startsWith(`lathe: ParseError: ${input}:`)).toBe(true);
        expect(r.stderr).toMatch(msg);
        expect(r.stdout).toBe("");
      }
      expect(existsSync(at(`new-${name}.csv`))).toBe(false);
      expect(readFileSync(at("old.csv"), "utf8")).toBe("old output\n");
    }
    // Nor is a state directory created by a run that fails.
    await expect(aggregate(at("bad-ragged.csv"), { method: "online-ds", state: at("bad-state") }, quiet)).rejects.toThrow(/ragged/);
    expect(existsSync(at("bad-state"))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  }, T);

  test("--allow-duplicates keeps every label; --classes declares a rare class; GLAD and MACE by name; option errors", async () => {
    writeFileSync(at("dups.csv"), "task,worker,label\nt1,a,cat\nt1,a,cat\nt1,b,dog\nt2,a,dog\nt2,b,dog\nt2,c,cat\n");
    await expect(aggregate(at("dups.csv"), { method: "mv" }, quiet)).rejects.toThrow(`${at("dups.csv")}:3:2: worker "a" labelled task "t1" twice (first on line 2); pass --allow-duplicates to keep both`);
    const r = await aggregate(at("dups.csv"), { method: "mv", allowDuplicates: true }, quiet);
    // t1: cat, cat, dog → 2/3 cat (both of a's labels count).
    expect(r.csv.split("\n")[1]).toBe(`t1,cat,${2 / 3},${2 / 3},${1 / 3}`);

    writeFileSync(at("rare.csv"), "task,worker,label\nt1,a,cat\nt1,b,dog\nt2,a,dog\nt2,b,bird\nt3,a,cat\n");
    await expect(aggregate(at("rare.csv"), { method: "mv" }, quiet)).rejects.toThrow(`${at("rare.csv")}:5:3: label "bird" is seen only once`);
    const rare = await aggregate(at("rare.csv"), { method: "mv", classes: ["cat", "dog", "bird"] }, quiet);
    expect(rare.csv.split("\n")[0]).toBe("task,label,confidence,p_cat,p_dog,p_bird");

    // GLAD and MACE by name, their skills in --annotators.
    for (const method of ["glad", "mace"]) {
      const g = await aggregate(at("dups.csv"), { method, allowDuplicates: true, annotators: at(`${method}.json`) }, quiet);
      expect(g.csv.split("\n")[0]).toBe("task,label,confidence,p_cat,p_dog");
      const ann = JSON.parse(readFileSync(at(`${method}.json`), "utf8"));
      expect(ann.workers.map((w: { worker: string }) => w.worker)).toEqual(["a", "a#2", "b", "c"]);
      expect(typeof ann.workers[0].skill).toBe("number");
    }
    await expect(aggregate(at("rare.csv"), { method: "mv", state: at("s") }, quiet)).rejects.toThrow("--state works with --method online-ds only");
    await expect(aggregate(at("rare.csv"), { method: "ds", batchSize: 3 }, quiet)).rejects.toThrow("--batch-size works with --method online-ds only");
    await expect(aggregate(at("rare.csv"), { method: "em" }, quiet)).rejects.toThrow(/unknown method "em"/);
  }, T);
});
