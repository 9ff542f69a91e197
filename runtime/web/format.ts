/**
 * The webgpu artifact format, shared by the writer (compiler/targets/webgpu/artifact.ts),
 * the Node runner (runtime/webgpu-artifact.ts) and the browser runtime (runtime/web/).
 * No Node APIs here: this module is bundled for browsers.
 *
 *   manifest.json   WebGpuManifest: signature, symbolic dims, every other file's size and
 *                   SHA-256, the Lathe version; its own checksum as in cpu artifacts
 *                   (runtime/artifact.ts: SHA-256 of JSON.stringify(body, null, 2))
 *   params.bin      the graph's constants (runtime/artifact.ts's params format)
 *   plan.json       WebGpuPlan: storage buffers and the dispatches in order
 *   <kernel>.wgsl   one WGSL compute shader per kernel (entry point "main")
 *
 * The plan is the whole-graph runner's (compiler/targets/webgpu/graph.ts) written down:
 * the same kernels, memory plan, bindings and grids. Sizes that depend on symbolic input
 * dimensions stay symbolic and are bound from the inputs' shapes on each run.
 */
import type { DType } from "../../core/dtype.ts";
import { isDType } from "../../core/dtype.ts";
import { LatheError } from "../../core/errors.ts";
import type { Dim } from "../../core/tensor-type.ts";

export const WEBGPU_ARTIFACT_FORMAT = "lathe-artifact";
export const WEBGPU_ARTIFACT_VERSION = 1;
export const WEBGPU_TARGET = "webgpu";
export const WEBGPU_MANIFEST_FILE = "manifest.json";
export const WEBGPU_PARAMS_FILE = "params.bin";
export const WEBGPU_PLAN_FILE = "plan.json";
export const WEBGPU_PLAN_FORMAT = "lathe-webgpu-plan";

/** A device storage type (WGSL has no 8-bit or 64-bit types: bool/u8 widen to u32, i8/i64 to i32). */
export type WebGpuStorage = "f32" | "f16" | "i32" | "u32";
const STORAGES: readonly string[] = ["f32", "f16", "i32", "u32"];

export interface WebGpuTensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export interface WebGpuFileRef {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface WebGpuManifest {
  readonly format: typeof WEBGPU_ARTIFACT_FORMAT;
  readonly formatVersion: number;
  readonly lathe: string;
  readonly target: typeof WEBGPU_TARGET;
  readonly inputs: readonly WebGpuTensorSpec[];
  readonly outputs: readonly WebGpuTensorSpec[];
  readonly constants: readonly WebGpuTensorSpec[];
  /** The symbolic dimensions of the inputs, bound from their shapes on each run. */
  readonly symbolicDims: readonly string[];
  readonly params: WebGpuFileRef;
  readonly plan: WebGpuFileRef;
  /** One per kernel, in dispatch order of first use. */
  readonly kernels: readonly WebGpuFileRef[];
  /** The adapter it was compiled on, and whether its kernels need `shader-f16`. */
  readonly device: { readonly adapter: string; readonly shaderF16: boolean };
  readonly meta: Readonly<Record<string, string | number>>;
  readonly manifestSha256: string;
}

/** A workgroup count: a number, a size variable `{ s: index }`, or `[op, a, b]`. */
export type GridExpr = number | { readonly s: number } | readonly [GridOp, GridExpr, GridExpr];
export type GridOp = "add" | "sub" | "mul" | "floordiv" | "floormod" | "min" | "max";
const GRID_OPS: readonly string[] = ["add", "sub", "mul", "floordiv", "floormod", "min", "max"];

/** A device buffer: a graph input, output or constant, or a scratch block of the memory plan. */
export type PlanBuffer =
  | { readonly id: number; readonly kind: "input" | "output" | "param"; readonly index: number; readonly dtype: DType; readonly storage: WebGpuStorage; readonly shape: readonly Dim[] }
  | {
    readonly id: number; readonly kind: "scratch";
    /** The values that live in it at different times: its size is the largest (at least 4 bytes, a multiple of 4). */
    readonly values: readonly { readonly name: string; readonly dtype: DType; readonly storage: WebGpuStorage; readonly shape: readonly Dim[] }[];
  };

export interface PlanDispatch {
  /** The kernel's .wgsl file (one of the manifest's kernels). */
  readonly kernel: string;
  /** Storage buffer ids, binding i = kernel parameter i, with the access the shader declares. */
  readonly bindings: readonly { readonly buffer: number; readonly access: "read" | "read_write"; readonly value: string }[];
  readonly workgroupSize: readonly [number, number, number];
  /** The kernel's size variables (a uniform of i32 at binding `sizesBinding`), as dims. */
  readonly sizes: readonly Dim[];
  readonly sizesBinding: number | null;
  readonly workgroups: readonly [GridExpr, GridExpr, GridExpr];
  /** Present (true) when the kernel was compiled with a tuning log's config; loaders ignore it. */
  readonly tuned?: true;
}

export interface WebGpuPlan {
  readonly format: typeof WEBGPU_PLAN_FORMAT;
  readonly version: number;
  readonly buffers: readonly PlanBuffer[];
  /** In order, all in one command buffer. */
  readonly dispatches: readonly PlanDispatch[];
  /** After the dispatches: graph outputs that are inputs, constants or other outputs. */
  readonly copies: readonly { readonly from: number; readonly to: number }[];
}

export const storageBytes = (s: WebGpuStorage): number => (s === "f16" ? 2 : 4);

/** Bytes of a buffer holding `n` elements of `s`: at least 4 and a multiple of 4 (WebGPU's rules). */
export const bufferBytes = (n: number, s: WebGpuStorage): number => Math.max(4, Math.ceil((n * storageBytes(s)) / 4) * 4);

/** Canonical manifest text; its checksum covers everything but itself (as cpu manifests). */
export const webgpuManifestText = (m: Omit<WebGpuManifest, "manifestSha256">): string => JSON.stringify(m, null, 2);

export const hex = (digest: ArrayBuffer): string => [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** SHA-256 with SubtleCrypto (browsers, and Node ≥ 20 as globalThis.crypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new LatheError("SubtleCrypto is unavailable (browsers offer it only on https:// and http://localhost pages); cannot verify the artifact");
  return hex(await subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

// ---- validation --------------------------------------------------------------------------

const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const isDim = (d: unknown): d is Dim => typeof d === "string" || (Number.isSafeInteger(d) && (d as number) >= 0);
const isShape = (s: unknown): s is Dim[] => Array.isArray(s) && s.every(isDim);
const isSpecs = (a: unknown): boolean => Array.isArray(a) && a.every((s: unknown) => {
  const x = s as Record<string, unknown> | null;
  return typeof x === "object" && x !== null && typeof x.name === "string" && typeof x.dtype === "string" && isDType(x.dtype) && isShape(x.shape);
});
const isRef = (r: unknown): boolean => {
  const x = r as Record<string, unknown> | null;
  return typeof x === "object" && x !== null && typeof x.file === "string" && FILE_NAME.test(x.file) && typeof x.sha256 === "string" && Number.isSafeInteger(x.bytes);
};

/**
 * Checks manifest bytes: JSON, the format, the target (a cpu artifact is refused with what
 * to do), the version, the checksum, and every field's type. `where` names the file in errors.
 */
export async function parseWebGpuManifest(bytes: Uint8Array, where: string): Promise<WebGpuManifest> {
  const fail = (why: string): never => { throw new LatheError(`${where}: ${why}`); };
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as Record<string, unknown>;
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message}); the manifest is corrupt or truncated`);
  }
  if (typeof m !== "object" || m === null || m.format !== WEBGPU_ARTIFACT_FORMAT) fail(`not a Lathe artifact manifest (format is not "${WEBGPU_ARTIFACT_FORMAT}")`);
  if (m.target !== WEBGPU_TARGET) {
    fail(`is an artifact for target "${String(m.target)}", not webgpu: the webgpu runtime runs only artifacts compiled with --target webgpu (recompile the model with lathe compile --target webgpu)`);
  }
  if (typeof m.formatVersion !== "number" || m.formatVersion > WEBGPU_ARTIFACT_VERSION) {
    fail(`artifact format version ${String(m.formatVersion)} is newer than this runtime reads (${WEBGPU_ARTIFACT_VERSION}); recompile it`);
  }
  const { manifestSha256, ...body } = m;
  const text = webgpuManifestText(body as Omit<WebGpuManifest, "manifestSha256">);
  if (manifestSha256 !== await sha256Hex(new TextEncoder().encode(text))) fail("checksum mismatch: the manifest was modified or is corrupt");
  if (!isSpecs(m.inputs) || !isSpecs(m.outputs) || !isSpecs(m.constants)) fail("inputs/outputs/constants must be lists of {name, dtype, shape}");
  if (!Array.isArray(m.symbolicDims) || !m.symbolicDims.every((d) => typeof d === "string")) fail("symbolicDims must be a list of names");
  if (!isRef(m.params) || !isRef(m.plan)) fail("params/plan must be {file, sha256, bytes}");
  if (!Array.isArray(m.kernels) || !m.kernels.every(isRef)) fail("kernels must be a list of {file, sha256, bytes}");
  const d = m.device as Record<string, unknown> | null;
  if (typeof d !== "object" || d === null || typeof d.shaderF16 !== "boolean") fail("device must hold adapter and shaderF16");
  return m as unknown as WebGpuManifest;
}

function checkGrid(e: unknown, nSizes: number): boolean {
  if (typeof e === "number") return Number.isSafeInteger(e);
  if (Array.isArray(e)) return e.length === 3 && GRID_OPS.includes(e[0] as string) && checkGrid(e[1], nSizes) && checkGrid(e[2], nSizes);
  const s = (e as { s?: unknown } | null)?.s;
  return Number.isSafeInteger(s) && (s as number) >= 0 && (s as number) < nSizes;
}

/** Parses plan.json and checks it against the manifest: buffer ids, kernels, bindings. */
export function parseWebGpuPlan(bytes: Uint8Array, m: WebGpuManifest, where: string): WebGpuPlan {
  const fail = (why: string): never => { throw new LatheError(`${where}: ${why}`); };
  let p: Record<string, unknown>;
  try { p = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as Record<string, unknown>; } catch (e) { return fail(`not valid JSON (${(e as Error).message})`); }
  if (p?.format !== WEBGPU_PLAN_FORMAT || p.version !== 1) fail(`not a webgpu execution plan (format "${WEBGPU_PLAN_FORMAT}", version 1)`);
  const buffers = p.buffers as PlanBuffer[], dispatches = p.dispatches as PlanDispatch[], copies = p.copies as WebGpuPlan["copies"];
  if (!Array.isArray(buffers) || !Array.isArray(dispatches) || !Array.isArray(copies)) fail("buffers, dispatches and copies must be lists");
  const counts = { input: m.inputs.length, output: m.outputs.length, param: m.constants.length };
  buffers.forEach((b, i) => {
    if (b?.id !== i) fail(`buffers[${i}]: id must be ${i}`);
    if (b.kind === "scratch") {
      if (!Array.isArray(b.values) || !b.values.every((v) => typeof v?.name === "string" && isDType(v.dtype) && STORAGES.includes(v.storage) && isShape(v.shape))) fail(`buffers[${i}]: malformed scratch values`);
    } else if (b.kind === "input" || b.kind === "output" || b.kind === "param") {
      if (!Number.isSafeInteger(b.index) || b.index < 0 || b.index >= counts[b.kind]) fail(`buffers[${i}]: ${b.kind} index ${String(b.index)} out of range`);
      if (!isDType(b.dtype) || !STORAGES.includes(b.storage) || !isShape(b.shape)) fail(`buffers[${i}]: malformed dtype/storage/shape`);
    } else fail(`buffers[${i}]: unknown kind ${String((b as { kind?: unknown }).kind)}`);
  });
  const kernelFiles = new Set(m.kernels.map((k) => k.file));
  const isBuffer = (id: unknown) => Number.isSafeInteger(id) && (id as number) >= 0 && (id as number) < buffers.length;
  dispatches.forEach((d, i) => {
    const at = `dispatches[${i}]`;
    if (typeof d?.kernel !== "string" || !kernelFiles.has(d.kernel)) fail(`${at}: kernel ${String(d?.kernel)} is not one of the manifest's kernels`);
    if (!Array.isArray(d.bindings) || !d.bindings.every((b) => isBuffer(b?.buffer) && (b.access === "read" || b.access === "read_write"))) fail(`${at} (${d.kernel}): malformed bindings`);
    if (!Array.isArray(d.sizes) || !d.sizes.every(isDim)) fail(`${at} (${d.kernel}): malformed sizes`);
    if (d.sizesBinding !== null && d.sizesBinding !== d.bindings.length) fail(`${at} (${d.kernel}): sizesBinding must follow the storage bindings`);
    if (!Array.isArray(d.workgroupSize) || d.workgroupSize.length !== 3 || !d.workgroupSize.every((n) => Number.isSafeInteger(n) && n > 0)) fail(`${at} (${d.kernel}): malformed workgroupSize`);
    if (!Array.isArray(d.workgroups) || d.workgroups.length !== 3 || !d.workgroups.every((e) => checkGrid(e, d.sizes.length))) fail(`${at} (${d.kernel}): malformed workgroups`);
  });
  copies.forEach((c, i) => { if (!isBuffer(c?.from) || !isBuffer(c.to)) fail(`copies[${i}]: unknown buffer`); });
  return p as unknown as WebGpuPlan;
}

/** Evaluates a workgroup count with the dispatch's size variables bound. */
export function evalGrid(e: GridExpr, sizes: readonly number[]): number {
  if (typeof e === "number") return e;
  if (!Array.isArray(e)) return sizes[(e as { s: number }).s]!;
  const [op, x, y] = e as readonly [GridOp, GridExpr, GridExpr];
  const a = evalGrid(x, sizes), b = evalGrid(y, sizes);
  switch (op) {
    case "add": return a + b;
    case "sub": return a - b;
    case "mul": return a * b;
    case "floordiv": return Math.floor(a / b);
    case "floormod": return a - b * Math.floor(a / b);
    case "min": return Math.min(a, b);
    case "max": return Math.max(a, b);
  }
}
