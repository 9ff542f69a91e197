/**
 * The C++ toolchain of the cpu target: g++ invocation and a content-hashed cache of
 * compiled libraries. The key covers the source, the flags, the compiler's version and
 * the host CPU, because dlopen caches by path and -march=native code is CPU-specific.
 * Libraries are written under a temporary name and renamed into place, so a compile
 * killed half way never leaves a library that a later run would load.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BuildError } from "../../../core/errors.ts";
import { hostCpu } from "../../../runtime/host.ts";
import { cacheDir } from "../cache.ts";
import { hostCpuDesc } from "./host.ts";
import { discardPrecompiledHeader, precompiledHeader } from "./pch.ts";

const run = promisify(execFile);

export const RUNTIME_INCLUDE = fileURLToPath(new URL("../../../native/include", import.meta.url));
export const CXX = process.env.LATHE_CXX ?? "g++";
export const BASE_FLAGS = ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC"] as const;

let mvec: boolean | null = null;
/**
 * Whether g++ links glibc's vector libm (libmvec: x86-64 glibc ≥ 2.22, in Debian's
 * libc6-dev); kernels then call it for vector exp, log, tanh, erf, sin and cos (prelude.ts).
 */
export function hasLibmvec(): boolean {
  if (mvec === null) {
    let found = "";
    try {
      if (process.arch === "x64") found = execFileSync(CXX, ["-print-file-name=libmvec.so"], { encoding: "utf8" }).trim();
    } catch { /* no compiler: compileShared says so */ }
    mvec = path.isAbsolute(found) && existsSync(found);
  }
  return mvec;
}

/** The flags every library is built with: the base flags, then those that keep it within the chosen ISA (host.ts). */
export const targetFlags = (): string[] => [...BASE_FLAGS, ...hostCpuDesc().flags, ...(hasLibmvec() ? ["-DLATHE_MVEC"] : [])];
/** Libraries every kernel links (after its source). */
const linkLibs = (): string[] => (hasLibmvec() ? ["-lmvec"] : []);

let compilerId: Promise<string> | null = null;
/** `g++ --version` plus the host CPU's model and flags. */
export function toolchainIdentity(): Promise<string> {
  compilerId ??= (async () => {
    let version: string;
    try {
      version = (await run(CXX, ["--version"])).stdout.split("\n")[0] ?? "";
    } catch {
      throw new BuildError(`the C++ compiler "${CXX}" was not found: install it with \`apt-get install g++\` (or set LATHE_CXX)`);
    }
    return `${version}\n${hostCpu()}`;
  })();
  return compilerId;
}


export interface CompileResult { readonly path: string; readonly cached: boolean; readonly key: string }

/** Compiles a C++ translation unit into a shared library, or returns the cached one. */
export async function compileShared(source: string, extraFlags: readonly string[] = []): Promise<CompileResult> {
  const base = targetFlags();
  const flags = [...base, ...extraFlags, `-I${RUNTIME_INCLUDE}`];
  // The compiler and the runtime header: what a kernel's meaning depends on beyond its source and flags.
  const salt = `${await toolchainIdentity()}\0${readFileSync(path.join(RUNTIME_INCLUDE, "lathe_rt.h"), "utf8")}`;
  const key = createHash("sha256").update(source).update("\0").update(flags.join(" ")).update("\0").update(salt).digest("hex").slice(0, 32);
  const dir = cacheDir();
  const lib = path.join(dir, `${key}.so`);
  if (existsSync(lib)) return { path: lib, cached: true, key };
  const tmp = path.join(dir, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  const src = `${tmp}.cc`, out = `${tmp}.so`;
  writeFileSync(src, source);
  try {
    // Extra flags go after the source so that libraries (-l…) link.
    const gxx = (pch: readonly string[]) => run(CXX, [...base, `-I${RUNTIME_INCLUDE}`, ...pch, src, ...linkLibs(), ...extraFlags, "-o", out], { maxBuffer: 16 * 1024 * 1024 });
    const header = await precompiledHeader(source, [...base, `-I${RUNTIME_INCLUDE}`], CXX, salt, dir);
    if (header === null) await gxx([]);
    else {
      try {
        await gxx(["-include", header]);
      } catch {
        // A damaged .gch makes g++ fail rather than fall back: compile without it, and drop it if that works.
        await gxx([]);
        discardPrecompiledHeader(header);
      }
    }
    renameSync(out, lib);
    writeFileSync(path.join(dir, `${key}.cc`), source);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new BuildError(`g++ failed to compile the generated kernel (source kept at ${src}):\n${(e.stderr ?? e.message).slice(0, 4000)}`);
  } finally {
    rmSync(out, { force: true });
    if (existsSync(lib)) rmSync(src, { force: true });
  }
  return { path: lib, cached: false, key };
}
