import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { compileShared } from "../../compiler/targets/cpu/toolchain.ts";
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
