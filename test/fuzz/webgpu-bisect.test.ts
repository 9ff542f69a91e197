// Webgpu bisection beyond fusion (issue 23): a test-only loop-IR pass put into the webgpu
// pipeline is found by the fuzzer on Dawn and bisected to that pass by evaluating each
// kernel's loop IR after lowering and after every webgpu pass (serially and in lock step);
// with the pipeline intact, bisection walks it all and names WGSL code generation.
import { describe, expect, test } from "vitest";
import { isFloat } from "../../core/dtype.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { rewriteExpr } from "../../compiler/te/expr.ts";
import type { Pass } from "../../compiler/tir/pass.ts";
import { mapStmt, mapStmtExprs } from "../../compiler/tir/stmt.ts";
import type { Stmt } from "../../compiler/tir/stmt.ts";
import { WebGpuUnavailableError, gpuDevice } from "../../compiler/targets/webgpu/device.ts";
import { webgpuTarget } from "../../compiler/targets/webgpu/index.ts";
import { Rng } from "../../runtime/random.ts";
import { WEBGPU_VARIANTS, bisect, runOne } from "./differential.ts";
import type { FuzzCase } from "./graph-gen.ts";
import { buildCase } from "./graph-gen.ts";
import { fuzz } from "./run.ts";
import { skipReason } from "../helpers/skip.ts";

const noWebGpu = await gpuDevice().then(() => null, (e: unknown) => {
  if (e instanceof WebGpuUnavailableError) return e.message;
  throw e;
});
const title = (t: string) => skipReason(t, noWebGpu);

/** A deliberately wrong loop-IR pass: every float max becomes a min (relu, maximum, max pooling break). */
const brokenMax: Pass = {
  name: "test-broken-max",
  run: (f) => ({ ...f, body: mapStmtExprs(f.body, (e) => rewriteExpr(e, (x) => (x.kind === "bin" && x.op === "max" && isFloat(x.dtype) ? { ...x, op: "min" } : x))) }),
};

/** A deliberately wrong loop-IR pass: the barriers go (right serially, a race on a GPU). */
const dropBarriers: Pass = {
  name: "test-drop-barriers",
  run: (f) => {
    const go = (s: Stmt): Stmt => (s.kind === "barrier" ? { kind: "nop" } : mapStmt(s, go, (e) => e));
    return { ...f, body: go(f.body) };
  },
};

/** Runs `body` with `broken` inserted into the webgpu target's pipeline after the pass named `after` (test-only; restored after). */
async function withBrokenPass<T>(broken: Pass, after: string, body: (index: number) => Promise<T>): Promise<T> {
  // webgpuTarget.passes is read at lowering time by compileGraphWebGpu and by bisection.
  const target = webgpuTarget as { passes: readonly Pass[] };
  const saved = target.passes;
  const k = saved.findIndex((p) => p.name === after);
  expect(k, after).toBeGreaterThanOrEqual(0);
  target.passes = [...saved.slice(0, k + 1), broken, ...saved.slice(k + 1)];
  try {
    return await body(k + 2);
  } finally {
    target.passes = saved;
  }
}

const [WEBGPU, WEBGPU_UNFUSED] = WEBGPU_VARIANTS as [typeof WEBGPU_VARIANTS[0], typeof WEBGPU_VARIANTS[0]];

describe.skipIf(!!noWebGpu)(skipReason("webgpu bisection through the loop-IR passes", noWebGpu), () => {
  test(title("a broken pass after vectorize is found on Dawn and bisected to it; without it, bisection names WGSL code generation"), async () => {
    const { finding, index } = await withBrokenPass(brokenMax, "vectorize", async (index) => {
      const report = await fuzz({ graphs: 10, seed: 12, variants: [WEBGPU], gradients: false, shrink: false });
      expect(report.findings.length).toBeGreaterThan(0);
      return { finding: report.findings[0]!, index };
    });
    expect(finding.outcome).toMatchObject({ ok: false, stage: "compare" });
    expect(finding.bisection).toMatch(new RegExp(`^loop-IR pass test-broken-max \\(#${index}\\), kernel k\\d+_\\w+ \\([\\w+]+\\): \\w+\\[\\d+\\]: `));
    // The pipeline restored, the same case passes, and bisection finds every step right.
    const c = buildCase(finding.shrunk);
    expect(await runOne(c, WEBGPU)).toEqual({ ok: true });
    expect(await bisect(c, WEBGPU)).toMatch(/^code generation \(WGSL\): the interpreter agrees after every graph rewrite and every kernel's loop IR/);
  }, 300_000);

  test(title("unfused, a kernel's lowering is evaluated too: the broken pass right after lowering (gpu-legalize) is named"), async () => {
    const c = maxCase();
    const out = await withBrokenPass(brokenMax, "gpu-legalize", async (index) => ({ index, found: await runOne(c, WEBGPU_UNFUSED), bisection: await bisect(c, WEBGPU_UNFUSED) }));
    expect(out.found).toMatchObject({ ok: false, stage: "compare" });
    expect(out.bisection).toMatch(new RegExp(`^loop-IR pass test-broken-max \\(#${out.index}\\), kernel k0_maximum \\(maximum\\): `));
  }, 120_000);

  test(title("a race only a GPU sees (barriers dropped from a shared-memory matmul) is named in lock step"), async () => {
    const b = new GraphBuilder();
    const rng = new Rng(3);
    const x = b.input("x", [9, 20]);
    const w = b.constant("w", Float32Array.from({ length: 20 * 7 }, () => rng.uniform(-1, 1)), [20, 7]);
    const g = b.build([b.op1("matmul", [x, w])]);
    const c: FuzzCase = { seed: 1, graph: g, inputs: [{ data: Float64Array.from({ length: 180 }, () => rng.uniform(-1, 1)), shape: [9, 20], dtype: "f32" }], skipped: [] };
    expect(await bisect(c, WEBGPU)).toMatch(/^code generation \(WGSL\)/);
    const bisection = await withBrokenPass(dropBarriers, "gpu-check-barriers", async (index) => ({ index, text: await bisect(c, WEBGPU) }));
    expect(bisection.text).toMatch(new RegExp(`^loop-IR pass test-drop-barriers \\(#${bisection.index}\\) in lock step, kernel k0_matmul \\(matmul\\): `));
  }, 120_000);
});

/** maximum(x, y) of two [3, 5] inputs. */
function maxCase(): FuzzCase {
  const b = new GraphBuilder();
  const x = b.input("x", [3, 5]), y = b.input("y", [3, 5]);
  const rng = new Rng(9);
  const data = () => Float64Array.from({ length: 15 }, () => Math.fround(rng.uniform(-1, 1)));
  return { seed: 1, graph: b.build([b.op1("maximum", [x, y])]), inputs: [{ data: data(), shape: [3, 5], dtype: "f32" }, { data: data(), shape: [3, 5], dtype: "f32" }], skipped: [] };
}
