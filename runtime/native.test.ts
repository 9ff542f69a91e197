import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RuntimeError, ShapeError } from "../core/errors.ts";
import { buildTestKernels, type TestKernelLibs } from "./fixtures/build-test-kernels.ts";
import { LATHE_BOOL, LATHE_FLOAT, LATHE_INT, LATHE_UINT } from "./dlpack.ts";
import { NativeLibrary } from "./native.ts";
import { Tensor } from "./tensor.ts";

let libs: TestKernelLibs;
let lib: NativeLibrary;

beforeAll(() => {
  libs = buildTestKernels();
  lib = NativeLibrary.open(libs.main);
});
afterAll(() => {
  lib?.close();
  if (libs) rmSync(libs.dir, { recursive: true, force: true });
});

const f32 = (xs: number[]) => ({ data: new Float32Array(xs), shape: [xs.length], dtype: "f32" as const });

describe("NativeKernel.call", () => {
  test("adds two float arrays in place of the output, without copies", () => {
    const a = f32([1, 2, 3, 4.5]);
    const b = f32([10, 20, 30, 40.25]);
    const c = f32([0, 0, 0, 0]);
    lib.kernel("add_f32").call([a, b, c]);
    expect(Array.from(c.data)).toEqual([11, 22, 33, 44.75]);
  });

  test("honours a typed array's byteOffset", () => {
    const backing = new Float32Array([100, 1, 2, 3, 100]);
    const view = backing.subarray(1, 4);
    const out = new Float32Array(3);
    lib.kernel("add_f32").call([
      { data: view, shape: [3], dtype: "f32" },
      { data: view, shape: [3], dtype: "f32" },
      { data: out, shape: [3], dtype: "f32" },
    ]);
    expect(Array.from(out)).toEqual([2, 4, 6]);
  });

  test("accepts runtime Tensors as arguments", () => {
    const a = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = Tensor.fromArray([6, 5, 4, 3, 2, 1], [2, 3]);
    const c = Tensor.zeros([2, 3]);
    lib.kernel("add_f32").call([a, b, c]);
    expect(c.toArray()).toEqual([7, 7, 7, 7, 7, 7]);
  });

  test("shapes and dtypes arrive as DLPack descriptors", () => {
    const out = new Int32Array(64).fill(-1);
    lib.kernel("describe").call([
      { data: new Float32Array(6), shape: [2, 3], dtype: "f32" },
      { data: new BigInt64Array(4), shape: [4], dtype: "i64" },
      { data: new Uint8Array(5), shape: [5], dtype: "bool" },
      { data: new Uint8Array(1), shape: [], dtype: "u8" },
      { data: new Uint16Array(0), shape: [1, 0, 7], dtype: "f16" },
      { data: new Int8Array(2), shape: [2], dtype: "i8" },
      { data: out, shape: [64], dtype: "i32" },
    ]);
    const expected = [
      7,
      2, LATHE_FLOAT, 32, 1, 1, 2, 3,
      1, LATHE_INT, 64, 1, 1, 4,
      1, LATHE_BOOL, 8, 1, 1, 5,
      0, LATHE_UINT, 8, 1, 1,
      3, LATHE_FLOAT, 16, 1, 1, 1, 0, 7,
      1, LATHE_INT, 8, 1, 1, 2,
    ];
    expect(Array.from(out.subarray(0, expected.length))).toEqual(expected);
    expect(out[expected.length]).toBe(-1);
  });

  test("a failing kernel throws RuntimeError with lathe_last_error's text", () => {
    const k = lib.kernel("fail_kernel");
    expect(() => k.call([])).toThrow(RuntimeError);
    expect(() => k.call([])).toThrow(/fail_kernel.*status 7: deliberate failure: widget out of range/);
  });

  test("a library without lathe_last_error says so", () => {
    const bare = NativeLibrary.open(libs.bare);
    try {
      expect(() => bare.kernel("always_fail").call([])).toThrow(/status 2 \(the library does not export lathe_last_error\)/);
      bare.setNumThreads(4); // absent: a no-op, not an error
      expect(bare.has("lathe_set_num_threads")).toBe(false);
    } finally {
      bare.close();
    }
  });

  test("argument mismatches are ShapeErrors before reaching native code", () => {
    const k = lib.kernel("add_f32");
    const ok = f32([1, 2]);
    expect(() => k.call([ok, ok, { data: new Float64Array(2), shape: [2], dtype: "f32" }])).toThrow(ShapeError);
    expect(() => k.call([ok, ok, { data: new Float32Array(2), shape: [3], dtype: "f32" }])).toThrow(/3 elements but the data has 2/);
    expect(() => k.call([ok, ok, { data: new Float32Array(2), shape: [-2, -1], dtype: "f32" }])).toThrow(ShapeError);
  });
});

describe("NativeLibrary", () => {
  test("a missing symbol names the symbol and the library", () => {
    expect(() => lib.kernel("no_such_kernel")).toThrow(RuntimeError);
    expect(() => lib.kernel("no_such_kernel")).toThrow(`kernel symbol 'no_such_kernel' not found in library ${libs.main}`);
  });

  test("a missing file reports dlerror's text", () => {
    expect(() => NativeLibrary.open(`${libs.dir}/nope.so`)).toThrow(/cannot load library .*nope\.so: .*No such file/);
  });

  test("setNumThreads reaches the library on the calling thread and on async workers", async () => {
    const out = new Int32Array(1);
    const arg = [{ data: out, shape: [1], dtype: "i32" as const }];
    lib.setNumThreads(3);
    lib.kernel("get_threads").call(arg);
    expect(out[0]).toBe(3);
    out[0] = 0;
    await lib.kernel("get_threads").callAsync(arg);
    expect(out[0]).toBe(3); // a fresh worker thread would say 1 unless re-applied
    expect(() => lib.setNumThreads(0)).toThrow(RuntimeError);
  });

  test("a closed library refuses calls, but an in-flight async call finishes first", async () => {
    const own = NativeLibrary.open(libs.main);
    const k = own.kernel("slow_add_f32");
    const c = new Float32Array(2);
    const done = k.callAsync([f32([1, 2]), f32([3, 4]), { data: c, shape: [2], dtype: "f32" }]);
    own.close();
    await done;
    expect(Array.from(c)).toEqual([4, 6]);
    expect(() => k.call([f32([1]), f32([1]), f32([0])])).toThrow(/is closed/);
    expect(() => own.kernel("add_f32")).toThrow(RuntimeError);
  });
});

describe("NativeKernel.callAsync", () => {
  test("runs off the event loop and resolves with the results", async () => {
    const c = new Float32Array(3);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    await lib.kernel("slow_add_f32").callAsync([f32([1, 2, 3]), f32([1, 1, 1]), { data: c, shape: [3], dtype: "f32" }]);
    clearInterval(timer);
    expect(Array.from(c)).toEqual([2, 3, 4]);
    expect(ticks).toBeGreaterThan(2); // the 300 ms kernel let 10 ms timers run

    ticks = 0;
    const timer2 = setInterval(() => ticks++, 10);
    lib.kernel("slow_add_f32").call([f32([1]), f32([1]), f32([0])]);
    clearInterval(timer2);
    expect(ticks).toBe(0); // the synchronous call blocks them, as expected
  });

  test("a failing kernel rejects with RuntimeError and the library's message", async () => {
    await expect(lib.kernel("fail_kernel").callAsync([])).rejects.toThrow(RuntimeError);
    await expect(lib.kernel("fail_kernel").callAsync([])).rejects.toThrow(/deliberate failure: widget out of range/);
  });

  test("many concurrent calls all land", async () => {
    const outs = Array.from({ length: 8 }, () => new Float32Array(4));
    await Promise.all(
      outs.map((o, i) => lib.kernel("add_f32").callAsync([f32([i, i, i, i]), f32([1, 2, 3, 4]), { data: o, shape: [4], dtype: "f32" }])),
    );
    outs.forEach((o, i) => expect(Array.from(o)).toEqual([i + 1, i + 2, i + 3, i + 4]));
  });
});
