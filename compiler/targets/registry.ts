/**
 * The target registry: built-in targets are listed here explicitly; plugin packages add
 * theirs with loadPlugin (what `lathe compile --plugin <package>` calls).
 *
 * A plugin package is an ES module (a directory with package.json — `exports["."]`
 * or `main` — or a file) whose default export is a TargetPlugin or an array of them, or
 * which exports `targets` (an array) or `target`.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { LatheError } from "../../core/errors.ts";
import { cpuPlugin } from "./cpu/plugin.ts";
import { type TargetPlugin, validateTarget } from "./plugin.ts";
import { vtaPlugin } from "./vta/plugin.ts";
import { webgpuPlugin } from "./webgpu/plugin.ts";

const registry = new Map<string, TargetPlugin>();
const BUILT_IN: readonly TargetPlugin[] = [cpuPlugin, vtaPlugin, webgpuPlugin];
for (const t of BUILT_IN) registry.set(t.name, t);

/** Adds a target; a different target under a taken name is an error (registering the same object again is not). */
export function registerTarget(t: TargetPlugin): TargetPlugin {
  const p = validateTarget(t, `registerTarget(${String((t as { name?: unknown }).name)})`);
  const old = registry.get(p.name);
  if (old && old !== p) throw new LatheError(`a target named "${p.name}" is already registered (${old.description})`);
  registry.set(p.name, p);
  return p;
}

export function getTarget(name: string): TargetPlugin {
  const t = registry.get(name);
  if (!t) throw new LatheError(`unknown target "${name}" (registered: ${listTargets().join(", ")}; a plugin package adds more with --plugin)`);
  return t;
}

export const listTargets = (): string[] => [...registry.keys()];

/** The module file of a plugin package: a file, or a directory's package.json exports["."]/main (index.ts/index.js otherwise). */
function entryFile(spec: string, cwd: string): string {
  const local = spec.startsWith(".") || path.isAbsolute(spec);
  let dir: string;
  if (local) {
    const p = path.resolve(cwd, spec);
    if (!existsSync(p)) throw new LatheError(`plugin package ${spec}: ${p} does not exist`);
    if (statSync(p).isFile()) return p;
    dir = p;
  } else {
    try {
      dir = path.dirname(createRequire(path.join(cwd, "package.json")).resolve(`${spec}/package.json`));
    } catch {
      throw new LatheError(`plugin package ${spec}: not found from ${cwd} (install it, or pass a path such as ./examples/openblas-target)`);
    }
  }
  const pkgFile = path.join(dir, "package.json");
  if (existsSync(pkgFile)) {
    let pkg: { main?: unknown; exports?: unknown; type?: unknown };
    try { pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as typeof pkg; } catch (e) { throw new LatheError(`plugin package ${spec}: ${pkgFile} is not valid JSON (${(e as Error).message})`); }
    const exp = pkg.exports;
    const main = typeof exp === "string" ? exp
      : typeof exp === "object" && exp !== null && typeof (exp as Record<string, unknown>)["."] === "string" ? (exp as Record<string, string>)["."]
      : typeof pkg.main === "string" ? pkg.main : undefined;
    if (main !== undefined) {
      const f = path.resolve(dir, main);
      if (!existsSync(f)) throw new LatheError(`plugin package ${spec}: its package.json names ${main}, which does not exist`);
      return f;
    }
  }
  for (const f of ["index.ts", "index.js", "index.mjs"]) if (existsSync(path.join(dir, f))) return path.join(dir, f);
  throw new LatheError(`plugin package ${spec}: no entry module (package.json has neither "exports" nor "main", and there is no index.ts/index.js)`);
}

/**
 * Imports a plugin package, checks what it exports and registers its targets; returns
 * them. Errors name the package, the export and the missing member.
 */
export async function loadPlugin(spec: string, cwd: string = process.cwd()): Promise<TargetPlugin[]> {
  const file = entryFile(spec, cwd);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof LatheError) throw new LatheError(`plugin package ${spec}: ${e.message}`);
    throw new LatheError(`plugin package ${spec}: importing ${file} failed: ${(e as Error).message}`);
  }
  const found: [string, unknown][] = [];
  const add = (exp: string, v: unknown) => { if (Array.isArray(v)) v.forEach((t, i) => found.push([`${exp}[${i}]`, t])); else found.push([exp, v]); };
  if (mod.default !== undefined) add("default", mod.default);
  if (mod.targets !== undefined) add("targets", mod.targets);
  if (mod.target !== undefined) add("target", mod.target);
  if (found.length === 0) throw new LatheError(`plugin package ${spec} (${file}) exports no target: give it a default export (a TargetPlugin or an array of them) or export "targets"`);
  const targets = [...new Set(found.map(([exp, t]) => validateTarget(t, `plugin package ${spec}, export "${exp}"`)))];
  return targets.map(registerTarget);
}
