/**
 * `lathe/runtime`: runs ahead-of-time artifacts (written by `lathe compile`) without the
 * compiler. Nothing under runtime/ imports compiler code (the layering rules check it), so
 * a program that only runs artifacts loads runtime/ and core/ alone.
 */
export { loadModule } from "./module.ts";
export type { LoadedModule, LoadOptions } from "./module.ts";
export { readTrustedKey, keySha256, verifyArtifactSignature, SIGNATURE_FILE } from "./artifact-signature.ts";
export { readManifest, ARTIFACT_FORMAT, ARTIFACT_VERSION, LATHE_VERSION } from "./artifact.ts";
export type { ArtifactManifest, TensorSpec } from "./artifact.ts";
export { Tensor } from "./tensor.ts";
export { readNpy, writeNpy, decodeNpy, encodeNpy } from "./npy.ts";
export { LatheError, ShapeError } from "../core/errors.ts";
export type { DType } from "../core/dtype.ts";
