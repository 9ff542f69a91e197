/** Small system probes for `lathe doctor`: run a tool, compile a snippet, find files. */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ProbeResult {
  readonly ok: boolean;
  /** A version or location when ok; what went wrong when not. */
  readonly detail: string;
}

export const ok = (detail: string): ProbeResult => ({ ok: true, detail });
export const missing = (detail: string): ProbeResult => ({ ok: false, detail });

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program without a shell; a missing program gives code null. */
export function run(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: "utf8" }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

const firstLine = (s: string): string => s.trim().split("\n")[0]?.trim() ?? "";

/** ok with the first line the tool prints for `args` (stdout, else stderr). */
export async function toolVersion(cmd: string, args: readonly string[], okCodes: readonly number[] = [0]): Promise<ProbeResult> {
  const r = await run(cmd, args);
  if (r.code === null || !okCodes.includes(r.code)) return missing(r.code === null ? `${cmd} not found` : firstLine(r.stderr || r.stdout));
  return ok(firstLine(r.stdout) || firstLine(r.stderr));
}

/** The most telling line of g++'s complaints, without the temp file's path. */
function compilerError(stderr: string): string {
  const lines = stderr.split("\n");
  const line = lines.find((l) => l.includes("cannot find -l")) ?? lines.find((l) => l.includes("error:")) ?? firstLine(stderr);
  return line.replace(/^.*?(fatal error|error):\s*/, "").replace(/^\/usr\/bin\/ld:\s*/, "").trim();
}

/**
 * Compiles a C++ snippet with g++ and the given flags, runs it, and returns ok
 * with its first output line; the compiler's first error line otherwise.
 */
export async function compileAndRun(source: string, flags: readonly string[]): Promise<ProbeResult> {
  const dir = mkdtempSync(join(tmpdir(), "lathe-doctor-"));
  try {
    const src = join(dir, "probe.cc");
    const exe = join(dir, "probe");
    writeFileSync(src, source);
    const cc = await run("g++", ["-std=c++17", "-o", exe, src, ...flags]);
    if (cc.code === null) return missing("g++ not found");
    if (cc.code !== 0) return missing(`cannot build a test program: ${compilerError(cc.stderr)}`);
    const r = await run(exe, []);
    return r.code === 0 ? ok(firstLine(r.stdout)) : missing(`probe program failed: ${firstLine(r.stderr) || `exit ${r.code}`}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The first of `paths` that exists. */
export const firstExisting = (paths: readonly string[]): string | undefined => paths.find((p) => existsSync(p));

/** Files under `root` (at most `depth` levels down) whose name matches `pattern`. */
export function findFiles(root: string, pattern: RegExp, depth: number): string[] {
  const found: string[] = [];
  const walk = (dir: string, left: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable or absent: nothing here
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isFile() && pattern.test(e.name)) found.push(p);
      else if (e.isDirectory() && left > 0) walk(p, left - 1);
    }
  };
  walk(root, depth);
  return found.sort();
}

/** ok with the module's version if /usr/bin/python3 (Debian's, which sees apt's packages) can import it. */
export async function pythonModule(name: string): Promise<ProbeResult> {
  const r = await run("/usr/bin/python3", ["-c", `import ${name}; print(${name}.__version__)`]);
  if (r.code === null) return missing("/usr/bin/python3 not found");
  return r.code === 0 ? ok(`${name} ${firstLine(r.stdout)}`) : missing(`/usr/bin/python3 cannot import ${name}`);
}
