/**
 * Whole graphs on WebGPU: fuse (compiler/graph/passes/fuse.ts), lower each fused group
 * with the GPU default schedule (or its task's tuned config, `tuned`), plan intermediate
 * memory (compiler/lower/memory-plan.ts), build one pipeline per kernel, and run the kernels
 * in order from one command buffer. A group the GPU schedules cannot run as one kernel is
 * split into one kernel per op (each looked up in `tuned` under its own task key).
 *
 * The dispatch plan for a set of input shapes — storage buffers, bind groups, grids — is
 * built once and reused; `runDevice` takes and fills device buffers, so a caller (the
 * training step) can keep tensors on the GPU between runs. Constants are uploaded once.
 */
import { BuildError, LatheError, ShapeError } from "../../../core/errors.ts";
import { printWgsl } from "../../codegen/wgsl/print.ts";
import type { WgslKernel } from "../../codegen/wgsl/print.ts";
import { storageType } from "../../codegen/wgsl/types.ts";
import { bindDims } from "../../../runtime/signature.ts";
import type { Graph, Value } from "../../graph/graph.ts";
import type { FusionGroup } from "../../graph/passes/fuse.ts";
import { fusionGroups, singletonGroups } from "../../graph/passes/fuse.ts";
import { planMemory, type MemoryPlan } from "../../lower/memory-plan.ts";
import { SizeVars } from "../../graph/te-bridge.ts";
import type { PrimFunc } from "../../tir/stmt.ts";
import { shapeSize } from "../../../runtime/shape.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import type { GpuBuffer, GpuCommand, GpuDevice, Pipeline } from "./device.ts";
import { gpuDevice, storageBytes } from "./device.ts";
import { lowerGroupGpu } from "./lower-group.ts";
import type { GpuScheduleConfig } from "./schedules.ts";
import { DEFAULT_GPU_CONFIG } from "./schedules.ts";
import type { WebGpuTunedConfigs } from "./tuning.ts";

export interface WebGpuGraphOptions {
  /** false: one kernel per node. Default true. */
  readonly fuse?: boolean;
  readonly schedule?: GpuScheduleConfig;
  /**
   * Tuned schedules: task key (groupTaskKey(group, "webgpu")) → config, from a tuning log
   * (tuning.ts loadWebGpuTunedConfigs). A group whose config its webgpu space accepts is
   * lowered with it; every other group with `schedule`.
   */
  readonly tuned?: WebGpuTunedConfigs;
}

export interface GpuKernel {
  readonly func: PrimFunc;
  readonly wgsl: WgslKernel;
  readonly pipeline: Pipeline;
  /** Kernel arguments: the group's inputs, then its outputs. */
  readonly args: readonly Value[];
  /** Whether it was lowered with a tuned config (WebGpuGraphOptions.tuned). */
  readonly tuned: boolean;
}

export interface WebGpuGraph {
  readonly graph: Graph;
  readonly device: GpuDevice;
  readonly groups: readonly FusionGroup[];
  readonly kernels: readonly GpuKernel[];
  /** Intermediate values → storage blocks (what artifact.ts writes as the plan's scratch buffers). */
  readonly memory: MemoryPlan;
  /** Host tensors in (graph-input order), host tensors out (graph-output order). */
  run(inputs: readonly Tensor[]): Promise<Tensor[]>;
  /**
   * Device buffers in, device buffers out: runs the graph reading `inputs` and writing
   * `outputs` (one per graph output, of the output's dtype and size). Only submits the
   * work; read results with `device.read`, which waits for it.
   */
  runDevice(inputs: readonly GpuBuffer[], outputs: readonly GpuBuffer[], shapes: readonly (readonly number[])[]): void;
  /** Output shapes for input shapes. */
  outputShapes(shapes: readonly (readonly number[])[]): number[][];
  /** Runs each kernel on its own and waits for it: kernel name → milliseconds. */
  profile(inputs: readonly GpuBuffer[], outputs: readonly GpuBuffer[], shapes: readonly (readonly number[])[]): Promise<Map<string, number>>;
}

export async function compileGraphWebGpu(g: Graph, opts: WebGpuGraphOptions = {}): Promise<WebGpuGraph> {
  const device = await gpuDevice();
  const cfg = opts.schedule ?? DEFAULT_GPU_CONFIG;
  const sizes = new SizeVars();
  const groups: FusionGroup[] = [];
  const lowered: { func: PrimFunc; wgsl: WgslKernel; args: readonly Value[]; tuned: boolean }[] = [];
  const singles = singletonGroups(g);
  const lowerOne = (grp: FusionGroup) => {
    const l = lowerGroupGpu(grp, `k${lowered.length}_${(grp.anchor ?? grp.nodes[0]!).op}`, sizes, cfg, opts.tuned);
    const wgsl = printWgsl(l.func, { f16: device.f16 });
    groups.push(grp);
    lowered.push({ func: l.func, wgsl, args: l.args, tuned: l.tuned });
  };
  // Every node the GPU cannot compile is collected, so one error names all of them.
  const failed: string[] = [];
  const lowerSingle = (grp: FusionGroup) => {
    try {
      lowerOne(grp);
    } catch (e) {
      if (!(e instanceof LatheError)) throw e;
      const n = grp.nodes[0]!;
      failed.push(`${n.op} (node ${n.name}): ${e.message.split("\n")[0]}`);
    }
  };
  for (const grp of opts.fuse === false ? singles : fusionGroups(g)) {
    if (grp.nodes.length === 1) { lowerSingle(grp); continue; }
    try {
      lowerOne(grp);
    } catch (e) {
      if (!(e instanceof LatheError)) throw e;
      // The GPU schedules cannot run this group as one kernel: one kernel per op instead.
      for (const n of grp.nodes) lowerSingle(singles.find((s) => s.nodes[0] === n)!);
    }
  }
  if (failed.length > 0) {
    throw new BuildError(`webgpu cannot compile ${failed.length} node${failed.length > 1 ? "s" : ""}: ${failed.join("; ")}`);
  }
  const pipelines = await Promise.all(lowered.map((l) => device.pipeline(l.wgsl)));
  const kernels = lowered.map((l, i) => ({ ...l, pipeline: pipelines[i]! }));
  return new GraphRunner(g, device, groups, kernels);
}

/** The buffers and bind groups for one set of input shapes. */
interface Plan {
  readonly dims: ReadonlyMap<string, number>;
  readonly storages: readonly GPUBuffer[];
  /** Buffers of graph inputs/outputs for host runs (reused across runs). */
  readonly hostInputs: GpuBuffer[];
  readonly hostOutputs: GpuBuffer[];
  /** Bind groups per (input, output buffer) set, most recent first. */
  readonly groups: { key: string; commands: GpuCommand[] }[];
}

const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 0;
const idOf = (b: GPUBuffer): number => {
  let id = bufferIds.get(b);
  if (id === undefined) { id = nextBufferId++; bufferIds.set(b, id); }
  return id;
};

/** Bind-group sets kept per plan (a training step alternates between two). */
const MAX_BINDINGS = 4;

class GraphRunner implements WebGpuGraph {
  private readonly plans = new Map<string, Plan>();
  private readonly constants: GpuBuffer[];
  readonly memory: MemoryPlan;

  constructor(
    readonly graph: Graph,
    readonly device: GpuDevice,
    readonly groups: readonly FusionGroup[],
    readonly kernels: readonly GpuKernel[],
  ) {
    this.constants = graph.constants.map((c) => device.upload(c.value.type.dtype, c.data, `constant ${c.value.name}`));
    const external = new Set<Value>([...graph.inputs, ...graph.constants.map((c) => c.value), ...graph.outputs]);
    this.memory = planMemory(groups, external);
  }

  outputShapes(shapes: readonly (readonly number[])[]): number[][] {
    const dims = bindDims(this.graph.inputs, shapes);
    return this.graph.outputs.map((o) => o.type.shape.map((d) => (typeof d === "number" ? d : dims.get(d)!)));
  }

  private concrete(v: Value, dims: ReadonlyMap<string, number>): number[] {
    return v.type.shape.map((d) => {
      if (typeof d === "number") return d;
      const n = dims.get(d);
      if (n === undefined) throw new LatheError(`symbolic dimension ${d} of ${v.name} is not the size of any graph input`);
      return n;
    });
  }

  private plan(shapes: readonly (readonly number[])[]): Plan {
    const key = shapes.map((s) => s.join("x")).join(",");
    let p = this.plans.get(key);
    if (p) return p;
    const dims = bindDims(this.graph.inputs, shapes);
    // Each storage block holds, at different times, values of possibly different dtypes.
    const bytes = new Map<number, number>();
    for (const [v, s] of this.memory.assignment) {
      const n = shapeSize(this.concrete(v, dims)) * storageBytes(storageType(v.type.dtype, v.name));
      bytes.set(s.id, Math.max(bytes.get(s.id) ?? 4, Math.ceil(n / 4) * 4));
    }
    const storages = this.memory.storages.map((s) => this.device.alloc("u8", (bytes.get(s.id) ?? 4) / 4, `storage ${s.id}`).buffer);
    const host = (v: Value, what: string) => this.device.alloc(v.type.dtype, shapeSize(this.concrete(v, dims)), what);
    p = {
      dims, storages,
      hostInputs: this.graph.inputs.map((v) => host(v, `input ${v.name}`)),
      hostOutputs: this.graph.outputs.map((v) => host(v, `output ${v.name}`)),
      groups: [],
    };
    this.plans.set(key, p);
    return p;
  }

  private commands(p: Plan, inputs: readonly GpuBuffer[], outputs: readonly GpuBuffer[]): GpuCommand[] {
    const key = [...inputs, ...outputs].map((b) => idOf(b.buffer)).join(",");
    const hit = p.groups.find((x) => x.key === key);
    if (hit) return hit.commands;
    const where = new Map<Value, GpuBuffer>();
    this.graph.inputs.forEach((v, i) => where.set(v, inputs[i]!));
    this.graph.constants.forEach((c, i) => where.set(c.value, this.constants[i]!));
    const copies: GpuCommand[] = [];
    this.graph.outputs.forEach((v, i) => {
      if (where.has(v)) copies.push({ kind: "copy", from: where.get(v)!, to: outputs[i]! });
      else where.set(v, outputs[i]!);
    });
    const bufferOf = (v: Value): GpuBuffer => {
      const b = where.get(v);
      if (b) return b;
      const s = this.memory.assignment.get(v);
      if (!s) throw new LatheError(`value ${v.name} has no storage (internal)`);
      const length = shapeSize(this.concrete(v, p.dims));
      return { buffer: p.storages[s.id]!, dtype: v.type.dtype, length, bytes: p.storages[s.id]!.size };
    };
    const commands: GpuCommand[] = this.kernels.map((k) => {
      const bufs = k.args.map(bufferOf);
      const sizes = k.func.sizeVars.map((sv) => this.concrete(k.args[sv.param]!, p.dims)[sv.dim]!);
      const { group, grid } = this.device.bindGroup(k.pipeline, bufs, sizes);
      return { kind: "dispatch", pipeline: k.pipeline, group, grid };
    });
    commands.push(...copies);
    p.groups.unshift({ key, commands });
    if (p.groups.length > MAX_BINDINGS) p.groups.pop();
    return commands;
  }

  runDevice(inputs: readonly GpuBuffer[], outputs: readonly GpuBuffer[], shapes: readonly (readonly number[])[]): void {
    const g = this.graph;
    if (inputs.length !== g.inputs.length) throw new ShapeError(`graph takes ${g.inputs.length} inputs (${g.inputs.map((v) => v.name).join(", ")}), got ${inputs.length}`);
    if (outputs.length !== g.outputs.length) throw new ShapeError(`graph has ${g.outputs.length} outputs, got ${outputs.length} buffers`);
    const p = this.plan(shapes);
    const check = (v: Value, b: GpuBuffer, what: string) => {
      const n = shapeSize(this.concrete(v, p.dims));
      if (b.dtype !== v.type.dtype || b.length !== n) throw new ShapeError(`${what} ${v.name}: expected ${v.type.dtype} × ${n}, got a buffer of ${b.dtype} × ${b.length}`);
    };
    g.inputs.forEach((v, i) => check(v, inputs[i]!, "input"));
    g.outputs.forEach((v, i) => check(v, outputs[i]!, "output"));
    this.device.submit(this.commands(p, inputs, outputs));
  }

  /** Runs each kernel on its own and waits for it: kernel name → milliseconds (LATHE_PROFILE's numbers). */
  async profile(inputs: readonly GpuBuffer[], outputs: readonly GpuBuffer[], shapes: readonly (readonly number[])[]): Promise<Map<string, number>> {
    const commands = this.commands(this.plan(shapes), inputs, outputs);
    const times = new Map<string, number>();
    for (const c of commands) {
      const t0 = performance.now();
      this.device.submit([c]);
      await this.device.sync();
      const name = c.kind === "dispatch" ? c.pipeline.kernel.name : "copy";
      times.set(name, (times.get(name) ?? 0) + performance.now() - t0);
    }
    return times;
  }

  async run(inputs: readonly Tensor[]): Promise<Tensor[]> {
    const g = this.graph;
    if (inputs.length !== g.inputs.length) throw new ShapeError(`graph takes ${g.inputs.length} inputs (${g.inputs.map((v) => v.name).join(", ")}), got ${inputs.length}`);
    inputs.forEach((t, i) => {
      if (t.dtype !== g.inputs[i]!.type.dtype) throw new ShapeError(`input ${g.inputs[i]!.name}: expected dtype ${g.inputs[i]!.type.dtype}, got ${t.dtype}`);
    });
    const shapes = inputs.map((t) => t.shape);
    const p = this.plan(shapes);
    inputs.forEach((t, i) => this.device.write(p.hostInputs[i]!, t.data));
    this.runDevice(p.hostInputs, p.hostOutputs, shapes);
    const outShapes = this.outputShapes(shapes);
    return Promise.all(g.outputs.map(async (v, i) => new Tensor(await this.device.read(p.hostOutputs[i]!), outShapes[i]!, v.type.dtype)));
  }
}
