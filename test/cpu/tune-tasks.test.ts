/**
 * `lathe tune` tunes what the compiler emits: every fused group the cpu graph compiler looks
 * up in a tuning log (after its lowering: layout, conv-to-gemm, fusion) is a task that
 * `lathe tune`'s planning produces for the same model and layout, with a template wherever
 * the compiler would apply one.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { planTuning } from "../../cli/commands/tune.ts";
import { extractTasks, groupTaskKey, taskSpec } from "../../compiler/autotune/task.ts";
import { printGraph } from "../../compiler/graph/text/print.ts";
import { cpuGraphLowering, lowerGraph } from "../../compiler/targets/cpu/graph.ts";
import { Rng } from "../../runtime/random.ts";
import { lt } from "../../train/lt.ts";
import { mobilenetV2, resnet18 } from "../../models/zoo/index.ts";
import type { Sequential } from "../../train/nn/index.ts";
import { taskTemplate } from "../../compiler/targets/cpu/task-template.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-tune-tasks-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const traced = (model: Sequential, shape: number[]) => lt.trace(() => model.forward(lt.input("x", shape))).graph;

const MODELS = [
  { name: "resnet18", graph: () => traced(resnet18({ width: 0.25, classes: 10, rng: new Rng(1) }), [1, 3, 64, 64]) },
  { name: "mobilenet_v2", graph: () => traced(mobilenetV2({ width: 0.25, classes: 10, rng: new Rng(2) }), [1, 3, 64, 64]) },
];

describe.each(MODELS)("$name", ({ name, graph }) => {
  test.each(["auto", "nchwc", "nchw"] as const)("layout %s: every key the compiler looks up is a task lathe tune plans", async (layout) => {
    const g = graph();
    const file = path.join(tmp, `${name}-${layout}.lg`);
    writeFileSync(file, printGraph(g, { inlineConstants: Infinity }));
    const { planned, skipped } = await planTuning(file, 100, { dim: [], const: [], layout });
    const plannedKeys = new Set(planned.map((p) => p.task.key));
    const lowered = lowerGraph(g, { layout });
    expect(lowered.groups.length).toBeGreaterThan(10);
    for (const group of lowered.groups) {
      const key = groupTaskKey(group, "cpu");
      expect(plannedKeys.has(key) || skipped.includes(key), `${group.anchor?.op ?? group.nodes[0]!.op}: ${key}`).toBe(true);
    }
    // Where the compiler has a template for a group, lathe tune plans it (not skipped).
    const withTemplate = extractTasks(cpuGraphLowering(g, { layout })).filter((t) => taskTemplate(taskSpec(t)) !== null);
    for (const t of withTemplate) expect(plannedKeys.has(t.key), t.key).toBe(true);
    expect(planned.length).toBeGreaterThan(3);
  }, 120_000);
});
