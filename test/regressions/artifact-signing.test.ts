// Artifact signing end to end through the CLI (in-process): `lathe compile --sign KEY.pem`,
// `lathe run --trust PUB.pem`, `lathe inspect DIR`. The manifest's own checksum is
// integrity only (a rewritten manifest can carry a recomputed one, and loads without
// --trust); a signature by the trusted key is what --trust accepts.
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { interpret } from "../../compiler/graph/interpret.ts";
import { parseGraph } from "../../compiler/graph/text/parse.ts";
import { MANIFEST_FILE, sha256 } from "../../runtime/artifact.ts";
import { SIGNATURE_FILE } from "../../runtime/artifact-signature.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { lathe } from "../helpers/cli.ts";
import { NEEDS, skipReason } from "../helpers/skip.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-signing-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => { process.exitCode = 0; });

const MODEL = `graph g(x: f32[n, 3]) {
  const w: f32[3, 2] = [1, -2, 0.5, 3, 0, -1]
  h = matmul(x, w)
  y = relu(h)
  return y
}
`;
const modelFile = path.join(tmp, "m.lg");
writeFileSync(modelFile, MODEL);
const x = Tensor.fromArray([1, 2, 3, -1, 0.5, 2], [2, 3], "f32");
writeNpy(path.join(tmp, "x.npy"), x);
const want = interpret(parseGraph(MODEL), [{ data: x.toArray(), shape: x.shape }]).outputs[0]!;

/** An Ed25519 key pair as PEM files (PKCS#8 private, SPKI public). */
function keyPair(name: string, type: "ed25519" | "rsa" = "ed25519"): { key: string; pub: string } {
  const { privateKey, publicKey } = type === "rsa" ? generateKeyPairSync("rsa", { modulusLength: 1024 }) : generateKeyPairSync("ed25519");
  const key = path.join(tmp, `${name}.pem`), pub = path.join(tmp, `${name}.pub.pem`);
  writeFileSync(key, privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(pub, publicKey.export({ type: "spki", format: "pem" }));
  return { key, pub };
}

const copy = (from: string, name: string) => { const d = path.join(tmp, name); cpSync(from, d, { recursive: true }); return d; };
const run = (dir: string, ...extra: string[]) => lathe("run", dir, "--input", path.join(tmp, "x.npy"), "--output", path.join(tmp, "y.npy"), ...extra);
const expectRefused = (r: { code: number; err: string }, file: string, re: RegExp) => {
  expect(r.code).toBe(1);
  expect(r.err).not.toMatch(/\n/);
  expect(r.err).toContain(file);
  expect(r.err).toMatch(re);
};
/** Rewrites the manifest with `edit` applied and its checksum recomputed, as anyone can. */
function rewriteManifest(dir: string, edit: (m: Record<string, unknown>) => void): void {
  const file = path.join(dir, MANIFEST_FILE);
  const { manifestSha256: _, ...body } = JSON.parse(readFileSync(file, "utf8"));
  edit(body);
  writeFileSync(file, `${JSON.stringify({ ...body, manifestSha256: sha256(new TextEncoder().encode(JSON.stringify(body, null, 2))) }, null, 2)}\n`);
}

describe("signed artifacts", () => {
  const alice = keyPair("alice"), mallory = keyPair("mallory");
  const signed = path.join(tmp, "signed"), unsigned = path.join(tmp, "unsigned");
  beforeAll(async () => {
    const a = await lathe("compile", modelFile, "-o", signed, "--sign", alice.key);
    expect(a.err).toBe("");
    const b = await lathe("compile", modelFile, "-o", unsigned);
    expect(b.err).toBe("");
  }, 120_000);

  test("a good signature runs under --trust, and inspect says signed and verified", async () => {
    expect(existsSync(path.join(signed, SIGNATURE_FILE))).toBe(true);
    const r = await run(signed, "--trust", alice.pub);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(readNpy(path.join(tmp, "y.npy")).toArray()).toEqual(Array.from(want.data, Math.fround));
    const i = await lathe("inspect", signed, "--trust", alice.pub);
    expect(i.out).toMatch(/signature: signed, verified with the trusted key \(ed25519, key sha256 [0-9a-f]{64}\)/);
    expect((await lathe("inspect", signed)).out).toMatch(/signature: signed \(ed25519, key sha256 [0-9a-f]{64}\); not checked against a trusted key/);
    // A private key file as --trust works too (its public half).
    expect((await run(signed, "--trust", alice.key)).code).toBe(0);
  });

  test("an unsigned artifact runs without --trust and is refused with it; inspect says unsigned", async () => {
    expect((await run(unsigned)).code).toBe(0);
    expectRefused(await run(unsigned, "--trust", alice.pub), path.join(unsigned, SIGNATURE_FILE), /missing: the artifact is not signed/);
    expect((await lathe("inspect", unsigned)).out).toMatch(/signature: unsigned/);
  });

  test("another key's signature is refused", async () => {
    expectRefused(await run(signed, "--trust", mallory.pub), path.join(signed, SIGNATURE_FILE), /signed by another key \(sha256 [0-9a-f]{16}…\), not the trusted one/);
  });

  test("a manifest rewritten with a recomputed checksum loads without --trust (integrity only) and is refused with it", async () => {
    const d = copy(signed, "tampered-manifest");
    rewriteManifest(d, (m) => { (m.meta as Record<string, unknown>).model = "something else"; });
    expect((await run(d)).code).toBe(0); // the checksum cannot tell
    expectRefused(await run(d, "--trust", alice.pub), path.join(d, SIGNATURE_FILE), /bad signature: manifest\.json was modified after it was signed/);
    expect((await lathe("inspect", d)).out).toMatch(/but the signature does not match manifest\.json/);
  });

  test("a replaced library is refused: alone by its hash, with a matching rewritten manifest by the signature", async () => {
    const d = copy(signed, "tampered-lib");
    const m = JSON.parse(readFileSync(path.join(d, MANIFEST_FILE), "utf8"));
    const libFile = path.join(d, m.library.file);
    const other = readFileSync(path.join(unsigned, JSON.parse(readFileSync(path.join(unsigned, MANIFEST_FILE), "utf8")).library.file));
    const evil = Buffer.concat([other, Buffer.from("evil")]);
    writeFileSync(libFile, evil);
    expectRefused(await run(d, "--trust", alice.pub), libFile, /library has \d+ bytes, the manifest says/);
    rewriteManifest(d, (b) => { b.library = { ...(b.library as object), sha256: sha256(evil), bytes: evil.length }; });
    expectRefused(await run(d, "--trust", alice.pub), path.join(d, SIGNATURE_FILE), /bad signature/);
  });

  test("a corrupt signature file is refused naming it", async () => {
    const d = copy(signed, "corrupt-sig");
    const sig = JSON.parse(readFileSync(path.join(d, SIGNATURE_FILE), "utf8"));
    writeFileSync(path.join(d, SIGNATURE_FILE), JSON.stringify({ ...sig, signature: Buffer.alloc(10).toString("base64") }));
    expectRefused(await run(d, "--trust", alice.pub), path.join(d, SIGNATURE_FILE), /an ed25519 signature has 64 bytes, this one 10/);
  });

  test("recompiling without --sign removes the old signature; a non-Ed25519 or missing key is refused before anything is written", async () => {
    const d = copy(signed, "resigned");
    expect((await lathe("compile", modelFile, "-o", d)).code).toBe(0);
    expect(existsSync(path.join(d, SIGNATURE_FILE))).toBe(false);
    const rsa = keyPair("rsa", "rsa");
    const bad = await lathe("compile", modelFile, "-o", path.join(tmp, "never"), "--sign", rsa.key);
    expectRefused(bad, rsa.key, /the signing key is rsa, not ed25519/);
    expect(existsSync(path.join(tmp, "never"))).toBe(false);
    expectRefused(await lathe("compile", modelFile, "-o", path.join(tmp, "never"), "--sign", path.join(tmp, "nokey.pem")), "nokey.pem", /cannot read the signing key/);
    expectRefused(await run(signed, "--trust", rsa.pub), rsa.pub, /the trusted public key is rsa, not ed25519/);
  });

  const openssl = (() => { try { execFileSync("openssl", ["version"], { stdio: "ignore" }); return true; } catch { return false; } })();
  test.runIf(openssl)(skipReason("the key pair made by the documented openssl commands signs and verifies", !openssl && NEEDS.openssl), async () => {
    const key = path.join(tmp, "ossl.pem"), pub = path.join(tmp, "ossl.pub.pem");
    execFileSync("openssl", ["genpkey", "-algorithm", "ed25519", "-out", key]);
    execFileSync("openssl", ["pkey", "-in", key, "-pubout", "-out", pub]);
    const d = path.join(tmp, "ossl");
    expect((await lathe("compile", modelFile, "-o", d, "--sign", key)).code).toBe(0);
    expect((await run(d, "--trust", pub)).code).toBe(0);
    expectRefused(await run(d, "--trust", alice.pub), path.join(d, SIGNATURE_FILE), /signed by another key/);
  }, 120_000);
});
