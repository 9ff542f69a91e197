/**
 * The interface every target implements (cpu now; webgpu and vta plug in the same way):
 * the loop-IR passes it needs, then how it turns lowered functions into something runnable.
 */
import type { KernelArg } from "../../runtime/native.ts";
import type { Pass } from "../tir/pass.ts";
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
