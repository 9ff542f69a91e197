/** The cpu target: loop IR → C++ → g++ → a shared library loaded into Node. */
import { BuildError } from "../../../core/errors.ts";
import { printCppModule } from "../../codegen/cpp/print.ts";
import type { Pass } from "../../tir/pass.ts";
import { flattenStorage } from "../../tir/passes/flatten.ts";
import { loopPartition } from "../../tir/passes/loop-partition.ts";
import { lowerIntDiv } from "../../tir/passes/lower-int-div.ts";
import { simplifyPass } from "../../tir/passes/simplify.ts";
import { unroll } from "../../tir/passes/unroll.ts";
import { vectorizePass } from "../../tir/passes/vectorize.ts";
import { deadLocalStores } from "../../tir/passes/dead-local-stores.ts";
import { hostVectorBytes } from "./host.ts";
import type { Stmt } from "../../tir/stmt.ts";
import { visitStmt } from "../../tir/stmt.ts";
import { NativeLibrary } from "../../../runtime/native.ts";
import type { BuiltModule, Target } from "../target.ts";
import { compileShared } from "./toolchain.ts";

/** Rejects loop IR the cpu target cannot run (GPU thread bindings, barriers, unlowered intrinsics). */
const checkSupported: Pass = {
  name: "cpu-check",
  run: (f) => {
    visitStmt(f.body, (s: Stmt) => {
      if (s.kind === "for" && s.forKind === "thread") {
        throw new BuildError(`kernel ${f.name}: loop ${s.loopVar.name} is bound to ${s.thread}; bind needs a GPU target, not cpu`);
      }
      if (s.kind === "barrier") throw new BuildError(`kernel ${f.name}: barriers need a GPU target, not cpu`);
      if (s.kind === "attr" && s.key === "tensorize") {
        throw new BuildError(`kernel ${f.name}: tensorize intrinsic "${s.value}" is not provided by the cpu target`);
      }
    });
    return f;
  },
};

/** Vectorizes for the width of the ISA chosen when the pass runs (LATHE_CPU_ISA may be set after import, as `--isa` does). */
const hostVectorize: Pass = { name: "vectorize", run: (f) => vectorizePass(hostVectorBytes()).run(f) };

export const cpuTarget: Target = {
  name: "cpu",
  // Partitioned again after vectorizing: a chunk that a border test kept scalar is cut at
  // the test, so all but its border elements run without the select. Dead local stores go
  // once partitioning and unrolling have made a tail tile's accumulators constant-indexed.
  passes: [checkSupported, flattenStorage, simplifyPass, loopPartition, simplifyPass, hostVectorize, loopPartition, unroll, simplifyPass, deadLocalStores, lowerIntDiv],
  async build(funcs, opts = {}) {
    const source = printCppModule(funcs);
    const compiled = await compileShared(source, opts.extraFlags ?? []);
    const lib = NativeLibrary.open(compiled.path);
    const kernels = new Map(funcs.map((f) => [f.name, lib.kernel(f.name)]));
    const kernel = (name: string) => {
      const k = kernels.get(name);
      if (!k) throw new BuildError(`module has no function ${name} (it has ${[...kernels.keys()].join(", ")})`);
      return k;
    };
    const mod: BuiltModule = {
      target: "cpu",
      source,
      artifact: compiled.path,
      run: (name, args) => kernel(name).call(args),
      runAsync: (name, args) => kernel(name).callAsync(args),
      setNumThreads: (n) => lib.setNumThreads(n),
    };
    return mod;
  },
};
