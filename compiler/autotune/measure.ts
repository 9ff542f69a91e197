/**
 * Measurement in a child process: each candidate is built, checked against the task's
 * default-schedule kernel and timed by measure-worker.ts, so a candidate that fails to
 * compile, crashes the process (a segfault, an abort), hangs or computes a wrong answer
 * comes back as an error result; the child is restarted and tuning goes on.
 *
 *   const m = new Measurer({ target: cpuTuning, repeats: 5 });
 *   const r = await m.measure(task, config);   // { costs: [s, …], calls: [n, …] } or { costs: null, error }
 *   m.close();
 */
import { fork, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { LatheError } from "../../core/errors.ts";
import type { Config } from "./log.ts";
import type { TaskSpec } from "./task.ts";
import type { TuningTarget } from "./tuning-target.ts";
import { taskSpec } from "./task.ts";
import type { Fault, MeasureRequest, WorkerMessage } from "./measure-protocol.ts";

export type { Fault };

export interface MeasureOptions {
  /** The target whose kernels are measured: its child-process worker builds and times them. */
  readonly target: TuningTarget;
  /** Untimed runs before timing, the first of which is checked (default 1; at least 1). */
  readonly warmup?: number;
  /**
   * Timed samples; each reports seconds per call (the mean over its calls, see minRepeatMs),
   * the log keeps each, the tuner scores their median (default 5).
   */
  readonly repeats?: number;
  /**
   * The minimum time of a config's timed samples together, ms (default 50; 0: one call per
   * sample). TVM's `min_repeat_ms` (LocalRunner, time_evaluator), except that TVM's is per
   * sample and this one is for all `repeats` samples: each sample lasts at least
   * minRepeatMs / repeats. A sample runs the kernel `number` times back to back and records
   * the mean seconds per call. `number` starts at 1 and only grows: a sample shorter than its
   * share is discarded and run again with number = max(⌈1.618·number⌉, ⌈1.1·number·share /
   * duration⌉) (geometric growth as in TVM, or straight to the estimate with a 10% margin),
   * capped at 1 000 000 calls (a sample at the cap is kept even if shorter). So a kernel of a
   * few microseconds is timed over thousands of calls instead of one call at a time (whose
   * timer overhead and per-call noise dominated), and a kernel longer than the share keeps one
   * call per sample. The number of calls per sample comes back in MeasureResult.calls.
   */
  readonly minRepeatMs?: number;
  /** Limit on lowering + compiling one candidate, ms (default 180 000: g++ on a loaded machine). */
  readonly buildTimeoutMs?: number;
  /**
   * Limit on checking + timing one compiled candidate at one call per sample, ms (default
   * 20 000). With minRepeatMs > 0 the limit grows by 4 × minRepeatMs once the timed samples
   * begin (the child says so): repetition adds about 1.1 × minRepeatMs of samples plus the
   * short tries it discards while raising `number` (each shorter than minRepeatMs / repeats,
   * usually one to three of them, as a kernel's per-call time falls while it warms up). So a
   * sample of many calls is not killed by a limit sized for one call, and a hang while timing
   * is still caught within runTimeoutMs + 4 × minRepeatMs.
   */
  readonly runTimeoutMs?: number;
  /** Kernel threads (default 0: the library's default, every core). */
  readonly threads?: number;
  /**
   * Evict the caches before every timed sample (default false), so a kernel is timed as it
   * runs inside a whole network, its inputs just written by other kernels or read from memory,
   * rather than from the caches its previous run warmed (AutoTVM's cache flush for x86).
   * With minRepeatMs > 0 a sample of several calls is flushed once, before its first call:
   * only that call runs cold and the others find the caches it warmed (as AutoTVM's flush
   * before each of `repeat`, not each of `number`). Flushing before every call would need
   * each call timed on its own, which is what repetition avoids for microsecond kernels.
   */
  readonly flushCache?: boolean;
  /** Test-only: a fault for the child to inject into this config's run. */
  readonly fault?: (config: Config) => Fault | null;
}

export interface MeasureResult {
  /** Seconds per call, one per timed sample (its mean); null when the candidate failed. */
  readonly costs: readonly number[] | null;
  /**
   * Calls of the kernel in each timed sample (MeasureOptions.minRepeatMs), as many as costs;
   * absent when the candidate failed or the measurer does not repeat (synthetic ones).
   */
  readonly calls?: readonly number[];
  /** Why it failed (build, crash, timeout, wrong answer); null on success. */
  readonly error: string | null;
  /**
   * The fingerprint of what measured it, when not the target's (a queue's worker,
   * compiler/distributed): the tuner stamps this one on the record instead.
   */
  readonly fingerprint?: string;
  /** Which queue worker measured it, on which device key, in which job (TuneRecord worker/device/job). */
  readonly origin?: { readonly worker: string; readonly device: string; readonly job: string };
}

/**
 * A candidate config could not be measured: it failed to build, crashed or hung the process
 * measuring it, or computed a wrong result. A measure function given to `tune` (explore.ts)
 * throws this for a bad config, which then counts as a failed one (score -Infinity); any
 * other exception is a bug in the tuner or its caller and stops tuning. (The Measurer reports
 * the same failures as MeasureResult.error instead of throwing.)
 */
export class MeasurementError extends LatheError {
  override name = "MeasurementError";
}

/** Something that measures configs of tasks (the Measurer, or a synthetic one in tests). */
export interface MeasureFn {
  /** The target it measures for; the tuner searches that target's templates. */
  readonly target: TuningTarget;
  measure(task: TaskSpec, config: Config): Promise<MeasureResult>;
  /**
   * The configs the tuner is about to measure, in order (one batch). A measurer that measures
   * several at once (a queue's workers, compiler/distributed) starts them all now; measure()
   * then collects each. Absent: configs are measured one by one as measure() is called.
   */
  prefetch?(task: TaskSpec, configs: readonly Config[]): void;
  close(): void;
}

const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
/** Keep this much of the child's stderr for error messages. */
const STDERR_TAIL = 2000;

interface Pending {
  readonly id: number;
  resolve(r: MeasureResult): void;
  timer: NodeJS.Timeout | undefined;
  /** When the armed limit runs out (Date.now() ms). */
  deadline: number;
}

/** The run timeout grows by this many × minRepeatMs once the timed samples begin. */
const REPEAT_ALLOWANCE = 4;

export class Measurer implements MeasureFn {
  readonly warmup: number;
  readonly repeats: number;
  readonly minRepeatMs: number;
  readonly buildTimeoutMs: number;
  readonly runTimeoutMs: number;
  readonly threads: number;
  readonly flushCache: boolean;
  readonly #fault: MeasureOptions["fault"];
  #child: ChildProcess | null = null;
  #ready: Promise<void> | null = null;
  #pending: Pending | null = null;
  #stderr = "";
  #nextId = 1;
  /** How many child processes were started (1 + restarts). */
  starts = 0;

  readonly target: TuningTarget;
  constructor(opts: MeasureOptions) {
    this.target = opts.target;
    this.warmup = Math.max(1, opts.warmup ?? 1);
    this.repeats = opts.repeats ?? 5;
    this.minRepeatMs = opts.minRepeatMs ?? 50;
    this.buildTimeoutMs = opts.buildTimeoutMs ?? 180_000;
    this.runTimeoutMs = opts.runTimeoutMs ?? 20_000;
    this.threads = opts.threads ?? 0;
    this.flushCache = opts.flushCache ?? false;
    this.#fault = opts.fault;
    if (!(Number.isInteger(this.repeats) && this.repeats >= 1)) throw new LatheError(`Measurer: repeats must be an integer >= 1, got ${this.repeats}`);
    if (!(Number.isFinite(this.minRepeatMs) && this.minRepeatMs >= 0)) throw new LatheError(`Measurer: minRepeatMs must be a number >= 0, got ${this.minRepeatMs}`);
  }

  /** Builds, checks and times one config; never throws for a bad candidate. Calls run one at a time. */
  async measure(task: TaskSpec, config: Config): Promise<MeasureResult> {
    if (this.#pending) throw new LatheError("Measurer.measure: one measurement at a time");
    try {
      await this.#start();
    } catch (e) {
      return { costs: null, error: (e as Error).message };
    }
    const child = this.#child!;
    const id = this.#nextId++;
    const req: MeasureRequest = {
      type: "measure", id, task: taskSpec(task), config, warmup: this.warmup, repeats: this.repeats, minRepeatMs: this.minRepeatMs,
      threads: this.threads, flush: this.flushCache, fault: this.#fault?.(config) ?? null,
    };
    return new Promise<MeasureResult>((resolve) => {
      const p: Pending = { id, resolve, timer: undefined, deadline: 0 };
      this.#pending = p;
      this.#arm(p, this.buildTimeoutMs, "building");
      child.send(req);
    });
  }

  /** Stops the child (a later measure starts a new one). */
  close(): void {
    const c = this.#child;
    this.#child = null;
    this.#ready = null;
    if (c && c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  }

  /** Arms p's timeout to fire in ms; the error names limitMs, the whole limit of the phase. */
  #arm(p: Pending, ms: number, phase: string, limitMs = ms): void {
    if (p.timer) clearTimeout(p.timer);
    p.deadline = Date.now() + ms;
    p.timer = setTimeout(() => {
      this.#finish(p.id, { costs: null, error: `timed out after ${(limitMs / 1000).toFixed(1)} s while ${phase}` });
      this.close(); // the child may be stuck in native code: only a kill stops it
    }, ms);
  }

  #finish(id: number, r: MeasureResult): void {
    const p = this.#pending;
    if (!p || p.id !== id) return;
    if (p.timer) clearTimeout(p.timer);
    this.#pending = null;
    p.resolve(r);
  }

  #start(): Promise<void> {
    if (this.#child && this.#ready) return this.#ready;
    this.#stderr = "";
    const child = fork(this.target.measureWorker, [], { execArgv: ["--import", TSX], stdio: ["ignore", "ignore", "pipe", "ipc"] });
    this.#child = child;
    this.starts++;
    child.stderr!.on("data", (b: Buffer) => {
      if (this.#child === child) this.#stderr = (this.#stderr + b.toString("utf8")).slice(-STDERR_TAIL);
    });
    this.#ready = new Promise<void>((resolve, reject) => {
      child.on("message", (m: WorkerMessage) => {
        if (m.type === "ready") resolve();
        else if (m.type === "built") { if (this.#pending?.id === m.id) this.#arm(this.#pending, this.runTimeoutMs, "running"); }
        else if (m.type === "timing") {
          const p = this.#pending;
          if (p?.id === m.id) {
            // The run limit's remainder plus the allowance for repetition (see runTimeoutMs).
            const extra = REPEAT_ALLOWANCE * this.minRepeatMs;
            this.#arm(p, Math.max(0, p.deadline - Date.now()) + extra, "timing", this.runTimeoutMs + extra);
          }
        } else if (m.type === "result") this.#finish(m.id, m.costs !== null && m.calls !== null ? { costs: m.costs, calls: m.calls, error: m.error } : { costs: m.costs, error: m.error });
      });
      child.on("exit", (code, signal) => {
        // A child killed after a timeout exits late: its pending measurement is already
        // finished, and a newer child may be measuring something else.
        const current = this.#child === child;
        if (current) { this.#child = null; this.#ready = null; }
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        const tail = this.#stderr.trim().split("\n").slice(-3).join(" | ");
        const msg = `measuring process crashed (${how})${tail ? `: ${tail}` : ""}`;
        reject(new LatheError(msg));
        if (current && this.#pending) this.#finish(this.#pending.id, { costs: null, error: msg });
      });
      child.on("error", (e) => reject(e));
    });
    this.#ready.catch(() => {}); // a crash before ready is reported through measure's await
    return this.#ready;
  }
}
