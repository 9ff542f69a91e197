/**
 * Kernel-level checks of the webgpu target: the tiled matmul's shared memory and barriers
 * are correct at tile edges (sizes that are not multiples of the tile), the loop-IR GPU
 * passes do what they say, and a machine without an adapter gets a clear error.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { build, lower } from "../../compiler/driver/kernel.ts";
import { BuildError } from "../../core/errors.ts";
import { mul } from "../../compiler/te/expr.ts";
import { compute, placeholder, reduceAxis, sum } from "../../compiler/te/tensor.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { cacheRead } from "../../compiler/schedule/cache.ts";
import { printWgsl } from "../../compiler/codegen/wgsl/print.ts";
import { launchOf } from "../../compiler/tir/passes/gpu-launch.ts";
import type { Stmt } from "../../compiler/tir/stmt.ts";
import { visitStmt } from "../../compiler/tir/stmt.ts";
import { webgpuTarget } from "../../compiler/targets/webgpu/index.ts";
import { DEFAULT_GPU_CONFIG, gpuDefaultSchedule } from "../../compiler/targets/webgpu/schedules.ts";
import type { GpuScheduleConfig } from "../../compiler/targets/webgpu/schedules.ts";
import { Rng } from "../../runtime/random.ts";

function matmul(M: number, N: number, K: number, cfg: GpuScheduleConfig = DEFAULT_GPU_CONFIG) {
  const A = placeholder([M, K], "f32", "A"), B = placeholder([K, N], "f32", "B");
  const k = reduceAxis(K, "k");
  const C = compute([M, N], (i, j) => sum(k, mul(A.at(i, k.var), B.at(k.var, j))), "C");
  const s = createSchedule(C);
  gpuDefaultSchedule(s, [C], C, cfg);
  return { s, args: [A, B, C] };
}

function reference(a: Float32Array, b: Float32Array, M: number, N: number, K: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let q = 0; q < K; q++) for (let j = 0; j < N; j++) c[i * N + j]! += a[i * K + q]! * b[q * N + j]!;
  return c;
}

describe("tiled matmul with shared memory", () => {
  const rng = new Rng(3);
  test.each([
    [64, 64, 32], [100, 70, 37], [5, 3, 7], [129, 65, 17], [33, 200, 250],
  ])("%i×%i×%i is exact at tile edges", async (M, N, K) => {
    const { s, args } = matmul(M, N, K);
    const kern = await build(s, args, { target: webgpuTarget, name: "mm" });
    // The kernel does stage through workgroup memory, with barriers.
    expect(kern.source).toContain("var<workgroup>");
    expect(kern.source).toContain("workgroupBarrier();");
    const a = Float32Array.from({ length: M * K }, () => rng.uniform(-1, 1));
    const b = Float32Array.from({ length: K * N }, () => rng.uniform(-1, 1));
    const c = new Float32Array(M * N).fill(NaN);
    await kern.runAsync(a, b, c);
    const want = reference(a, b, M, N, K);
    let worst = 0;
    c.forEach((x, i) => { worst = Math.max(worst, Math.abs(x - want[i]!)); });
    expect(worst).toBeLessThan(1e-4);
  }, 60_000);

  test("the schedule's launch: 16×16 threads, one workgroup per 64×64 tile", () => {
    const { s, args } = matmul(100, 70, 37);
    const f = lower(s, args, { target: webgpuTarget, name: "mm" });
    const l = launchOf(f);
    expect(l.workgroup).toEqual([16, 16, 1]);
    expect(l.grid.map((e) => (e.kind === "const" ? e.value : null))).toEqual([2, 2, 1]);
    expect(l.shared.map((b) => b.name).sort()).toEqual(["A.shared", "B.shared"]);
  });
});

describe("GPU loop-IR passes", () => {
  test("thread-sync puts a barrier between the shared fill and its reads, and at the end of the reduce loop", () => {
    const { s, args } = matmul(64, 64, 64);
    const f = lower(s, args, { target: webgpuTarget, name: "mm" });
    // In the k.o loop body: fills, barrier, compute, barrier.
    const kinds = (x: Stmt): string[] => (x.kind === "allocate" ? kinds(x.body) : x.kind === "seq" ? x.body.flatMap(kinds) : [x.kind]);
    let body: string[] = [];
    visitStmt(f.body, (x) => { if (x.kind === "for" && x.loopVar.name === "k.o") body = kinds(x.body); });
    expect(body).toEqual(["for", "for", "barrier", "for", "barrier"]);
  });

  test("a barrier under a thread loop narrower than the workgroup is rejected (not every thread would reach it)", () => {
    const A = placeholder([40], "f32", "A");
    const C = compute([40], (i) => mul(A.at(i), 2), "C");
    // Shared copy per 8-element block: filled by 8 threads, read by 4 threads × 2 elements.
    const schedule = (consumerThreads: number) => {
      const s = createSchedule(C);
      const AS = cacheRead(s, A, "shared", [C]);
      const c = s.stage(C);
      const [bo, t] = c.split(c.axis[0]!, { factor: 8 });
      const [tq] = c.split(t, { factor: 8 / consumerThreads });
      c.bind(bo, "blockIdx.x");
      c.bind(tq!, "threadIdx.x");
      const as = s.stage(AS);
      as.computeAt(c, bo);
      as.bind(as.split(as.axis[0]!, { factor: 8 })[1], "threadIdx.x");
      return s;
    };
    // 8 consumer threads: the whole workgroup reaches the barrier.
    const ok = lower(schedule(8), [A, C], { target: webgpuTarget, name: "k" });
    expect(launchOf(ok).workgroup[0]).toBe(8);
    expect(printWgsl(ok).code).toContain("workgroupBarrier();");
    // The shared fill computed inside a 4-of-8 thread loop puts its barrier under that guard.
    const s2 = createSchedule(C);
    const AS2 = cacheRead(s2, A, "shared", [C]);
    const c2 = s2.stage(C);
    const [bo2, t2] = c2.split(c2.axis[0]!, { factor: 8 });
    const [tq2] = c2.split(t2, { factor: 2 });
    c2.bind(bo2, "blockIdx.x");
    c2.bind(tq2!, "threadIdx.x");
    const as2 = s2.stage(AS2);
    as2.computeAt(c2, tq2!);
    as2.bind(as2.split(as2.axis[0]!, { factor: 8 })[1], "threadIdx.x");
    expect(() => lower(s2, [A, C], { target: webgpuTarget, name: "k2" })).toThrow(/barrier is reached by only some threads/);
  });

  test("parallel loops are rejected with the kernel and loop named", () => {
    const A = placeholder([16], "f32", "A");
    const C = compute([16], (i) => mul(A.at(i), 2), "C");
    const s = createSchedule(C);
    s.stage(C).parallel(s.stage(C).axis[0]!);
    expect(() => lower(s, [A, C], { target: webgpuTarget, name: "par" })).toThrow(/kernel par: loop i is parallel/);
  });
});

describe("no adapter", () => {
  test("a machine without a usable adapter gets a LatheError that says what to install", () => {
    const script = `import { gpuDevice } from ${JSON.stringify(new URL("../../compiler/targets/webgpu/device.ts", import.meta.url).pathname)};
try { await gpuDevice(); console.log("GOT DEVICE"); } catch (e) { console.log(e.name + ": " + e.message); }
process.exit(0);`;
    const out = execFileSync("npx", ["tsx", "--input-type=module", "-e", script], {
      env: { ...process.env, VK_ICD_FILENAMES: "/nonexistent/icd.json" }, encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "ignore"],
    });
    expect(out).toContain("WebGpuUnavailableError: webgpu: no WebGPU adapter found");
    expect(out).toContain("chromium and libvulkan1");
  }, 60_000);
});
