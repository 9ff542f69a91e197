/**
 * The webgpu measuring child process (started by autotune/measure.ts with `node --import
 * tsx`, as the cpu one is): builds a candidate's WGSL pipeline on this process's Dawn device,
 * checks its outputs against the reference interpreter (compiler/graph/interpret.ts) on
 * seeded inputs, and times it. A candidate that crashes Dawn or hangs takes only this process
 * down; the parent records the error and starts a new one (which opens the device again).
 */
import { Rng } from "../../../runtime/random.ts";
import { typedArrayFor, type TypedArray } from "../../../core/dtype.ts";
import type { MeasureRequest, WorkerMessage } from "../../autotune/measure-protocol.ts";
import type { TaskSpec } from "../../autotune/task.ts";
import { interpret } from "../../graph/interpret.ts";
import { printWgsl } from "../../codegen/wgsl/print.ts";
import { gpuDevice, type GpuBuffer, type GpuDevice, type Pipeline } from "./device.ts";
import { lowerWebGpuTask, webgpuTaskGraph } from "./tuning-target.ts";
import { timeSamples } from "../../autotune/repeat-timing.ts";

interface TaskData {
  readonly inputs: readonly GpuBuffer[];
  readonly outputs: readonly GpuBuffer[];
  /** The interpreter's outputs for these inputs (the trusted reference). */
  readonly expected: readonly Float64Array[];
}

const dataByTask = new Map<string, TaskData>();

const send = (m: WorkerMessage): void => {
  process.send!(m);
};

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Seeded inputs (floats in [-1, 1), integers in [0, 4)) on the device, output buffers, and the reference outputs, once per task. */
function taskData(device: GpuDevice, task: TaskSpec): TaskData {
  const cached = dataByTask.get(task.key);
  if (cached) return cached;
  const rng = new Rng(1234);
  const host = task.inputs.map((t) => {
    const shape = t.shape as number[];
    const data = typedArrayFor(t.dtype, sizeOf(shape));
    const float = t.dtype.startsWith("f");
    for (let i = 0; i < data.length; i++) {
      const v = float ? rng.uniform(-1, 1) : rng.int(0, 4);
      if (data instanceof BigInt64Array) data[i] = BigInt(v);
      else (data as Float32Array)[i] = v;
    }
    return { data, shape, dtype: t.dtype };
  });
  const ref = interpret(webgpuTaskGraph(task), host.map((h) => ({ data: Array.from(h.data as ArrayLike<number | bigint>, Number), shape: h.shape })));
  const inputs = host.map((h) => device.upload(h.dtype, h.data as TypedArray));
  const outputs = task.outputs.map((i) => device.alloc(task.types[i]!.dtype, sizeOf(task.types[i]!.shape as number[]), "output"));
  const d: TaskData = { inputs, outputs, expected: ref.outputs.map((o) => Float64Array.from(o.data)) };
  dataByTask.set(task.key, d);
  return d;
}

/** The first output element that differs from the reference beyond reordering error (f32; f16 storage looser), or null. */
function mismatch(got: TypedArray, want: Float64Array, f16: boolean): string | null {
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  const tol = (f16 ? 1e-2 : 1e-3) * scale;
  for (let i = 0; i < want.length; i++) {
    const a = Number(got[i]), b = want[i]!;
    if (!(Math.abs(a - b) <= tol) && !(Number.isNaN(a) && Number.isNaN(b))) return `element ${i} is ${a}, expected ${b}`;
  }
  return null;
}

/** The most dispatches in one timed sample (MeasureOptions.minRepeatMs). */
const MAX_CALLS = 100_000;

async function measure(req: MeasureRequest): Promise<{ costs: number[] | null; calls: number[] | null; error: string | null }> {
  const device = await gpuDevice();
  let p: Pipeline;
  try {
    const f = lowerWebGpuTask(req.task, req.config, "candidate");
    p = await device.pipeline(printWgsl(f, { f16: device.f16 }));
  } catch (e) {
    return { costs: null, calls: null, error: `build failed: ${(e as Error).message}` };
  }
  send({ type: "built", id: req.id });
  const data = taskData(device, req.task);
  const { group, grid } = device.bindGroup(p, [...data.inputs, ...data.outputs], []);
  const dispatch = { kind: "dispatch" as const, pipeline: p, group, grid };
  // NaN-filled outputs first, so a kernel that writes nothing cannot pass on an earlier candidate's results.
  for (const o of data.outputs) if (o.dtype.startsWith("f")) device.write(o, (typedArrayFor(o.dtype, o.length) as Float32Array).fill(Number.NaN));
  // Test-only faults (measure.ts MeasureOptions.fault), injected where a broken kernel would fail.
  if (req.fault === "abort") process.abort();
  if (req.fault === "segv") process.kill(process.pid, "SIGSEGV");
  if (req.fault === "hang") for (;;) { /* spins until the parent's run timeout kills this process */ }
  device.submit([dispatch]);
  for (let k = 0; k < data.outputs.length; k++) {
    const got = await device.read(data.outputs[k]!);
    if (req.fault === "wrong" && k === 0 && got.length > 0) (got as Float32Array)[0] = Number(got[0]) + 1;
    const bad = mismatch(got, data.expected[k]!, device.f16 && data.outputs[k]!.dtype === "f16");
    if (bad) return { costs: null, calls: null, error: `wrong answer: output ${k}: ${bad}` };
  }
  for (let i = 1; i < req.warmup; i++) device.submit([dispatch]);
  await device.sync();
  send({ type: "timing", id: req.id });
  // Each try submits `number` dispatches in one command buffer and waits for them
  // (autotune/repeat-timing.ts decides how many).
  const { costs, calls } = await timeSamples({ repeats: req.repeats, minRepeatMs: req.minRepeatMs, maxCalls: MAX_CALLS }, async (number) => {
    const batch = Array.from({ length: number }, () => dispatch);
    const t0 = process.hrtime.bigint();
    device.submit(batch);
    await device.sync();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  });
  return { costs, calls, error: null };
}

process.on("message", (m: MeasureRequest) => {
  if (m.type !== "measure") return;
  measure(m).then(
    (r) => send({ type: "result", id: m.id, ...r }),
    (e: unknown) => send({ type: "result", id: m.id, costs: null, calls: null, error: `run failed: ${(e as Error).message ?? String(e)}` }),
  );
});
send({ type: "ready" });
