/**
 * The public target-plugin interface. Built-in targets (cpu, vta; webgpu to follow) and
 * out-of-tree packages (examples/openblas-target) describe themselves with exactly this
 * shape, register through compiler/targets/registry.ts, and are found by name.
 *
 * A plugin is a record of capabilities; only `name`, `description` and `passes` are
 * required, plus a way to run code: `codegen` + `build` (loop-IR kernels into a module,
 * and, when the printed code is C++ with Lathe's kernel ABI, whole graphs through
 * compiler/targets/cpu/graph.ts) or `graph` (a target with its own graph runner, e.g. vta).
 * Outside packages import this file through the repository's `plugin-api.ts`.
 */
import { LatheError } from "../../core/errors.ts";
import type { Config, ConfigSpace } from "../autotune/space.ts";
import type { Graph, Node, Value } from "../graph/graph.ts";
import type { FusionGroup } from "../graph/passes/fuse.ts";
import { getOp } from "../ops/registry.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { DType, TypedArray } from "../../core/dtype.ts";
import type { Tensor } from "../te/tensor.ts";
import type { Pass } from "../tir/pass.ts";
import type { PrimFunc } from "../tir/stmt.ts";
import type { BuildOptions, BuiltModule } from "./target.ts";
import type { Tensor as RuntimeTensor } from "../../runtime/tensor.ts";

/** What a fused group's schedule hook (and tuning hook) is given. */
export interface GroupScheduleContext {
  readonly group: FusionGroup;
  /** The computes the kernel writes, in the group's output order. */
  readonly outputs: readonly Tensor[];
  /** The anchor's first output (a reduction or out-elementwise-fusable op), or null. */
  readonly anchor: Tensor | null;
  readonly anchorOp: string | null;
}

/** A tunable schedule for one group: its knobs (defineSpace) and how a config schedules it. */
export interface TuningTemplate {
  readonly space: ConfigSpace;
  apply(s: Schedule, config: Config): void;
}

/**
 * Memory and execution on the target's device. Buffers are the device's own objects; a
 * device rejects buffers it did not allocate. Host targets copy into typed arrays.
 */
export interface DeviceBuffer {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export interface TargetDevice {
  readonly kind: "host" | "accelerator";
  alloc(dtype: DType, shape: readonly number[]): DeviceBuffer;
  upload(dst: DeviceBuffer, src: TypedArray): Promise<void>;
  download(src: DeviceBuffer): Promise<TypedArray>;
  /** Runs kernel `fn` of a module built by this target on device buffers, in parameter order. */
  launch(mod: BuiltModule, fn: string, args: readonly DeviceBuffer[]): Promise<void>;
  /** Resolves when all launched work is done. */
  sync(): Promise<void>;
}

/** A matched op chain: nodes producer first; each feeds the next and nothing else. */
export interface PatternMatch {
  readonly nodes: readonly Node[];
  /** Values the chain reads from outside, in first-use order (the kernel's first arguments). */
  readonly inputs: readonly Value[];
  /** The last node's output (the kernel's last argument). */
  readonly output: Value;
}

export interface ExternalKernel extends PatternMatch {
  /** The C symbol to define: `extern "C" int32_t <symbol>(const LatheTensor* args, int32_t num_args)`. */
  readonly symbol: string;
}

/**
 * Bring-your-own-codegen: an op chain the target takes over. Each match becomes one
 * kernel whose C++ the pattern emits (typically a call into a vendor library); the rest
 * of the graph compiles as usual. Arguments are the match's inputs then its output, as
 * LatheTensor descriptors (native/include/lathe_rt.h).
 */
export interface ExternalPattern {
  readonly name: string;
  /** Op names, producer first, e.g. ["matmul"] or ["matmul", "add", "relu"]. */
  readonly ops: readonly string[];
  /** Further conditions (dtypes, ranks, attributes); absent: every chain of these ops. */
  readonly accepts?: (m: PatternMatch) => boolean;
  /** The kernel's C++ source (includes it needs may come first). */
  readonly emit: (k: ExternalKernel) => string;
}

/** A target with its own graph runner (it does not print C++ kernels for compile.ts). */
export interface GraphRunner {
  run(g: Graph, inputs: readonly { readonly data: ArrayLike<number>; readonly shape: readonly number[] }[]): Promise<{ data: Float64Array; shape: number[] }[]>;
}

export interface TargetOptions {
  /** Flags appended to the cpu toolchain's command line (after the source: libraries link). */
  readonly linkFlags?: readonly string[];
  /** Free-form settings the plugin documents (tile sizes, simulator, …). */
  readonly [key: string]: unknown;
}

/** A whole graph compiled for a target: what the driver's compile() returns. */
export interface GraphModule {
  readonly graph: Graph;
  /** Host tensors in (graph-input order), host tensors out (graph-output order). */
  run(inputs: readonly RuntimeTensor[]): RuntimeTensor[] | Promise<RuntimeTensor[]>;
}

export interface TargetPlugin {
  /** Lower-case, e.g. "cpu", "openblas-cpu"; recorded in artifact manifests. */
  readonly name: string;
  readonly description: string;
  readonly options?: TargetOptions;
  /** Loop-IR passes run after lowering, in order. */
  readonly passes: readonly Pass[];
  /** The printer: lowered kernels → source text. */
  readonly codegen?: (funcs: readonly PrimFunc[]) => string;
  /** Kernels → a runnable module. */
  readonly build?: (funcs: readonly PrimFunc[], opts?: BuildOptions) => Promise<BuiltModule>;
  readonly device?: TargetDevice;
  /** The default schedule of a fused group (every computed stage of `s`). */
  readonly schedule?: (s: Schedule, ctx: GroupScheduleContext) => void;
  /** The tuning template of a group, or null where the target has none for it. */
  readonly tuning?: (s: Schedule, ctx: GroupScheduleContext) => TuningTemplate | null;
  /** Op chains the target takes over in whole-graph compilation (BYOC). */
  readonly patterns?: readonly ExternalPattern[];
  /** Targets whose graphs do not go through compile.ts. */
  readonly graph?: GraphRunner;
  /**
   * Compiles a whole graph into a module (the driver's compile() calls it). Absent on the cpu
   * target and plugins derived from it: their graphs go through the cpu graph compiler
   * (targets/cpu/graph.ts) with the plugin's hooks.
   */
  readonly compileGraph?: (g: Graph, opts?: object) => Promise<GraphModule>;
}

/** Identity with checking: the way a plugin module declares its target. */
export function defineTarget(p: TargetPlugin): TargetPlugin {
  return validateTarget(p, `target ${String((p as { name?: unknown }).name)}`);
}

const isFn = (x: unknown): boolean => typeof x === "function";

/**
 * Checks a value has the TargetPlugin shape; `where` names it in errors (a package and an
 * export). Every problem is reported by the member's name.
 */
export function validateTarget(x: unknown, where: string): TargetPlugin {
  const fail = (why: string): never => { throw new LatheError(`${where}: ${why}`); };
  if (typeof x !== "object" || x === null) return fail(`is not a target plugin object (got ${x === null ? "null" : typeof x})`);
  const p = x as Record<string, unknown>;
  if (typeof p.name !== "string") fail('is missing member "name" (a string)');
  const name = p.name as string;
  if (!/^[a-z][a-z0-9-]*$/.test(name)) fail(`name "${name}" must be lower-case letters, digits and dashes`);
  if (typeof p.description !== "string") fail(`target ${name} is missing member "description" (a string)`);
  if (!Array.isArray(p.passes)) fail(`target ${name} is missing member "passes" (an array of loop-IR passes)`);
  (p.passes as unknown[]).forEach((q, i) => {
    const pass = q as Record<string, unknown> | null;
    if (typeof pass !== "object" || pass === null || typeof pass.name !== "string" || !isFn(pass.run)) fail(`target ${name}: passes[${i}] is not a {name, run} pass`);
  });
  for (const m of ["codegen", "build", "schedule", "tuning", "compileGraph"] as const) {
    if (p[m] !== undefined && !isFn(p[m])) fail(`target ${name}: member "${m}" must be a function`);
  }
  if (p.build === undefined && p.graph === undefined) fail(`target ${name} is missing member "build" (or "graph"): it has no way to run code`);
  if (p.build !== undefined && p.codegen === undefined) fail(`target ${name} is missing member "codegen" (a printer; "build" needs one)`);
  if (p.graph !== undefined && !isFn((p.graph as Record<string, unknown> | null)?.run)) fail(`target ${name}: member "graph" must have a run function`);
  if (p.device !== undefined) {
    const d = p.device as Record<string, unknown> | null;
    for (const m of ["alloc", "upload", "download", "launch", "sync"]) if (!isFn(d?.[m])) fail(`target ${name}: device is missing member "${m}"`);
  }
  if (p.options !== undefined) {
    const lf = (p.options as Record<string, unknown> | null)?.linkFlags;
    if (lf !== undefined && !(Array.isArray(lf) && lf.every((f) => typeof f === "string"))) fail(`target ${name}: options.linkFlags must be an array of strings`);
  }
  if (p.patterns !== undefined) {
    if (!Array.isArray(p.patterns)) fail(`target ${name}: member "patterns" must be an array`);
    (p.patterns as unknown[]).forEach((q, i) => {
      const pat = q as Record<string, unknown> | null;
      const label = `target ${name}: patterns[${i}]`;
      if (typeof pat !== "object" || pat === null) return fail(`${label} is not an object`);
      if (typeof pat.name !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(pat.name)) fail(`${label} needs a "name" that is a C identifier`);
      if (!Array.isArray(pat.ops) || pat.ops.length === 0 || !pat.ops.every((o) => typeof o === "string")) fail(`${label} (${String(pat.name)}) needs "ops", a non-empty list of op names`);
      for (const o of pat.ops as string[]) {
        try { getOp(o, `${label}`); } catch { fail(`${label} (${String(pat.name)}) names op "${o}", which is not in the op registry`); }
      }
      if (!isFn(pat.emit)) fail(`${label} (${String(pat.name)}) is missing member "emit" (a function returning C++)`);
      if (pat.accepts !== undefined && !isFn(pat.accepts)) fail(`${label} (${String(pat.name)}): "accepts" must be a function`);
    });
  }
  return x as TargetPlugin;
}
