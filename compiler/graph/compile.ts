/**
 * Compiles a whole graph into one native library (an ahead-of-time executor): fuse,
 * lower each fused group with its default schedule, plan memory, print every kernel and
 * the entry point into one C++ translation unit, build it through the content-hashed
 * cache. Compiling the same graph twice hits the cache.
 */
import { ShapeError } from "../errors.ts";
import { printCppModule } from "../codegen/cpp/print.ts";
import { GRAPH_ENTRY, printGraphEntry } from "../codegen/cpp/graph-entry.ts";
import { compileShared } from "../targets/cpu/toolchain.ts";
import { hostVectorBytes } from "../targets/cpu/host.ts";
import { NativeLibrary } from "../../runtime/native.ts";
import type { NativeKernel } from "../../runtime/native.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Graph } from "./graph.ts";
import type { FusionGroup } from "./passes/fuse.ts";
import { fusionGroups, singletonGroups } from "./passes/fuse.ts";
import { lowerGroup } from "./lower-group.ts";
import { makeExecPlan } from "./exec-plan.ts";
import type { ExecPlan } from "./exec-plan.ts";
import { bindDims } from "./interpret.ts";
import { SizeVars } from "./te-bridge.ts";
import { printFunc } from "../tir/print.ts";

export interface CompileGraphOptions {
  /** Extra C++ flags (e.g. AddressSanitizer in tests). */
  readonly extraFlags?: readonly string[];
  /** false: one kernel per node (for measuring what fusion buys). Default true. */
  readonly fuse?: boolean;
  /** Print each kernel's time to stderr on every run (default: LATHE_PROFILE=1). */
  readonly profile?: boolean;
}

export interface CompiledGraph {
  readonly graph: Graph;
  readonly groups: readonly FusionGroup[];
  readonly plan: ExecPlan;
  readonly source: string;
  readonly library: string;
  /** Runs on inputs in graph-input order; returns the outputs in graph-output order. */
  run(inputs: readonly Tensor[]): Tensor[];
  /** The same, writing into caller-owned output tensors (e.g. to keep parameters in place). */
  runInto(inputs: readonly Tensor[], outputs: readonly Tensor[]): void;
  setNumThreads(n: number): void;
}

export async function compileGraph(g: Graph, opts: CompileGraphOptions = {}): Promise<CompiledGraph> {
  const groups = opts.fuse === false ? singletonGroups(g) : fusionGroups(g);
  const sizes = new SizeVars();
  const vectorBytes = hostVectorBytes();
  const kernels = groups.map((grp, i) => lowerGroup(grp, `fused_${i}_${(grp.anchor ?? grp.nodes[0]!).op}`, sizes, vectorBytes));
  const plan = makeExecPlan(g, groups, kernels);
  // LATHE_SHOW_KERNELS=name1,name2 prints those kernels' loop IR (names as in LATHE_PROFILE).
  const show = (process.env.LATHE_SHOW_KERNELS ?? "").split(",").filter(Boolean);
  for (const k of kernels) if (show.includes(k.func.name)) process.stderr.write(`${printFunc(k.func)}\n`);
  const profile = opts.profile ?? process.env.LATHE_PROFILE === "1";
  const source = `${printCppModule(kernels.map((k) => k.func))}\n${printGraphEntry(plan, profile)}`;
  const built = await compileShared(source, opts.extraFlags ?? []);
  const lib = NativeLibrary.open(built.path);
  const entry = lib.kernel(GRAPH_ENTRY);
  return makeCompiled(g, groups, plan, source, built.path, lib, entry);
}

function makeCompiled(g: Graph, groups: readonly FusionGroup[], plan: ExecPlan, source: string, library: string, lib: NativeLibrary, entry: NativeKernel): CompiledGraph {
  const constants = g.constants.map((c) => ({ data: c.data, shape: c.value.type.shape as number[], dtype: c.value.type.dtype }));
  const outShapes = (inputs: readonly Tensor[]) => {
    const dims = bindDims(g.inputs, inputs.map((t) => t.shape));
    return g.outputs.map((o) => o.type.shape.map((d) => (typeof d === "number" ? d : dims.get(d)!)));
  };
  const check = (inputs: readonly Tensor[]) => {
    if (inputs.length !== g.inputs.length) throw new ShapeError(`graph takes ${g.inputs.length} inputs (${g.inputs.map((v) => v.name).join(", ")}), got ${inputs.length}`);
    inputs.forEach((t, i) => {
      if (t.dtype !== g.inputs[i]!.type.dtype) throw new ShapeError(`input ${g.inputs[i]!.name}: expected dtype ${g.inputs[i]!.type.dtype}, got ${t.dtype}`);
    });
  };
  const runInto = (inputs: readonly Tensor[], outputs: readonly Tensor[]) => {
    check(inputs);
    const shapes = outShapes(inputs);
    if (outputs.length !== g.outputs.length) throw new ShapeError(`graph has ${g.outputs.length} outputs, got ${outputs.length} tensors`);
    outputs.forEach((t, i) => {
      const want = shapes[i]!;
      if (t.dtype !== g.outputs[i]!.type.dtype || t.shape.length !== want.length || t.shape.some((d, k) => d !== want[k])) {
        throw new ShapeError(`output ${g.outputs[i]!.name}: expected ${g.outputs[i]!.type.dtype}[${want.join(", ")}], got ${t.dtype}[${t.shape.join(", ")}]`);
      }
    });
    entry.call([...inputs, ...constants, ...outputs]);
  };
  return {
    graph: g, groups, plan, source, library,
    run(inputs) {
      check(inputs);
      const outs = outShapes(inputs).map((shape, i) => Tensor.zeros(shape, g.outputs[i]!.type.dtype));
      runInto(inputs, outs);
      return outs;
    },
    runInto,
    setNumThreads: (n) => lib.setNumThreads(n),
  };
}
