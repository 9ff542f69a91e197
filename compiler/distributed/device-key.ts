/**
 * Device keys: which workers a job may go to. A worker derives its key from its host and
 * target and takes the jobs of that key only (one BullMQ queue per key, queue.ts).
 *
 *   cpu/x86-64-avx512 · cpu/x86-64-avx2 · cpu/x86-64-sse   the cpu target's ISA (targets/cpu/host.ts)
 *   webgpu/<adapter>                                       a WebGPU adapter, its name as a slug
 *   vta/fsim · vta/verilator                               the accelerator on a simulator
 */
import { CPU_ISAS, type CpuIsa } from "../targets/cpu/host.ts";
import { QueueError } from "./errors.ts";

export type DeviceTarget = "cpu" | "webgpu" | "vta";
export const DEVICE_TARGETS: readonly DeviceTarget[] = ["cpu", "webgpu", "vta"];
export const VTA_SIMULATORS = ["fsim", "verilator"] as const;
export type VtaSimulator = (typeof VTA_SIMULATORS)[number];

/** The keys there are, as the error for an unknown one lists them. */
export const KNOWN_DEVICE_KEYS: readonly string[] = [...CPU_ISAS.map((i) => `cpu/x86-64-${i}`), "webgpu/<adapter>", ...VTA_SIMULATORS.map((s) => `vta/${s}`)];

export interface DeviceKey {
  readonly key: string;
  readonly target: DeviceTarget;
  /** The part after the slash: the ISA, adapter slug or simulator. */
  readonly variant: string;
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** A key checked against the known forms; anything else is one QueueError listing them. */
export function parseDeviceKey(key: string): DeviceKey {
  const [target, variant, ...rest] = key.split("/");
  const known = (): QueueError => new QueueError(`unknown device key "${key}" (known: ${KNOWN_DEVICE_KEYS.join(", ")})`);
  if (rest.length > 0 || variant === undefined) throw known();
  if (target === "cpu" && (CPU_ISAS as readonly string[]).includes(variant.replace(/^x86-64-/, "")) && variant.startsWith("x86-64-")) return { key, target, variant };
  if (target === "webgpu" && SLUG.test(variant)) return { key, target, variant };
  if (target === "vta" && (VTA_SIMULATORS as readonly string[]).includes(variant)) return { key, target, variant };
  throw known();
}

export const cpuDeviceKey = (isa: CpuIsa): string => `cpu/x86-64-${isa}`;

/** The cpu ISA of a cpu key. */
export function cpuIsaOf(key: DeviceKey): CpuIsa {
  if (key.target !== "cpu") throw new QueueError(`device key ${key.key} is not a cpu key`);
  return key.variant.replace(/^x86-64-/, "") as CpuIsa;
}

/** "Google SwiftShader Device (Subzero)" → "google-swiftshader-device-subzero" (a key's part). */
export function webgpuDeviceKey(adapterName: string): string {
  const slug = adapterName.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64).replace(/-+$/, "");
  return `webgpu/${slug || "unknown"}`;
}

export const vtaDeviceKey = (sim: VtaSimulator): string => `vta/${sim}`;
