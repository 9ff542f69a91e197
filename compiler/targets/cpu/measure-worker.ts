/**
 * The measuring child process (started by measure.ts with `node --import tsx`): builds a
 * candidate, checks its output against the task's default-schedule kernel, times it. A
 * candidate that crashes takes only this process down; the parent records the error and
 * starts a new one.
 */
import { readFileSync } from "node:fs";
import { Rng } from "../../../runtime/random.ts";
import type { KernelArg } from "../../../runtime/native.ts";
import type { BuiltModule } from "../target.ts";
import { cpuTarget } from "./index.ts";
import { typedArrayFor, type DType, type TypedArray } from "../../../core/dtype.ts";
import { lowerTask } from "./task-template.ts";
import type { TaskSpec } from "../../autotune/task.ts";
import type { MeasureRequest, WorkerMessage } from "../../autotune/measure-protocol.ts";
import { timeSamples } from "../../autotune/repeat-timing.ts";

interface TaskData {
  readonly inputs: KernelArg[];
  readonly outputs: { shape: number[]; dtype: DType }[];
  /** The default schedule's outputs for these inputs (the trusted reference). */
  readonly expected: TypedArray[];
}

const dataByTask = new Map<string, TaskData>();

const send = (m: WorkerMessage): void => {
  process.send!(m);
};

/**
 * Bytes written before each timed sample when flushing: twice the last-level cache (sysfs),
 * 64 MiB where it cannot be read.
 */
function flushBytes(): number {
  for (const idx of [3, 2]) {
    try {
      const text = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${idx}/size`, "utf8").trim();
      const m = /^(\d+)([KMG]?)$/.exec(text);
      if (m) return 2 * Number(m[1]) * ({ "": 1, K: 1024, M: 1 << 20, G: 1 << 30 } as Record<string, number>)[m[2]!]!;
    } catch { /* no such cache level */ }
  }
  return 64 << 20;
}
let flushBuffer: Uint8Array | null = null;
/** Evicts the caches by writing a buffer twice their size (the data changes so no write is elided). */
function flushCaches(round: number): void {
  flushBuffer ??= new Uint8Array(flushBytes());
  flushBuffer.fill(round & 0xff);
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Seeded inputs (floats in [-1, 1), integers in [0, 4)) and the reference outputs, once per task. */
async function taskData(task: TaskSpec): Promise<TaskData> {
  const cached = dataByTask.get(task.key);
  if (cached) return cached;
  const rng = new Rng(1234);
  const inputs: KernelArg[] = task.inputs.map((t) => {
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
  const outputs = task.outputs.map((i) => ({ shape: task.types[i]!.shape as number[], dtype: task.types[i]!.dtype }));
  const ref = lowerTask(task, null, "reference");
  const mod = await cpuTarget.build([ref]);
  const expected = outputs.map((o) => typedArrayFor(o.dtype, sizeOf(o.shape)));
  mod.run(ref.name, [...inputs, ...outputs.map((o, k) => ({ data: expected[k]!, ...o }))]);
  const d = { inputs, outputs, expected };
  dataByTask.set(task.key, d);
  return d;
}

/** The first output element that differs from the reference beyond f32 reordering error, or null. */
function mismatch(got: TypedArray, want: TypedArray): string | null {
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(Number(want[i])));
  const tol = 1e-3 * scale;
  for (let i = 0; i < want.length; i++) {
    const a = Number(got[i]), b = Number(want[i]);
    if (!(Math.abs(a - b) <= tol) && !(Number.isNaN(a) && Number.isNaN(b))) return `element ${i} is ${a}, expected ${b}`;
  }
  return null;
}

/** The most calls in one timed sample (MeasureOptions.minRepeatMs). */
const MAX_CALLS = 1_000_000;

async function measure(req: MeasureRequest): Promise<{ costs: number[] | null; calls: number[] | null; error: string | null }> {
  let mod: BuiltModule;
  let name: string;
  try {
    const f = lowerTask(req.task, req.config, "candidate");
    name = f.name;
    mod = await cpuTarget.build([f]);
  } catch (e) {
    return { costs: null, calls: null, error: `build failed: ${(e as Error).message}` };
  }
  send({ type: "built", id: req.id });
  const data = await taskData(req.task);
  if (req.threads > 0) mod.setNumThreads(req.threads);
  const outs = data.outputs.map((o) => ({ data: typedArrayFor(o.dtype, sizeOf(o.shape)), ...o }));
  outs.forEach((o) => { if (!(o.data instanceof BigInt64Array)) (o.data as Float32Array).fill(Number.NaN); });
  const args = [...data.inputs, ...outs];
  // Test-only faults (measure.ts MeasureOptions.fault), injected where a broken kernel would fail.
  if (req.fault === "abort") process.abort();
  if (req.fault === "segv") process.kill(process.pid, "SIGSEGV");
  if (req.fault === "hang") for (;;) { /* spins until the parent's run timeout kills this process */ }
  mod.run(name, args);
  if (req.fault === "wrong" && outs[0]!.data.length > 0) (outs[0]!.data as Float32Array)[0] = Number(outs[0]!.data[0]) + 1;
  for (let k = 0; k < outs.length; k++) {
    const bad = mismatch(outs[k]!.data, data.expected[k]!);
    if (bad) return { costs: null, calls: null, error: `wrong answer: output ${k}: ${bad}` };
  }
  for (let i = 1; i < req.warmup; i++) mod.run(name, args);
  send({ type: "timing", id: req.id });
  // Samples as autotune/repeat-timing.ts runs them. With flushing, the caches are evicted
  // once per try, before its first call: with number > 1 only that first call is cold and the rest find the caches it warmed. That is
  // the trade-off for timing a microsecond kernel over many calls (flushing before each call
  // would mean timing each call alone, with the timer's overhead and noise this avoids);
  // kernels that take longer than the share still run one cold call per sample.
  let round = 0;
  const { costs, calls } = await timeSamples({ repeats: req.repeats, minRepeatMs: req.minRepeatMs, maxCalls: MAX_CALLS }, (number) => {
    if (req.flush) flushCaches(round++);
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < number; k++) mod.run(name, args);
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
