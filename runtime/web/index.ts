/**
 * Lathe's browser runtime (package entry `lathe/web`; bundled to one file by esbuild, see
 * bundle.ts): loads a webgpu artifact directory over HTTP and runs it with navigator.gpu.
 *
 *   const m = await loadWebGpuModule("/model/");
 *   const { y } = await m.run({ x: { data: new Float32Array(…), shape: [1, 6] } });
 *
 * Every file is checked against the manifest's SHA-256 (SubtleCrypto) before it is used.
 * No Node APIs: fetch, navigator.gpu and crypto.subtle only.
 */
import { LatheError } from "../../core/errors.ts";
import type { WebGpuModule } from "./module.ts";
import { openWebGpuArtifact } from "./module.ts";

export type { HostTensor, WebGpuModule, WebTensor } from "./module.ts";
export type { WebGpuManifest } from "./format.ts";
export { LatheError };

/** No WebGPU in this browser, or no adapter/device. */
export class WebGpuUnavailableError extends LatheError {
  override name = "WebGpuUnavailableError";
}

export interface LoadWebGpuOptions {
  /** A device to run on (default: one from navigator.gpu's adapter). */
  readonly device?: GPUDevice;
  /** The fetch to use (default: globalThis.fetch). */
  readonly fetch?: typeof fetch;
}

/** A device from navigator.gpu with the adapter's storage limits (kernels may bind more than the default 8 buffers). */
export async function requestWebGpuDevice(gpu: GPU | undefined = (globalThis.navigator as Navigator | undefined)?.gpu): Promise<{ device: GPUDevice; adapter: string }> {
  if (!gpu) {
    throw new WebGpuUnavailableError("WebGPU is not available here (navigator.gpu is undefined): use a browser with WebGPU enabled on a secure origin (https:// or http://localhost)");
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new WebGpuUnavailableError("WebGPU is enabled but the browser found no adapter (no usable GPU or software rasterizer; headless Chromium needs --enable-unsafe-webgpu and SwiftShader, see docs/webgpu.md)");
  }
  const info = adapter.info;
  const name = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(" ") || "unknown adapter";
  const f16 = adapter.features.has("shader-f16");
  const lim = adapter.limits;
  try {
    const device = await adapter.requestDevice({
      requiredFeatures: f16 ? ["shader-f16"] : [],
      requiredLimits: {
        maxStorageBuffersPerShaderStage: lim.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
        maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
        maxBufferSize: lim.maxBufferSize,
      },
    });
    return { device, adapter: name };
  } catch (e) {
    throw new WebGpuUnavailableError(`WebGPU adapter ${name} gave no device: ${(e as Error).message}`);
  }
}

/** Loads the artifact directory at `url` (files relative to it) and compiles its kernels on the device. */
export async function loadWebGpuModule(url: string | URL, opts: LoadWebGpuOptions = {}): Promise<WebGpuModule> {
  const get = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const base = new URL(String(url).endsWith("/") ? String(url) : `${String(url)}/`, (globalThis as { location?: { href: string } }).location?.href);
  const where = (f: string) => new URL(f, base).href;
  const source = {
    where,
    async read(f: string): Promise<Uint8Array> {
      let res: Response;
      try { res = await get(where(f)); } catch (e) { throw new LatheError(`${where(f)}: cannot fetch the artifact's file: ${(e as Error).message}`); }
      if (!res.ok) throw new LatheError(`${where(f)}: cannot fetch the artifact's file: HTTP ${res.status} ${res.statusText}`.trimEnd());
      return new Uint8Array(await res.arrayBuffer());
    },
  };
  const device = opts.device ?? (await requestWebGpuDevice()).device;
  return openWebGpuArtifact(source, device);
}
export { sampleInput } from "./sample.ts";
export type { SampleTensor } from "./sample.ts";
