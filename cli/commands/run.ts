/**
 * `lathe run <artifact> --input a.npy … [--output y.npy …] [--threads N]`: loads an
 * artifact (verifying it), runs it on .npy inputs in manifest order, and writes the
 * outputs as .npy files or prints a summary of each. With --trust PUBKEY.pem the artifact
 * must be signed by that key (runtime/artifact-signature.ts). A webgpu artifact (its
 * manifest's target) runs on the process's WebGPU device (Dawn; SwiftShader without a GPU)
 * through runtime/webgpu-artifact.ts, verified the same way.
 */
import { Command } from "commander";
import { LatheError } from "../../core/errors.ts";
import { readTrustedKey } from "../../runtime/artifact-signature.ts";
import { loadModule } from "../../runtime/module.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import { collect } from "../load-model.ts";
import { gpuDevice } from "../../compiler/targets/webgpu/device.ts";
import { artifactTarget, loadWebGpuArtifact } from "../../runtime/webgpu-artifact.ts";

interface RunOptions { input: string[]; output: string[]; threads?: string; trust?: string }

const num = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(6));

/** One line: name, dtype, shape, min/max/mean (NaNs counted apart) and the first values. */
export function summarize(name: string, t: Tensor, first = 8): string {
  const xs = t.toArray();
  let min = Infinity, max = -Infinity, sum = 0, n = 0, nans = 0;
  for (const x of xs) {
    if (Number.isNaN(x)) { nans++; continue; }
    min = Math.min(min, x); max = Math.max(max, x); sum += x; n++;
  }
  const stats = n ? `min ${num(min)}  max ${num(max)}  mean ${num(sum / n)}` : "no numbers";
  const head = xs.slice(0, first).map(num).join(", ") + (xs.length > first ? ", …" : "");
  return `${name}: ${t.dtype}[${t.shape.join(", ")}]  ${stats}${nans ? `  (${nans} NaN)` : ""}  [${head}]`;
}

export function runArtifact(dir: string, opts: RunOptions, log: (s: string) => void = console.log): Tensor[] {
  const mod = loadModule(dir, opts.trust !== undefined ? { trust: readTrustedKey(opts.trust) } : {});
  if (opts.input.length !== mod.inputs.length) {
    throw new LatheError(`${dir} takes ${mod.inputs.length} inputs (${mod.inputs.map((s) => s.name).join(", ")}); got ${opts.input.length} --input files`);
  }
  if (opts.output.length && opts.output.length !== mod.outputs.length) {
    throw new LatheError(`${dir} has ${mod.outputs.length} outputs (${mod.outputs.map((s) => s.name).join(", ")}); got ${opts.output.length} --output files`);
  }
  if (opts.threads !== undefined) {
    const n = Number(opts.threads);
    if (!Number.isSafeInteger(n) || n < 1) throw new LatheError(`--threads must be a positive integer, got ${opts.threads}`);
    mod.setNumThreads(n);
  }
  const outs = mod.run(opts.input.map(readNpy));
  if (opts.output.length) outs.forEach((t, i) => { writeNpy(opts.output[i]!, t); log(`wrote ${opts.output[i]} (${mod.outputs[i]!.name}: ${t.dtype}[${t.shape.join(", ")}])`); });
  else outs.forEach((t, i) => log(summarize(mod.outputs[i]!.name, t)));
  return outs;
}

/** `lathe run` on a webgpu artifact: the same inputs, outputs and messages as runArtifact. */
export async function runWebGpuArtifact(dir: string, opts: RunOptions, log: (s: string) => void = console.log): Promise<Tensor[]> {
  if (opts.trust !== undefined) throw new LatheError(`${dir} is a webgpu artifact: --trust (signatures) applies to cpu artifacts only`);
  if (opts.threads !== undefined) throw new LatheError(`${dir} is a webgpu artifact: --threads applies to cpu artifacts only`);
  const device = await gpuDevice();
  const mod = await loadWebGpuArtifact(dir, device.device);
  try {
    if (opts.input.length !== mod.inputs.length) {
      throw new LatheError(`${dir} takes ${mod.inputs.length} inputs (${mod.inputs.map((s) => s.name).join(", ")}); got ${opts.input.length} --input files`);
    }
    if (opts.output.length && opts.output.length !== mod.outputs.length) {
      throw new LatheError(`${dir} has ${mod.outputs.length} outputs (${mod.outputs.map((s) => s.name).join(", ")}); got ${opts.output.length} --output files`);
    }
    const outs = await mod.runTensors(opts.input.map(readNpy));
    if (opts.output.length) outs.forEach((t, i) => { writeNpy(opts.output[i]!, t); log(`wrote ${opts.output[i]} (${mod.outputs[i]!.name}: ${t.dtype}[${t.shape.join(", ")}])`); });
    else outs.forEach((t, i) => log(summarize(mod.outputs[i]!.name, t)));
    return outs;
  } finally {
    mod.destroy();
  }
}

export function runCommand(): Command {
  return new Command("run")
    .description("run a compiled artifact on .npy inputs; write .npy outputs or print a summary of each")
    .argument("<artifact>", "an artifact directory written by `lathe compile`")
    .option("--input <file.npy>", "an input, in the manifest's input order (repeatable)", collect, [])
    .option("--output <file.npy>", "where to write an output, in manifest order (repeatable; default: print a summary)", collect, [])
    .option("--threads <n>", "kernel threads (OpenMP)")
    .option("--trust <pubkey.pem>", "run only an artifact whose manifest carries a valid signature by this Ed25519 public key (lathe compile --sign); unsigned ones are refused")
    .action(async (dir: string, opts: RunOptions) => {
      if (artifactTarget(dir) === "webgpu") await runWebGpuArtifact(dir, opts);
      else runArtifact(dir, opts);
    });
}
