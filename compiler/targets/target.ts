/**
 * The interface every target implements (cpu now; webgpu and vta plug in the same way):
 * the loop-IR passes it needs, then how it turns lowered functions into something runnable.
 */
import type { KernelArg } from "../../runtime/native.ts";
import { LatheError } from "../../core/errors.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { Tensor } from "../te/tensor.ts";
import { lowerSchedule } from "../tir/lower.ts";
import type { Pass, PassOptions } from "../tir/pass.ts";
import { runPasses } from "../tir/pass.ts";
import type { PrimFunc } from "../tir/stmt.ts";

export interface BuildOptions {
  /** Extra compiler flags (the cpu target: e.g. AddressSanitizer). */
  readonly extraFlags?: readonly string[];
}

export interface BuiltModule {
  readonly target: string;
  readonly source: string;
  /** Where the built artifact lives (a shared library for cpu). */
  readonly artifact: string;
  /** Runs a function of the module on arguments in its parameter order. */
  run(name: string, args: readonly KernelArg[]): void;
  runAsync(name: string, args: readonly KernelArg[]): Promise<void>;
  setNumThreads(n: number): void;
}

export interface Target {
  readonly name: string;
  /** Loop-IR passes run after lowering, in order. */
  readonly passes: readonly Pass[];
  build(funcs: readonly PrimFunc[], opts?: BuildOptions): Promise<BuiltModule>;
}

/** Schedule → loop IR after `target`'s passes; `name` becomes the kernel's C symbol. */
export function lowerFor(target: Target, s: Schedule, args: readonly Tensor[], name = "kernel", opts: PassOptions = {}): PrimFunc {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new LatheError(`kernel name "${name}" is not a C identifier`);
  return runPasses(lowerSchedule(s, args, name), target.passes, opts);
}
