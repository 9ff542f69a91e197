/**
 * Test fixture for tuner.test.ts: tunes a task with a synthetic measurer (a known cost,
 * 20 ms per measurement) into the log named by argv[2], so the test can SIGKILL it mid-way.
 */
import { GraphBuilder } from "../graph/builder.ts";
import { extractTasks, taskSpec } from "./task.ts";
import { tuneTask } from "./tuner.ts";
import { syntheticMeasurer } from "./testing.ts";

const b = new GraphBuilder();
const task = taskSpec(extractTasks(b.build([b.op1("sum", [b.input("x", [16, 32, 64])], { axes: [2] })]))[0]!);
await tuneTask(task, { trials: Number(process.argv[3]), batch: 8, log: process.argv[2]!, measurer: syntheticMeasurer(20), model: "xgb", seed: 1, steps: 20 });
