/**
 * Shared helpers for the operator tests (test/ops): random inputs from a seeded PRNG, and
 * `checkKernel`, which builds a schedule, runs the kernel and compares every output with
 * the reference evaluator, printing the lowered loop IR when they differ.
 */
import { expect } from "vitest";
import { build, Kernel } from "../../compiler/driver/kernel.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import type { DType, TypedArray } from "../../core/dtype.ts";
import { isFloat, typedArrayFor } from "../../core/dtype.ts";
import { evalExpr, evaluate } from "../../compiler/te/evaluate.ts";
import type { Var } from "../../compiler/te/expr.ts";
import { freeVars } from "../../compiler/te/expr.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { printFunc } from "../../compiler/tir/print.ts";
import { Rng } from "../../runtime/random.ts";
import type { KernelArg } from "../../runtime/native.ts";

/** Values of symbolic sizes, by variable name. */
export type Sizes = Readonly<Record<string, number>>;

/** The concrete shape of `t` once its symbolic sizes have the values in `sizes`. */
export function concreteShape(t: Tensor, sizes: Sizes = {}): number[] {
  return t.shape.map((d) => {
    const env = new Map<Var, number>();
    for (const v of freeVars(d)) {
      const n = sizes[v.name];
      if (n === undefined) throw new Error(`shape of ${t.name} uses size ${v.name}, which has no value`);
      env.set(v, n);
    }
    return evalExpr(d, env);
  });
}

/** A typed array of random values for `t`: floats in [-1, 1), integers over a range that suits the dtype. */
export function randomArray(rng: Rng, t: Tensor, sizes: Sizes = {}): TypedArray {
  const n = concreteShape(t, sizes).reduce((a, b) => a * b, 1);
  return fillRandom(rng, t.dtype, n);
}

export function fillRandom(rng: Rng, dtype: DType, n: number): TypedArray {
  const a = typedArrayFor(dtype, n);
  for (let k = 0; k < n; k++) {
    switch (dtype) {
      case "f32": case "f64": (a as Float32Array | Float64Array)[k] = rng.uniform(-1, 1); break;
      case "i8": (a as Int8Array)[k] = rng.int(-128, 128); break;
      case "u8": case "bool": (a as Uint8Array)[k] = rng.int(0, dtype === "bool" ? 2 : 256); break;
      case "i32": (a as Int32Array)[k] = rng.int(-1000, 1000); break;
      case "i64": (a as BigInt64Array)[k] = BigInt(rng.int(-1000, 1000)); break;
      case "f16": throw new Error("fillRandom: f16 inputs are not supported by these tests");
    }
  }
  return a;
}

/** Random inputs for every placeholder in `tensors`, from one seeded stream. */
export function randomInputs(tensors: readonly Tensor[], seed: number, sizes: Sizes = {}): Map<Tensor, TypedArray> {
  const rng = new Rng(seed);
  return new Map(tensors.map((t) => [t, randomArray(rng, t, sizes)]));
}

export interface CheckOptions {
  /** Kernel name (a C identifier). */
  readonly name?: string;
  /** Values of symbolic sizes for this run. */
  readonly sizes?: Sizes;
  /** Relative tolerance for float outputs: |got − ref| ≤ tol·(1 + |ref|). Default 1e-4. */
  readonly tol?: number;
}

/** Runs a built kernel on `inputs` and compares each output (args not in `inputs`) with the reference. */
export function runAndCheck(
  kernel: Kernel,
  args: readonly Tensor[],
  inputs: ReadonlyMap<Tensor, TypedArray>,
  opts: CheckOptions = {},
): void {
  const sizes = opts.sizes ?? {};
  const outputs = args.filter((t) => !inputs.has(t));
  if (outputs.length === 0) throw new Error("checkKernel: every argument was given as an input; no output to check");
  const results = new Map<Tensor, TypedArray>();
  const runArgs: KernelArg[] = args.map((t) => {
    const shape = concreteShape(t, sizes);
    let data = inputs.get(t);
    if (!data) {
      data = typedArrayFor(t.dtype, shape.reduce((a, b) => a * b, 1));
      // A sentinel, so elements the kernel never writes are caught.
      if (data instanceof Float32Array || data instanceof Float64Array) data.fill(NaN);
      else if (data instanceof BigInt64Array) data.fill(-0x5a5a5a5an);
      else if (data instanceof Int32Array) data.fill(-0x5a5a5a5a);
      else if (data instanceof Int8Array) data.fill(-0x5a);
      else if (data instanceof Uint8Array) data.fill(0xa5); // also not a valid bool
      results.set(t, data);
    }
    return { data, shape, dtype: t.dtype };
  });
  kernel.run(...runArgs);

  const refInputs = new Map<Tensor, ArrayLike<number | bigint>>(inputs);
  const ref = evaluate(outputs, refInputs, sizes);
  const tol = opts.tol ?? 1e-4;
  const problems: string[] = [];
  for (const t of outputs) {
    const got = results.get(t)!, want = ref.get(t)!;
    const exact = !isFloat(t.dtype);
    let bad = 0, worst = 0;
    const shape = concreteShape(t, sizes);
    for (let k = 0; k < want.length; k++) {
      const g = Number(got[k]!), r = want[k]!;
      const err = g === r ? 0 : Math.abs(g - r) / (1 + Math.abs(r));
      const ok = exact ? g === r : g === r || err <= tol; // g === r also covers equal infinities
      if (ok) continue;
      worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
      if (bad++ < 6) problems.push(`  ${t.name}[${unflatten(k, shape).join(", ")}]: got ${g}, reference ${r}`);
    }
    if (bad > 0) problems.push(`${t.name}: ${bad} of ${want.length} element(s) differ (worst relative error ${worst.toExponential(2)}, tolerance ${exact ? "exact" : tol})`);
  }
  if (problems.length > 0) {
    const ir = printFunc(kernel.func);
    expect.fail(`kernel ${kernel.func.name} differs from the reference evaluator:\n${problems.join("\n")}\n\nlowered IR:\n${ir}`);
  }
}

/**
 * Extra g++ flags for every kernel the operator tests build, e.g.
 * `LATHE_TEST_CXXFLAGS="-fsanitize=address"` (run node with the sanitizer's runtime
 * preloaded) to catch out-of-bounds accesses that happen not to change a result.
 */
const TEST_FLAGS = (process.env.LATHE_TEST_CXXFLAGS ?? "").split(/\s+/).filter(Boolean);

/** Builds a kernel (with the extra test flags, if any). */
export const buildKernel = (s: Schedule, args: readonly Tensor[], name: string): Promise<Kernel> =>
  build(s, args, { name, extraFlags: TEST_FLAGS });

/** Builds `s` with `args` (inputs then outputs, in the kernel's order), runs it and checks it. Returns the kernel. */
export async function checkKernel(
  s: Schedule,
  args: readonly Tensor[],
  inputs: ReadonlyMap<Tensor, TypedArray>,
  opts: CheckOptions = {},
): Promise<Kernel> {
  const kernel = await buildKernel(s, args, opts.name ?? "kernel");
  runAndCheck(kernel, args, inputs, opts);
  return kernel;
}

function unflatten(k: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = k % n;
    k = Math.floor(k / n);
  }
  return idx;
}

/** The kernel-name-safe form of a case name. */
export const cname = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, "_");
