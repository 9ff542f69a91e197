/**
 * What goes through the queue: Lathe's own job kinds and their results, and the checks a
 * worker runs on every payload before acting on it. A job names a task (plain data: ops of
 * the registry, shapes, dtypes, whose key must hash to what it says), a config, and numbers;
 * never a path, a command or code. A payload that is not one of these kinds, is larger than
 * MAX_PAYLOAD_BYTES, or has a field out of range is rejected with the field named.
 *
 *   measure       build, check and time one config of a task (the tuner's trials)
 *   bench         run a benchmark the worker has (bench/<name>) and return its JSON
 *   measure-stub  a deterministic cost for a config after a delay, no build (tests and the
 *                 farm benchmark, which measure the queue alone); only workers started with
 *                 --accept-stub-jobs take it
 */
import { createHash } from "node:crypto";
import { DTYPES } from "../../core/dtype.ts";
import { configKey, type Config } from "../autotune/log.ts";
import { taskKey, type TaskSpec } from "../autotune/task.ts";
import { ops } from "../ops/registry.ts";
import { QueueError } from "./errors.ts";

export const JOB_KINDS = ["measure", "bench", "measure-stub"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** The largest payload a worker accepts, bytes of JSON (ResNet-18's largest task is under 4 KiB). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** Limits on a task: values, nodes, dimensions, and elements per tensor (2^26: 256 MiB of f32). */
const MAX_VALUES = 64, MAX_NODES = 64, MAX_RANK = 8, MAX_ELEMENTS = 2 ** 26;

export interface MeasureJob {
  readonly kind: "measure";
  /** The tuner's Lathe version (version.ts); a worker of another refuses the job. */
  readonly version: string;
  /** The tuning run (queue-measurer.ts): job ids derive from it. */
  readonly run: string;
  readonly task: TaskSpec;
  readonly config: Config;
  readonly repeats: number;
  readonly minRepeatMs: number;
  readonly flush: boolean;
}

export interface StubMeasureJob {
  readonly kind: "measure-stub";
  readonly version: string;
  readonly run: string;
  readonly task: { readonly key: string };
  readonly config: Config;
  /** How long the "measurement" takes, ms. */
  readonly delayMs: number;
}

export interface BenchJob {
  readonly kind: "bench";
  readonly version: string;
  /** A benchmark the worker has: bench/<name>/index.ts. */
  readonly name: string;
  readonly quick: boolean;
}

export type JobPayload = MeasureJob | StubMeasureJob | BenchJob;

/** Who measured: stamped on the tuning log's records (log.ts TuneRecord worker/device/job). */
export interface Origin {
  readonly worker: string;
  readonly device: string;
}

/** A measure (or measure-stub) job's return value. */
export interface MeasureOutcome extends Origin {
  readonly costs: readonly number[] | null;
  readonly calls?: readonly number[];
  readonly error: string | null;
  /** The worker's target fingerprint (targets/cpu/fingerprint.ts). */
  readonly fingerprint: string;
}

/** A bench job's return value: the benchmark's JSON (BENCH.md). */
export interface BenchOutcome extends Origin {
  readonly report: Readonly<Record<string, unknown>>;
}

/** A deterministic job id: BullMQ refuses a second job of the same id, and the tuner keys results by it. */
export function measureJobId(run: string, fingerprint: string, task: string, config: Config): string {
  return "m-" + createHash("sha256").update(`${run}\0${fingerprint}\0${task}\0${configKey(config)}`).digest("hex").slice(0, 32);
}

// --- validation ----------------------------------------------------------------------------

const bad = (path: string, what: string): QueueError => new QueueError(`job payload: ${path} ${what}`);

function object(v: unknown, path: string, fields: readonly string[]): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(path, "is not an object");
  const extra = Object.keys(v).filter((k) => !fields.includes(k));
  if (extra.length > 0) throw bad(path, `has unknown field${extra.length > 1 ? "s" : ""} ${extra.slice(0, 5).join(", ")}`);
  return v as Record<string, unknown>;
}

function string(v: unknown, path: string, max: number, pattern?: RegExp): string {
  if (typeof v !== "string" || v.length === 0 || v.length > max) throw bad(path, `is not a string of 1 to ${max} characters`);
  if (pattern && !pattern.test(v)) throw bad(path, `"${v.slice(0, 40)}" does not match ${pattern}`);
  return v;
}

function int(v: unknown, path: string, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) throw bad(path, `is not an integer in [${lo}, ${hi}]`);
  return v;
}

function number(v: unknown, path: string, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi) throw bad(path, `is not a number in [${lo}, ${hi}]`);
  return v;
}

function array(v: unknown, path: string, min: number, max: number): unknown[] {
  if (!Array.isArray(v) || v.length < min || v.length > max) throw bad(path, `is not an array of ${min} to ${max} items`);
  return v;
}

function boolean(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") throw bad(path, "is not true or false");
  return v;
}

function tensorType(v: unknown, path: string): { shape: number[]; dtype: (typeof DTYPES)[number] } {
  const t = object(v, path, ["shape", "dtype"]);
  const shape = array(t.shape, `${path}.shape`, 0, MAX_RANK).map((d, i) => int(d, `${path}.shape[${i}]`, 1, MAX_ELEMENTS));
  if (shape.reduce((a, b) => a * b, 1) > MAX_ELEMENTS) throw bad(path, `has more than ${MAX_ELEMENTS} elements`);
  if (!(DTYPES as readonly unknown[]).includes(t.dtype)) throw bad(`${path}.dtype`, `is not one of ${DTYPES.join(", ")}`);
  return { shape, dtype: t.dtype as (typeof DTYPES)[number] };
}

const SHORT = 64;
const ATTR_ITEMS = 64;

function attrValue(v: unknown, path: string): unknown {
  if (typeof v === "number") return number(v, path, -Number.MAX_VALUE, Number.MAX_VALUE);
  if (typeof v === "boolean") return v;
  if (typeof v === "string") return string(v, path, SHORT);
  const items = array(v, path, 0, ATTR_ITEMS);
  if (items.every((x) => typeof x === "number")) return items.map((x, i) => number(x, `${path}[${i}]`, -Number.MAX_VALUE, Number.MAX_VALUE));
  return items.map((x, i) => string(x, `${path}[${i}]`, SHORT));
}

/** A task spec whose every part is checked and whose key is recomputed from it. */
function taskSpecOf(v: unknown, path: string, target: string): TaskSpec {
  const t = object(v, path, ["target", "inputs", "nodes", "outputs", "types", "anchor", "key"]);
  if (t.target !== target) throw bad(`${path}.target`, `is not "${target}"`);
  const types = array(t.types, `${path}.types`, 1, MAX_VALUES).map((x, i) => tensorType(x, `${path}.types[${i}]`));
  const index = (x: unknown, p: string) => int(x, p, 0, types.length - 1);
  const inputs = array(t.inputs, `${path}.inputs`, 0, types.length).map((x, i) => tensorType(x, `${path}.inputs[${i}]`));
  inputs.forEach((x, i) => {
    if (JSON.stringify(x) !== JSON.stringify(types[i])) throw bad(`${path}.inputs[${i}]`, `differs from types[${i}]`);
  });
  const nodes = array(t.nodes, `${path}.nodes`, 1, MAX_NODES).map((x, k) => {
    const p = `${path}.nodes[${k}]`;
    const n = object(x, p, ["op", "attrs", "inputs", "outputs"]);
    const op = string(n.op, `${p}.op`, SHORT);
    if (!Object.hasOwn(ops, op)) throw bad(`${p}.op`, `"${op}" is not an op of Lathe's registry`);
    const attrs = object(n.attrs, `${p}.attrs`, Object.keys(n.attrs ?? {}));
    if (Object.keys(attrs).length > 32) throw bad(`${p}.attrs`, "has more than 32 attributes");
    const checked: Record<string, unknown> = {};
    for (const [a, val] of Object.entries(attrs)) checked[string(a, `${p}.attrs key`, SHORT, /^[A-Za-z_][A-Za-z0-9_]*$/)] = attrValue(val, `${p}.attrs.${a}`);
    return {
      op, attrs: checked,
      inputs: array(n.inputs, `${p}.inputs`, 0, MAX_VALUES).map((i, j) => index(i, `${p}.inputs[${j}]`)),
      outputs: array(n.outputs, `${p}.outputs`, 1, MAX_VALUES).map((i, j) => index(i, `${p}.outputs[${j}]`)),
    };
  });
  const outputs = array(t.outputs, `${path}.outputs`, 1, MAX_VALUES).map((i, j) => index(i, `${path}.outputs[${j}]`));
  const anchor = t.anchor === null ? null : int(t.anchor, `${path}.anchor`, 0, nodes.length - 1);
  const key = string(t.key, `${path}.key`, 200);
  const spec = { target, inputs, nodes, outputs, types, anchor } as unknown as Omit<TaskSpec, "key">;
  const want = taskKey(spec);
  if (want !== key) throw bad(`${path}.key`, `"${key}" is not the key of the task it describes (${want})`);
  return { ...spec, key };
}

function configOf(v: unknown, path: string): Config {
  const c = object(v, path, Object.keys(v ?? {}));
  const keys = Object.keys(c);
  if (keys.length > 64) throw bad(path, "has more than 64 knobs");
  const out: Record<string, number | string> = {};
  for (const k of keys) {
    string(k, `${path} key`, SHORT, /^[A-Za-z_][A-Za-z0-9_.]*$/);
    const x = c[k];
    out[k] = typeof x === "number" ? number(x, `${path}.${k}`, -1e12, 1e12) : string(x, `${path}.${k}`, SHORT);
  }
  return out;
}

const VERSION = /^[0-9A-Za-z.+_-]+$/;
const RUN = /^[0-9a-f]{8,64}$/;
export const BENCH_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export interface ValidateOptions {
  /** The target whose tasks the worker measures ("cpu"); measure jobs for others are refused. */
  readonly target: string;
  /** Whether measure-stub jobs are taken (workers started with --accept-stub-jobs). */
  readonly acceptStub: boolean;
  /** The benchmarks this worker has (bench/lib/discover.ts listBenches). */
  readonly benches: readonly string[];
}

/**
 * The payload of a job named `kind`, checked whole; a QueueError naming the first bad field
 * otherwise. The version is only read here: whether it matches is the worker's decision.
 */
export function validatePayload(kind: string, data: unknown, opts: ValidateOptions): JobPayload {
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(data) ?? "", "utf8");
  } catch {
    throw bad("(whole)", "is not JSON");
  }
  if (size > MAX_PAYLOAD_BYTES) throw new QueueError(`job payload of ${(size / 1024).toFixed(0)} KiB is larger than the ${MAX_PAYLOAD_BYTES / 1024} KiB limit`);
  const known = opts.acceptStub ? JOB_KINDS : JOB_KINDS.filter((k) => k !== "measure-stub");
  if (!(known as readonly string[]).includes(kind)) throw new QueueError(`job kind "${String(kind).slice(0, 40)}" is not one this worker runs (${known.join(", ")})`);
  if (kind === "measure") {
    const d = object(data, "payload", ["kind", "version", "run", "task", "config", "repeats", "minRepeatMs", "flush"]);
    if (d.kind !== kind) throw bad("payload.kind", `is not "${kind}" (the job's name)`);
    return {
      kind, version: string(d.version, "payload.version", 100, VERSION), run: string(d.run, "payload.run", 64, RUN),
      task: taskSpecOf(d.task, "payload.task", opts.target), config: configOf(d.config, "payload.config"),
      repeats: int(d.repeats, "payload.repeats", 1, 100), minRepeatMs: number(d.minRepeatMs, "payload.minRepeatMs", 0, 10_000), flush: boolean(d.flush, "payload.flush"),
    };
  }
  if (kind === "measure-stub") {
    const d = object(data, "payload", ["kind", "version", "run", "task", "config", "delayMs"]);
    if (d.kind !== kind) throw bad("payload.kind", `is not "${kind}" (the job's name)`);
    const task = object(d.task, "payload.task", ["key"]);
    return {
      kind, version: string(d.version, "payload.version", 100, VERSION), run: string(d.run, "payload.run", 64, RUN),
      task: { key: string(task.key, "payload.task.key", 200) }, config: configOf(d.config, "payload.config"), delayMs: int(d.delayMs, "payload.delayMs", 0, 10_000),
    };
  }
  const d = object(data, "payload", ["kind", "version", "name", "quick"]);
  if (d.kind !== kind) throw bad("payload.kind", `is not "${kind}" (the job's name)`);
  const name = string(d.name, "payload.name", SHORT, BENCH_NAME);
  if (!opts.benches.includes(name)) throw bad("payload.name", `"${name}" is not a benchmark of this worker (${opts.benches.join(", ") || "none"})`);
  return { kind: "bench", version: string(d.version, "payload.version", 100, VERSION), name, quick: boolean(d.quick, "payload.quick") };
}
