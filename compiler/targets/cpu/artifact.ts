/**
 * Writes a graph compiled by the cpu target as an ahead-of-time artifact, in the format
 * that runtime/artifact.ts defines and runtime/module.ts loads without the compiler.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { LatheError } from "../../../core/errors.ts";
import { writeFileAtomic } from "../../../runtime/atomic-file.ts";
import {
  ARTIFACT_FORMAT, ARTIFACT_VERSION, LATHE_VERSION, MANIFEST_FILE, PARAMS_FILE,
  encodeParams, manifestText, sha256, specOf,
  type ArtifactManifest, type TensorSpec,
} from "../../../runtime/artifact.ts";
import { hostCpu, hostIsa } from "../../../runtime/host.ts";
import type { CompiledGraph } from "./graph.ts";
import { toolchainIdentity } from "./toolchain.ts";
import { extensionsFor, hostCpuDesc } from "./host.ts";

export interface ArtifactMeta {
  /** Free-form provenance recorded in the manifest (e.g. { model: "mlp.onnx", modelSha256: "…" }). */
  readonly meta?: Readonly<Record<string, string | number>>;
  /** Names to publish for the inputs/outputs instead of the graph's value names (e.g. the ONNX model's). */
  readonly names?: { readonly inputs?: readonly string[]; readonly outputs?: readonly string[] };
}

function renamed(specs: TensorSpec[], names: readonly string[] | undefined, what: string): TensorSpec[] {
  if (names === undefined) return specs;
  if (names.length !== specs.length) throw new LatheError(`${names.length} ${what} names given for ${specs.length} ${what}s`);
  return specs.map((s, i) => ({ ...s, name: names[i]! }));
}

export async function writeArtifact(compiled: CompiledGraph, dir: string, opts: ArtifactMeta = {}): Promise<ArtifactManifest> {
  const g = compiled.graph;
  for (const c of g.constants) {
    if (c.value.type.shape.some((d) => typeof d !== "number")) throw new LatheError(`constant ${c.value.name} has a symbolic shape; artifacts need constant shapes`);
  }
  const lib = readFileSync(compiled.library);
  const params = encodeParams(g.constants.map((c) => ({ name: c.value.name, dtype: c.value.type.dtype, shape: c.value.type.shape as number[], data: c.data })));
  const libSha = sha256(lib);
  const libFile = `model-${libSha.slice(0, 8)}.so`;
  const compiler = (await toolchainIdentity()).split("\n")[0] ?? "";
  const body: Omit<ArtifactManifest, "manifestSha256"> = {
    format: ARTIFACT_FORMAT, formatVersion: ARTIFACT_VERSION, lathe: LATHE_VERSION, target: compiled.target ?? "cpu",
    entry: compiled.entry,
    library: { file: libFile, sha256: libSha, bytes: lib.length },
    params: { file: PARAMS_FILE, sha256: sha256(params), bytes: params.length },
    inputs: renamed(g.inputs.map(specOf), opts.names?.inputs, "input"),
    outputs: renamed(g.outputs.map(specOf), opts.names?.outputs, "output"),
    constants: g.constants.map((c) => specOf(c.value)),
    compile: { flags: [...compiled.flags], compiler, cpu: hostCpu().split("|")[0] ?? "", isa: extensionsFor(hostCpuDesc(), hostIsa()) },
    meta: { ...(opts.meta ?? {}) },
  };
  const manifest: ArtifactManifest = { ...body, manifestSha256: sha256(new TextEncoder().encode(manifestText(body))) };

  try { mkdirSync(dir, { recursive: true }); } catch (e) { throw new LatheError(`cannot create ${dir}: ${(e as Error).message}`); }
  // From here until the new manifest lands, the directory holds no valid artifact.
  rmSync(path.join(dir, MANIFEST_FILE), { force: true });
  writeFileAtomic(path.join(dir, libFile), lib);
  writeFileAtomic(path.join(dir, PARAMS_FILE), params);
  writeFileAtomic(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const f of readdirSync(dir)) if (/^model-[0-9a-f]{8}\.so$/.test(f) && f !== libFile) rmSync(path.join(dir, f), { force: true });
  return manifest;
}

