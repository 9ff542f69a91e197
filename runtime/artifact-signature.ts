/**
 * Detached Ed25519 signatures of artifacts. manifest.json's own checksum only catches
 * accidents: anyone who edits the manifest can recompute it, so it gives integrity, not
 * authenticity. A signature of the manifest's exact bytes (which hold the SHA-256 of the
 * library and of the parameters) made with a private key says who wrote all of it; loading
 * with that key's public half (`loadModule(dir, { trust })`, `lathe run --trust`) refuses an
 * unsigned artifact, another key's signature, and any change to the manifest or its files.
 *
 *   manifest.json.sig   {"format": "lathe-artifact-signature", "algorithm": "ed25519",
 *                        "publicKey": SPKI DER, base64, "keySha256": its SHA-256, hex,
 *                        "signature": 64 bytes, base64}
 *
 * The public key inside the file only names the signer (for `lathe inspect` and messages);
 * trust comes from the key the caller passes. Keys are PEM files: PKCS#8 private keys and
 * SPKI public keys, as `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write them.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { LatheError } from "../core/errors.ts";
import { MANIFEST_FILE, sha256 } from "./artifact.ts";
import { writeFileAtomic } from "./atomic-file.ts";

export const SIGNATURE_FILE = `${MANIFEST_FILE}.sig`;
const SIGNATURE_FORMAT = "lathe-artifact-signature";

/** What a signature file says about its signer. */
export interface SignatureInfo {
  readonly file: string;
  /** SHA-256 (hex) of the signer's public key (SPKI DER): compare it with `keySha256(yourKey)`. */
  readonly keySha256: string;
  /** Whether the signature verifies under the public key the file names (not a statement of trust). */
  readonly selfConsistent: boolean;
}

/** SHA-256 (hex) of a public key's SPKI DER encoding: the key's fingerprint in messages. */
export const keySha256 = (key: KeyObject): string =>
  sha256((key.type === "public" ? key : createPublicKey(key)).export({ type: "spki", format: "der" }));

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new LatheError(`${file}: cannot read the ${what}: ${(e as Error).message}`);
  }
}

const requireEd25519 = (key: KeyObject, file: string, what: string): KeyObject => {
  if (key.asymmetricKeyType !== "ed25519") {
    throw new LatheError(`${file}: the ${what} is ${key.asymmetricKeyType ?? "not an asymmetric key"}, not ed25519 (make one with: openssl genpkey -algorithm ed25519 -out key.pem)`);
  }
  return key;
};

/** Reads an Ed25519 private key (PEM, unencrypted PKCS#8) for signing. */
export function readSigningKey(file: string): KeyObject {
  const pem = readPem(file, "signing key");
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new LatheError(`${file}: not an unencrypted PEM private key (${(e as Error).message})`);
  }
  return requireEd25519(key, file, "signing key");
}

/** Reads the Ed25519 public key (PEM, SPKI) that artifacts must be signed with. A private key file works too (its public half is used). */
export function readTrustedKey(file: string): KeyObject {
  const pem = readPem(file, "trusted public key");
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new LatheError(`${file}: not a PEM public key (${(e as Error).message})`);
  }
  return requireEd25519(key, file, "trusted public key");
}

/** The signature file's bytes for `manifestBytes`. */
export function signatureFor(manifestBytes: Uint8Array, key: KeyObject): string {
  const pub = createPublicKey(key).export({ type: "spki", format: "der" });
  const body = {
    format: SIGNATURE_FORMAT, algorithm: "ed25519",
    publicKey: pub.toString("base64"), keySha256: sha256(pub),
    signature: sign(null, manifestBytes, key).toString("base64"),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
}

/**
 * Signs the artifact in `dir`: its manifest.json as it is on disk, which must be the one
 * whose checksum is `manifestSha256` (the manifest just written), so a manifest swapped in
 * between is never signed. Writes manifest.json.sig atomically.
 */
export function signArtifact(dir: string, key: KeyObject, manifestSha256: string): string {
  const file = path.join(dir, MANIFEST_FILE);
  let bytes: Uint8Array;
  try { bytes = readFileSync(file); } catch (e) { throw new LatheError(`${file}: cannot read the manifest to sign it: ${(e as Error).message}`); }
  let onDisk: unknown;
  try { onDisk = (JSON.parse(new TextDecoder().decode(bytes)) as { manifestSha256?: unknown }).manifestSha256; } catch { onDisk = undefined; }
  if (onDisk !== manifestSha256) throw new LatheError(`${file}: changed after it was written; not signing it`);
  const sigFile = path.join(dir, SIGNATURE_FILE);
  writeFileAtomic(sigFile, signatureFor(bytes, key));
  return sigFile;
}

/** Removes a signature (before an artifact is rewritten, so an old signature never sits beside a new manifest). */
export function removeSignature(dir: string): void {
  const file = path.join(dir, SIGNATURE_FILE);
  try {
    rmSync(file, { force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOTDIR") return; // no directory there yet: nothing to remove (the writer reports it)
    throw new LatheError(`${file}: cannot remove the old signature: ${(e as Error).message}`);
  }
}

interface SignatureFile { readonly publicKey: KeyObject; readonly keySha256: string; readonly signature: Buffer }

function readSignatureFile(file: string): SignatureFile {
  const fail = (why: string): never => { throw new LatheError(`${file}: ${why}`); };
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (e) {
    return fail(`not a signature file (${(e as Error).message})`);
  }
  if (typeof j !== "object" || j === null || j.format !== SIGNATURE_FORMAT) fail(`not a Lathe artifact signature (format is not "${SIGNATURE_FORMAT}")`);
  if (j.algorithm !== "ed25519") fail(`signature algorithm ${JSON.stringify(j.algorithm)} is not supported (only ed25519)`);
  if (typeof j.publicKey !== "string" || typeof j.signature !== "string") fail("malformed: publicKey and signature must be base64 strings");
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(j.publicKey as string, "base64"), format: "der", type: "spki" });
  } catch (e) {
    return fail(`malformed public key (${(e as Error).message})`);
  }
  if (publicKey.asymmetricKeyType !== "ed25519") fail(`the signer's key is ${publicKey.asymmetricKeyType}, not ed25519`);
  const signature = Buffer.from(j.signature as string, "base64");
  if (signature.length !== 64) fail(`malformed: an ed25519 signature has 64 bytes, this one ${signature.length}`);
  return { publicKey, keySha256: keySha256(publicKey), signature };
}

/** The signature beside `dir`'s manifest, or null for an unsigned artifact (for `lathe inspect`). */
export function signatureInfo(dir: string, manifestBytes: Uint8Array): SignatureInfo | null {
  const file = path.join(dir, SIGNATURE_FILE);
  if (!existsSync(file)) return null;
  const s = readSignatureFile(file);
  return { file, keySha256: s.keySha256, selfConsistent: verify(null, manifestBytes, s.publicKey, s.signature) };
}

/**
 * Checks that `manifestBytes` (dir's manifest.json, read once by the caller) carry a valid
 * signature by `trusted`. Throws a one-line LatheError naming the signature file: when there
 * is none, when another key signed, or when the manifest changed after signing.
 */
export function verifyArtifactSignature(dir: string, manifestBytes: Uint8Array, trusted: KeyObject): void {
  const file = path.join(dir, SIGNATURE_FILE);
  const want = keySha256(trusted);
  if (!existsSync(file)) {
    throw new LatheError(`${file}: missing: the artifact is not signed, and only artifacts signed by the trusted key (sha256 ${want.slice(0, 16)}…) are accepted`);
  }
  const s = readSignatureFile(file);
  if (s.keySha256 !== want) {
    throw new LatheError(`${file}: signed by another key (sha256 ${s.keySha256.slice(0, 16)}…), not the trusted one (sha256 ${want.slice(0, 16)}…)`);
  }
  if (!verify(null, manifestBytes, trusted, s.signature)) {
    throw new LatheError(`${file}: bad signature: ${MANIFEST_FILE} was modified after it was signed (or the signature is corrupt)`);
  }
}
