/**
 * `lathe inspect <model>`: what the compiler does to a model — the graph after the graph
 * passes (after each one with --pass-dump), the fused groups with their ops, and each
 * kernel's generated C++ (only the named one with --kernel).
 * `lathe inspect <artifact-dir>`: what an artifact holds, whether its files match the
 * manifest, and whether it is signed (and, with --trust, by that key).
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { printCppKernel } from "../../compiler/codegen/cpp/print.ts";
import { LatheError } from "../../core/errors.ts";
import { lowerGraph } from "../../compiler/targets/cpu/graph.ts";
import type { Value } from "../../compiler/graph/graph.ts";
import { printGraph } from "../../compiler/graph/text/print.ts";
import { collect, loadModel, parseDims, parsePairs } from "../load-model.ts";
import { MANIFEST_FILE, parseManifest, readManifestBytes, readVerified, type TensorSpec } from "../../runtime/artifact.ts";
import { keySha256, readTrustedKey, signatureInfo, verifyArtifactSignature } from "../../runtime/artifact-signature.ts";

interface InspectOptions { kernel?: string; passDump: boolean; dim: string[]; const: string[]; fuse: boolean; trust?: string }

const spellSpec = (s: TensorSpec) => `${s.name}: ${s.dtype}[${s.shape.join(", ")}]`;

/** Whether `p` is an artifact directory (rather than a model file). */
const isArtifactDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory() && existsSync(path.join(p, MANIFEST_FILE));

/**
 * An artifact's report: its manifest, whether each file matches the manifest, and its
 * signature. A damaged file or (with `trust`) a missing or bad signature is an error, as
 * `lathe run` would refuse it.
 */
export function inspectArtifact(dir: string, trust?: string): string {
  const bytes = readManifestBytes(dir);
  const trusted = trust !== undefined ? readTrustedKey(trust) : undefined;
  if (trusted) verifyArtifactSignature(dir, bytes, trusted);
  const m = parseManifest(bytes, dir);
  readVerified(dir, m.library, "library");
  readVerified(dir, m.params, "parameters");
  const sig = signatureInfo(dir, bytes);
  const signed = trusted
    ? `signed, verified with the trusted key (ed25519, key sha256 ${keySha256(trusted)})`
    : sig === null
      ? "unsigned (the checksums catch damage, not deliberate changes: sign with lathe compile --sign KEY.pem)"
      : sig.selfConsistent
        ? `signed (ed25519, key sha256 ${sig.keySha256}); not checked against a trusted key: pass --trust PUBKEY.pem`
        : `signed (ed25519, key sha256 ${sig.keySha256}), but the signature does not match ${MANIFEST_FILE}: modified after signing`;
  return [
    `artifact ${dir}: ${m.format} v${m.formatVersion}, written by Lathe ${m.lathe}, target ${m.target}`,
    `  signature: ${signed}`,
    `  integrity: manifest checksum and every file's size and sha256 match`,
    `  library:   ${m.library.file} (${m.library.bytes} bytes, sha256 ${m.library.sha256}), entry ${m.entry}`,
    `  params:    ${m.params.file} (${m.params.bytes} bytes, sha256 ${m.params.sha256}), ${m.constants.length} constants`,
    `  inputs:    ${m.inputs.map(spellSpec).join(", ") || "(none)"}`,
    `  outputs:   ${m.outputs.map(spellSpec).join(", ")}`,
    `  compiled:  ${m.compile.compiler} ${m.compile.flags.join(" ")} on ${m.compile.cpu} (needs ${m.compile.isa.join(", ") || "no extensions"})`,
    ...Object.entries(m.meta).map(([k, v]) => `  meta.${k}: ${v}`),
  ].join("\n");
}

const spell = (v: Value) => `${v.name}: ${v.type.dtype}[${v.type.shape.join(", ")}]`;

/** The report as text (the command prints it). */
export async function inspectModel(model: string, opts: InspectOptions): Promise<string> {
  if (isArtifactDir(model)) return inspectArtifact(model, opts.trust);
  if (opts.trust !== undefined) throw new LatheError(`--trust applies to an artifact directory; ${model} is a model`);
  const out: string[] = [];
  const { graph } = await loadModel(model, {
    dims: parseDims(opts.dim), constFiles: parsePairs(opts.const, "--const"),
    passes: opts.passDump && !opts.kernel ? { printAfter: "all", log: (t) => out.push(t.trimEnd()) } : { printAfter: [] },
  });
  const lg = lowerGraph(graph, { fuse: opts.fuse });
  if (opts.kernel !== undefined) {
    const k = lg.kernels.find((x) => x.func.name === opts.kernel);
    if (!k) throw new LatheError(`no kernel named ${opts.kernel}; the kernels are ${lg.kernels.map((x) => x.func.name).join(", ")}`);
    return printCppKernel(k.func);
  }
  if (!opts.passDump) out.push("// graph after the graph passes", printGraph(graph).trimEnd());
  out.push("", `// ${lg.kernels.length} kernels (fused groups), in call order`);
  lg.groups.forEach((grp, i) => {
    const k = lg.kernels[i]!;
    out.push(`${k.func.name}: ${grp.nodes.map((n) => `${n.op}${n === grp.anchor ? "*" : ""}`).join(" → ")}`);
    out.push(`    in:  ${grp.inputs.map(spell).join(", ") || "(none)"}`);
    out.push(`    out: ${grp.outputs.map(spell).join(", ")}`);
  });
  for (const k of lg.kernels) out.push("", `// ---- kernel ${k.func.name} ----`, printCppKernel(k.func).trimEnd());
  return out.join("\n");
}

export function inspectCommand(): Command {
  return new Command("inspect")
    .description("show a model's graph after the graph passes, its fused kernels, and their generated C++; or what an artifact directory holds and whether it is signed")
    .argument("<model>", "a graph text file (.lg), an ONNX model (.onnx), or an artifact directory")
    .option("--kernel <name>", "print only this kernel's C++ (names as listed, e.g. fused_0_matmul)")
    .option("--pass-dump", "print the graph after every graph pass (\"(unchanged)\" when a pass did nothing)", false)
    .option("--dim <name=size>", "fix a symbolic input dimension of an ONNX model (repeatable)", collect, [])
    .option("--const <name=file.npy>", "data for a graph-text constant declared without inline data (repeatable)", collect, [])
    .option("--no-fuse", "one kernel per node (no operator fusion)")
    .option("--trust <pubkey.pem>", "an artifact: also check that it is signed by this Ed25519 public key")
    .action(async (model: string, opts: InspectOptions) => { console.log(await inspectModel(model, opts)); });
}
