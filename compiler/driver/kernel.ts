/**
 * The operator compiler's entry points: lower a schedule to loop IR (with the target's
 * passes) and build it into a runnable kernel.
 */
import { LatheError, ShapeError } from "../../core/errors.ts";
import type { Tensor } from "../te/tensor.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { PassOptions } from "../tir/pass.ts";
import type { PrimFunc } from "../tir/stmt.ts";
import { lowerFor, type BuiltModule, type Target } from "../targets/target.ts";
import { cpuTarget } from "../targets/cpu/index.ts";
import { webgpuTarget } from "../targets/webgpu/index.ts";
import type { KernelArg } from "../../runtime/native.ts";
import type { TypedArray } from "../../core/dtype.ts";

export const targets: Readonly<Record<string, Target>> = { cpu: cpuTarget, webgpu: webgpuTarget };

export interface CompileOptions extends PassOptions {
  readonly name?: string;
  readonly target?: string | Target;
  readonly extraFlags?: readonly string[];
}

function targetOf(t: CompileOptions["target"]): Target {
  if (t === undefined) return cpuTarget;
  if (typeof t !== "string") return t;
  const found = Object.hasOwn(targets, t) ? targets[t] : undefined;
  if (!found) throw new LatheError(`unknown target "${t}" (known: ${Object.keys(targets).join(", ")})`);
  return found;
}

/** Schedule → loop IR after the target's passes. */
export function lower(s: Schedule, args: readonly Tensor[], opts: CompileOptions = {}): PrimFunc {
  return lowerFor(targetOf(opts.target), s, args, opts.name, opts);
}

export class Kernel {
  constructor(readonly func: PrimFunc, readonly module: BuiltModule, private readonly args: readonly Tensor[]) {}

  get source(): string { return this.module.source; }

  /** Runs on arrays in argument order (inputs and outputs); shapes come from the tensors unless given. */
  run(...arrays: (TypedArray | KernelArg)[]): void { this.module.run(this.func.name, this.bind(arrays)); }
  runAsync(...arrays: (TypedArray | KernelArg)[]): Promise<void> { return this.module.runAsync(this.func.name, this.bind(arrays)); }

  private bind(arrays: readonly (TypedArray | KernelArg)[]): KernelArg[] {
    if (arrays.length !== this.args.length) {
      throw new ShapeError(`kernel ${this.func.name} takes ${this.args.length} arrays (${this.args.map((a) => a.name).join(", ")}), got ${arrays.length}`);
    }
    return arrays.map((a, k) => {
      if ("shape" in a && "dtype" in a && "data" in a) return a as KernelArg;
      const t = this.args[k]!;
      const shape = t.shape.map((d) => {
        if (d.kind !== "const") throw new ShapeError(`kernel ${this.func.name}: argument ${t.name} has a symbolic shape; pass {data, shape, dtype}`);
        return d.value;
      });
      return { data: a as TypedArray, shape, dtype: t.dtype };
    });
  }
}

/** Lowers and compiles one kernel (cached by content). */
export async function build(s: Schedule, args: readonly Tensor[], opts: CompileOptions = {}): Promise<Kernel> {
  const target = targetOf(opts.target);
  const f = lower(s, args, opts);
  const mod = await target.build([f], { extraFlags: opts.extraFlags ?? [] });
  return new Kernel(f, mod, args);
}
