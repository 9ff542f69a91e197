/**
 * `lathe tune` plans the kernels inside scan bodies: the body's matmul group is a task, its
 * key is the one the cpu compiler looks up when it lowers the body (a tuned config for it
 * is applied to the body's kernel), and every key compilation looks up is planned.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { planTuning } from "../../cli/commands/tune.ts";
import { makeRecord } from "../../compiler/autotune/log.ts";
import { extractTasks, groupTaskKey, taskSpec } from "../../compiler/autotune/task.ts";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { printGraph } from "../../compiler/graph/text/print.ts";
import { cpuGraphLowering, lowerGraph } from "../../compiler/targets/cpu/graph.ts";
import { tunedConfigs } from "../../compiler/targets/cpu/schedules/templates.ts";
import { taskTemplate } from "../../compiler/targets/cpu/task-template.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-scan-tune-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * An RNN over xs[6, 4, 8]: h ← tanh(x·Wx + h·Wh). With `unreadStack`, the body also stacks
 * x·Wx as a per-step output that nothing reads (compilation prunes it, which changes what
 * the matmul's group exposes); with `constantBias`, the body adds a constant of its own
 * (compilation hoists it into the scan's invariants).
 */
function rnn(opts: { unreadStack?: boolean; constantBias?: boolean } = {}): Graph {
  const body = new GraphBuilder();
  const h = body.input("h", [4, 16]), x = body.input("x", [4, 8]);
  const wx = body.input("wx", [8, 16]), wh = body.input("wh", [16, 16]);
  const xw = body.op1("matmul", [x, wx]);
  let pre = body.op1("add", [xw, body.op1("matmul", [h, wh])]);
  if (opts.constantBias) pre = body.op1("add", [pre, body.constant("bias", Float32Array.from({ length: 16 }, (_, k) => k / 16), [16])]);
  const h2 = body.op1("tanh", [pre]);
  const b = new GraphBuilder();
  const h0 = b.input("h0", [4, 16]), xs = b.input("xs", [6, 4, 8]);
  const ws = [b.input("Wx", [8, 16]), b.input("Wh", [16, 16])];
  const outs = b.scan(body.build(opts.unreadStack ? [h2, h2, xw] : [h2, h2]), { carries: [h0], sequences: [xs], invariants: ws });
  return b.build(outs.slice(0, 2));
}

/** A convolutional recurrence over xs[5, 1, 8, 8, 8]: h ← tanh(conv(h, w) + x); the cpu rewrites (layout, conv-to-gemm) apply to the body. */
function convRnn(): Graph {
  const body = new GraphBuilder();
  const h = body.input("h", [1, 8, 8, 8]), x = body.input("x", [1, 8, 8, 8]), w = body.input("w", [8, 8, 3, 3]);
  const h2 = body.op1("tanh", [body.op1("add", [body.op1("conv2d", [h, w], { pads: [1, 1, 1, 1] }), x])]);
  const b = new GraphBuilder();
  const outs = b.scan(body.build([h2, h2]), { carries: [b.input("h0", [1, 8, 8, 8])], sequences: [b.input("xs", [5, 1, 8, 8, 8])], invariants: [b.input("W", [8, 8, 3, 3])] });
  return b.build(outs);
}

const CASES = [
  { name: "plain body", g: () => rnn() },
  { name: "a convolution in the body", g: convRnn },
  { name: "a stacked output nobody reads", g: () => rnn({ unreadStack: true }) },
  { name: "a body constant", g: () => rnn({ constantBias: true }) },
];

describe.each(CASES)("a scan whose body has matmuls ($name)", ({ name, g: make }) => {
  test("the body's matmul is a task, with the key the cpu compiler looks up; a tuned config for it reaches the body's kernel", () => {
    const g = make();
    const tasks = extractTasks(cpuGraphLowering(g), "cpu");
    expect(tasks.some((t) => t.nodes.some((n) => n.op === "scan")), "no task for the scan node itself").toBe(false);
    const matmuls = tasks.filter((t) => t.anchor !== null && t.nodes[t.anchor]!.op === "matmul");
    expect(matmuls.length).toBeGreaterThan(0);
    const lowered = lowerGraph(g);
    const bodyKeys = lowered.kernels.flatMap((k, i) => (k.func.name.startsWith("s") ? [groupTaskKey(lowered.groups[i]!, "cpu")] : []));
    expect(bodyKeys.length, "kernels of the scan's body").toBeGreaterThan(0);
    for (const key of bodyKeys) expect(tasks.map((t) => t.key), key).toContain(key);
    // A log with a non-default config for each matmul task: compilation applies it inside the body.
    const records = matmuls.flatMap((t) => {
      const space = taskTemplate(taskSpec(t))?.space;
      return space ? [makeRecord(t.key, space.get(space.size - 1), [1e-3])] : [];
    });
    expect(records.length, "a template for the body's matmul").toBeGreaterThan(0);
    const tuned = lowerGraph(g, { tuned: tunedConfigs(records) });
    expect(tuned.kernels.filter((k) => k.tuned).map((k) => k.func.name).every((n) => n.startsWith("s")), "tuned kernels are the body's").toBe(true);
    expect(tuned.kernels.some((k) => k.tuned)).toBe(true);
    expect(lowered.kernels.some((k) => k.tuned)).toBe(false);
  });

  test("every key the compiler looks up is a task lathe tune plans (or skips)", async () => {
    const file = path.join(tmp, `${name.replace(/\W+/g, "-")}.lg`);
    writeFileSync(file, printGraph(make(), { inlineConstants: Infinity }));
    const { planned, skipped } = await planTuning(file, 100, { dim: [], const: [], layout: "auto" });
    const plannedKeys = new Set(planned.map((p) => p.task.key));
    const lowered = lowerGraph(make());
    for (const group of lowered.groups) {
      const key = groupTaskKey(group, "cpu");
      expect(plannedKeys.has(key) || skipped.includes(key), `${group.anchor?.op ?? group.nodes[0]!.op}: ${key}`).toBe(true);
    }
    expect(planned.some((p) => p.task.nodes.some((n) => n.op === "matmul"))).toBe(true);
  }, 60_000);
});
