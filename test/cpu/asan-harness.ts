/**
 * Runs generated kernels under AddressSanitizer in a standalone executable (Node itself
 * is not instrumented): the kernel source plus a main() that allocates every argument
 * with its exact byte size on the heap, fills it and calls the kernel.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { bytesOf } from "../../core/dtype.ts";
import type { PrimFunc } from "../../compiler/tir/stmt.ts";
import { RUNTIME_INCLUDE } from "../../compiler/targets/cpu/toolchain.ts";

const run = promisify(execFile);

/** Whether g++ can link AddressSanitizer here (it prints a bare name when libasan is absent). */
export const hasAsan: boolean = (() => {
  try {
    const lib = execFileSync("g++", ["-print-file-name=libasan.so"], { encoding: "utf8" }).trim();
    return path.isAbsolute(lib) && existsSync(lib);
  } catch {
    return false;
  }
})();

const DL: Record<string, [number, number]> = { f32: [2, 32], f64: [2, 64], i32: [0, 32], i8: [0, 8], u8: [1, 8], i64: [0, 64], bool: [6, 8], f16: [2, 16] };

export function harnessFor(f: PrimFunc): string {
  const lines = f.params.map((p, k) => {
    const dims = p.shape.map((d) => {
      if (d.kind !== "const") throw new Error(`ASan harness needs constant shapes (${p.name})`);
      return d.value;
    });
    const n = dims.reduce((a, b) => a * b, 1);
    const [code, bits] = DL[p.dtype]!;
    return [
      `  static int64_t shape${k}[] = {${dims.join(", ") || "1"}};`,
      `  unsigned char* buf${k} = (unsigned char*)malloc(${n * bytesOf(p.dtype)});`,
      `  for (long i = 0; i < ${n * bytesOf(p.dtype)}; ++i) buf${k}[i] = (unsigned char)((i * 37 + ${k}) % 61);`,
      `  args[${k}] = LatheTensor{buf${k}, ${dims.length}, LatheDType{${code}, ${bits}, 1}, shape${k}, nullptr};`,
    ].join("\n");
  });
  return `#include <cstdio>\n#include <cstdlib>\n#include "lathe_rt.h"\n` +
    `extern "C" int32_t ${f.name}(const LatheTensor*, int32_t);\nextern "C" const char* lathe_last_error(void);\n` +
    `int main() {\n  LatheTensor args[${f.params.length}];\n${lines.join("\n")}\n` +
    `  int rc = ${f.name}(args, ${f.params.length});\n  if (rc != 0) { fprintf(stderr, "kernel failed: %s\\n", lathe_last_error()); return 10; }\n` +
    f.params.map((_, k) => `  free(buf${k});`).join("\n") + `\n  return 0;\n}\n`;
}

export interface AsanResult { readonly ok: boolean; readonly report: string }

/** Compiles `kernelSource` + harness with -fsanitize=address and runs it. */
export async function runUnderAsan(kernelSource: string, f: PrimFunc): Promise<AsanResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-asan-"));
  try {
    writeFileSync(path.join(dir, "kernel.cc"), kernelSource);
    writeFileSync(path.join(dir, "main.cc"), harnessFor(f));
    const exe = path.join(dir, "a.out");
    await run("g++", ["-std=c++17", "-O1", "-g", "-fopenmp", "-fsanitize=address", "-fno-omit-frame-pointer", `-I${RUNTIME_INCLUDE}`,
      path.join(dir, "kernel.cc"), path.join(dir, "main.cc"), "-o", exe], { maxBuffer: 1 << 24 });
    try {
      await run(exe, [], { env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0", OMP_NUM_THREADS: "2" }, maxBuffer: 1 << 24 });
      return { ok: true, report: "" };
    } catch (e) {
      return { ok: false, report: (e as { stderr?: string }).stderr ?? String(e) };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
