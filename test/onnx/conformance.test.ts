/**
 * ONNX backend-test conformance (issue 4): the whole of libonnx-testdata's node/,
 * pytorch-converted/, pytorch-operator/ and simple/ run through import → cpu compile → run
 * (compiler/driver/onnx-conformance.ts, batched into shared libraries).
 *
 * The committed docs/onnx-conformance.md is part of the contract: this test fails when a
 * case's outcome differs from the report (a converter landed, or something regressed)
 * and names the cases; regenerate with `npx tsx scripts/onnx-conformance.ts`, or run this
 * test with LATHE_WRITE_CONFORMANCE=1 to rewrite the report from this run. Outcomes are
 * compared rather than the whole text: reasons quote error values and build paths that
 * may differ between machines, outcomes may not.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { beforeAll, describe, expect, test } from "vitest";
import type { CaseResult } from "../../compiler/driver/onnx-conformance.ts";
import {
  FOLDERS, TESTDATA_ROOT, conciseReason, countByFolder, listCases, mismatch, parseReportFreeRuns, parseReportOutcomes, passRate, renderReport, runConformance,
} from "../../compiler/driver/onnx-conformance.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { NEEDS, skipReason } from "../helpers/skip.ts";

const REPORT = new URL("../../docs/onnx-conformance.md", import.meta.url);
const WRITE = process.env.LATHE_WRITE_CONFORMANCE === "1";

/**
 * The issue's bars: the share of cases that must pass in node/, and in the other three folders
 * together. Both are reached (node 83%, others 95% when last regenerated); had one not been,
 * it would hold the rate reached, raised as converters land. Regressions below the reached
 * rates fail the staleness check below, case by case.
 */
const ISSUE_BARS = { node: 0.70, others: 0.90 } as const;
const OTHER_FOLDERS = FOLDERS.filter((f) => f !== "node");

const missing = existsSync(TESTDATA_ROOT) ? null : TESTDATA_ROOT;

describe.skipIf(missing !== null)(`ONNX backend tests${missing ? ` (skipped: ${missing} is missing; apt-get install libonnx-testdata)` : ""}`, () => {
  let results: CaseResult[] = [];

  beforeAll(async () => {
    // Interpreter hints only matter in a report someone reads.
    results = await runConformance(listCases(), { hints: WRITE, log: (m) => console.log(m) });
    if (WRITE) writeFileSync(REPORT, renderReport(results));
    const rate = (fs: readonly string[]) => `${(100 * passRate(results, fs)).toFixed(1)}%`;
    console.log(`ONNX conformance: node ${rate(["node"])}, others ${rate(OTHER_FOLDERS)}; ` +
      [...countByFolder(results)].map(([f, c]) => `${f} ${c.pass}/${c.total}`).join(", "));
  }, 900_000);

  test("every folder has cases", () => {
    const folders = new Set(results.map((r) => r.folder));
    for (const f of FOLDERS) expect(folders.has(f), f).toBe(true);
  });

  test("no case crashes (every failure is a LatheError)", () => {
    const crashes = results.filter((r) => r.outcome === "crash").map((r) => `${r.folder}/${r.name}: ${r.reason}`);
    expect(crashes).toEqual([]);
  });

  test("pass rates reach the issue's bars (node ≥ 70%, the other folders together ≥ 90%)", () => {
    expect(passRate(results, ["node"])).toBeGreaterThanOrEqual(ISSUE_BARS.node);
    expect(passRate(results, OTHER_FOLDERS)).toBeGreaterThanOrEqual(ISSUE_BARS.others);
  });

  test("the report lists every case that does not pass, with its outcome", () => {
    const listed = parseReportOutcomes(renderReport(results));
    const absent = results.filter((r) => r.outcome !== "pass" && listed.get(`${r.folder}/${r.name}`) !== r.outcome);
    expect(absent.map((r) => `${r.folder}/${r.name}`)).toEqual([]);
    for (const r of results) if (r.outcome !== "pass") expect(r.reason, `${r.folder}/${r.name}`).not.toBe("");
  });

  test("docs/onnx-conformance.md is current (regenerate: npx tsx scripts/onnx-conformance.ts)", () => {
    expect(existsSync(REPORT), "docs/onnx-conformance.md is missing").toBe(true);
    const committed = parseReportOutcomes(readFileSync(REPORT, "utf8"));
    const changed: string[] = [];
    for (const r of results) {
      const key = `${r.folder}/${r.name}`;
      const was = committed.get(key);
      if (was !== r.outcome) changed.push(`${key}: report says ${was ?? "nothing"}, now ${r.outcome}`);
    }
    const now = new Set(results.map((r) => `${r.folder}/${r.name}`));
    for (const key of committed.keys()) if (!now.has(key)) changed.push(`${key}: in the report, but no such case`);
    // Folded cases and their free runs are part of the contract too.
    const free = parseReportFreeRuns(readFileSync(REPORT, "utf8"));
    for (const r of results.filter((x) => x.folded)) {
      const key = `${r.folder}/${r.name}`;
      if (free.get(key) !== r.free?.outcome) changed.push(`${key}: report says free run ${free.get(key) ?? "nothing (not folded)"}, now ${r.free?.outcome}`);
    }
    for (const key of free.keys()) if (!results.some((r) => r.folded && `${r.folder}/${r.name}` === key)) changed.push(`${key}: listed as folded, but it is not`);
    expect(changed).toEqual([]);
  });

  test("folded cases (every input bound) are marked, and no free run fails or crashes", () => {
    const folded = results.filter((r) => r.folded);
    expect(folded.length).toBeGreaterThan(0);
    for (const r of folded) expect(r.bound.length === 0 || r.free !== undefined, `${r.folder}/${r.name}`).toBe(true);
    expect(folded.filter((r) => r.free?.outcome === "fail" || r.free?.outcome === "crash").map((r) => `${r.folder}/${r.name}: ${r.free!.reason}`)).toEqual([]);
  });
});

const FOLDED_CASES = ["node/test_hannwindow_expanded", "node/test_range_float_type_positive_delta", "node/test_constant", "node/test_relu"];
const noFoldedCases = FOLDED_CASES.some((c) => !existsSync(join(TESTDATA_ROOT, c, "model.onnx")));
describe.skipIf(noFoldedCases)(skipReason("folded cases and free runs", noFoldedCases && NEEDS.onnxTestdata), () => {
  test("a window built from primitives runs free on x; Range and Constant cannot; Relu is not folded", async () => {
    const cases = listCases(TESTDATA_ROOT, ["node"], new RegExp(`^(${FOLDED_CASES.join("|")})$`));
    const by = new Map((await runConformance(cases, { hints: false })).map((r) => [`${r.folder}/${r.name}`, r]));
    const win = by.get("node/test_hannwindow_expanded")!;
    expect([win.outcome, win.folded, win.bound]).toEqual(["pass", true, ["x"]]);
    // Generated code computes the window from a run-time x (its length stays the data set's).
    expect(win.free).toEqual({ outcome: "pass", reason: "", inputs: ["x"] });
    const range = by.get("node/test_range_float_type_positive_delta")!;
    expect([range.outcome, range.folded, range.free?.outcome]).toEqual(["pass", true, "not possible"]);
    expect(range.free?.reason).toMatch(/folded everything computed from start, limit, delta/);
    expect(by.get("node/test_constant")!.free).toEqual({ outcome: "not possible", reason: "the model has no inputs", inputs: [] });
    const relu = by.get("node/test_relu")!;
    expect([relu.outcome, relu.folded, relu.free]).toEqual(["pass", undefined, undefined]);
    // The summary counts the folded passes and the computed ones apart.
    const md = renderReport([...by.values()]);
    expect(md).toContain("| node | 4 | 4 | 0 | 0 | 0 | 0 | 100.0% | 3 | 2 | 50.0% |");
    expect([...parseReportFreeRuns(md)]).toEqual([
      ["node/test_constant", "not possible"], ["node/test_hannwindow_expanded", "pass"], ["node/test_range_float_type_positive_delta", "not possible"],
    ]);
    expect([...parseReportOutcomes(md).values()]).toEqual(["pass", "pass", "pass", "pass"]);
  }, 300_000);
});

describe("comparison under ONNX's tolerance", () => {
  const f32 = (xs: number[]) => Tensor.fromArray(xs, [xs.length], "f32");
  test("floats: atol + rtol·|expected|, NaN equals NaN, infinities must match", () => {
    expect(mismatch(f32([1000, 0]), f32([1000.9, 0]))).toBeNull(); // 0.9 ≤ 1e-7 + 1e-3·1000.9
    expect(mismatch(f32([1000, 0]), f32([1001.5, 0]))).toMatch(/max error 1\.5 at element 0/);
    expect(mismatch(f32([0, 1e-6]), f32([0, 0]))).toMatch(/1 of 2 outside tolerance/);
    expect(mismatch(f32([NaN, Infinity]), f32([NaN, Infinity]))).toBeNull();
    expect(mismatch(f32([NaN]), f32([1]))).toMatch(/max error Infinity/);
    expect(mismatch(f32([-Infinity]), f32([Infinity]))).not.toBeNull();
    expect(mismatch(f32([5]), f32([Infinity]))).not.toBeNull();
  });
  test("integers and booleans exactly; dtype and shape must match", () => {
    expect(mismatch(Tensor.fromArray([1, 2], [2], "i64"), Tensor.fromArray([1, 3], [2], "i64"))).toMatch(/element 1 is 2, expected 3/);
    expect(mismatch(Tensor.fromArray([1, 0], [2], "bool"), Tensor.fromArray([1, 0], [2], "bool"))).toBeNull();
    expect(mismatch(Tensor.fromArray([1], [1], "i32"), Tensor.fromArray([1], [1], "i64"))).toBe("dtype i32, expected i64");
    expect(mismatch(f32([1, 2]), Tensor.fromArray([1, 2], [1, 2], "f32"))).toBe("shape [2], expected [1, 2]");
  });
  test("report rows round-trip and build errors are shortened", () => {
    const r = (name: string, outcome: CaseResult["outcome"], reason = ""): CaseResult => ({ folder: "node", name, outcome, reason, bound: [], unsupportedOps: [] });
    const md = renderReport([r("test_b", "fail", "a | b"), r("test_a", "pass"), r("test_c", "unsupported", "X: no converter")]);
    expect([...parseReportOutcomes(md)]).toEqual([["node/test_a", "pass"], ["node/test_b", "fail"], ["node/test_c", "unsupported"]]);
    const gpp = "compile: g++ failed to compile the generated kernel (source kept at /c/.tmp-1-abc.cc): /c/.tmp-1-abc.cc: In function f: /c/.tmp-1-abc.cc:3:4: error: bad thing\nmore";
    expect(conciseReason(gpp)).toBe("compile: g++ failed: error: bad thing more");
  });
});

const relu = join(TESTDATA_ROOT, "node", "test_relu");
describe.skipIf(!existsSync(relu))(skipReason("a wrong expected output fails, with the interpreter's verdict", !existsSync(relu) && NEEDS.onnxTestdata), () => {
  test("node/test_relu with a perturbed output_0.pb", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lathe-conformance-"));
    const set = join(dir, "test_data_set_0");
    mkdirSync(set);
    copyFileSync(join(relu, "model.onnx"), join(dir, "model.onnx"));
    copyFileSync(join(relu, "test_data_set_0", "input_0.pb"), join(set, "input_0.pb"));
    const TensorProto = protobuf.parse(readFileSync(new URL("../../compiler/frontend/onnx/onnx.proto", import.meta.url), "utf8"), { keepCase: true })
      .root.lookupType("onnx.TensorProto");
    const out = TensorProto.toObject(TensorProto.decode(readFileSync(join(relu, "test_data_set_0", "output_0.pb"))), { longs: Number });
    const raw = new Float32Array(new Uint8Array(out.raw_data as Uint8Array).buffer.slice(0));
    raw[7] = (raw[7] ?? 0) + 0.5;
    out.raw_data = new Uint8Array(raw.buffer);
    writeFileSync(join(set, "output_0.pb"), TensorProto.encode(TensorProto.fromObject(out)).finish());
    const [res] = await runConformance([{ folder: "node", name: "test_relu_perturbed", dir }]);
    expect(res!.outcome).toBe("fail");
    expect(res!.reason).toMatch(/output y: max error 0\.5 at element 7/);
    expect(res!.reason).toMatch(/interpreter disagrees too/);
  });
});
