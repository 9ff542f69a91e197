/**
 * Builds the generated accelerator for simulation, into content-hashed cache folders under
 * the cpu target's cache root (`LATHE_CACHE_DIR`, default ~/.cache/lathe/kernels) + /vta.
 * A folder is built under a temporary name and renamed into place, so a build killed half
 * way never leaves something a later run would use; the key covers every generated source,
 * the harness, the tool's version and the flags, so tests pay each build once.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BuildError } from "../../../../core/errors.ts";
import { cacheDir } from "../../cache.ts";

export const run = promisify(execFile);

export const NATIVE_VTA = fileURLToPath(new URL("../../../../native/vta", import.meta.url));

export function vtaCacheDir(): string {
  const dir = path.join(cacheDir(), "vta");
  mkdirSync(dir, { recursive: true });
  return dir;
}

const versions = new Map<string, Promise<string | null>>();
/** The first line of `tool --version` (or `-V`), or null when the tool is not installed. */
export function toolVersion(tool: string, flag = "--version"): Promise<string | null> {
  let v = versions.get(tool);
  if (!v) {
    v = run(tool, [flag]).then((r) => (r.stdout || r.stderr).split("\n")[0] ?? "", (e: { stdout?: string; code?: unknown }) =>
      // iverilog -V exits non-zero but prints its version
      e.stdout && /version/i.test(e.stdout) ? e.stdout.split("\n")[0]! : null);
    versions.set(tool, v);
  }
  return v;
}

export interface CachedBuild { readonly dir: string; readonly cached: boolean }

const inFlight = new Map<string, Promise<CachedBuild>>();

/**
 * Returns the cache folder for `files` built by `build(tmpDir)`, building it once.
 * `build` writes its product into the temporary folder, which is then renamed into place.
 */
export function cachedBuild(kind: string, files: Readonly<Record<string, string>>, identity: readonly string[],
  build: (dir: string) => Promise<void>): Promise<CachedBuild> {
  const h = createHash("sha256").update(kind);
  for (const [name, text] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) h.update("\0").update(name).update("\0").update(text);
  for (const s of identity) h.update("\0").update(s);
  const key = h.digest("hex").slice(0, 32);
  const root = vtaCacheDir();
  const dir = path.join(root, `${kind}-${key}`);
  const existing = inFlight.get(dir);
  if (existing) return existing;
  const p = (async (): Promise<CachedBuild> => {
    if (existsSync(path.join(dir, "ok"))) return { dir, cached: true };
    const tmp = path.join(root, `.tmp-${kind}-${process.pid}-${randomBytes(6).toString("hex")}`);
    mkdirSync(tmp, { recursive: true });
    try {
      for (const [name, text] of Object.entries(files)) writeFileSync(path.join(tmp, name), text);
      await build(tmp);
      writeFileSync(path.join(tmp, "ok"), "");
      try {
        renameSync(tmp, dir);
      } catch {
        // Another process finished the same build first; theirs is identical.
        if (!existsSync(path.join(dir, "ok"))) throw new BuildError(`could not move the ${kind} build into ${dir}`);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return { dir, cached: false };
  })();
  inFlight.set(dir, p);
  p.catch(() => inFlight.delete(dir));
  return p;
}

export function toolFailure(tool: string, err: unknown, where: string): BuildError {
  const e = err as { stderr?: string; stdout?: string; message: string };
  return new BuildError(`${tool} failed (${where}):\n${(e.stderr || e.stdout || e.message).slice(0, 4000)}`);
}

export const readNative = (name: string): string => readFileSync(path.join(NATIVE_VTA, name), "utf8");
