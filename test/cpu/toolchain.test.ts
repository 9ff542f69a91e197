import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { CXX, RUNTIME_INCLUDE, compileShared, targetFlags } from "../../compiler/targets/cpu/toolchain.ts";
import { leadingIncludes } from "../../compiler/targets/cpu/pch.ts";
import { NativeLibrary } from "../../runtime/native.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-cache-"));
process.env.LATHE_CACHE_DIR = dir;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const source = (k: number) => `#include "lathe_rt.h"
extern "C" const char* lathe_last_error(void) { return ""; }
extern "C" int32_t seven(const LatheTensor* args, int32_t n) { ((int32_t*)args[0].data)[0] = ${k}; return 0; }
`;

describe("the content-hashed kernel cache", () => {
  test("the same source hits the cache; a different one does not", async () => {
    const a = await compileShared(source(7));
    const b = await compileShared(source(7));
    const c = await compileShared(source(8));
    expect(a.cached).toBe(false);
    expect(b.cached).toBe(true);
    expect(b.path).toBe(a.path);
    expect(c.path).not.toBe(a.path);
    const out = new Int32Array(1);
    NativeLibrary.open(c.path).kernel("seven").call([{ data: out, shape: [1], dtype: "i32" }]);
    expect(out[0]).toBe(8);
  }, 60_000);

  test("a compile killed half way leaves no library that a later run loads", async () => {
    const src = source(11) + `\n// padding so the compile takes a moment\n${"static int unused_x" + "[1];\n"}`;
    const script = `import { compileShared } from ${JSON.stringify(path.resolve("compiler/targets/cpu/toolchain.ts"))};
      await compileShared(${JSON.stringify(src)});`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      env: { ...process.env, LATHE_CACHE_DIR: dir }, stdio: "ignore", detached: true,
    });
    const exited = new Promise((r) => child.on("exit", r));
    // Kill the whole process group (node and its g++), most likely while g++ runs.
    await new Promise((r) => setTimeout(r, 900));
    try { process.kill(-child.pid!, "SIGKILL"); } catch { /* already done */ }
    await exited;
    const libs = readdirSync(dir).filter((f) => f.endsWith(".so") && !f.startsWith(".tmp-"));
    for (const f of libs) expect(existsSync(path.join(dir, f))).toBe(true);
    // Whatever was left, compiling again yields a library that loads and runs.
    const r = await compileShared(src);
    const out = new Int32Array(1);
    NativeLibrary.open(r.path).kernel("seven").call([{ data: out, shape: [1], dtype: "i32" }]);
    expect(out[0]).toBe(11);
  }, 60_000);
});

describe("precompiled headers for the leading include block", () => {
  const prelude = (k: number) => `// Generated
#include <cmath>
#include <cstdint>

#include "lathe_rt.h"
extern "C" const char* lathe_last_error(void) { return ""; }
extern "C" int32_t seven(const LatheTensor* args, int32_t n) { ((int32_t*)args[0].data)[0] = int32_t(std::sqrt(${k * k}.0)); return 0; }
`;
  const runSeven = (lib: string): number => {
    const out = new Int32Array(1);
    NativeLibrary.open(lib).kernel("seven").call([{ data: out, shape: [1], dtype: "i32" }]);
    return out[0]!;
  };
  const header = (): string => {
    // The cache tests above made another (their block is lathe_rt.h alone).
    const hs = readdirSync(dir).filter((f) => /^pch-[0-9a-f]+\.h$/.test(f) && readFileSync(path.join(dir, f), "utf8").includes("<cmath>"));
    expect(hs).toHaveLength(1);
    return path.join(dir, hs[0]!);
  };
  /** Whether g++ uses the header's .gch: -H lists what a compile reads, "!" marking a valid precompiled header. */
  const usesGch = (h: string): boolean => {
    const src = path.join(dir, "probe.cc");
    writeFileSync(src, prelude(3));
    const flags = targetFlags().filter((f) => f !== "-shared");
    const r = spawnSync(CXX, [...flags, `-I${RUNTIME_INCLUDE}`, "-include", h, "-H", "-fsyntax-only", src], { encoding: "utf8" });
    return r.stderr.split("\n").includes(`! ${h}.gch`);
  };

  test("the block is the source's leading #include lines, comments and blank lines skipped", () => {
    expect(leadingIncludes(prelude(1))).toBe('#include <cmath>\n#include <cstdint>\n#include "lathe_rt.h"');
    expect(leadingIncludes("int x;\n#include <cmath>\n")).toBe("");
    expect(leadingIncludes("#include <cmath>\n#define A 1\n#include <cstdio>\n")).toBe("#include <cmath>");
  });

  test("the block is precompiled once, g++ uses the .gch, and the libraries are right", async () => {
    expect(runSeven((await compileShared(prelude(5))).path)).toBe(5);
    expect(runSeven((await compileShared(prelude(6))).path)).toBe(6);
    const h = header();
    expect(existsSync(`${h}.gch`)).toBe(true);
    expect(usesGch(h)).toBe(true);
  }, 60_000);

  test("a damaged .gch costs a slower compile, not a wrong or failed one, and is made again", async () => {
    const h = header();
    const good = readFileSync(`${h}.gch`);
    writeFileSync(`${h}.gch`, Buffer.alloc(4096, 7)); // not a PCH: g++ parses the header's text instead
    expect(usesGch(h)).toBe(false);
    expect(runSeven((await compileShared(prelude(9))).path)).toBe(9);
    // A truncated real one makes g++ fail outright: the compile is retried without it and the file dropped.
    writeFileSync(`${h}.gch`, good.subarray(0, 100_000));
    expect(runSeven((await compileShared(prelude(10))).path)).toBe(10);
    expect(existsSync(`${h}.gch`)).toBe(false);
    expect(runSeven((await compileShared(prelude(11))).path)).toBe(11);
    expect(usesGch(header())).toBe(true);
  }, 60_000);
});
