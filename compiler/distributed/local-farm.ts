/**
 * A queue farm on this machine, for tests and bench/queue: a redis-server of its own
 * (127.0.0.1 only, a free port, a temp folder) and `lathe` CLI processes (workers, tuners) as
 * real child processes — one node process each, so SIGKILL kills what it would in production.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const REDIS_MISSING = "redis-server missing: apt-get install redis-server";
export const hasRedis = (): boolean => spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;

/** A TCP port free on 127.0.0.1 now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RedisOptions {
  readonly password?: string;
  /** Append-only persistence with an fsync per write (survives a SIGKILL of the server). */
  readonly appendonly?: boolean;
  /** TLS only (no plain port): the server's certificate and key, PEM files; clients are not asked for one. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** A redis-server on 127.0.0.1 of its own; stop() kills it and removes its folder. */
export class LocalRedis {
  #proc: ChildProcess | null = null;
  private constructor(readonly port: number, readonly dir: string, readonly opts: RedisOptions) {}

  static async start(opts: RedisOptions = {}): Promise<LocalRedis> {
    const r = new LocalRedis(await freePort(), mkdtempSync(path.join(os.tmpdir(), "lathe-redis-")), opts);
    await r.#launch();
    return r;
  }

  /** redis://[:password@]127.0.0.1:port (rediss:// with TLS) */
  get url(): string {
    return `redis${this.opts.tls ? "s" : ""}://${this.opts.password ? `:${this.opts.password}@` : ""}127.0.0.1:${this.port}`;
  }

  async #launch(): Promise<void> {
    const tls = this.opts.tls;
    const ports = tls ? ["--port", "0", "--tls-port", String(this.port), "--tls-cert-file", tls.cert, "--tls-key-file", tls.key, "--tls-auth-clients", "no"] : ["--port", String(this.port)];
    const args = ["--bind", "127.0.0.1", ...ports, "--dir", this.dir, "--save", "", "--daemonize", "no", "--loglevel", "warning"];
    if (this.opts.appendonly) args.push("--appendonly", "yes", "--appendfsync", "always");
    if (this.opts.password) args.push("--requirepass", this.opts.password);
    const proc = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
    this.#proc = proc;
    for (let i = 0; i < 200; i++) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (await listening(this.port)) return;
      await sleep(25);
    }
    throw new Error(`redis-server did not listen on 127.0.0.1:${this.port} within 5 s`);
  }

  /** SIGKILL (no shutdown save: only what the append-only file holds survives). */
  async kill(): Promise<void> {
    const p = this.#proc;
    this.#proc = null;
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGKILL");
      await exited;
    }
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.#launch();
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
export const CLI = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));

/** A `lathe …` child process (one node process: SIGKILL reaches what does the work), its output kept. */
export class LatheProcess {
  readonly proc: ChildProcess;
  out = "";
  err = "";
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[], env: Readonly<Record<string, string>> = {}) {
    this.proc = spawn(process.execPath, ["--import", TSX, CLI, ...args], { env: { ...process.env, LATHE_QUIET: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout!.on("data", (b: Buffer) => { this.out += b.toString("utf8"); });
    this.proc.stderr!.on("data", (b: Buffer) => { this.err += b.toString("utf8"); });
    this.exited = new Promise((r) => this.proc.once("exit", (code) => r(code)));
  }

  /** Resolves when stdout or stderr matches `re` (rejects after timeoutMs or if the process exits). */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = (this.out + this.err).match(re);
      if (m) return m;
      if (this.proc.exitCode !== null) throw new Error(`process exited (${this.proc.exitCode}) before printing ${re}:\n${this.out}\n${this.err}`);
      if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms:\n${this.out}\n${this.err}`);
      await sleep(50);
    }
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

/** A `lathe worker --queue url …` process once it serves its key, with its worker id. */
export async function startLocalWorker(url: string, args: readonly string[] = [], env: Readonly<Record<string, string>> = {}, timeoutMs = 60_000): Promise<LatheProcess & { id: string }> {
  const w = new LatheProcess(["worker", "--queue", url, ...args], env);
  const m = await w.waitFor(/lathe worker: worker (\S+): /, timeoutMs);
  return Object.assign(w, { id: m[1]! });
}
