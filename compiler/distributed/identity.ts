/**
 * What a worker measures on: its device key (device-key.ts), the fingerprint its records carry,
 * and the vector width its kernels are scheduled for, read from this host and target.
 */
import os from "node:os";
import { hostFingerprint } from "../targets/cpu/fingerprint.ts";
import { hostCpuDesc, hostVectorBytes } from "../targets/cpu/host.ts";
import { toolVersion } from "../targets/vta/hw/build.ts";
import { cpuDeviceKey, vtaDeviceKey, webgpuDeviceKey, type DeviceTarget, type VtaSimulator } from "./device-key.ts";
import { QueueError } from "./errors.ts";

export interface DeviceIdentity {
  readonly key: string;
  readonly fingerprint: string;
  /** Bytes per vector the cpu target schedules for (0 for other targets). */
  readonly vectorBytes: number;
}

export async function deviceIdentity(target: DeviceTarget, sim: VtaSimulator = "fsim"): Promise<DeviceIdentity> {
  if (target === "cpu") {
    if (os.arch() !== "x64") throw new QueueError(`cpu workers need an x86-64 host (this one is ${os.arch()})`);
    return { key: cpuDeviceKey(hostCpuDesc().isa), fingerprint: hostFingerprint(), vectorBytes: hostVectorBytes() };
  }
  if (target === "webgpu") {
    // Loaded only here: a cpu worker never opens a GPU.
    const { gpuDevice } = await import("../targets/webgpu/device.ts");
    const dev = await gpuDevice();
    const key = webgpuDeviceKey(dev.adapterName);
    return { key, fingerprint: key.replace("/", "-"), vectorBytes: 0 };
  }
  if (sim === "verilator" && (await toolVersion("verilator")) === null) throw new QueueError("vta/verilator workers need verilator: apt-get install verilator");
  const key = vtaDeviceKey(sim);
  return { key, fingerprint: key.replace("/", "-"), vectorBytes: 0 };
}
