/**
 * Ahead-of-time artifacts: a compiled graph as a self-contained directory that
 * loadModule (module.ts) runs without the compiler. This file defines the format and
 * reads it; the cpu target writes it (compiler/targets/cpu/artifact.ts).
 *
 *   manifest.json      what the library is and how to call it (ArtifactManifest); written last
 *   model-<sha8>.so    the shared library (the name changes with the content, because
 *                      dlopen caches by path: a rewritten artifact must not load the old one)
 *   params.bin         the graph's constants, in entry-argument order (format below)
 *
 * params.bin: the bytes "LATHEPRM", a u32 format version (1), a u32 length L, L bytes of
 * UTF-8 JSON — an array of {name, dtype, shape, offset, bytes} — then each tensor's data
 * at its `offset` from the start of the file (64-byte aligned, zero padding between),
 * little-endian, row-major; f16 as IEEE half bits, bool one byte per element.
 *
 * Every file is written under a temporary name and renamed into place; the old manifest
 * is removed first and the new one written last, and it holds the SHA-256 of the other
 * files (and of itself), so an interrupted or damaged artifact never loads. That is
 * integrity, not authenticity: whoever edits the manifest can recompute its checksum.
 * artifact-signature.ts adds a detached Ed25519 signature (manifest.json.sig) for that.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { PARAMS_MAGIC, PARAMS_VERSION, decodeParamsWeb } from "./web/params.ts";
import { LatheError } from "../core/errors.ts";
import type { Dim } from "../core/tensor-type.ts";
import type { DType, TypedArray } from "../core/dtype.ts";
import { isDType } from "../core/dtype.ts";

export const ARTIFACT_FORMAT = "lathe-artifact";
export const ARTIFACT_VERSION = 1;
export const MANIFEST_FILE = "manifest.json";
export const PARAMS_FILE = "params.bin";
const ALIGN = 64;

export const LATHE_VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** A tensor in the signature: symbolic dimensions are strings ("batch"). */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export interface FileRef {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface ArtifactManifest {
  readonly format: typeof ARTIFACT_FORMAT;
  readonly formatVersion: number;
  /** The Lathe version that wrote it. */
  readonly lathe: string;
  /** The target that compiled it: "cpu", or a plugin derived from it (its library runs the same way). */
  readonly target: string;
  /** The library's entry symbol: (inputs…, constants…, outputs…) as LatheTensor descriptors. */
  readonly entry: string;
  readonly library: FileRef;
  readonly params: FileRef;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** The constants, in the order the entry point takes them (and params.bin stores them). */
  readonly constants: readonly TensorSpec[];
  readonly compile: {
    readonly flags: readonly string[];
    readonly compiler: string;
    readonly cpu: string;
    /** Instruction-set extensions of the compiling host that -march=native may have used. */
    readonly isa: readonly string[];
  };
  /** Where the artifact came from (free-form: model file, its sha256, …). */
  readonly meta: Readonly<Record<string, string | number>>;
  /** SHA-256 of this manifest printed without this field (JSON.stringify(…, null, 2)). */
  readonly manifestSha256: string;
}

export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

export const specOf = (v: { name: string; type: { dtype: DType; shape: readonly Dim[] } }): TensorSpec =>
  ({ name: v.name, dtype: v.type.dtype, shape: [...v.type.shape] });

// ---- params.bin -------------------------------------------------------------------------

export interface Param { readonly name: string; readonly dtype: DType; readonly shape: readonly number[]; readonly data: TypedArray }

export function encodeParams(params: readonly Param[]): Uint8Array {
  const bytesOfParam = (p: Param) => p.data.byteLength;
  // The index holds the offsets, which depend on the index's length: lay out with a
  // generous guess, then grow until the offsets fit.
  let reserve = 256;
  for (;;) {
    let off = Math.ceil((16 + reserve) / ALIGN) * ALIGN;
    const index = params.map((p) => {
      const e = { name: p.name, dtype: p.dtype, shape: [...p.shape], offset: off, bytes: bytesOfParam(p) };
      off = Math.ceil((off + e.bytes) / ALIGN) * ALIGN;
      return e;
    });
    const json = new TextEncoder().encode(JSON.stringify(index));
    if (json.length > reserve) { reserve = json.length + 64; continue; }
    const end = index.length ? index[index.length - 1]!.offset + index[index.length - 1]!.bytes : 16 + json.length;
    const out = new Uint8Array(end);
    out.set(new TextEncoder().encode(PARAMS_MAGIC), 0);
    const view = new DataView(out.buffer);
    view.setUint32(8, PARAMS_VERSION, true);
    view.setUint32(12, json.length, true);
    out.set(json, 16);
    index.forEach((e, i) => { const d = params[i]!.data; out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), e.offset); });
    return out;
  }
}

/** Reads params.bin; errors name `file`. One reader for Node and the browser (runtime/web/params.ts has no Node APIs). */
export function decodeParams(bytes: Uint8Array, file: string): Param[] {
  return decodeParamsWeb(bytes, file);
}

/** Canonical manifest text; the checksum covers everything but itself. */
export const manifestText = (m: Omit<ArtifactManifest, "manifestSha256">): string => JSON.stringify(m, null, 2);

// ---- reading ----------------------------------------------------------------------------

/** Reads and checks manifest.json: its own checksum, its format version and every field's type. */
export function readManifest(dir: string): ArtifactManifest {
  return parseManifest(readManifestBytes(dir), dir);
}

/** manifest.json's bytes, read once (a signature check and the parse then see the same bytes). */
export function readManifestBytes(dir: string): Uint8Array {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) {
    throw new LatheError(`${dir} is not a Lathe artifact: ${MANIFEST_FILE} is missing (or a compile into it was interrupted)`);
  }
  try {
    return readFileSync(file);
  } catch (e) {
    throw new LatheError(`${file}: cannot read the manifest: ${(e as Error).message}`);
  }
}

/** Checks manifest bytes read from `dir` (see readManifest). */
export function parseManifest(bytes: Uint8Array, dir: string): ArtifactManifest {
  const file = path.join(dir, MANIFEST_FILE);
  const fail = (why: string): never => { throw new LatheError(`${file}: ${why}`); };
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as Record<string, unknown>;
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message}); the manifest is corrupt`);
  }
  if (typeof m !== "object" || m === null || m.format !== ARTIFACT_FORMAT) fail(`not a Lathe artifact manifest (format is not "${ARTIFACT_FORMAT}")`);
  if (typeof m.formatVersion !== "number" || m.formatVersion > ARTIFACT_VERSION) {
    fail(`artifact format version ${String(m.formatVersion)} is newer than this Lathe (${LATHE_VERSION}) reads (${ARTIFACT_VERSION}); recompile it`);
  }
  const { manifestSha256, ...body } = m;
  if (manifestSha256 !== sha256(new TextEncoder().encode(manifestText(body as Omit<ArtifactManifest, "manifestSha256">)))) fail("checksum mismatch: the manifest was modified or is corrupt");
  // The checksum vouches for the content; these checks catch a manifest written by hand or by a bug.
  const isRef = (r: unknown) => { const x = r as FileRef; return typeof x === "object" && x !== null && typeof x.file === "string" && !x.file.includes("/") && typeof x.sha256 === "string" && Number.isSafeInteger(x.bytes); };
  const isSpecs = (a: unknown) => Array.isArray(a) && a.every((s: TensorSpec) => typeof s?.name === "string" && typeof s.dtype === "string" && isDType(s.dtype) &&
    Array.isArray(s.shape) && s.shape.every((d) => typeof d === "string" || (Number.isSafeInteger(d) && d >= 0)));
  if (m.target === "webgpu") fail("is a webgpu artifact (WGSL kernels and a plan, no native library): run it with lathe run, loadWebGpuArtifact (runtime/webgpu-artifact.ts) or loadWebGpuModule (lathe/web)");
  if (typeof m.target !== "string" || !/^[a-z][a-z0-9-]*$/.test(m.target)) fail(`target ${String(m.target)} is not a target name`);
  if (typeof m.entry !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(m.entry)) fail("entry is not a C symbol");
  if (!isRef(m.library) || !isRef(m.params)) fail("library/params must be {file, sha256, bytes}");
  if (!isSpecs(m.inputs) || !isSpecs(m.outputs) || !isSpecs(m.constants)) fail("inputs/outputs/constants must be lists of {name, dtype, shape}");
  const c = m.compile as ArtifactManifest["compile"] | undefined;
  if (typeof c !== "object" || c === null || !Array.isArray(c.isa)) fail("compile must hold flags, compiler, cpu and isa");
  return m as unknown as ArtifactManifest;
}

/** Reads a file the manifest names and checks its size and SHA-256. */
export function readVerified(dir: string, ref: FileRef, what: string): Uint8Array {
  const file = path.join(dir, ref.file);
  let bytes: Uint8Array;
  try { bytes = readFileSync(file); } catch (e) { throw new LatheError(`${file}: cannot read the artifact's ${what}: ${(e as Error).message}`); }
  if (bytes.length !== ref.bytes) throw new LatheError(`${file}: the artifact's ${what} has ${bytes.length} bytes, the manifest says ${ref.bytes} (truncated or replaced)`);
  if (sha256(bytes) !== ref.sha256) throw new LatheError(`${file}: the artifact's ${what} does not match the manifest's sha256 (modified or corrupt)`);
  return bytes;
}
