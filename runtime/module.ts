/**
 * loadModule: opens an ahead-of-time artifact (artifact.ts) and runs it. Everything is
 * verified before the library is opened: the manifest's signature (with `trust`), its own
 * checksum, the size and SHA-256 of the library and of the parameters, the parameters
 * against the manifest's list, and that this CPU has the instruction sets the library was
 * compiled for. Each file is read once and what was checked is what is used: the library
 * is dlopened from a private copy of the verified bytes, never from the artifact's path,
 * which could be replaced between the check and dlopen.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync, constants as fsConstants } from "node:fs";
import type { KeyObject } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { LatheError } from "../core/errors.ts";
import type { ValueSpec } from "../core/tensor-type.ts";
import type { ArtifactManifest, TensorSpec } from "./artifact.ts";
import { PARAMS_FILE, decodeParams, parseManifest, readManifestBytes, readVerified } from "./artifact.ts";
import { verifyArtifactSignature } from "./artifact-signature.ts";
import { hostIsa } from "./host.ts";
import { NativeLibrary } from "./native.ts";
import { checkInputs, checkOutputs, concreteShapes } from "./signature.ts";
import { Tensor } from "./tensor.ts";

export interface LoadedModule {
  readonly dir: string;
  readonly manifest: ArtifactManifest;
  /** In call order; symbolic dimensions are strings, bound from the inputs on each run. */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Runs on inputs in manifest order; a wrong count, dtype or shape is a ShapeError naming the input. */
  run(inputs: readonly Tensor[]): Tensor[];
  /** The same, into caller-owned outputs of the right dtypes and shapes. */
  runInto(inputs: readonly Tensor[], outputs: readonly Tensor[]): void;
  setNumThreads(n: number): void;
  /** Unloads the library; later runs throw. */
  close(): void;
}

/** Values carrying a spec, so the signature checks shared with compiled graphs apply. */
const asValues = (specs: readonly TensorSpec[]): ValueSpec[] =>
  specs.map((s) => ({ name: s.name, type: { dtype: s.dtype, shape: [...s.shape] } }));

export interface LoadOptions {
  /**
   * Accept only an artifact signed by this Ed25519 public key (artifact-signature.ts
   * readTrustedKey): an unsigned artifact, another key's signature or a manifest changed
   * after signing is refused. Without it, the checksums guard against damage, not against
   * someone who rewrites the artifact.
   */
  readonly trust?: KeyObject;
}

/**
 * dlopens `bytes` (the verified library) from a fresh file in a private (0700) temporary
 * directory, created exclusively, so nothing else can have put or swapped it there. The
 * copy is removed right after dlopen (the mapping keeps it alive); where the platform
 * refuses (Windows keeps loaded DLLs), at close().
 */
function openVerifiedLibrary(bytes: Uint8Array, name: string, shownAs: string): { lib: NativeLibrary; cleanup: () => void } {
  let tmp: string;
  try { tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-lib-")); } catch (e) { throw new LatheError(`cannot make a private copy of ${shownAs}: ${(e as Error).message}`); }
  let removed = false;
  const cleanup = () => {
    if (removed) return;
    try { rmSync(tmp, { recursive: true, force: true }); removed = true; } catch { /* still mapped (Windows): close() retries */ }
  };
  try {
    const file = path.join(tmp, name);
    const fd = openSync(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | (fsConstants.O_NOFOLLOW ?? 0), 0o700);
    try {
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    } finally {
      closeSync(fd);
    }
    let lib: NativeLibrary;
    try {
      lib = NativeLibrary.open(file);
    } catch (e) {
      throw new LatheError(`${shownAs}: cannot load the library: ${(e as Error).message.split(file).join(shownAs)}`);
    }
    return { lib, cleanup };
  } catch (e) {
    throw e instanceof LatheError ? e : new LatheError(`cannot make a private copy of ${shownAs}: ${(e as Error).message}`);
  } finally {
    cleanup();
  }
}

export function loadModule(dir: string, opts: LoadOptions = {}): LoadedModule {
  const manifestBytes = readManifestBytes(dir);
  if (opts.trust) verifyArtifactSignature(dir, manifestBytes, opts.trust);
  const m = parseManifest(manifestBytes, dir);
  const missing = m.compile.isa.filter((f) => !hostIsa().includes(f));
  if (missing.length) {
    throw new LatheError(`${dir}: the artifact was compiled for a CPU with ${missing.join(", ")}, which this host lacks; recompile it here`);
  }
  const libBytes = readVerified(dir, m.library, "library");
  const paramsFile = path.join(dir, m.params.file || PARAMS_FILE);
  const params = decodeParams(readVerified(dir, m.params, "parameters"), paramsFile);
  if (params.length !== m.constants.length) throw new LatheError(`${paramsFile}: holds ${params.length} tensors, the manifest lists ${m.constants.length}`);
  params.forEach((p, i) => {
    const want = m.constants[i]!;
    if (p.name !== want.name || p.dtype !== want.dtype || p.shape.length !== want.shape.length || p.shape.some((d, k) => d !== want.shape[k])) {
      throw new LatheError(`${paramsFile}: tensor ${i} is ${p.name}: ${p.dtype}[${p.shape.join(", ")}], the manifest expects ${want.name}: ${want.dtype}[${want.shape.join(", ")}]`);
    }
  });
  const libPath = path.join(dir, m.library.file);
  const { lib, cleanup } = openVerifiedLibrary(libBytes, m.library.file, libPath);
  if (!lib.has(m.entry)) { lib.close(); cleanup(); throw new LatheError(`${libPath}: the library has no entry point ${m.entry}`); }
  const entry = lib.kernel(m.entry);
  const ins = asValues(m.inputs), outs = asValues(m.outputs);

  const runInto = (inputs: readonly Tensor[], outputs: readonly Tensor[]) => {
    const shapes = concreteShapes(outs, checkInputs(ins, inputs));
    checkOutputs(outs, shapes, outputs);
    entry.call([...inputs, ...params, ...outputs]);
  };
  return {
    dir, manifest: m, inputs: m.inputs, outputs: m.outputs,
    run(inputs) {
      const shapes = concreteShapes(outs, checkInputs(ins, inputs));
      const result = shapes.map((s, i) => Tensor.zeros(s, outs[i]!.type.dtype));
      runInto(inputs, result);
      return result;
    },
    runInto,
    setNumThreads: (n) => lib.setNumThreads(n),
    close: () => { lib.close(); cleanup(); },
  };
}
