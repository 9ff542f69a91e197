/**
 * Writes a graph compiled for webgpu (graph.ts) as an artifact directory in the format
 * runtime/web/format.ts defines: the runner's own kernels, memory plan, bindings and grids,
 * written down (planOf), so the artifact runs exactly the dispatches the in-process runner
 * does. Files are written as cpu artifacts are (compiler/targets/cpu/artifact.ts): the old
 * manifest removed first, every file atomically, the manifest (with every hash) last.
 */
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { BuildError, LatheError } from "../../../core/errors.ts";
import type { Dim } from "../../../core/tensor-type.ts";
import { writeFileAtomic } from "../../../runtime/atomic-file.ts";
import { LATHE_VERSION, encodeParams, sha256, specOf } from "../../../runtime/artifact.ts";
import type { GridExpr, PlanBuffer, PlanDispatch, WebGpuFileRef, WebGpuManifest, WebGpuPlan, WebGpuTensorSpec } from "../../../runtime/web/format.ts";
import {
  WEBGPU_ARTIFACT_FORMAT, WEBGPU_ARTIFACT_VERSION, WEBGPU_MANIFEST_FILE, WEBGPU_PARAMS_FILE, WEBGPU_PLAN_FILE,
  WEBGPU_PLAN_FORMAT, WEBGPU_TARGET, webgpuManifestText,
} from "../../../runtime/web/format.ts";
import { storageType } from "../../codegen/wgsl/types.ts";
import type { WgslKernel } from "../../codegen/wgsl/print.ts";
import type { Value } from "../../graph/graph.ts";
import type { Expr } from "../../te/expr.ts";
import type { WebGpuGraph } from "./graph.ts";

export interface WebGpuArtifactOptions {
  readonly meta?: Readonly<Record<string, string | number>>;
  /** Names to publish for the inputs/outputs instead of the graph's value names (the ONNX model's). */
  readonly names?: { readonly inputs?: readonly string[]; readonly outputs?: readonly string[] };
}

const GRID_OPS: Readonly<Record<string, "add" | "sub" | "mul" | "floordiv" | "floormod" | "min" | "max">> = {
  add: "add", sub: "sub", mul: "mul", floordiv: "floordiv", div: "floordiv", truncdiv: "floordiv",
  floormod: "floormod", truncmod: "floormod", min: "min", max: "max",
};

/** A grid extent as JSON; the same arithmetic as device.ts's evalSize. */
function gridExpr(e: Expr, k: WgslKernel): GridExpr {
  if (e.kind === "const") return e.value;
  if (e.kind === "var") {
    const i = k.sizeVars.indexOf(e);
    if (i < 0) throw new BuildError(`kernel ${k.name}: grid depends on ${e.name}, which is not a size variable`);
    return { s: i };
  }
  if (e.kind === "bin" && GRID_OPS[e.op]) return [GRID_OPS[e.op]!, gridExpr(e.a, k), gridExpr(e.b, k)];
  throw new BuildError(`kernel ${k.name}: cannot write a grid extent of kind ${e.kind} into the plan`);
}

const kernelFile = (k: WgslKernel): string => `${k.name}.wgsl`;

/** The compiled graph's execution plan: GraphRunner.commands (graph.ts) with sizes left symbolic. */
export function planOf(compiled: WebGpuGraph): WebGpuPlan {
  const g = compiled.graph;
  const buffers: PlanBuffer[] = [];
  const where = new Map<Value, number>();
  const io = (kind: "input" | "output" | "param", v: Value, index: number): number => {
    const id = buffers.length;
    buffers.push({ id, kind, index, dtype: v.type.dtype, storage: storageType(v.type.dtype, v.name), shape: [...v.type.shape] });
    return id;
  };
  g.inputs.forEach((v, i) => where.set(v, io("input", v, i)));
  g.constants.forEach((c, i) => where.set(c.value, io("param", c.value, i)));
  const copies: { from: number; to: number }[] = [];
  g.outputs.forEach((v, i) => {
    const id = io("output", v, i);
    if (where.has(v)) copies.push({ from: where.get(v)!, to: id });
    else where.set(v, id);
  });
  const scratchBase = buffers.length;
  type ScratchValue = Extract<PlanBuffer, { kind: "scratch" }>["values"][number];
  const scratch: ScratchValue[][] = compiled.memory.storages.map((s, i) => {
    if (s.id !== i) throw new BuildError(`memory plan: storage ${s.id} at position ${i} (internal)`);
    return [];
  });
  for (const [v, s] of compiled.memory.assignment) {
    scratch[s.id]!.push({ name: v.name, dtype: v.type.dtype, storage: storageType(v.type.dtype, v.name), shape: [...v.type.shape] });
  }
  scratch.forEach((values, i) => buffers.push({ id: scratchBase + i, kind: "scratch", values }));
  const bufferOf = (v: Value): number => {
    const id = where.get(v);
    if (id !== undefined) return id;
    const s = compiled.memory.assignment.get(v);
    if (!s) throw new LatheError(`value ${v.name} has no storage (internal)`);
    return scratchBase + s.id;
  };
  const dispatches: PlanDispatch[] = compiled.kernels.map((k) => {
    const w = k.wgsl;
    return {
      kernel: kernelFile(w),
      bindings: k.args.map((v, i) => ({ buffer: bufferOf(v), access: w.bindings[i]!.access, value: v.name })),
      workgroupSize: [...w.launch.workgroup] as [number, number, number],
      sizes: k.func.sizeVars.map((sv): Dim => k.args[sv.param]!.type.shape[sv.dim]!),
      sizesBinding: w.sizesBinding,
      workgroups: w.launch.grid.map((e) => gridExpr(e, w)) as [GridExpr, GridExpr, GridExpr],
      // Only when tuned, so an untuned artifact's plan is what it was before tuning logs applied.
      ...(k.tuned ? { tuned: true as const } : {}),
    };
  });
  return { format: WEBGPU_PLAN_FORMAT, version: 1, buffers, dispatches, copies };
}

function renamed(specs: WebGpuTensorSpec[], names: readonly string[] | undefined, what: string): WebGpuTensorSpec[] {
  if (names === undefined) return specs;
  if (names.length !== specs.length) throw new LatheError(`${names.length} ${what} names given for ${specs.length} ${what}s`);
  return specs.map((s, i) => ({ ...s, name: names[i]! }));
}

export function writeWebGpuArtifact(compiled: WebGpuGraph, dir: string, opts: WebGpuArtifactOptions = {}): WebGpuManifest {
  const g = compiled.graph;
  for (const c of g.constants) {
    if (c.value.type.shape.some((d) => typeof d !== "number")) throw new LatheError(`constant ${c.value.name} has a symbolic shape; artifacts need constant shapes`);
  }
  const enc = new TextEncoder();
  const ref = (file: string, bytes: Uint8Array): WebGpuFileRef => ({ file, sha256: sha256(bytes), bytes: bytes.length });
  const params = encodeParams(g.constants.map((c) => ({ name: c.value.name, dtype: c.value.type.dtype, shape: c.value.type.shape as number[], data: c.data })));
  const plan = enc.encode(`${JSON.stringify(planOf(compiled), null, 1)}\n`);
  const kernels = new Map<string, Uint8Array>();
  for (const k of compiled.kernels) kernels.set(kernelFile(k.wgsl), enc.encode(k.wgsl.code));
  const symbolic = [...new Set(g.inputs.flatMap((v) => v.type.shape.filter((d): d is string => typeof d === "string")))];
  const body: Omit<WebGpuManifest, "manifestSha256"> = {
    format: WEBGPU_ARTIFACT_FORMAT, formatVersion: WEBGPU_ARTIFACT_VERSION, lathe: LATHE_VERSION, target: WEBGPU_TARGET,
    inputs: renamed(g.inputs.map(specOf), opts.names?.inputs, "input"),
    outputs: renamed(g.outputs.map(specOf), opts.names?.outputs, "output"),
    constants: g.constants.map((c) => specOf(c.value)),
    symbolicDims: symbolic,
    params: ref(WEBGPU_PARAMS_FILE, params),
    plan: ref(WEBGPU_PLAN_FILE, plan),
    kernels: [...kernels].map(([f, b]) => ref(f, b)),
    device: { adapter: compiled.device.adapterName, shaderF16: compiled.kernels.some((k) => /\benable f16;/.test(k.wgsl.code)) },
    meta: { ...(opts.meta ?? {}) },
  };
  const manifest: WebGpuManifest = { ...body, manifestSha256: sha256(enc.encode(webgpuManifestText(body))) };

  try { mkdirSync(dir, { recursive: true }); } catch (e) { throw new LatheError(`cannot create ${dir}: ${(e as Error).message}`); }
  // From here until the new manifest lands, the directory holds no valid artifact.
  rmSync(path.join(dir, WEBGPU_MANIFEST_FILE), { force: true });
  writeFileAtomic(path.join(dir, WEBGPU_PARAMS_FILE), params);
  writeFileAtomic(path.join(dir, WEBGPU_PLAN_FILE), plan);
  for (const [f, b] of kernels) writeFileAtomic(path.join(dir, f), b);
  writeFileAtomic(path.join(dir, WEBGPU_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  // Kernels of an earlier artifact in this directory (a cpu artifact's library stays: its manifest is gone).
  for (const f of readdirSync(dir)) if (f.endsWith(".wgsl") && !kernels.has(f)) rmSync(path.join(dir, f), { force: true });
  return manifest;
}
