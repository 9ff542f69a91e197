import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../graph/builder.ts";
import { compileGraph, lowerGraph } from "../targets/cpu/graph.ts";
import { interpret } from "../graph/interpret.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { makeRecord } from "./log.ts";
import { extractTasks, taskSpec } from "./task.ts";
import { taskTemplate } from "../targets/cpu/task-template.ts";
import { tunedConfigs } from "../targets/cpu/schedules/templates.ts";

/** depthwise conv + relu, then max pool: two tunable groups (conv-to-gemm leaves depthwise alone). */
function net() {
  const b = new GraphBuilder();
  const x = b.input("x", [1, 4, 8, 8]);
  const w = b.input("w", [4, 1, 3, 3]);
  const c = b.op1("relu", [b.op1("conv2d", [x, w], { pads: [1, 1, 1, 1], groups: 4 })]);
  return b.build([b.op1("max_pool2d", [c], { kernel: [2, 2], strides: [2, 2] })]);
}

describe("compileGraph({ tuned })", () => {
  test("groups whose task has a tuned config use it; results equal the interpreter's", async () => {
    const g = net();
    const tasks = extractTasks(g).map(taskSpec);
    expect(tasks.map((t) => t.nodes.map((n) => n.op).join("+"))).toEqual(["conv2d+relu", "max_pool2d"]);
    // A log whose best config for the conv task is a non-default one, and nothing for the pool.
    const space = taskTemplate(tasks[0]!)!.space;
    const chosen = space.get(space.size - 1);
    const log = [makeRecord(tasks[0]!.key, space.get(0), [2e-3]), makeRecord(tasks[0]!.key, chosen, [1e-3]), makeRecord(tasks[0]!.key, space.get(1), null, "crashed")];
    const tuned = tunedConfigs(log);
    expect(tuned.get(tasks[0]!.key)).toEqual(chosen);
    const lowered = lowerGraph(g, { tuned });
    expect(lowered.kernels.map((k) => k.tuned)).toEqual([true, false]);
    expect(lowerGraph(g).kernels.map((k) => k.tuned)).toEqual([false, false]);
    const rng = new Rng(7);
    const xs = g.inputs.map((v) => Tensor.fromArray(Float32Array.from({ length: (v.type.shape as number[]).reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), v.type.shape as number[]));
    const got = (await compileGraph(g, { tuned })).run(xs)[0]!;
    const want = interpret(g, xs.map((t) => ({ data: t.data as Float32Array, shape: t.shape }))).outputs[0]!;
    const a = got.data as Float32Array;
    for (let i = 0; i < want.data.length; i++) expect(Math.abs(a[i]! - want.data[i]!)).toBeLessThan(1e-4);
  }, 120_000);

  test("a config from another space is ignored (default schedule)", () => {
    const g = net();
    const key = extractTasks(g)[0]!.key;
    expect(lowerGraph(g, { tuned: new Map([[key, { mr: 4, nr: 8, ku: 1 }]]) }).kernels.map((k) => k.tuned)).toEqual([false, false]);
  });
});
