/**
 * Runs a strategy over a benchmark: evaluates the randomly initialised model (for forward
 * transfer), trains experience by experience (online sub-experiences: evaluated when
 * their origin experience is done) and evaluates the test stream after each, collecting
 * metrics. JointTraining trains once on the concatenated stream.
 *
 * Checkpoints: with `checkpoint` set, the state after each experience (weights, the
 * plugins' memories and importances, the metrics so far) is written atomically; a run
 * given an existing checkpoint resumes after its last experience and, being seeded per
 * experience, ends with the same results as an uninterrupted run.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { ExecOptions } from "../../train/executable.ts";
import { MetricsPlugin, type MetricsSummary } from "./metrics.ts";
import { ContinualMlp } from "./model.ts";
import type { StrategyParams } from "./registry.ts";
import { buildPlugins } from "./registry.ts";
import type { Benchmark, Experience } from "./scenarios.ts";
import type { Plugin } from "./strategy.ts";
import { Strategy, concatData, toData } from "./strategy.ts";

export interface RunOptions extends StrategyParams {
  readonly hidden?: readonly number[];
  readonly lr?: number;
  readonly momentum?: number;
  readonly batchSize?: number;
  readonly epochs?: number;
  readonly seed?: number;
  readonly exec?: ExecOptions;
  /** A checkpoint file written after each experience and resumed from when present. */
  readonly checkpoint?: string;
  /** Extra plugins (loggers) run after the strategy's. */
  readonly plugins?: readonly Plugin[];
  /** Called after each experience's evaluation (progress). */
  onExperience?(done: number, total: number, accuracy: readonly number[]): void;
  /** Stop after this many training experiences (tests interrupt a run with it). */
  readonly stopAfter?: number;
}

export interface RunResult {
  readonly strategy: string;
  readonly benchmark: string;
  readonly summary: MetricsSummary;
  readonly model: ContinualMlp;
  /** The strategy's plugins (then the metrics and any extra ones). */
  readonly plugins: readonly Plugin[];
}

const FORMAT = "lathe-continual-checkpoint";

/** JSON with typed arrays as base64. */
function encode(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof Float32Array || x instanceof Int32Array) {
      return { $t: x instanceof Float32Array ? "f32" : "i32", b64: Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString("base64") };
    }
    return x;
  });
}

function decode(text: string): unknown {
  return JSON.parse(text, (_k, x: unknown) => {
    if (x && typeof x === "object" && "$t" in x && "b64" in x) {
      const o = x as { $t: string; b64: string }, bytes = Buffer.from(o.b64, "base64");
      const copy = new Uint8Array(bytes.byteLength);
      copy.set(bytes);
      return o.$t === "f32" ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
    }
    return x;
  });
}

interface CheckpointBody {
  readonly benchmark: string;
  readonly strategy: string;
  readonly seed: number;
  readonly trained: number;
  readonly seen: number[];
  readonly weights: Float32Array[];
  readonly plugins: Record<string, unknown>;
}

export function writeCheckpoint(file: string, body: CheckpointBody): void {
  const payload = encode(body);
  const head = JSON.stringify({ format: FORMAT, version: 1, sha256: createHash("sha256").update(payload).digest("hex") });
  writeFileAtomic(file, `${head}\n${payload}`);
}

export function readCheckpoint(file: string): CheckpointBody {
  const bad = (why: string): never => { throw new LatheError(`checkpoint ${file} is corrupt: ${why}`); };
  const text = readFileSync(file, "utf8");
  const nl = text.indexOf("\n");
  if (nl < 0) bad("no header line");
  let head: { format?: string; version?: number; sha256?: string };
  try { head = JSON.parse(text.slice(0, nl)) as typeof head; } catch { return bad("the header is not JSON"); }
  if (head.format !== FORMAT || head.version !== 1) bad(`not a ${FORMAT} (version 1)`);
  const payload = text.slice(nl + 1);
  if (createHash("sha256").update(payload).digest("hex") !== head.sha256) bad("its content does not match its SHA-256");
  try { return decode(payload) as CheckpointBody; } catch { return bad("the body is not JSON"); }
}

/** Runs `strategySpec` (e.g. "ewc", "replay+lwf") on `b`. */
export async function runStrategy(b: Benchmark, strategySpec: string, o: RunOptions = {}): Promise<RunResult> {
  const seed = o.seed ?? 0;
  const trainSize = b.train.reduce((s, e) => s + e.y.size, 0);
  const { plugins, joint } = buildPlugins(strategySpec, o, trainSize);
  const metrics = new MetricsPlugin();
  const model = new ContinualMlp(b.features, o.hidden ?? [256, 256], b.numClasses, seed);
  const all = [...plugins, metrics, ...(o.plugins ?? [])];
  const s = new Strategy(model, b, all, { lr: o.lr, momentum: o.momentum, batchSize: o.batchSize, epochs: o.epochs, seed, exec: o.exec });

  let start = 0;
  if (o.checkpoint && existsSync(o.checkpoint)) {
    const ck = readCheckpoint(o.checkpoint);
    if (ck.benchmark !== b.name || ck.strategy !== strategySpec || ck.seed !== seed) {
      throw new LatheError(`checkpoint ${o.checkpoint} is of ${ck.strategy} on ${ck.benchmark} (seed ${ck.seed}), not ${strategySpec} on ${b.name} (seed ${seed})`);
    }
    if (ck.weights.length !== model.params.length || ck.weights.some((w, k) => w.length !== model.params[k]!.value.size)) {
      throw new LatheError(`checkpoint ${o.checkpoint} holds weights of another model shape`);
    }
    model.restore(ck.weights.map((w, k) => new Tensor(w, model.params[k]!.shape, "f32")));
    for (const p of all) if (p.load && Object.hasOwn(ck.plugins, p.name)) p.load(s, ck.plugins[p.name]);
    for (const c of ck.seen) s.seenClasses.add(c);
    s.trained = ck.trained;
    start = ck.trained;
  } else {
    await s.eval(b.test);
  }

  // Training experiences, grouped by the test experience they complete (online streams).
  const groups: Experience[][] = joint ? [[mergeAll(b)]] : [];
  if (!joint) for (const e of b.train) (groups[e.origin] ??= []).push(e);
  const total = groups.length;
  for (let k = countGroups(groups, start); k < total; k++) {
    if (o.stopAfter !== undefined && k >= o.stopAfter) break;
    for (const e of groups[k]!) await s.train(e);
    const res = await s.eval(b.test);
    o.onExperience?.(k + 1, total, res.map((r) => r.accuracy));
    if (o.checkpoint) {
      writeCheckpoint(o.checkpoint, {
        benchmark: b.name, strategy: strategySpec, seed, trained: s.trained, seen: [...s.seenClasses],
        weights: model.params.map((p) => p.value.data as Float32Array),
        plugins: Object.fromEntries(all.flatMap((p) => (p.state ? [[p.name, p.state()]] : []))),
      });
    }
  }
  return { strategy: strategySpec, benchmark: b.name, summary: metrics.summary(s), model, plugins: all };
}

/** How many whole groups `trained` sub-experiences complete. */
function countGroups(groups: readonly Experience[][], trained: number): number {
  let k = 0, n = 0;
  while (k < groups.length && n + groups[k]!.length <= trained) n += groups[k++]!.length;
  return k;
}

/** JointTraining's single experience: every training experience concatenated. */
function mergeAll(b: Benchmark): Experience {
  const d = concatData(b.train.map(toData), b.features);
  const classes = [...new Set(d.y)].sort((p, q) => p - q);
  if (b.scenario === "task-incremental") throw new LatheError(`strategy joint merges the stream into one experience and loses its task labels; use it on a class- or domain-incremental benchmark`);
  return { id: 0, origin: 0, task: 0, classes, x: new Tensor(d.x, [d.y.length, b.features], "f32"), y: new Tensor(d.y, [d.y.length], "i32") };
}
