/**
 * `lathe compile <model> --target cpu|webgpu -o <dir>`: a graph text file or an ONNX model,
 * through the graph passes and the whole-graph compiler, into an ahead-of-time artifact
 * directory that `lathe run` executes: a native library for cpu and targets derived from it
 * (runtime/artifact.ts, loadModule), WGSL kernels and an execution plan for webgpu
 * (runtime/web/format.ts, loadWebGpuArtifact, the browser's loadWebGpuModule). The targets
 * are the registry's (compiler/targets/registry.ts), plugins included.
 */
import { Command, Option } from "commander";
import { LatheError } from "../../core/errors.ts";
import type { CompileGraphOptions, GraphLayout } from "../../compiler/targets/cpu/graph.ts";
import { GRAPH_LAYOUTS } from "../../compiler/targets/cpu/graph.ts";
import type { ArtifactManifest, TensorSpec } from "../../runtime/artifact.ts";
import { writeArtifact } from "../../compiler/targets/cpu/artifact.ts";
import { SIGNATURE_FILE, readSigningKey, removeSignature, signArtifact } from "../../runtime/artifact-signature.ts";
import { collect, loadModel, parseDims, parsePairs } from "../load-model.ts";
import { getTarget, listTargets, loadPlugin } from "../../compiler/targets/registry.ts";
import { loadTunedConfigs } from "../../compiler/targets/cpu/schedules/templates.ts";
import { CPU_ISAS, hostCpuDesc } from "../../compiler/targets/cpu/host.ts";
import { compile, isNativeModule } from "../../compiler/driver/compile.ts";
import { writeWebGpuArtifact } from "../../compiler/targets/webgpu/artifact.ts";
import { loadWebGpuTunedConfigs } from "../../compiler/targets/webgpu/tuning.ts";
import type { WebGpuManifest } from "../../runtime/web/format.ts";

/** The registry's targets when the CLI starts: the built-ins (plugins register later, with --plugin). */
const STARTUP_TARGETS: readonly string[] = listTargets();

/** Registered targets that write artifacts (cpu-like native libraries, or webgpu); --plugin packages add more. */
export function artifactTargets(): string[] {
  return listTargets().filter((n) => {
    const t = getTarget(n);
    return n === "webgpu" || (t.codegen !== undefined && t.build !== undefined && t.schedule !== undefined && t.options?.["artifact"] !== "none");
  });
}

export interface CompileCommandOptions {
  readonly target: string;
  readonly output: string;
  readonly dim: string[];
  readonly const: string[];
  readonly fuse: boolean;
  readonly printAfter?: string;
  /** Target plugin packages to load first (paths or package names). */
  readonly plugin?: readonly string[];
  /** A tuning log (lathe tune): each task's best measured config replaces its default schedule. */
  readonly tuningLog?: string;
  /** Also use tuning-log records of another compiler/host fingerprint (loadTunedConfigs `acceptStale`). */
  readonly acceptStale?: boolean;
  /** Convolution layout (CompileGraphOptions.layout); tune with the same one. */
  readonly layout?: string;
  /** The cpu ISA (--isa); tune with the same one. */
  readonly isa?: string;
  /** An Ed25519 private key (PEM): sign the manifest (runtime/artifact-signature.ts). */
  readonly sign?: string;
}

/** `--isa`, shared by compile and tune: the cpu ISA to generate code for (LATHE_CPU_ISA), at most the host's. */
export const isaOption = (): Option =>
  new Option("--isa <isa>", "cpu target: the vector ISA to generate code for, at most the host's (native, the default, or avx512, avx2, sse); schedules size themselves by it")
    .choices(["native", ...CPU_ISAS]);

/** Applies `--isa` for this process (the measuring child processes inherit it). */
export function applyIsa(isa: string | undefined): void {
  if (isa === undefined) return;
  process.env.LATHE_CPU_ISA = isa;
  hostCpuDesc(); // an ISA the host lacks is an error now, not at the first compile
}

/** `--layout`, shared by compile and tune (a tuning log's task keys depend on the layout). */
export const layoutOption = (): Option =>
  new Option("--layout <layout>", "convolutions' activation layout: nchwc (blocked, direct convolutions), nchw (im2col + GEMM), or auto (nchwc where it pays: no grouped convolutions other than depthwise ones and few layout transforms; the default, except nchw for a target plugin with BYOC patterns)")
    .choices([...GRAPH_LAYOUTS]);

export const spellSpec = (s: TensorSpec): string => `${s.name}: ${s.dtype}[${s.shape.join(", ")}]`;

/** Compiles `model` into an artifact at opts.output; returns its manifest. */
export async function compileModel(model: string, opts: CompileCommandOptions, extra: CompileGraphOptions = {}): Promise<ArtifactManifest | WebGpuManifest> {
  const loaded: string[] = [];
  for (const p of opts.plugin ?? []) loaded.push(...(await loadPlugin(p)).map((t) => t.name));
  // A plugin's target needs its --plugin in this command, even if this process loaded it before.
  if (!STARTUP_TARGETS.includes(opts.target) && !loaded.includes(opts.target)) {
    throw new LatheError(`unknown target "${opts.target}" (available: ${artifactTargets().join(", ")}); a --plugin <package> can register more`);
  }
  if (opts.target === "webgpu") return compileWebGpu(model, opts);
  const signingKey = opts.sign !== undefined ? readSigningKey(opts.sign) : undefined; // a bad key fails before any work
  const target = getTarget(opts.target);
  // Artifacts hold one native library: targets whose code is C++ for the cpu toolchain.
  if (!target.codegen || !target.build || !target.schedule || target.options?.["artifact"] === "none") {
    throw new LatheError(`target "${opts.target}" does not compile whole graphs into native libraries or webgpu artifacts (targets that do: ${artifactTargets().join(", ")})`);
  }
  const printAfter = opts.printAfter === undefined ? undefined : opts.printAfter === "all" ? "all" as const : opts.printAfter.split(",");
  const { graph, meta, names } = await loadModel(model, {
    dims: parseDims(opts.dim), constFiles: parsePairs(opts.const, "--const"),
    passes: printAfter ? { printAfter } : {},
  });
  const tuned = opts.tuningLog ? loadTunedConfigs(opts.tuningLog, (m) => console.error(`lathe: warning: ${m}`), { acceptStale: opts.acceptStale ?? false }) : undefined;
  const layout = opts.layout as GraphLayout | undefined;
  const compiled = await compile(graph, target, { ...extra, ...(tuned ? { tuned } : {}), ...(layout ? { layout } : {}), fuse: opts.fuse });
  if (!isNativeModule(compiled)) throw new LatheError(`target "${opts.target}" has no artifact format yet: it compiled the graph but cannot write it to ${opts.output}`);
  // An old signature must not sit beside the new manifest (it would not verify, or worse, mislead).
  removeSignature(opts.output);
  const manifest = await writeArtifact(compiled, opts.output, { meta, ...(names ? { names } : {}) });
  if (signingKey) signArtifact(opts.output, signingKey, manifest.manifestSha256);
  return manifest;
}

/** The webgpu artifact: the whole-graph runner's plan and kernels (compiler/targets/webgpu/artifact.ts). */
async function compileWebGpu(model: string, opts: CompileCommandOptions): Promise<WebGpuManifest> {
  // The webgpu graph compiler has no cpu layouts or ISAs, and its loaders do not check signatures.
  const unsupported = ([["layout", "--layout"], ["isa", "--isa"], ["sign", "--sign"]] as const).filter(([k]) => opts[k] !== undefined).map(([, f]) => f);
  if (unsupported.length) throw new LatheError(`target "webgpu" does not take ${unsupported.join(", ")} (cpu-target options)`);
  const printAfter = opts.printAfter === undefined ? undefined : opts.printAfter === "all" ? "all" as const : opts.printAfter.split(",");
  const { graph, meta, names } = await loadModel(model, {
    dims: parseDims(opts.dim), constFiles: parsePairs(opts.const, "--const"),
    passes: printAfter ? { printAfter } : {},
  });
  // webgpu records carry no fingerprint, so --accept-stale changes nothing here (tuning.ts).
  const tuned = opts.tuningLog ? loadWebGpuTunedConfigs(opts.tuningLog, (m) => console.error(`lathe: warning: ${m}`)) : undefined;
  const compiled = await compile(graph, "webgpu", { fuse: opts.fuse, ...(tuned ? { tuned } : {}) });
  removeSignature(opts.output);
  return writeWebGpuArtifact(compiled, opts.output, { meta, ...(names ? { names } : {}) });
}

export function compileCommand(): Command {
  return new Command("compile")
    .description("compile a model (Lathe graph text or .onnx) into an artifact directory: library, parameters, manifest.json")
    .argument("<model>", "a graph text file (.lg) or an ONNX model (.onnx)")
    .requiredOption("-o, --output <dir>", "the artifact directory (created; an artifact in it is replaced)")
    .option("--target <name>", `code generation target (${artifactTargets().join(", ")}, or one a --plugin package registers)`, "cpu")
    .option("--plugin <package>", "load a target plugin package (a path such as ./examples/openblas-target, or an installed package name; repeatable)", collect, [])
    .option("--dim <name=size>", "fix a symbolic input dimension of an ONNX model (repeatable)", collect, [])
    .option("--const <name=file.npy>", "data for a graph-text constant declared without inline data (repeatable)", collect, [])
    .option("--no-fuse", "one kernel per node (no operator fusion)")
    .option("--tuning-log <file>", "use each task's best config from this tuning log (written by lathe tune)")
    .option("--accept-stale", "with --tuning-log: also use records measured by another compiler version, g++ or host ISA (another fingerprint), for tasks this one has not tuned")
    .addOption(layoutOption())
    .addOption(isaOption())
    .option("--print-after <passes>", "print the graph after these graph passes (comma-separated, or all) to stderr")
    .option("--sign <key.pem>", "sign the artifact's manifest with this Ed25519 private key (openssl genpkey -algorithm ed25519 -out key.pem), writing manifest.json.sig; lathe run --trust checks it")
    .action(async (model: string, opts: CompileCommandOptions) => {
      applyIsa(opts.isa);
      const m = await compileModel(model, opts);
      if (m.target === "webgpu" && "plan" in m) {
        console.log(`wrote ${opts.output}: ${m.kernels.length} WGSL kernels, ${m.plan.file} (${m.plan.bytes} bytes), ${m.params.file} (${m.constants.length} constants, ${m.params.bytes} bytes), manifest.json`);
      } else if ("library" in m) {
        console.log(`wrote ${opts.output}: ${m.library.file} (${m.library.bytes} bytes, entry ${m.entry}), ${m.params.file} (${m.constants.length} constants, ${m.params.bytes} bytes), manifest.json${opts.sign !== undefined ? `, ${SIGNATURE_FILE}` : ""}`);
      }
      console.log(`  inputs:  ${m.inputs.map(spellSpec).join(", ")}`);
      console.log(`  outputs: ${m.outputs.map(spellSpec).join(", ")}`);
    });
}
