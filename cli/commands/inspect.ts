/**
 * `lathe inspect <model>`: what the compiler does to a model — the graph after the graph
 * passes (after each one with --pass-dump), the fused groups with their ops, and each
 * kernel's generated C++ (only the named one with --kernel).
 */
import { Command } from "commander";
import { printCppKernel } from "../../compiler/codegen/cpp/print.ts";
import { LatheError } from "../../core/errors.ts";
import { lowerGraph } from "../../compiler/targets/cpu/graph.ts";
import type { Value } from "../../compiler/graph/graph.ts";
import { printGraph } from "../../compiler/graph/text/print.ts";
import { collect, loadModel, parseDims, parsePairs } from "../load-model.ts";

interface InspectOptions { kernel?: string; passDump: boolean; dim: string[]; const: string[]; fuse: boolean }

const spell = (v: Value) => `${v.name}: ${v.type.dtype}[${v.type.shape.join(", ")}]`;

/** The report as text (the command prints it). */
export async function inspectModel(model: string, opts: InspectOptions): Promise<string> {
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
    .description("show a model's graph after the graph passes, its fused kernels, and their generated C++")
    .argument("<model>", "a graph text file (.lg) or an ONNX model (.onnx)")
    .option("--kernel <name>", "print only this kernel's C++ (names as listed, e.g. fused_0_matmul)")
    .option("--pass-dump", "print the graph after every graph pass (\"(unchanged)\" when a pass did nothing)", false)
    .option("--dim <name=size>", "fix a symbolic input dimension of an ONNX model (repeatable)", collect, [])
    .option("--const <name=file.npy>", "data for a graph-text constant declared without inline data (repeatable)", collect, [])
    .option("--no-fuse", "one kernel per node (no operator fusion)")
    .action(async (model: string, opts: InspectOptions) => { console.log(await inspectModel(model, opts)); });
}
