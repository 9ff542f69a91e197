import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import {
  appendRecord, bestConfigs, configKey, describeStale, isCurrentRecord, makeRecord, measuredConfigs, median, readLog, recordFingerprint, splitByFingerprint,
  UNKNOWN_FINGERPRINT, type TuneRecord,
} from "./log.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "lathe-tune-"));
const rec = (task: string, config: Record<string, number | string>, costs: number[] | null, error: string | null = null): TuneRecord =>
  ({ task, config, costs, error, time: "2024-05-01T12:00:00.000Z", version: 1 });

function readWithWarnings(path: string) {
  const warnings: string[] = [];
  const records = readLog(path, { onWarning: (m) => warnings.push(m) });
  return { records, warnings };
}

describe("tuning log", () => {
  test("round trip: appended records read back equal, one line each", () => {
    const path = join(tmp(), "tune.jsonl");
    const rs = [
      rec("t1", { tile_x: 8, order: "ijk" }, [1e-3, 2e-3, 1.5e-3]),
      rec("t1", { tile_x: 16, order: "ikj" }, null, "compile failed: boom"),
      makeRecord("t2", { unroll: 4 }, [0.25]),
    ];
    for (const r of rs) appendRecord(path, r);
    expect(readFileSync(path, "utf8").split("\n")).toHaveLength(4); // three lines + trailing newline
    const { records, warnings } = readWithWarnings(path);
    expect(warnings).toEqual([]);
    expect(records).toEqual(rs);
    expect(Date.parse(records[2]!.time)).not.toBeNaN();
  });

  test("a missing file is an empty log; an invalid record is refused on append", () => {
    const dir = tmp();
    expect(readLog(join(dir, "none.jsonl"))).toEqual([]);
    expect(() => appendRecord(join(dir, "x.jsonl"), rec("t", { a: 1 }, [Number.NaN]))).toThrow(/costs/);
    expect(readLog(join(dir, "x.jsonl"))).toEqual([]);
  });

  test("a last line cut mid-write is skipped with a warning naming the line; earlier records intact", () => {
    const path = join(tmp(), "tune.jsonl");
    const rs = [rec("a", { x: 1 }, [1]), rec("a", { x: 2 }, [2]), rec("b", { y: "v" }, [3])];
    for (const r of rs) appendRecord(path, r);
    const torn = JSON.stringify(rec("b", { y: "w" }, [4]));
    appendFileSync(path, torn.slice(0, Math.floor(torn.length / 2))); // no newline: killed mid-write
    const { records, warnings } = readWithWarnings(path);
    expect(records).toEqual(rs);
    expect(warnings).toEqual(["tune.jsonl:4: not valid JSON (truncated?) — skipped"]);
    // Appending after a torn line starts a new line: only the torn record is lost.
    appendRecord(path, rec("c", { z: 1 }, [5]));
    appendRecord(path, rec("c", { z: 2 }, [6]));
    const again = readWithWarnings(path);
    expect(again.records.map((r) => r.config)).toEqual([{ x: 1 }, { x: 2 }, { y: "v" }, { z: 1 }, { z: 2 }]);
    expect(again.warnings).toEqual(["tune.jsonl:4: not valid JSON (truncated?) — skipped"]);
  });

  test("garbage and ill-typed lines in the middle are skipped with one warning each", () => {
    const path = join(tmp(), "mixed.jsonl");
    const good = (i: number) => JSON.stringify(rec("t", { i }, [i]));
    const lines = [
      good(0),
      "@@garbage@@",
      good(1),
      JSON.stringify({ ...rec("t", { i: 9 }, [1]), costs: "fast" }),
      JSON.stringify({ ...rec("t", { i: 9 }, [1]), version: 2 }),
      JSON.stringify({ ...rec("t", { i: 9 }, [1]), config: { i: [1] } }),
      JSON.stringify({ ...rec("t", { i: 9 }, [1]), time: 17 }),
      "[1,2]",
      "",
      good(2),
    ];
    writeFileSync(path, lines.join("\n") + "\n");
    const { records, warnings } = readWithWarnings(path);
    expect(records.map((r) => r.config.i)).toEqual([0, 1, 2]);
    expect(warnings).toHaveLength(6);
    expect(warnings[0]).toBe("mixed.jsonl:2: not valid JSON (truncated?) — skipped");
    expect(warnings[1]).toMatch(/^mixed\.jsonl:4: field costs/);
    expect(warnings[2]).toMatch(/^mixed\.jsonl:5: unsupported version 2/);
    expect(warnings[3]).toMatch(/^mixed\.jsonl:6: config\.i is not a number or string/);
    expect(warnings[4]).toMatch(/^mixed\.jsonl:7: field time/);
    expect(warnings[5]).toMatch(/^mixed\.jsonl:8: not a JSON object/);
  });

  test("a process SIGKILLed while appending leaves a log of complete records", async () => {
    const path = join(tmp(), "killed.jsonl");
    const mod = pathToFileURL(join(import.meta.dirname, "log.ts")).href;
    // Long config strings make each line several KiB, so a kill is likely to land mid-loop.
    const script = `
      const { appendRecord } = await import(${JSON.stringify(mod)});
      const pad = "x".repeat(4000);
      for (let i = 0; ; i++) {
        appendRecord(${JSON.stringify(path)}, { task: "k", config: { i, pad }, costs: [i, i + 1, i + 2], error: null, time: new Date().toISOString(), version: 1 });
        if (i === 0) process.stdout.write("ready\\n");
      }`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d) => { if (String(d).includes("ready")) resolve(); });
      child.on("exit", (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
    });
    await new Promise((r) => setTimeout(r, 300));
    const exited = new Promise((r) => child.on("exit", r));
    child.kill("SIGKILL");
    await exited;
    const { records, warnings } = readWithWarnings(path);
    expect(records.length).toBeGreaterThan(1);
    // Records are all there, in order, each complete.
    records.forEach((r, k) => {
      expect(r.config.i).toBe(k);
      expect(r.config.pad).toHaveLength(4000);
      expect(r.costs).toEqual([k, k + 1, k + 2]);
    });
    // At most the line being written is lost, and only if it is the last one.
    const lineCount = readFileSync(path, "utf8").split("\n").filter((l) => l !== "").length;
    expect(lineCount - records.length).toBeLessThanOrEqual(1);
    for (const w of warnings) expect(w).toBe(`killed.jsonl:${lineCount}: not valid JSON (truncated?) — skipped`);
  }, 30_000);

  test("resume: measured configs are found whatever the key order; best config by median", () => {
    const path = join(tmp(), "resume.jsonl");
    appendRecord(path, rec("t", { a: 1, b: "x" }, [5, 1, 6])); // median 5
    appendRecord(path, rec("t", { b: "y", a: 2 }, [3, 9, 2])); // median 3
    appendRecord(path, rec("t", { a: 3, b: "z" }, null, "timeout")); // failed: never best
    appendRecord(path, rec("t", { a: 4, b: "z" }, [4, 4])); // median 4
    appendRecord(path, rec("u", { a: 1, b: "x" }, [0.5]));
    const rs = readLog(path);
    const seen = measuredConfigs(rs, "t");
    expect(seen.size).toBe(4);
    expect(seen.has(configKey({ b: "x", a: 1 }))).toBe(true);
    expect(seen.has(configKey({ a: 2, b: "y" }))).toBe(true);
    expect(seen.has(configKey({ a: 3, b: "z" }))).toBe(true);
    expect(seen.has(configKey({ a: 5, b: "z" }))).toBe(false);
    expect(measuredConfigs(rs, "u")).toEqual(new Set([configKey({ a: 1, b: "x" })]));
    const best = bestConfigs(rs);
    expect(best.get("t")!.config).toEqual({ b: "y", a: 2 });
    expect(best.get("u")!.config).toEqual({ a: 1, b: "x" });
    expect(bestConfigs([rec("v", { a: 1 }, null, "x")]).has("v")).toBe(false);
    expect([median([3]), median([4, 1]), median([9, 1, 5])]).toEqual([3, 2.5, 5]);
  });
});

describe("tuning log: fingerprints", () => {
  test("a record's fingerprint round-trips; old records without one still load; a bad one is refused", () => {
    const path = join(tmp(), "fp.jsonl");
    const old = rec("t", { a: 1 }, [1]); // as written before fingerprints existed
    const mine = makeRecord("t", { a: 2 }, [2], null, "avx2-0123456789abcdef");
    expect(mine.fingerprint).toBe("avx2-0123456789abcdef");
    expect("fingerprint" in makeRecord("t", { a: 3 }, [3])).toBe(false);
    appendRecord(path, old);
    appendRecord(path, mine);
    const { records, warnings } = readWithWarnings(path);
    expect(warnings).toEqual([]);
    expect(records).toEqual([old, mine]);
    expect(records.map(recordFingerprint)).toEqual([UNKNOWN_FINGERPRINT, "avx2-0123456789abcdef"]);
    expect(() => appendRecord(path, { ...old, fingerprint: "" })).toThrow(/fingerprint/);
    writeFileSync(path, JSON.stringify({ ...old, fingerprint: 7 }) + "\n");
    expect(readWithWarnings(path).warnings).toEqual(["fp.jsonl:1: field fingerprint is not a non-empty string — skipped"]);
  });

  test("split: only the current fingerprint's records are current; records without one are stale", () => {
    const rs: TuneRecord[] = [
      { ...rec("t", { a: 1 }, [1]), fingerprint: "A" },
      { ...rec("t", { a: 2 }, [2]), fingerprint: "B" },
      rec("t", { a: 3 }, [3]),
      { ...rec("u", { a: 4 }, [4]), fingerprint: "B" },
      { ...rec("u", { a: 5 }, [5]), fingerprint: "A" },
    ];
    const s = splitByFingerprint(rs, "A");
    expect(s.current.map((r) => r.config.a)).toEqual([1, 5]);
    expect(s.stale.map((r) => r.config.a)).toEqual([2, 3, 4]);
    expect([...s.staleCounts]).toEqual([["B", 2], [UNKNOWN_FINGERPRINT, 1]]);
    expect(describeStale(s.staleCounts)).toBe("3 records from another compiler/host (fingerprints B ×2, unknown: written before fingerprints ×1)");
    expect(describeStale(new Map([["B", 1]]))).toBe("1 record from another compiler/host (fingerprint B)");
    expect(describeStale(new Map())).toBe("");
    // A target without a fingerprint trusts every record, as before fingerprints existed.
    expect(splitByFingerprint(rs, undefined).stale).toEqual([]);
    expect(isCurrentRecord(rs[2]!, undefined)).toBe(true);
    expect(isCurrentRecord(rs[2]!, UNKNOWN_FINGERPRINT)).toBe(false); // "unknown" is a report label, never a match
  });
});
