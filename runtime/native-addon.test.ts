// The raw addon must turn every kind of misuse into a JS exception, never a crash.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildTestKernels, type TestKernelLibs } from "./fixtures/build-test-kernels.ts";
import { loadNative, type KernelHandle, type LibHandle, type NativeAddon } from "./native.ts";

// Misuse means passing what the types forbid, so these calls go through an untyped view.
type Untyped = Record<keyof NativeAddon, (...args: unknown[]) => unknown>;

let libs: TestKernelLibs;
let addon: NativeAddon;
let raw: Untyped;
let lib: LibHandle;
let add: KernelHandle;

const F32 = { code: 2, bits: 32, lanes: 1 };

beforeAll(() => {
  libs = buildTestKernels();
  addon = loadNative();
  raw = addon as unknown as Untyped;
  lib = addon.openLibrary(libs.main);
  add = addon.getKernel(lib, "add_f32");
});
afterAll(() => {
  if (lib) addon.closeLibrary(lib);
  if (libs) rmSync(libs.dir, { recursive: true, force: true });
});

describe("handles", () => {
  test("a library or kernel handle must be one this addon made", () => {
    for (const fake of [undefined, null, 1, "lib", {}, { path: libs.main }, add]) {
      expect(() => raw.getKernel(fake, "add_f32")).toThrow(TypeError);
      expect(() => raw.setNumThreads(fake, 2)).toThrow(TypeError);
      expect(() => raw.closeLibrary(fake)).toThrow(TypeError);
    }
    for (const fake of [undefined, {}, { name: "add_f32" }, lib]) {
      expect(() => raw.callKernel(fake, [])).toThrow(TypeError);
      expect(() => raw.callKernelAsync(fake, [])).toThrow(TypeError);
    }
  });

  test("a handle copied with Object.create or a spread is not a handle", () => {
    expect(() => raw.getKernel({ ...lib }, "add_f32")).toThrow(TypeError);
    expect(() => raw.getKernel(Object.create(lib as object), "add_f32")).toThrow(TypeError);
  });

  test("names and paths must be strings", () => {
    expect(() => raw.openLibrary(42)).toThrow(TypeError);
    expect(() => raw.openLibrary()).toThrow(TypeError);
    expect(() => raw.getKernel(lib, Symbol("x"))).toThrow(TypeError);
    expect(() => raw.setNumThreads(lib, "4")).toThrow(TypeError);
    expect(() => raw.setNumThreads(lib, 2.5)).toThrow(RangeError);
  });
});

describe("kernel arguments", () => {
  const out = () => ({ data: new Float32Array(2), shape: [2], dtype: F32 });
  const call = (args: unknown) => raw.callKernel(add, args);

  test("wrong kinds are TypeErrors naming the argument", () => {
    expect(() => call("not an array")).toThrow(TypeError);
    expect(() => call([out(), out(), 5])).toThrow(/kernel arg 2 must be/);
    expect(() => call([out(), { ...out(), data: [1, 2] }, out()])).toThrow(/kernel arg 1: data must be a TypedArray/);
    expect(() => call([out(), { ...out(), data: new ArrayBuffer(8) }, out()])).toThrow(TypeError);
    expect(() => call([{ ...out(), shape: "2" }, out(), out()])).toThrow(/shape must be an array/);
    expect(() => call([{ ...out(), shape: ["2"] }, out(), out()])).toThrow(TypeError);
    expect(() => call([{ ...out(), dtype: "f32" }, out(), out()])).toThrow(/dtype must be/);
    expect(() => call([{ ...out(), dtype: { code: 2, bits: 32 } }, out(), out()])).toThrow(/lanes must be a number/);
  });

  test("out-of-range values are RangeErrors", () => {
    expect(() => call([{ ...out(), shape: [-1] }, out(), out()])).toThrow(RangeError);
    expect(() => call([{ ...out(), shape: [1.5] }, out(), out()])).toThrow(RangeError);
    expect(() => call([{ ...out(), dtype: { code: 3, bits: 32, lanes: 1 } }, out(), out()])).toThrow(/code must be/);
    expect(() => call([{ ...out(), dtype: { code: 2, bits: 24, lanes: 1 } }, out(), out()])).toThrow(/bits must be/);
    expect(() => call([{ ...out(), shape: new Array(65).fill(1) }, out(), out()])).toThrow(/at most 64 dimensions/);
  });

  test("a shape larger than the data is refused before the kernel can overrun it", () => {
    expect(() => call([{ ...out(), shape: [3] }, out(), out()])).toThrow(/needs 12 bytes but data holds 8/);
    expect(() => call([{ ...out(), shape: [2 ** 40, 2 ** 40] }, out(), out()])).toThrow(RangeError);
    expect(() => call([{ ...out(), dtype: { code: 2, bits: 32, lanes: 2 } }, out(), out()])).toThrow(/needs 16 bytes/);
  });

  test("misaligned data is refused", () => {
    const bytes = new Uint8Array(9).subarray(1);
    expect(() => call([{ ...out(), data: bytes }, out(), out()])).toThrow(/not aligned/);
  });

  test("a typed array of another element type is reinterpreted when it is big enough", () => {
    // The addon only guards memory safety; dtype/array agreement is checked in runtime/native.ts.
    const a = new Float32Array([1.5, 2.5]);
    const c = out();
    call([{ data: new Uint8Array(a.buffer), shape: [2], dtype: F32 }, { data: a, shape: [2], dtype: F32 }, c]);
    expect(Array.from(c.data)).toEqual([3, 5]);
  });
});
