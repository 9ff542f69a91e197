import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { cxxVersion } from "./host.ts";
import { BenchReport, formatTable, median, ratioOf, timeIt, timeSidesSpread, type HostInfo } from "./report.ts";

const HOST: HostInfo = {
  cpu: "Test CPU", family: 25, model: 1, isa: ["avx2", "avx", "avx2", "fma"], cores: 2, peak_gflops_per_core: null, triad_gbs: null,
  node: "v20.20.2", cxx: "g++ 12.2.0", adapter: null, commit: "abc1234", dirty: false, quick: false, versions: { openblas: "0.3.21+ds-4", torch: null },
};
const DATE = new Date("2026-11-27T12:00:00.123Z");
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "lathe-bench-"));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("ratioOf", () => {
  test("higher-is-better is lathe / baseline; lower-is-better is baseline / lathe", () => {
    expect(ratioOf("higher", 95.1, 101.2)).toBe(0.94); // BENCH.md's example
    expect(ratioOf("higher", 200, 100)).toBe(2);
    expect(ratioOf("lower", 2, 10)).toBe(5); // 2 ms against 10 ms: Lathe 5x ahead
    expect(ratioOf("lower", 10, 2)).toBe(0.2);
    expect(ratioOf("higher", 1, 3)).toBe(0.333);
  });

  test("a missing baseline or a zero makes the ratio null", () => {
    expect(ratioOf("higher", 5, null)).toBeNull();
    expect(ratioOf("lower", 0, 3)).toBeNull();
    expect(ratioOf("higher", 3, 0)).toBeNull();
  });
});

describe("BenchReport", () => {
  test("writes BENCH.md's JSON format", () => {
    const r = new BenchReport("gemm", HOST, DATE);
    r.note("OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for the baseline");
    r.row({ case: "N=1024", threads: 1, metric: "GFLOP/s", better: "higher", lathe: 95.1, baseline: "openblas", baselineValue: 101.2 });
    r.row({ case: "N=64", threads: 2, metric: "ms", better: "lower", lathe: 0.5, baseline: "openblas", baselineValue: 0.75 });
    const dir = tempDir();
    const path = r.write(dir);
    expect(path).toBe(join(dir, "gemm.json"));
    expect(readdirSync(dir)).toEqual(["gemm.json"]); // no temp file left behind
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({
      name: "gemm",
      date: "2026-11-27T12:00:00Z",
      host: HOST,
      notes: ["OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for the baseline"],
      rows: [
        { case: "N=1024", threads: 1, metric: "GFLOP/s", better: "higher", lathe: 95.1, baseline: "openblas", baseline_value: 101.2, ratio: 0.94 },
        { case: "N=64", threads: 2, metric: "ms", better: "lower", lathe: 0.5, baseline: "openblas", baseline_value: 0.75, ratio: 1.5 },
      ],
    });
  });

  test("a quick run writes <name>.quick.json beside the full results, with the run's peak in the host record", () => {
    const dir = tempDir();
    const full = new BenchReport("gemm", HOST, DATE);
    full.row({ case: "N=64", threads: 1, metric: "GFLOP/s", better: "higher", lathe: 50, baseline: "openblas", baselineValue: 60 });
    full.setRun({ quick: false, peak: { gflopsPerCore: 100, triadGBs: 20 } });
    expect(full.write(dir)).toBe(join(dir, "gemm.json"));
    const quick = new BenchReport("gemm", HOST, DATE);
    quick.row({ case: "N=64", threads: 1, metric: "GFLOP/s", better: "higher", lathe: 40, baseline: "openblas", baselineValue: 60 });
    quick.setRun({ quick: true, peak: { gflopsPerCore: 100, triadGBs: 20 } });
    expect(quick.write(dir)).toBe(join(dir, "gemm.quick.json"));
    expect(readdirSync(dir).sort()).toEqual(["gemm.json", "gemm.quick.json"]);
    expect(JSON.parse(readFileSync(join(dir, "gemm.json"), "utf8")).rows[0].lathe).toBe(50);
    const host = JSON.parse(readFileSync(join(dir, "gemm.quick.json"), "utf8")).host;
    expect(host).toMatchObject({ quick: true, peak_gflops_per_core: 100, triad_gbs: 20, commit: "abc1234" });
  });

  test("a figure above the peak, a baseline slower on more threads, or a recorded problem fails the run and writes nothing", () => {
    const dir = tempDir();
    const ok = new BenchReport("gemm", HOST, DATE).setRun({ quick: false, peak: { gflopsPerCore: 100, triadGBs: 20 } });
    ok.row({ case: "N=64", threads: 2, metric: "GFLOP/s", better: "higher", lathe: 200, baseline: "openblas", baselineValue: 150 });
    ok.write(dir);
    const bad = new BenchReport("gemm", HOST, DATE).setRun({ quick: false, peak: { gflopsPerCore: 100, triadGBs: 20 } });
    bad.row({ case: "N=64", threads: 1, metric: "GFLOP/s", better: "higher", lathe: 120, baseline: "openblas", baselineValue: 90 });
    bad.row({ case: "N=64", threads: 2, metric: "GFLOP/s", better: "higher", lathe: 150, baseline: "openblas", baselineValue: 60 });
    bad.row({ case: "resnet", threads: 1, metric: "latency ms", better: "lower", lathe: 10, baseline: "pytorch", baselineValue: 20 });
    bad.row({ case: "resnet", threads: 2, metric: "latency ms", better: "lower", lathe: 6, baseline: "pytorch", baselineValue: 30 });
    bad.problem("N=64: lathe's output differs from the reference at [3, 4]");
    expect(bad.problems()).toEqual([
      "N=64: lathe's output differs from the reference at [3, 4]",
      "N=64, 1 thread(s): lathe at 120 GFLOP/s is above the measured peak (100 per core)",
      "N=64: openblas is slower on 2 threads (60) than on 1 (90); fix its threading",
      "resnet: pytorch is slower on 2 threads (30) than on 1 (20); fix its threading",
    ]);
    expect(() => bad.write(dir)).toThrow(/bench gemm failed, nothing written:\n {2}N=64: lathe's output differs/);
    expect(JSON.parse(readFileSync(join(dir, "gemm.json"), "utf8")).rows[0].lathe).toBe(200); // the earlier results stay
  });

  test("a baseline's slower median on more threads fails only when its blocks do not overlap the one-thread blocks", () => {
    const rows = (twoMax: number) => {
      const r = new BenchReport("train", HOST, DATE).setRun({ quick: false, peak: { gflopsPerCore: 100, triadGBs: 20 } });
      r.row({ case: "mlp", threads: 1, metric: "samples/s", better: "higher", lathe: 1, baseline: "pytorch", baselineValue: 23500, baselineSpread: { min: 20760, max: 25350 } });
      r.row({ case: "mlp", threads: 2, metric: "samples/s", better: "higher", lathe: 1, baseline: "pytorch", baselineValue: 20490, baselineSpread: { min: 19050, max: twoMax } });
      return r.problems();
    };
    expect(rows(24090)).toEqual([]);
    expect(rows(20500)).toEqual(["mlp: pytorch is slower on 2 threads (20490) than on 1 (23500); fix its threading"]);
  });

  test("a row without a baseline keeps null and adds one note saying what to install", () => {
    const r = new BenchReport("conv", HOST, DATE);
    for (const n of [8, 16]) {
      r.row({ case: `C=${n}`, threads: 1, metric: "ms", better: "lower", lathe: 1, baseline: "onednn", baselineValue: null, install: "apt-get install libdnnl-dev" });
    }
    const json = r.toJSON();
    expect(json.rows.map((row) => [row.baseline_value, row.ratio])).toEqual([[null, null], [null, null]]);
    expect(json.notes).toEqual(["onednn is not installed, so its rows have no baseline: apt-get install libdnnl-dev"]);
  });

  test("bad rows and names are LatheErrors", () => {
    const r = new BenchReport("x", HOST, DATE);
    const good = { case: "c", threads: 1, metric: "ms", better: "lower", lathe: 1, baseline: "b", baselineValue: 1 } as const;
    expect(() => r.row({ ...good, threads: 0 })).toThrow(LatheError);
    expect(() => r.row({ ...good, lathe: NaN })).toThrow(LatheError);
    expect(() => r.row({ ...good, baselineValue: Infinity })).toThrow(LatheError);
    expect(() => r.row({ ...good, better: "more" as never })).toThrow(LatheError);
    expect(() => new BenchReport("../escape", HOST, DATE)).toThrow(LatheError);
    expect(r.rows).toEqual([]);
  });

  test("table() shows every row and the notes", () => {
    const r = new BenchReport("gemm", HOST, DATE);
    r.row({ case: "N=1024", threads: 1, metric: "GFLOP/s", better: "higher", lathe: 95.1, baseline: "openblas", baselineValue: 101.2 });
    r.row({ case: "N=8", threads: 1, metric: "ms", better: "lower", lathe: 2, baseline: "torch", baselineValue: null, install: "apt-get install python3-torch" });
    const lines = r.table().split("\n");
    expect(lines[0]).toBe("gemm — Test CPU (avx2), 2 cores, node v20.20.2");
    expect(lines[1]).toMatch(/^case\s+threads\s+metric\s+lathe\s+baseline\s+baseline value\s+ratio$/);
    expect(lines[3]!.split(/\s{2,}/)).toEqual(["N=1024", "1", "GFLOP/s (higher)", "95.1", "openblas", "101.2", "0.94"]);
    expect(lines[4]!.split(/\s{2,}/)).toEqual(["N=8", "1", "ms (lower)", "2", "torch", "-", "-"]);
    expect(lines[5]).toBe("note: torch is not installed, so its rows have no baseline: apt-get install python3-torch");
  });
});

describe("helpers", () => {
  test("median of odd and even lists", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  test("timeIt runs warm-up plus repeats and times each call", async () => {
    let calls = 0;
    const t = await timeIt(() => {
      calls++;
      const end = Date.now() + 5;
      while (Date.now() < end); // busy 5 ms
    }, { warmup: 2, repeats: 3 });
    expect(calls).toBe(5);
    expect(t.samplesMs).toHaveLength(3);
    expect(t.medianMs).toBeGreaterThanOrEqual(4);
    const slow = await timeIt(() => new Promise((r) => setTimeout(r, 20)), { warmup: 0, repeats: 1 });
    expect(slow.medianMs).toBeGreaterThanOrEqual(15); // awaited, not just started
  });

  test("timeSidesSpread: blocks alternate forward and reverse, each prepared and warmed, promises awaited one at a time", async () => {
    const log: string[] = [];
    let running = 0, most = 0;
    const side = (name: string) => async () => {
      log.push(name);
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
    };
    const secs = (await timeSidesSpread([side("a"), side("b")], { repeats: 10, blocks: 5, inner: 2, pauseMs: 0, prepare: (i) => log.push(`prep${i}`) })).map((t) => t.median);
    expect(secs).toHaveLength(2);
    for (const s of secs) expect(s).toBeGreaterThan(0);
    // Per block: prepare, one warm-up call, then 2 samples × 2 calls; a, b, then b, a, …
    const block = (i: number, n: string) => [`prep${i}`, ...Array<string>(5).fill(n)];
    const ab = [...block(0, "a"), ...block(1, "b")], ba = [...block(1, "b"), ...block(0, "a")];
    expect(log).toEqual([...ab, ...ba, ...ab, ...ba, ...ab]);
    expect(most).toBe(1);
    await expect(timeSidesSpread([side("a")], { repeats: 4, blocks: 4 })).rejects.toThrow(/blocks must be an integer >= 5/);
  });

  test("timeSidesSpread: the median of the blocks with the fastest and slowest block", async () => {
    let call = 0;
    // Block k's calls take about (k+1) ms: five blocks, one side.
    const slowing = async () => { await new Promise((r) => setTimeout(r, 1 + Math.floor(call++ / 2))); };
    const [t] = await timeSidesSpread([slowing], { repeats: 5, blocks: 5, pauseMs: 0 });
    expect(t!.blocks).toHaveLength(5);
    expect(t!.min).toBe(Math.min(...t!.blocks));
    expect(t!.max).toBe(Math.max(...t!.blocks));
    expect(t!.median).toBe(median(t!.blocks));
    expect(t!.max).toBeGreaterThan(t!.min);
  });

  test("rows carry the spread of each side; a lower-is-better spread converts with the figure", () => {
    const r = new BenchReport("gemm", HOST, DATE);
    const row = r.row({ case: "N=64", threads: 1, metric: "GFLOP/s", better: "higher", lathe: 50, latheSpread: { min: 48, max: 51 }, baseline: "openblas", baselineValue: 60, baselineSpread: { min: 59, max: 62 } });
    expect(row).toMatchObject({ lathe: 50, lathe_min: 48, lathe_max: 51, baseline_value: 60, baseline_min: 59, baseline_max: 62, ratio: 0.833 });
    expect(() => r.row({ case: "x", threads: 1, metric: "ms", better: "lower", lathe: 5, latheSpread: { min: 6, max: 7 }, baseline: "b", baselineValue: 1 })).toThrow(/lathe spread \[6, 7\] does not contain its figure 5/);
    expect(r.table()).toContain("50 (48–51)");
  });

  test("formatTable pads columns", () => {
    expect(formatTable(["a", "bb"], [["xxx", "y"]])).toBe("a    bb\n---  --\nxxx  y");
  });

  test("cxxVersion keeps the compiler name and version", () => {
    expect(cxxVersion("g++ (Debian 12.2.0-14+deb12u1) 12.2.0")).toBe("g++ 12.2.0");
  });
});
