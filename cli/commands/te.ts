/**
 * `lathe te <file>`: a tensor-expression program (text form) through the operator
 * compiler with the default schedule: prints the loop IR or the generated C++, and with
 * --check runs the native kernel on random inputs against the reference evaluator.
 */
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { build, lower } from "../../compiler/driver/kernel.ts";
import { printCppModule } from "../../compiler/codegen/cpp/print.ts";
import { LatheError } from "../../core/errors.ts";
import { evaluate } from "../../compiler/te/evaluate.ts";
import { parseTE } from "../../compiler/te/parse.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { printFunc } from "../../compiler/tir/print.ts";
import { Tensor as RtTensor } from "../../runtime/tensor.ts";

interface TeOptions { emit: "ir" | "cpp" | "none"; printAfter?: string; check: boolean; name: string }

export function teCommand(): Command {
  return new Command("te")
    .description("compile a tensor-expression file (default schedule): print its loop IR or C++, or check it against the reference")
    .argument("<file>", "a .te file, e.g. C[i, j] = sum(k: 64, A[i, k] * B[k, j]) after its input declarations")
    .option("--emit <what>", "ir | cpp | none", "ir")
    .option("--print-after <passes>", "print the loop IR after these passes (comma-separated, or all)")
    .option("--check", "build and run on random inputs, compare with the reference evaluator", false)
    .option("--name <name>", "kernel name", "kernel")
    .action(async (file: string, opts: TeOptions) => {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        throw new LatheError(`cannot read ${file}: ${(e as Error).message}`);
      }
      const prog = parseTE(text, file);
      const inputs = [...prog.inputs.values()];
      const args = [...inputs, ...prog.outputs];
      const s = createSchedule(prog.outputs);
      const printAfter = opts.printAfter === undefined ? undefined : opts.printAfter === "all" ? "all" as const : opts.printAfter.split(",");
      const f = lower(s, args, { name: opts.name, ...(printAfter ? { printAfter, log: (t: string) => process.stdout.write(t) } : {}) });
      if (opts.emit === "ir") console.log(printFunc(f));
      else if (opts.emit === "cpp") console.log(printCppModule([f]));
      if (!opts.check) return;
      const shapeOf = (t: (typeof args)[number]) => t.shape.map((d) => {
        if (d.kind !== "const") throw new LatheError(`--check needs constant shapes; ${t.name} has a symbolic one`);
        return d.value;
      });
      const kernel = await build(s, args, { name: opts.name, printAfter: [] });
      const data = args.map((t, k) => k < inputs.length ? RtTensor.random(shapeOf(t), t.dtype, k + 1) : RtTensor.zeros(shapeOf(t), t.dtype));
      kernel.run(...data);
      const ref = evaluate(prog.outputs, new Map(inputs.map((t, k) => [t, data[k]!.toArray()])));
      for (const [k, out] of prog.outputs.entries()) {
        const got = data[inputs.length + k]!.toArray(), want = ref.get(out)!;
        let worst = 0;
        got.forEach((g, i) => { worst = Math.max(worst, Math.abs(g - want[i]!) / (1 + Math.abs(want[i]!))); });
        console.log(`${out.name}: ${got.length} elements, max relative difference from the reference ${worst.toExponential(2)}`);
        if (worst > 1e-4) throw new LatheError(`${out.name} differs from the reference evaluator`);
      }
    });
}
