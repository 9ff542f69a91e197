import { describe, expect, test } from "vitest";
import { Rng } from "../../../../runtime/random.ts";
import { GraphBuilder } from "../../../graph/builder.ts";
import type { Graph } from "../../../graph/graph.ts";
import { interpret } from "../../../graph/interpret.ts";
import { cpuTarget } from "../index.ts";
import { extractTasks, taskSpec, type TaskSpec } from "../../../autotune/task.ts";
import { lowerTask, taskGraph, taskTemplate } from "../task-template.ts";
import { loadTunedConfigs, type TemplateKind } from "./templates.ts";
import { hostVectorBytes } from "../host.ts";
import { printCppModule } from "../../../codegen/cpp/print.ts";
import { hasAsan, runUnderAsan } from "../../../../test/cpu/asan-harness.ts";
import { appendRecord, makeRecord, type Config, type TuneRecord } from "../../../autotune/log.ts";
import { hostFingerprint } from "../fingerprint.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NEEDS, skipReason } from "../../../../test/helpers/skip.ts";

/** One-task graphs, one per template family; small shapes with uneven extents so tiles leave tails. */
/** `every`: also try each value of this knob (the others at their first value). */
interface Case { name: string; g: Graph; kind: TemplateKind; every?: string }

function cases(): Case[] {
  const out: Case[] = [];
  const conv = (groups: number, C: number, F: number, k: number, pads: number[], strides = [1, 1]) => {
    const b = new GraphBuilder();
    const x = b.input("x", [1, C, 9, 10]);
    const w = b.input("w", [F, C / groups, k, k]);
    const bias = b.input("b", [F, 1, 1]);
    const y = b.op1("relu", [b.op1("add", [b.op1("conv2d", [x, w], { pads, strides, groups }), bias])]);
    return b.build([y]);
  };
  out.push({ name: "conv2d 3x3 + bias + relu (NCHW)", g: conv(1, 6, 12, 3, [1, 1, 1, 1]), kind: "reduce" });
  out.push({ name: "conv2d 3x3 stride 2, no epilogue", g: (() => {
    const b = new GraphBuilder();
    const y = b.op1("conv2d", [b.input("x", [2, 5, 11, 11]), b.input("w", [7, 5, 3, 3])], { strides: [2, 2] });
    return b.build([y]);
  })(), kind: "reduce" });
  out.push({ name: "depthwise conv2d 3x3", g: conv(8, 8, 8, 3, [1, 1, 1, 1]), kind: "reduce" });
  // Blocks that fill whole vectors take the register-tiled direct convolution template, others the reduce one.
  const lanes = hostVectorBytes() / 4;
  out.push({ name: "conv2d_nchwc", g: (() => {
    const b = new GraphBuilder();
    const y = b.op1("conv2d_nchwc", [b.input("x", [1, 2, 7, 6, 4]), b.input("w", [3, 2, 3, 3, 4, 8])], { pads: [1, 1, 1, 1], block_in: 4, block_out: 8 });
    return b.build([y]);
  })(), kind: 8 % lanes === 0 ? "conv" : "reduce" });
  out.push({ name: "conv2d_nchwc with vector blocks + bias + relu", g: (() => {
    const b = new GraphBuilder();
    const conv = b.op1("conv2d_nchwc", [b.input("x", [1, 2, 9, 10, 8]), b.input("w", [3, 2, 3, 3, 8, lanes])], { pads: [1, 1, 1, 1], block_in: 8, block_out: lanes });
    return b.build([b.op1("relu", [b.op1("add", [conv, b.input("b", [1, 3, 1, 1, lanes])])])]);
  })(), kind: "conv" });
  out.push({ name: "conv2d_nchwc with a width no tile of 4 to 8 divides (tiles with tails)", g: (() => {
    const b = new GraphBuilder();
    return b.build([b.op1("conv2d_nchwc", [b.input("x", [1, 1, 5, 13, 4]), b.input("w", [2, 1, 3, 3, 4, lanes])], { pads: [1, 1, 1, 1], block_in: 4, block_out: lanes })]);
  })(), kind: "conv", every: "tile" });
  out.push({ name: "conv2d_nchwc stride 2, two vectors per block, 1x1", g: (() => {
    const b = new GraphBuilder();
    return b.build([b.op1("conv2d_nchwc", [b.input("x", [1, 3, 13, 14, 4]), b.input("w", [2, 3, 1, 1, 4, 2 * lanes])], { strides: [2, 2], block_in: 4, block_out: 2 * lanes })]);
  })(), kind: "conv" });
  out.push({ name: "depthwise_conv2d_nchwc 3x3 pad 1 + bias + relu6, a width no tile of 4 to 8 divides", g: (() => {
    const b = new GraphBuilder();
    const dw = b.op1("depthwise_conv2d_nchwc", [b.input("x", [1, 2, 6, 13, lanes]), b.input("w", [2, 1, 3, 3, 1, lanes])], { pads: [1, 1, 1, 1], block: lanes });
    const y = b.op1("relu", [b.op1("add", [dw, b.input("b", [1, 2, 1, 1, lanes])])]);
    return b.build([b.op1("minimum", [y, b.constant("six", Float32Array.of(6), [])])]);
  })(), kind: "depthwise", every: "tile" });
  out.push({ name: "depthwise_conv2d_nchwc stride 2, dilation 2, asymmetric pads, two vectors per block", g: (() => {
    const b = new GraphBuilder();
    return b.build([b.op1("depthwise_conv2d_nchwc", [b.input("x", [2, 1, 11, 10, 2 * lanes]), b.input("w", [1, 1, 3, 2, 1, 2 * lanes])],
      { strides: [2, 2], dilations: [2, 2], pads: [2, 1, 1, 0], block: 2 * lanes })]);
  })(), kind: "depthwise", every: "unroll" });
  out.push({ name: "depthwise_conv2d_nchwc with a block narrower than a vector (reduce template)", g: (() => {
    const b = new GraphBuilder();
    return b.build([b.op1("depthwise_conv2d_nchwc", [b.input("x", [1, 3, 7, 6, 2]), b.input("w", [3, 1, 3, 3, 1, 2])], { pads: [1, 1, 1, 1], block: 2 })]);
  })(), kind: "reduce" });
  out.push({ name: "max_pool2d 3x3 stride 2 pad 1", g: (() => {
    const b = new GraphBuilder();
    return b.build([b.op1("max_pool2d", [b.input("x", [1, 6, 13, 12])], { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] })]);
  })(), kind: "reduce" });
  out.push({ name: "avg_pool2d 2x2", g: (() => {
    const b = new GraphBuilder();
    return b.build([b.op1("avg_pool2d", [b.input("x", [2, 3, 8, 10])], { kernel: [2, 2], strides: [2, 2] })]);
  })(), kind: "reduce" });
  out.push({ name: "sum over the last axis", g: (() => {
    const b = new GraphBuilder();
    return b.build([b.op1("sum", [b.input("x", [5, 7, 40])], { axes: [2] })]);
  })(), kind: "reduce" });
  out.push({ name: "max over axis 1, keepdims", g: (() => {
    const b = new GraphBuilder();
    return b.build([b.op1("max", [b.input("x", [6, 33, 10])], { axes: [1], keepdims: true })]);
  })(), kind: "reduce" });
  out.push({ name: "matmul + bias (dense)", g: (() => {
    const b = new GraphBuilder();
    const y = b.op1("add", [b.op1("matmul", [b.input("x", [13, 20]), b.input("w", [20, 40])]), b.input("b", [40])]);
    return b.build([y]);
  })(), kind: "gemm", every: "pack" });
  return out;
}

function tolerance(ref: Float64Array): number {
  let m = 0;
  for (const v of ref) m = Math.max(m, Math.abs(v));
  return 1e-4 * Math.max(1, m);
}

describe("group templates: every config computes what the interpreter computes", () => {
  for (const c of cases()) {
    test(c.name, async () => {
      const tasks = extractTasks(c.g).map(taskSpec);
      expect(tasks).toHaveLength(1);
      const task: TaskSpec = tasks[0]!;
      const tpl = taskTemplate(task);
      expect(tpl).not.toBeNull();
      expect(tpl!.kind).toBe(c.kind);
      expect(tpl!.space.size).toBeGreaterThan(1);
      // Seeded random configs plus the first and last, all in one module (one compile).
      const rng = new Rng(task.key.length);
      const idx = new Set([0, tpl!.space.size - 1]);
      while (idx.size < Math.min(4, tpl!.space.size)) idx.add(rng.int(0, tpl!.space.size));
      const configs: Config[] = [...idx].map((i) => tpl!.space.get(i));
      if (c.every) {
        const k = tpl!.space.names.indexOf(c.every);
        for (const v of tpl!.space.values[k]!) configs.push({ ...tpl!.space.get(0), [c.every]: v });
      }
      const funcs = configs.map((cfg, k) => lowerTask(task, cfg, `cand${k}`));
      const mod = await cpuTarget.build(funcs);
      const data = task.inputs.map((t) => {
        const n = (t.shape as number[]).reduce((a, b) => a * b, 1);
        return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
      });
      const ref = interpret(taskGraph(task), data.map((d, i) => ({ data: d, shape: task.inputs[i]!.shape as number[] }))).outputs[0]!;
      const outType = task.types[task.outputs[0]!]!;
      funcs.forEach((f, k) => {
        const out = new Float32Array(ref.data.length).fill(Number.NaN);
        mod.run(f.name, [
          ...data.map((d, i) => ({ data: d, shape: task.inputs[i]!.shape as number[], dtype: task.inputs[i]!.dtype })),
          { data: out, shape: outType.shape as number[], dtype: outType.dtype },
        ]);
        const tol = tolerance(ref.data);
        let worst = 0;
        for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - ref.data[i]!));
        expect(worst, `config ${JSON.stringify(configs[k])}`).toBeLessThanOrEqual(tol);
      });
    }, 60_000);
  }

  test.skipIf(!hasAsan)(skipReason("the conv template's tiles with tails stay inside every buffer (AddressSanitizer)", !hasAsan && NEEDS.asan), async () => {
    const lanes = hostVectorBytes() / 4;
    const b = new GraphBuilder();
    const g = b.build([b.op1("conv2d_nchwc", [b.input("x", [1, 1, 5, 13, 4]), b.input("w", [2, 1, 3, 3, 4, lanes])], { pads: [1, 1, 1, 1], block_in: 4, block_out: lanes })]);
    const task = taskSpec(extractTasks(g)[0]!);
    const tpl = taskTemplate(task)!;
    expect(tpl.kind).toBe("conv");
    // OW = 13: only 1 divides it among the tiles; 4 … 8 leave tails.
    const tiles = tpl.space.values[tpl.space.names.indexOf("tile")]!.filter((t) => String(t).endsWith("x1"));
    expect(tiles).toEqual(["1x1", "4x1", "5x1", "6x1", "7x1", "8x1"]);
    for (const [k, t] of tiles.entries()) {
      const f = lowerTask(task, { ...tpl.space.get(0), tile: t }, `tile${k}`);
      const r = await runUnderAsan(printCppModule([f]), f);
      expect(r.report, `tile ${t}`).toBe("");
      expect(r.ok).toBe(true);
    }
  }, 120_000);

  test.skipIf(!hasAsan)(skipReason("a GEMM reading its column operand in place (pack 0) with a partial last panel stays inside B (AddressSanitizer)", !hasAsan && NEEDS.asan), async () => {
    const lanes = hostVectorBytes() / 4;
    const b = new GraphBuilder();
    const g = b.build([b.op1("matmul", [b.input("a", [7, 24]), b.input("w", [24, 4 * lanes + 4])])]);
    const task = taskSpec(extractTasks(g)[0]!);
    const tpl = taskTemplate(task)!;
    const def = tpl.defaultConfig!;
    expect((4 * lanes + 4) % (def["nr"] as number)).not.toBe(0);
    const f = lowerTask(task, { ...def, pack: 0 }, "inplace");
    const r = await runUnderAsan(printCppModule([f]), f);
    expect(r.report).toBe("");
    expect(r.ok).toBe(true);
  }, 60_000);

  test("groups without a template: elementwise only, and softmax (two reductions)", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [4, 16]);
    const g = b.build([b.op1("softmax", [b.op1("relu", [x])], { axis: -1 })]);
    for (const t of extractTasks(g)) expect(taskTemplate(taskSpec(t))).toBeNull();
    const b2 = new GraphBuilder();
    const g2 = b2.build([b2.op1("relu", [b2.input("x", [4, 16])])]);
    expect(taskTemplate(taskSpec(extractTasks(g2)[0]!))).toBeNull();
  });
});

describe("loadTunedConfigs: compiler fingerprints", () => {
  const write = (records: TuneRecord[]): string => {
    const log = join(mkdtempSync(join(tmpdir(), "lathe-tuned-")), "tune.jsonl");
    for (const r of records) appendRecord(log, r);
    return log;
  };
  const load = (log: string, opts: Parameters<typeof loadTunedConfigs>[2]) => {
    const warnings: string[] = [];
    const tuned = loadTunedConfigs(log, (m) => warnings.push(m), opts);
    return { tuned: Object.fromEntries(tuned), warnings };
  };
  const old = (task: string, config: Config, cost: number): TuneRecord => {
    const { fingerprint: _, ...r } = makeRecord(task, config, [cost]); // as written before fingerprints existed
    return r;
  };
  const log = write([
    makeRecord("t", { a: 1 }, [3], null, "A"),
    makeRecord("t", { a: 2 }, [1], null, "B"), // faster, but measured by another compiler/host
    makeRecord("u", { a: 3 }, [1], null, "B"),
    old("v", { a: 4 }, 1),
    makeRecord("w", { a: 5 }, null, "build failed", "A"),
  ]);

  test("only the current fingerprint's records count; the others are reported once, with their count", () => {
    const r = load(log, { fingerprint: "A" });
    expect(r.tuned).toEqual({ t: { a: 1 } });
    expect(r.warnings).toEqual([
      "tune.jsonl: 3 records from another compiler/host (fingerprints B ×2, unknown: written before fingerprints ×1) ignored (this one is A); pass --accept-stale to use them",
    ]);
    // A log from another host only: nothing is applied.
    expect(load(log, { fingerprint: "C" }).tuned).toEqual({});
  });

  test("acceptStale uses them for tasks the current fingerprint has no record of (said in a warning)", () => {
    const r = load(log, { fingerprint: "A", acceptStale: true });
    // t keeps A's config: costs from another compiler or host are not comparable with A's.
    expect(r.tuned).toEqual({ t: { a: 1 }, u: { a: 3 }, v: { a: 4 } });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^tune\.jsonl: using 3 records from another compiler\/host .* for 2 task\(s\) that have no record of this one \(A\) \(--accept-stale\)$/);
    expect(load(log, { fingerprint: "C", acceptStale: true }).tuned).toEqual({ t: { a: 2 }, u: { a: 3 }, v: { a: 4 } });
  });

  test("by default the fingerprint is this process's: its own records are used without a word", () => {
    const mine = write([makeRecord("t", { a: 1 }, [1], null, hostFingerprint()), old("u", { a: 2 }, 1)]);
    const r = load(mine, {});
    expect(r.tuned).toEqual({ t: { a: 1 } });
    expect(r.warnings).toHaveLength(1);
    expect(loadTunedConfigs(write([makeRecord("t", { a: 1 }, [1], null, hostFingerprint())])).size).toBe(1);
  });
});
