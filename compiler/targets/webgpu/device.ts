/**
 * A WebGPU device on Dawn (the `webgpu` npm package): adapter and device creation,
 * storage buffers with Lathe's dtype conversions, compute pipelines cached by the hash of
 * their WGSL, dispatch and readback. Machines without a GPU driver run on SwiftShader,
 * Chromium's Vulkan CPU emulator: when VK_ICD_FILENAMES is unset, no system Vulkan driver
 * is installed and Chromium's SwiftShader ICD exists, the device points Vulkan at it and
 * says so in the adapter name. There is no silent fallback to another target.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { BuildError, LatheError, RuntimeError } from "../../../core/errors.ts";
import type { DType, TypedArray } from "../../../core/dtype.ts";
import type { Expr, Var } from "../../te/expr.ts";
import type { WgslKernel } from "../../codegen/wgsl/print.ts";
import type { WgslStorage } from "../../codegen/wgsl/types.ts";
import { storageType } from "../../codegen/wgsl/types.ts";
import { fromStorageBytes, toStorageBytes } from "../../../runtime/web/storage.ts";

export const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";
const SYSTEM_ICD_DIRS = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d"];

// GPUBufferUsage / GPUMapMode values (WebGPU spec), so nothing is put on globalThis.
const USAGE = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
const MAP_READ = 1;
const SHADER_COMPUTE = 4; // GPUShaderStage.COMPUTE

/** No usable WebGPU adapter or device. */
export class WebGpuUnavailableError extends LatheError {
  override name = "WebGpuUnavailableError";
}

/** A device buffer holding one tensor in its storage representation. */
export interface GpuBuffer {
  readonly buffer: GPUBuffer;
  readonly dtype: DType;
  readonly length: number;
  readonly bytes: number;
}

/** One step of a command buffer: a kernel dispatch, or a buffer-to-buffer copy. */
export type GpuCommand =
  | { readonly kind: "dispatch"; readonly pipeline: Pipeline; readonly group: GPUBindGroup; readonly grid: readonly [number, number, number] }
  | { readonly kind: "copy"; readonly from: GpuBuffer; readonly to: GpuBuffer };

export interface Pipeline {
  readonly kernel: WgslKernel;
  readonly pipeline: GPUComputePipeline;
}

const systemIcdPresent = (): boolean =>
  SYSTEM_ICD_DIRS.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith(".json")));

/** Points Vulkan at SwiftShader when nothing else would give an adapter; returns whether it did. */
function useSwiftShaderIfNeeded(): boolean {
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES || systemIcdPresent() || !existsSync(SWIFTSHADER_ICD)) return false;
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= "/tmp";
  return true;
}

let opening: Promise<GpuDevice> | null = null;

/** The process's WebGPU device (opened once; a lost device is reopened on the next call). */
export function gpuDevice(): Promise<GpuDevice> {
  opening ??= GpuDevice.open().catch((e: unknown) => { opening = null; throw e; });
  return opening.then((d) => {
    if (!d.lost) return d;
    opening = null;
    return gpuDevice();
  });
}

export class GpuDevice {
  /** Set when the device was lost (its reason); every later use throws. */
  lost: string | null = null;
  private pendingError: string | null = null;
  /** Compiled pipelines by WGSL source (see `pipeline`). */
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  private constructor(
    readonly device: GPUDevice,
    /** Vendor, architecture and description of the adapter, for logs and benchmark reports. */
    readonly adapterName: string,
    readonly f16: boolean,
    // The Dawn instance and adapter must outlive the device: if they are garbage collected,
    // Dawn frees state the device still uses (crashes inside SwiftShader's threads).
    private readonly keepAlive: readonly [GPU, GPUAdapter],
  ) {
    void device.lost.then((info) => { this.lost = `${info.reason}: ${info.message}`; });
    // Errors outside an error scope (an invalid bind group, a failed submit) are kept and
    // raised by the next sync or read, instead of being printed and producing garbage.
    device.onuncapturederror = (ev) => { this.pendingError ??= ev.error.message; };
  }

  static async open(): Promise<GpuDevice> {
    const forced = useSwiftShaderIfNeeded();
    let gpu: GPU;
    try {
      const mod = await import("webgpu");
      gpu = mod.create([]);
    } catch (e) {
      throw new WebGpuUnavailableError(`webgpu: cannot load Dawn (the "webgpu" npm package): ${(e as Error).message}`);
    }
    const adapter = await gpu.requestAdapter();
    if (!adapter) {
      throw new WebGpuUnavailableError(
        `webgpu: no WebGPU adapter found (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? "unset"}). ` +
        `Install a Vulkan driver, or chromium and libvulkan1 for SwiftShader (${SWIFTSHADER_ICD}); ` +
        "the webgpu target never falls back to another target",
      );
    }
    const info = adapter.info;
    const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ") || "unknown adapter";
    const f16 = adapter.features.has("shader-f16");
    const want = (k: "maxStorageBuffersPerShaderStage" | "maxComputeWorkgroupStorageSize" | "maxStorageBufferBindingSize" | "maxBufferSize") => adapter.limits[k];
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({
        requiredFeatures: f16 ? ["shader-f16"] : [],
        requiredLimits: {
          maxStorageBuffersPerShaderStage: want("maxStorageBuffersPerShaderStage"),
          maxComputeWorkgroupStorageSize: want("maxComputeWorkgroupStorageSize"),
          maxStorageBufferBindingSize: want("maxStorageBufferBindingSize"),
          maxBufferSize: want("maxBufferSize"),
        },
      });
    } catch (e) {
      throw new WebGpuUnavailableError(`webgpu: adapter ${name} gave no device: ${(e as Error).message}`);
    }
    const label = `${name}${forced ? ` (SwiftShader: Lathe set VK_ICD_FILENAMES=${SWIFTSHADER_ICD})` : ""}`;
    if (process.env.LATHE_QUIET !== "1") process.stderr.write(`lathe webgpu: adapter ${label}${f16 ? ", shader-f16" : ""}\n`);
    return new GpuDevice(device, label, f16, [gpu, adapter]);
  }

  get limits(): GPUSupportedLimits { return this.device.limits; }

  private check(what: string): void {
    if (this.lost) throw new RuntimeError(`webgpu: ${what}: the device was lost (${this.lost})`);
    if (this.pendingError) {
      const e = this.pendingError;
      this.pendingError = null;
      throw new RuntimeError(`webgpu: ${what}: an earlier command failed: ${e}`);
    }
  }

  /** A zero-filled storage buffer for `length` elements of `dtype`. */
  alloc(dtype: DType, length: number, what = "buffer"): GpuBuffer {
    this.check(`allocating ${what}`);
    const st = storageType(dtype, what);
    const bytes = Math.max(4, Math.ceil((length * storageBytes(st)) / 4) * 4);
    if (bytes > this.limits.maxStorageBufferBindingSize) {
      throw new RuntimeError(`webgpu: ${what} needs ${bytes} bytes, more than this device's largest storage binding (${this.limits.maxStorageBufferBindingSize})`);
    }
    const buffer = this.device.createBuffer({ size: bytes, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST, label: what });
    return { buffer, dtype, length, bytes };
  }

  /** Uploads host data (Lathe's typed-array layout for `dtype`) into `dst`. */
  write(dst: GpuBuffer, data: TypedArray): void {
    this.check("writing a buffer");
    if (data.length !== dst.length) throw new RuntimeError(`webgpu: writing ${data.length} elements into a buffer of ${dst.length}`);
    // Padded to a multiple of 4 (at least 4 bytes, as every buffer is: alloc).
    const bytes = toStorageBytes(dst.dtype, storageType(dst.dtype, "upload"), data);
    this.device.queue.writeBuffer(dst.buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  upload(dtype: DType, data: TypedArray, what = "input"): GpuBuffer {
    const b = this.alloc(dtype, data.length, what);
    this.write(b, data);
    return b;
  }

  /** Copies `src` back into a host array of Lathe's layout for its dtype. */
  async read(src: GpuBuffer, into?: TypedArray): Promise<TypedArray> {
    this.check("reading a buffer");
    const staging = this.device.createBuffer({ size: src.bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(src.buffer, 0, staging, 0, src.bytes);
    this.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(MAP_READ);
    } catch (e) {
      this.check("reading a buffer");
      throw new RuntimeError(`webgpu: reading a buffer failed: ${(e as Error).message}`);
    }
    this.check("reading a buffer");
    const raw = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    return fromStorageBytes(src.dtype, storageType(src.dtype, "readback"), raw, src.length, into);
  }

  /**
   * The compute pipeline for a printed kernel, compiled once per distinct WGSL source, paired
   * with this kernel's own launch description. Two kernels can print the same source and still
   * differ in their grid: a block loop that covers the whole grid is not guarded, so its
   * extent is not in the code (relu over 64×64 and 128×64 elements print alike). Pairing the
   * shared pipeline with the first kernel's grid ran the second on half its blocks.
   */
  async pipeline(kernel: WgslKernel): Promise<Pipeline> {
    this.check(`compiling ${kernel.name}`);
    const key = createHash("sha256").update(kernel.code).digest("hex");
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.compile(kernel);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return { kernel, pipeline: await p };
  }

  private async compile(kernel: WgslKernel): Promise<GPUComputePipeline> {
    const [wx, wy, wz] = kernel.launch.workgroup;
    const lim = this.limits;
    if (wx * wy * wz > lim.maxComputeInvocationsPerWorkgroup || wx > lim.maxComputeWorkgroupSizeX || wy > lim.maxComputeWorkgroupSizeY || wz > lim.maxComputeWorkgroupSizeZ) {
      throw new BuildError(`kernel ${kernel.name}: workgroup ${wx}×${wy}×${wz} exceeds this device's limits (${lim.maxComputeInvocationsPerWorkgroup} invocations)`);
    }
    if (kernel.bindings.length > lim.maxStorageBuffersPerShaderStage) {
      throw new BuildError(`kernel ${kernel.name}: ${kernel.bindings.length} storage buffers, more than this device's ${lim.maxStorageBuffersPerShaderStage} per shader stage`);
    }
    const module = this.device.createShaderModule({ code: kernel.code, label: kernel.name });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) {
      const msgs = errors.map((m) => `${m.lineNum}:${m.linePos}: ${m.message}`).join("\n");
      throw new BuildError(`kernel ${kernel.name}: WGSL does not compile:\n${msgs}\n--- source ---\n${kernel.code}`);
    }
    // Created inside a validation error scope, so a failure becomes a BuildError with the source.
    this.device.pushErrorScope("validation");
    // An explicit layout: "auto" would drop bindings the shader never reads (an input
    // passed only for its shape), and then the kernel's arguments would not bind.
    const entries: GPUBindGroupLayoutEntry[] = kernel.bindings.map((b, i) => ({
      binding: i, visibility: SHADER_COMPUTE, buffer: { type: b.access === "read" ? "read-only-storage" : "storage" },
    }));
    if (kernel.sizesBinding !== null) entries.push({ binding: kernel.sizesBinding, visibility: SHADER_COMPUTE, buffer: { type: "uniform" } });
    const layout = this.device.createPipelineLayout({ bindGroupLayouts: [this.device.createBindGroupLayout({ entries })] });
    const pipeline = this.device.createComputePipeline({ layout, compute: { module, entryPoint: "main" }, label: kernel.name });
    const err = await this.device.popErrorScope();
    if (err) throw new BuildError(`kernel ${kernel.name}: pipeline creation failed: ${err.message}\n--- source ---\n${kernel.code}`);
    return pipeline;
  }

  /**
   * A bind group for `p` over buffers in parameter order (and the sizes uniform). Callers
   * that dispatch the same kernel on the same buffers repeatedly keep it.
   */
  bindGroup(p: Pipeline, buffers: readonly GpuBuffer[], sizes: readonly number[]): { group: GPUBindGroup; grid: [number, number, number] } {
    const k = p.kernel;
    if (buffers.length !== k.bindings.length) throw new RuntimeError(`kernel ${k.name}: expected ${k.bindings.length} buffers, got ${buffers.length}`);
    const entries: GPUBindGroupEntry[] = buffers.map((b, i) => ({ binding: i, resource: { buffer: b.buffer } }));
    if (k.sizesBinding !== null) {
      const data = new Int32Array(Math.ceil(sizes.length / 4) * 4);
      data.set(sizes);
      const u = this.device.createBuffer({ size: data.byteLength, usage: USAGE.UNIFORM | USAGE.COPY_DST });
      this.device.queue.writeBuffer(u, 0, data);
      entries.push({ binding: k.sizesBinding, resource: { buffer: u } });
    }
    const group = this.device.createBindGroup({ layout: p.pipeline.getBindGroupLayout(0), entries });
    return { group, grid: this.grid(k, sizes) };
  }

  /** The workgroup counts for a dispatch, with the kernel's size variables bound. */
  grid(k: WgslKernel, sizes: readonly number[]): [number, number, number] {
    const g = k.launch.grid.map((e) => evalSize(e, k, sizes)) as [number, number, number];
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (g.some((n) => n > max)) throw new RuntimeError(`kernel ${k.name}: grid ${g.join("×")} exceeds this device's ${max} workgroups per dimension`);
    return g;
  }

  /** Records dispatches and copies, in order, into one command buffer and submits it. */
  submit(commands: readonly GpuCommand[]): void {
    this.check("dispatching");
    const enc = this.device.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    for (const c of commands) {
      if (c.kind === "copy") {
        pass?.end();
        pass = null;
        enc.copyBufferToBuffer(c.from.buffer, 0, c.to.buffer, 0, Math.min(c.from.bytes, c.to.bytes));
        continue;
      }
      if (c.grid.some((n) => n === 0)) continue;
      pass ??= enc.beginComputePass();
      pass.setPipeline(c.pipeline.pipeline);
      pass.setBindGroup(0, c.group);
      pass.dispatchWorkgroups(c.grid[0], c.grid[1], c.grid[2]);
    }
    pass?.end();
    this.device.queue.submit([enc.finish()]);
  }

  /** Resolves when all submitted work has finished (and reports a device loss). */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.check("waiting for the queue");
  }
}

/** Evaluates a grid extent (an integer expression of the kernel's size variables). */
function evalSize(e: Expr, k: WgslKernel, sizes: readonly number[]): number {
  const env = new Map<Var, number>(k.sizeVars.map((v, i) => [v, sizes[i]!]));
  const go = (x: Expr): number => {
    switch (x.kind) {
      case "const": return x.value;
      case "var": {
        const v = env.get(x);
        if (v === undefined) throw new RuntimeError(`kernel ${k.name}: grid depends on ${x.name}, which is not a size variable`);
        return v;
      }
      case "bin": {
        const a = go(x.a), b = go(x.b);
        switch (x.op) {
          case "add": return a + b;
          case "sub": return a - b;
          case "mul": return a * b;
          case "floordiv": case "div": case "truncdiv": return Math.floor(a / b);
          case "floormod": case "truncmod": return a - b * Math.floor(a / b);
          case "min": return Math.min(a, b);
          case "max": return Math.max(a, b);
        }
        break;
      }
      default: break;
    }
    throw new RuntimeError(`kernel ${k.name}: cannot evaluate grid extent of kind ${x.kind}`);
  };
  return Math.max(0, go(e));
}

export const storageBytes = (s: WgslStorage): number => (s === "f16" ? 2 : 4);

