/**
 * Node's loader for webgpu artifacts (runtime/web/format.ts): the files come from a
 * directory, the device is the caller's (Dawn's, from the `webgpu` npm package; the CLI
 * passes the compiler's process device), and the plan runs through the same code as in a
 * browser (runtime/web/module.ts). Hashes are checked as for cpu artifacts.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { LatheError, ShapeError } from "../core/errors.ts";
import { Tensor } from "./tensor.ts";
import { WEBGPU_MANIFEST_FILE } from "./web/format.ts";
import type { ArtifactSource, WebGpuModule } from "./web/module.ts";
import { openWebGpuArtifact } from "./web/module.ts";

export interface NodeWebGpuModule extends WebGpuModule {
  readonly dir: string;
  /** Tensors in manifest order → tensors in manifest order. */
  runTensors(inputs: readonly Tensor[]): Promise<Tensor[]>;
}

/** The files of an artifact directory; a missing or unreadable file is named. */
export function directorySource(dir: string): ArtifactSource {
  return {
    where: (f) => path.join(dir, f),
    read: async (f) => {
      const file = path.join(dir, f);
      if (f === WEBGPU_MANIFEST_FILE && !existsSync(file)) {
        throw new LatheError(`${dir} is not a Lathe artifact: ${WEBGPU_MANIFEST_FILE} is missing (or a compile into it was interrupted)`);
      }
      try { return readFileSync(file); } catch (e) { throw new LatheError(`${file}: cannot read the artifact's file: ${(e as Error).message}`); }
    },
  };
}

/** The target an artifact directory names in its manifest (unverified: for choosing a loader, which verifies). */
export function artifactTarget(dir: string): string | undefined {
  try {
    const m = JSON.parse(readFileSync(path.join(dir, WEBGPU_MANIFEST_FILE), "utf8")) as { target?: unknown };
    return typeof m.target === "string" ? m.target : undefined;
  } catch {
    return undefined;
  }
}

export async function loadWebGpuArtifact(dir: string, device: GPUDevice): Promise<NodeWebGpuModule> {
  const mod = await openWebGpuArtifact(directorySource(dir), device);
  return {
    ...mod, dir,
    async runTensors(inputs) {
      const outs = await mod.runOrdered(inputs.map((t, i) => {
        const want = mod.inputs[i];
        // A Tensor's data is its dtype's typed array; the dtype check happens on that array.
        if (want && t.dtype !== want.dtype) throw new ShapeError(`input ${want.name}: expected dtype ${want.dtype}[${want.shape.join(", ")}], got ${t.dtype}[${t.shape.join(", ")}]`);
        return { data: t.data, shape: t.shape };
      }));
      return outs.map((o) => new Tensor(o.data, o.shape, o.dtype));
    },
  };
}
