/**
 * Measurement in a child process: each candidate is built, checked against the task's
 * default-schedule kernel and timed by measure-worker.ts, so a candidate that fails to
 * compile, crashes the process (a segfault, an abort), hangs or computes a wrong answer
 * comes back as an error result; the child is restarted and tuning goes on.
 *
 *   const m = new Measurer({ repeats: 5 });
 *   const r = await m.measure(task, config);   // { costs: [s, …] } or { costs: null, error }
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
  /** Timed runs; the log keeps each, the tuner scores their median (default 5). */
  readonly repeats?: number;
  /** Limit on lowering + compiling one candidate, ms (default 180 000: g++ on a loaded machine). */
  readonly buildTimeoutMs?: number;
  /** Limit on checking + timing one compiled candidate, ms (default 20 000). */
  readonly runTimeoutMs?: number;
  /** Kernel threads (default 0: the library's default, every core). */
  readonly threads?: number;
  /**
   * Evict the caches before every timed run (default false), so a kernel is timed as it runs
   * inside a whole network, its inputs just written by other kernels or read from memory,
   * rather than from the caches its previous run warmed (AutoTVM's cache flush for x86).
   */
  readonly flushCache?: boolean;
  /** Test-only: a fault for the child to inject into this config's run. */
  readonly fault?: (config: Config) => Fault | null;
}

export interface MeasureResult {
  /** Seconds per timed run; null when the candidate failed. */
  readonly costs: readonly number[] | null;
  /** Why it failed (build, crash, timeout, wrong answer); null on success. */
  readonly error: string | null;
}

/** Something that measures configs of tasks (the Measurer, or a synthetic one in tests). */
export interface MeasureFn {
  /** The target it measures for; the tuner searches that target's templates. */
  readonly target: TuningTarget;
  measure(task: TaskSpec, config: Config): Promise<MeasureResult>;
  close(): void;
}

const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
/** Keep this much of the child's stderr for error messages. */
const STDERR_TAIL = 2000;

interface Pending {
  readonly id: number;
  resolve(r: MeasureResult): void;
  timer: NodeJS.Timeout | undefined;
}

export class Measurer implements MeasureFn {
  readonly warmup: number;
  readonly repeats: number;
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
    this.buildTimeoutMs = opts.buildTimeoutMs ?? 180_000;
    this.runTimeoutMs = opts.runTimeoutMs ?? 20_000;
    this.threads = opts.threads ?? 0;
    this.flushCache = opts.flushCache ?? false;
    this.#fault = opts.fault;
    if (!(Number.isInteger(this.repeats) && this.repeats >= 1)) throw new LatheError(`Measurer: repeats must be an integer >= 1, got ${this.repeats}`);
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
      type: "measure", id, task: taskSpec(task), config, warmup: this.warmup, repeats: this.repeats,
      threads: this.threads, flush: this.flushCache, fault: this.#fault?.(config) ?? null,
    };
    return new Promise<MeasureResult>((resolve) => {
      const p: Pending = { id, resolve, timer: undefined };
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

  #arm(p: Pending, ms: number, phase: string): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      this.#finish(p.id, { costs: null, error: `timed out after ${(ms / 1000).toFixed(1)} s while ${phase}` });
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
        else if (m.type === "result") this.#finish(m.id, { costs: m.costs, error: m.error });
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
