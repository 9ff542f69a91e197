/**
 * `lathe worker --queue redis://HOST:PORT [--target cpu|webgpu|vta] [--concurrency 1] [--threads T]`:
 * serves the queue's jobs for this host's device key (compiler/distributed/worker.ts) until
 * SIGINT or SIGTERM (running jobs finish first; a second signal abandons them).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Command, Option } from "commander";
import { LatheError } from "../../core/errors.ts";
import { listBenches } from "../../bench/lib/discover.ts";
import { cacheDir } from "../../compiler/targets/cache.ts";
import { DEVICE_TARGETS, VTA_SIMULATORS, type DeviceTarget, type VtaSimulator } from "../../compiler/distributed/device-key.ts";
import { parseQueueUrl } from "../../compiler/distributed/queue-url.ts";
import { startWorker, type BenchRunner } from "../../compiler/distributed/worker.ts";
import { applyIsa, isaOption } from "./compile.ts";

const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const CLI = fileURLToPath(new URL("../main.ts", import.meta.url));

/**
 * Bench jobs run `lathe bench NAME` in a child process (a bench that crashes or hangs takes
 * only the child; timeoutMs kills it), writing its JSON to a fresh folder under the worker's
 * cache, from which it is read back and removed.
 */
export function childBenchRunner(timeoutMs: number): BenchRunner {
  return {
    names: () => listBenches(),
    run: (name, quick) => new Promise((resolve, reject) => {
      const root = path.join(path.dirname(cacheDir()), "worker-bench");
      mkdirSync(root, { recursive: true });
      const dir = mkdtempSync(path.join(root, `${name}-`));
      const child = spawn(process.execPath, ["--import", TSX, CLI, "bench", name, "--results-dir", dir, ...(quick ? ["--quick"] : [])], { stdio: ["ignore", "ignore", "pipe"] });
      let tail = "";
      child.stderr.on("data", (b: Buffer) => { tail = (tail + b.toString("utf8")).slice(-2000); });
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        try {
          if (code !== 0) throw new LatheError(`lathe bench ${name} ${signal ? `was killed (${signal}${signal === "SIGKILL" ? `, over ${timeoutMs / 1000} s?` : ""})` : `exited with ${code}`}: ${tail.trim().split("\n").slice(-2).join(" | ")}`);
          resolve(JSON.parse(readFileSync(path.join(dir, `${name}${quick ? ".quick" : ""}.json`), "utf8")) as Record<string, unknown>);
        } catch (e) {
          reject(e);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }),
  };
}

const positiveInt = (v: string, name: string, min = 1): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new LatheError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
};

interface WorkerCommandOptions {
  readonly queue: string;
  readonly target: string;
  readonly sim: string;
  readonly concurrency: string;
  readonly threads?: string;
  readonly isa?: string;
  readonly lockMs: string;
  readonly benchTimeoutS: string;
  readonly acceptStubJobs?: boolean;
}

export function workerCommand(): Command {
  return new Command("worker")
    .description("serve a job queue: build and measure tuning candidates and run benchmarks for this host's device key (e.g. cpu/x86-64-avx2), until stopped")
    .requiredOption("--queue <url>", "the queue: redis://[:password@]host[:port] (rediss:// for TLS)")
    .addOption(new Option("--target <target>", "what this worker measures on").choices([...DEVICE_TARGETS]).default("cpu"))
    .addOption(new Option("--sim <sim>", "vta target: the simulator (its device key is vta/<sim>)").choices([...VTA_SIMULATORS]).default("fsim"))
    .option("--concurrency <n>", "jobs at once, each measured in its own child process", "1")
    .option("--threads <n>", "kernel threads per measurement (default: the cores divided among the concurrent jobs)")
    .option("--lock-ms <ms>", "job lock: a worker that dies mid-job gives its job back to the queue this long after its last renewal", "10000")
    .option("--bench-timeout-s <s>", "longest a bench job may run", "7200")
    .addOption(new Option("--accept-stub-jobs", "also take measure-stub jobs (a deterministic cost, no build; tests and bench/queue)").hideHelp())
    .addOption(isaOption())
    .action(async (opts: WorkerCommandOptions) => {
      applyIsa(opts.isa);
      const queue = parseQueueUrl(opts.queue);
      const concurrency = positiveInt(opts.concurrency, "concurrency");
      const threads = opts.threads === undefined ? undefined : positiveInt(opts.threads, "threads");
      const lockMs = positiveInt(opts.lockMs, "lock-ms", 500);
      const benchTimeoutS = positiveInt(opts.benchTimeoutS, "bench-timeout-s");
      const w = await startWorker({
        queue, target: opts.target as DeviceTarget, sim: opts.sim as VtaSimulator, concurrency, ...(threads !== undefined ? { threads } : {}), lockMs,
        acceptStub: opts.acceptStubJobs === true, benches: childBenchRunner(benchTimeoutS * 1000),
        log: (line, error) => (error ? console.error : console.log)(`lathe worker: ${line}`),
      });
      await new Promise<void>((resolve) => {
        let signals = 0;
        const stop = (sig: string) => {
          signals++;
          console.log(`lathe worker: ${sig}: ${signals === 1 ? "finishing running jobs (again to abandon them)" : "abandoning running jobs"}`);
          void w.close(signals > 1).then(resolve);
        };
        process.on("SIGINT", () => stop("SIGINT"));
        process.on("SIGTERM", () => stop("SIGTERM"));
      });
      console.log(`lathe worker: ${w.id} stopped`);
    });
}
