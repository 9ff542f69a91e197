/**
 * Opens a webgpu artifact (format.ts) on a GPUDevice and runs its plan: shared by the
 * browser (index.ts, files over fetch) and Node (runtime/webgpu-artifact.ts, files from
 * disk, Dawn's device). No Node APIs. Every file is checked against the manifest (size,
 * then SHA-256) before anything reaches the device; what was checked is what is used.
 *
 * A run writes the inputs, records every dispatch of the plan in one compute pass (copies
 * end it), submits, and reads the outputs back. Buffers and bind groups are made once per
 * set of input shapes and reused.
 */
import type { DType, TypedArray } from "../../core/dtype.ts";
import { ARRAY_CLASS } from "../../core/dtype.ts";
import { LatheError, RuntimeError, ShapeError } from "../../core/errors.ts";
import { bindDims } from "../signature.ts";
import type { PlanBuffer, PlanDispatch, WebGpuFileRef, WebGpuManifest, WebGpuPlan, WebGpuTensorSpec } from "./format.ts";
import { WEBGPU_MANIFEST_FILE, bufferBytes, evalGrid, parseWebGpuManifest, parseWebGpuPlan, sha256Hex } from "./format.ts";
import { decodeParamsWeb } from "./params.ts";
import { fromStorageBytes, toStorageBytes } from "./storage.ts";

// GPUBufferUsage / GPUMapMode / GPUShaderStage values (WebGPU spec): Dawn in Node has no such globals.
const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_READ = 1;
const SHADER_COMPUTE = 4;

/** Where the artifact's files come from: a directory (Node) or a URL (browser). */
export interface ArtifactSource {
  /** A file's bytes; a missing or unreadable file is a LatheError naming it. */
  read(file: string): Promise<Uint8Array>;
  /** How errors name a file (a path or a URL). */
  where(file: string): string;
}

/** A host tensor: Lathe's typed-array layout for its dtype (f16 as Uint16Array bits, bool as Uint8Array). */
export interface HostTensor {
  readonly data: TypedArray;
  readonly shape: readonly number[];
}

export interface WebTensor extends HostTensor { readonly dtype: DType }

export interface WebGpuModule {
  readonly manifest: WebGpuManifest;
  readonly inputs: readonly WebGpuTensorSpec[];
  readonly outputs: readonly WebGpuTensorSpec[];
  /** Inputs by name (or in manifest order); outputs by name. A plain typed array is enough for an input of constant shape. */
  run(inputs: Readonly<Record<string, HostTensor | TypedArray>> | readonly (HostTensor | TypedArray)[]): Promise<Record<string, WebTensor>>;
  /** Inputs and outputs in manifest order. */
  runOrdered(inputs: readonly (HostTensor | TypedArray)[]): Promise<WebTensor[]>;
  /** Frees the device buffers; later runs throw. */
  destroy(): void;
}

/** Reads a file the manifest names and checks its size and SHA-256. */
async function readVerifiedFile(src: ArtifactSource, ref: WebGpuFileRef, what: string): Promise<Uint8Array> {
  const bytes = await src.read(ref.file);
  const where = src.where(ref.file);
  if (bytes.length !== ref.bytes) throw new LatheError(`${where}: the artifact's ${what} has ${bytes.length} bytes, the manifest says ${ref.bytes} (truncated or replaced)`);
  if (await sha256Hex(bytes) !== ref.sha256) throw new LatheError(`${where}: the artifact's ${what} does not match the manifest's sha256 (modified or corrupt)`);
  return bytes;
}

const spell = (s: { dtype: DType; shape: readonly (number | string)[] }) => `${s.dtype}[${s.shape.join(", ")}]`;

interface Compiled { readonly pipeline: GPUComputePipeline }

/** The buffers and commands for one set of input shapes. */
interface Bound {
  readonly buffers: GPUBuffer[];
  readonly uniforms: GPUBuffer[];
  readonly dispatches: { pipeline: GPUComputePipeline; group: GPUBindGroup; grid: [number, number, number] }[];
  readonly outputShapes: number[][];
}

export async function openWebGpuArtifact(src: ArtifactSource, device: GPUDevice): Promise<WebGpuModule> {
  const manifest = await parseWebGpuManifest(await src.read(WEBGPU_MANIFEST_FILE), src.where(WEBGPU_MANIFEST_FILE));
  if (manifest.device.shaderF16 && !device.features.has("shader-f16")) {
    throw new RuntimeError(`${src.where(WEBGPU_MANIFEST_FILE)}: the artifact's kernels use f16 (compiled on ${manifest.device.adapter}), but this device lacks the shader-f16 feature`);
  }
  // Everything is read and verified before the device sees any of it.
  const paramBytes = await readVerifiedFile(src, manifest.params, "parameters");
  const planBytes = await readVerifiedFile(src, manifest.plan, "execution plan");
  const kernelCode = new Map<string, string>();
  for (const k of manifest.kernels) kernelCode.set(k.file, new TextDecoder().decode(await readVerifiedFile(src, k, "kernel")));
  const params = decodeParamsWeb(paramBytes, src.where(manifest.params.file));
  if (params.length !== manifest.constants.length) throw new LatheError(`${src.where(manifest.params.file)}: ${params.length} parameters, the manifest lists ${manifest.constants.length}`);
  params.forEach((p, i) => {
    const c = manifest.constants[i]!;
    if (p.name !== c.name || p.dtype !== c.dtype || p.shape.join(",") !== c.shape.join(",")) {
      throw new LatheError(`${src.where(manifest.params.file)}: parameter ${i} is ${p.name}: ${spell(p)}, the manifest says ${c.name}: ${spell(c)}`);
    }
  });
  const plan: WebGpuPlan = parseWebGpuPlan(planBytes, manifest, src.where(manifest.plan.file));

  const pipelines = new Map<string, Compiled>();
  for (const d of plan.dispatches) {
    if (!pipelines.has(d.kernel)) pipelines.set(d.kernel, await compileKernel(device, d, kernelCode.get(d.kernel)!, src.where(d.kernel)));
  }
  const paramBuffers = new Map<number, GPUBuffer>();
  for (const b of plan.buffers) {
    if (b.kind !== "param") continue;
    const p = params[b.index]!;
    const buf = device.createBuffer({ size: bufferBytes(p.data.length, b.storage), usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST, label: `param ${p.name}` });
    const bytes = toStorageBytes(p.dtype, b.storage, p.data);
    device.queue.writeBuffer(buf, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    paramBuffers.set(b.id, buf);
  }

  const inputSpecs = manifest.inputs.map((s) => ({ name: s.name, type: { dtype: s.dtype, shape: [...s.shape] } }));
  const bound = new Map<string, Bound>();
  let destroyed = false;

  const dimsOf = (shape: readonly (number | string)[], dims: ReadonlyMap<string, number>, what: string): number[] => shape.map((d) => {
    if (typeof d === "number") return d;
    const n = dims.get(d);
    if (n === undefined) throw new ShapeError(`${what}: symbolic dimension ${d} is not bound by any input`);
    return n;
  });
  const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const bufferSize = (b: PlanBuffer, dims: ReadonlyMap<string, number>): number => b.kind === "scratch"
    ? Math.max(4, ...b.values.map((v) => bufferBytes(count(dimsOf(v.shape, dims, v.name)), v.storage)))
    : bufferBytes(count(dimsOf(b.shape, dims, `buffer ${b.id}`)), b.storage);

  const bind = (shapes: readonly (readonly number[])[]): Bound => {
    const key = shapes.map((s) => s.join("x")).join(",");
    const hit = bound.get(key);
    if (hit) return hit;
    const dims = bindDims(inputSpecs, shapes);
    const buffers = plan.buffers.map((b) => paramBuffers.get(b.id) ?? device.createBuffer({
      size: bufferSize(b, dims), usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST, label: `${b.kind} ${b.id}`,
    }));
    const uniforms: GPUBuffer[] = [];
    const dispatches = plan.dispatches.map((d: PlanDispatch) => {
      const p = pipelines.get(d.kernel)!;
      const entries: GPUBindGroupEntry[] = d.bindings.map((b, i) => ({ binding: i, resource: { buffer: buffers[b.buffer]! } }));
      const sizes = dimsOf(d.sizes, dims, d.kernel);
      if (d.sizesBinding !== null) {
        const data = new Int32Array(Math.ceil(sizes.length / 4) * 4);
        data.set(sizes);
        const u = device.createBuffer({ size: data.byteLength, usage: USAGE.UNIFORM | USAGE.COPY_DST });
        device.queue.writeBuffer(u, 0, data);
        uniforms.push(u);
        entries.push({ binding: d.sizesBinding, resource: { buffer: u } });
      }
      const group = device.createBindGroup({ layout: p.pipeline.getBindGroupLayout(0), entries });
      const grid = d.workgroups.map((e) => Math.max(0, evalGrid(e, sizes))) as [number, number, number];
      const max = device.limits.maxComputeWorkgroupsPerDimension;
      if (grid.some((n) => n > max)) throw new RuntimeError(`kernel ${d.kernel}: grid ${grid.join("×")} exceeds this device's ${max} workgroups per dimension`);
      return { pipeline: p.pipeline, group, grid };
    });
    const b: Bound = { buffers, uniforms, dispatches, outputShapes: manifest.outputs.map((o) => dimsOf(o.shape, dims, `output ${o.name}`)) };
    bound.set(key, b);
    return b;
  };

  const asTensor = (x: HostTensor | TypedArray | undefined, spec: WebGpuTensorSpec): HostTensor => {
    if (x === undefined || x === null) throw new ShapeError(`input ${spec.name}: missing (the artifact takes ${manifest.inputs.map((s) => `${s.name}: ${spell(s)}`).join(", ")})`);
    if (ArrayBuffer.isView(x)) {
      if (!spec.shape.every((d) => typeof d === "number")) throw new ShapeError(`input ${spec.name}: ${spell(spec)} has symbolic dimensions; pass {data, shape}`);
      return { data: x as TypedArray, shape: spec.shape as number[] };
    }
    if (typeof x !== "object" || !ArrayBuffer.isView(x.data) || !Array.isArray(x.shape)) throw new ShapeError(`input ${spec.name}: expected {data: TypedArray, shape: number[]} or a typed array`);
    return x;
  };

  const runOrdered = async (given: readonly (HostTensor | TypedArray)[]): Promise<WebTensor[]> => {
    if (destroyed) throw new RuntimeError("this webgpu module was destroyed");
    if (given.length !== manifest.inputs.length) throw new ShapeError(`the artifact takes ${manifest.inputs.length} inputs (${manifest.inputs.map((s) => s.name).join(", ")}), got ${given.length}`);
    const inputs = given.map((x, i) => asTensor(x, manifest.inputs[i]!));
    inputs.forEach((t, i) => {
      const s = manifest.inputs[i]!, cls = ARRAY_CLASS[s.dtype];
      if (!(t.data instanceof cls)) throw new ShapeError(`input ${s.name}: expected dtype ${s.dtype} (${cls.name}) ${spell(s)}, got a ${t.data.constructor.name}`);
      if (count(t.shape) !== t.data.length) throw new ShapeError(`input ${s.name}: shape [${t.shape.join(", ")}] does not match its ${t.data.length} elements`);
    });
    const b = bind(inputs.map((t) => t.shape));
    device.pushErrorScope("validation");
    device.pushErrorScope("out-of-memory");
    plan.buffers.forEach((pb, id) => {
      if (pb.kind !== "input") return;
      const bytes = toStorageBytes(pb.dtype, pb.storage, inputs[pb.index]!.data);
      device.queue.writeBuffer(b.buffers[id]!, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (const d of b.dispatches) {
      if (d.grid.some((n) => n === 0)) continue;
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.group);
      pass.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
    }
    pass.end();
    for (const c of plan.copies) {
      const from = b.buffers[c.from]!, to = b.buffers[c.to]!;
      enc.copyBufferToBuffer(from, 0, to, 0, Math.min(from.size, to.size));
    }
    const outs = plan.buffers.flatMap((pb) => (pb.kind === "output" ? [pb] : []));
    const staging = outs.map((pb) => {
      const src = b.buffers[pb.id]!;
      const s = device.createBuffer({ size: src.size, usage: USAGE.MAP_READ | USAGE.COPY_DST });
      enc.copyBufferToBuffer(src, 0, s, 0, src.size);
      return s;
    });
    device.queue.submit([enc.finish()]);
    const oom = await device.popErrorScope(), invalid = await device.popErrorScope();
    const err = invalid ?? oom;
    if (err) throw new RuntimeError(`webgpu: running the artifact failed: ${err.message}`);
    const result: WebTensor[] = new Array<WebTensor>(manifest.outputs.length);
    await Promise.all(outs.map(async (pb, k) => {
      const s = staging[k]!;
      await s.mapAsync(MAP_READ);
      const raw = s.getMappedRange().slice(0);
      s.unmap();
      s.destroy();
      const shape = b.outputShapes[pb.index]!;
      result[pb.index] = { dtype: pb.dtype, shape, data: fromStorageBytes(pb.dtype, pb.storage, raw, count(shape)) };
    }));
    return result;
  };

  return {
    manifest, inputs: manifest.inputs, outputs: manifest.outputs,
    runOrdered,
    async run(given) {
      const list = Array.isArray(given) ? given as readonly (HostTensor | TypedArray)[] : manifest.inputs.map((s) => (given as Record<string, HostTensor | TypedArray>)[s.name]!);
      if (!Array.isArray(given)) {
        const unknown = Object.keys(given).filter((k) => !manifest.inputs.some((s) => s.name === k));
        if (unknown.length) throw new ShapeError(`unknown input ${unknown.join(", ")} (the artifact takes ${manifest.inputs.map((s) => s.name).join(", ")})`);
      }
      const outs = await runOrdered(list);
      return Object.fromEntries(manifest.outputs.map((o, i) => [o.name, outs[i]!]));
    },
    destroy() {
      destroyed = true;
      for (const b of bound.values()) {
        b.buffers.forEach((buf, id) => { if (!paramBuffers.has(id)) buf.destroy(); });
        b.uniforms.forEach((u) => u.destroy());
      }
      for (const buf of paramBuffers.values()) buf.destroy();
      bound.clear();
    },
  };
}

/** A compute pipeline with an explicit layout (as compiler/targets/webgpu/device.ts: "auto" drops unread bindings). */
async function compileKernel(device: GPUDevice, d: PlanDispatch, code: string, where: string): Promise<Compiled> {
  const [wx, wy, wz] = d.workgroupSize;
  const lim = device.limits;
  if (wx * wy * wz > lim.maxComputeInvocationsPerWorkgroup || wx > lim.maxComputeWorkgroupSizeX || wy > lim.maxComputeWorkgroupSizeY || wz > lim.maxComputeWorkgroupSizeZ) {
    throw new RuntimeError(`${where}: workgroup ${wx}×${wy}×${wz} exceeds this device's limits (${lim.maxComputeInvocationsPerWorkgroup} invocations)`);
  }
  if (d.bindings.length > lim.maxStorageBuffersPerShaderStage) {
    throw new RuntimeError(`${where}: ${d.bindings.length} storage buffers, more than this device's ${lim.maxStorageBuffersPerShaderStage} per shader stage`);
  }
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code, label: where });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === "error");
  if (errors.length > 0) {
    await device.popErrorScope();
    throw new RuntimeError(`${where}: WGSL does not compile: ${errors.map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`).join("; ")}`);
  }
  const entries: GPUBindGroupLayoutEntry[] = d.bindings.map((b, i) => ({
    binding: i, visibility: SHADER_COMPUTE, buffer: { type: b.access === "read" ? "read-only-storage" : "storage" },
  }));
  if (d.sizesBinding !== null) entries.push({ binding: d.sizesBinding, visibility: SHADER_COMPUTE, buffer: { type: "uniform" } });
  const layout = device.createPipelineLayout({ bindGroupLayouts: [device.createBindGroupLayout({ entries })] });
  const pipeline = device.createComputePipeline({ layout, compute: { module, entryPoint: "main" }, label: where });
  const err = await device.popErrorScope();
  if (err) throw new RuntimeError(`${where}: pipeline creation failed: ${err.message}`);
  return { pipeline };
}
