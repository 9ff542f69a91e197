import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ParseError } from "../../core/errors.ts";
import { csvField, csvLine, readCsvRecords, readGoldCsv, readLabelsCsv } from "./csv.ts";

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "lathe-crowd-csv-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, data: string | Uint8Array): string => { const p = join(dir, name); writeFileSync(p, data); return p; };

/** The error readLabelsCsv throws, checked to be one line `path:line:column: …`. */
async function labelsError(path: string, opts = {}): Promise<{ line: number; column: number; message: string }> {
  const e = await readLabelsCsv(path, opts).then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(ParseError);
  const m = (e as ParseError).message;
  expect(m).not.toContain("\n");
  const hit = /^(.*):(\d+):(\d+): (.*)$/.exec(m)!;
  expect(hit[1]).toBe(path);
  return { line: Number(hit[2]), column: Number(hit[3]), message: hit[4]! };
}

describe("readLabelsCsv", () => {
  test("names in first-seen order, any column order, extra columns, quoting, CRLF and a BOM", async () => {
    const p = file("ok.csv", "\uFEFFlabel,extra,worker,task\r\ncat,1,ann,\"img,1\"\r\ndog,2,bob,\"img,1\"\r\n\r\ndog,3,ann,img2\r\ncat,4,\"b\"\"o\",img2\r\n");
    const r = await readLabelsCsv(p);
    expect(r.items).toEqual(["img,1", "img2"]);
    expect(r.workers).toEqual(["ann", "bob", 'b"o']);
    expect(r.classes).toEqual(["cat", "dog"]);
    expect([...r.item]).toEqual([0, 0, 1, 1]);
    expect([...r.worker]).toEqual([0, 1, 0, 2]);
    expect([...r.label]).toEqual([0, 1, 1, 0]);
  });

  test("each bad input is a one-line error at its file:line:column", async () => {
    const H = "task,worker,label\n";
    const cases: [string, string | Uint8Array, number, number, RegExp][] = [
      ["empty", "", 1, 1, /the file is empty/],
      ["no-header", "t1,a,cat\nt1,b,cat\n", 1, 1, /header has no "task" column/],
      ["missing-column", "task,worker\nt1,a\n", 1, 1, /header has no "label" column/],
      ["twice-column", "task,worker,label,task\nt1,a,cat,t1\n", 1, 4, /names column "task" twice/],
      ["header-only", H, 2, 1, /no labels after the header/],
      ["ragged", H + "t1,a,cat\nt1,b\nt2,a,cat\n", 3, 3, /ragged row: 2 field\(s\), the header has 3/],
      ["ragged-long", H + "t1,a,cat,x\n", 2, 4, /ragged row: 4 field\(s\)/],
      ["no-label", H + "t1,a,cat\nt1,b,cat\nt2,a,\n", 4, 3, /task "t2" has no label/],
      ["no-worker", H + "t1,,cat\n", 2, 2, /empty worker field/],
      ["no-task", H + ",a,cat\n", 2, 1, /empty task field/],
      ["once", H + "t1,a,cat\nt1,b,cat\nt2,a,dgo\nt2,b,dog\nt3,a,dog\n", 4, 3, /label "dgo" is seen only once/],
      ["duplicate", H + "t1,a,cat\nt1,b,dog\nt1,a,dog\nt2,a,dog\n", 4, 2, /worker "a" labelled task "t1" twice \(first on line 2\); pass --allow-duplicates/],
      ["quote", H + "t1,a,cat\nt1,b,\"dog\"x\n", 3, 3, /Invalid Closing Quote/],
      ["unclosed", H + "t1,a,cat\nt1,b,\"dog\n", 3, 3, /Quote Not Closed/],
      ["latin1", Uint8Array.from([...new TextEncoder().encode(H + "t1,a,cat\nt1,caf"), 0xe9, ...new TextEncoder().encode(",cat\n")]), 3, 7, /invalid UTF-8 byte 0xe9 \(byte offset 33\)/],
      ["truncated-utf8", Uint8Array.from([...new TextEncoder().encode(H + "t1,a,cat\nt1,b,"), 0xe2, 0x82]), 3, 6, /ends inside a UTF-8 sequence/],
    ];
    for (const [name, data, line, column, msg] of cases) {
      const e = await labelsError(file(`${name}.csv`, data));
      expect({ name, line: e.line, column: e.column }).toEqual({ name, line, column });
      expect(e.message).toMatch(msg);
    }
    // A label outside given classes; a label seen once is fine when declared.
    const p = file("classes.csv", H + "t1,a,cat\nt1,b,bird\nt2,a,cat\n");
    expect((await labelsError(p, { classes: ["cat", "dog"] })).message).toMatch(/label "bird" is not one of the classes \[cat, dog\]/);
    expect((await readLabelsCsv(p, { classes: ["cat", "bird", "dog"] })).classes).toEqual(["cat", "bird", "dog"]);
  });

  test("UTF-8 is checked across read chunks: a character split by a chunk boundary is fine; a bad byte far in is found", async () => {
    const row = "t1,wörker-ünïcode-€,cat\n";
    // Pad the first task name until a 64 KiB read boundary (createReadStream's chunk) falls inside a character.
    let body = "", good = new Uint8Array(0);
    for (let pad = 0; pad < 40; pad++) {
      body = `task,worker,label\n${"p".repeat(pad)}`;
      while (body.length < 200_000) body += row.replace("t1", `t${body.length}`).replace("cat", body.length % 2 ? "cat" : "dog");
      good = new TextEncoder().encode(body);
      if ((good[65536]! & 0xc0) === 0x80) break;
    }
    expect(good[65536]! & 0xc0).toBe(0x80);
    expect((await readLabelsCsv(file("big.csv", good))).item.length).toBeGreaterThan(5000);
    // A bad byte on line 6000, column 5.
    const lines = body.split("\n");
    const before = new TextEncoder().encode(lines.slice(0, 5999).join("\n") + "\n" + lines[5999]!.slice(0, 4));
    const bad = Uint8Array.from([...before, 0xc0, 0xaf, ...good.subarray(before.length)]);
    const e = await labelsError(file("big-bad.csv", bad));
    expect([e.line, e.column]).toEqual([6000, 5]);
    expect(e.message).toMatch(`byte offset ${before.length}`);
  });

  test("--allow-duplicates keeps every label under a worker alias; extending labels counts their pairs as seen", async () => {
    const p = file("dups.csv", "task,worker,label\nt1,a,cat\nt1,a,dog\nt1,a,dog\nt2,a,cat\nt2,b,dog\n");
    const r = await readLabelsCsv(p, { allowDuplicates: true });
    expect(r.duplicates).toBe(2);
    expect(r.workers).toEqual(["a", "a#2", "a#3", "b"]);
    expect([...r.worker]).toEqual([0, 1, 2, 0, 3]);
    const q = file("more.csv", "task,worker,label\nt3,c,dog\nt1,a,cat\nt3,a,cat\n");
    const e = await labelsError(q, { extend: { items: ["t1", "t2"], workers: ["a", "b"], item: Int32Array.of(0, 1), worker: Int32Array.of(0, 1) } });
    expect([e.line, e.column]).toEqual([3, 2]);
    expect(e.message).toMatch(/once already in the state/);
    const ext = await readLabelsCsv(file("more2.csv", "task,worker,label\nt3,c,dog\nt1,b,cat\nt3,a,cat\n"), { extend: { items: ["t1", "t2"], workers: ["a", "b"], item: Int32Array.of(0, 1), worker: Int32Array.of(0, 1) }, classes: ["cat", "dog"] });
    expect(ext.items).toEqual(["t1", "t2", "t3"]);
    expect(ext.workers).toEqual(["a", "b", "c"]);
    expect([...ext.item]).toEqual([2, 0, 2]);
  });
});

describe("readGoldCsv", () => {
  test("maps tasks to the label set's indices; unknown or repeated tasks are errors at their line", async () => {
    const g = await readGoldCsv(file("gold.csv", "task,label\nt2,dog\nt1,cat\n"), ["t1", "t2"]);
    expect([...g.item]).toEqual([1, 0]);
    expect(g.labels).toEqual(["dog", "cat"]);
    const bad = file("gold-bad.csv", "label,task\ncat,t1\ndog,t9\n");
    await expect(readGoldCsv(bad, ["t1", "t2"])).rejects.toThrow(`${bad}:3:2: gold names task "t9", which has no labels`);
    const twice = file("gold-twice.csv", "task,label\nt1,cat\nt1,dog\n");
    await expect(readGoldCsv(twice, ["t1"])).rejects.toThrow(`${twice}:3:1: gold names task "t1" twice (first on line 2)`);
  });
});

describe("csv writing", () => {
  test("fields with commas, quotes, newlines or edge spaces are quoted and read back unchanged", async () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    const fields = ["a,b", 'say "hi"', "two\nlines", " pad", "ünï"];
    const p = file("round.csv", csvLine(fields) + csvLine(["x", "y", "z", "w", "v"]));
    const recs = [];
    for await (const r of readCsvRecords(p)) recs.push(r);
    expect(recs.map((r) => r.fields)).toEqual([fields, ["x", "y", "z", "w", "v"]]);
    expect(recs.map((r) => r.line)).toEqual([1, 3]);
  });
});
