/**
 * Prints the C++ entry point of a compiled graph from its execution plan: bind symbolic
 * sizes from the inputs, allocate the planned storage blocks, call each fused kernel on
 * tensor descriptors pointing into arguments or blocks, copy pass-through outputs.
 */
import type { DType } from "../../../core/dtype.ts";
import { bytesOf } from "../../../core/dtype.ts";
import type { Value } from "../../graph/graph.ts";
import type { ExecPlan } from "../../lower/exec-plan.ts";

const DL: Record<DType, [number, number]> = { f16: [2, 16], f32: [2, 32], f64: [2, 64], i8: [0, 8], u8: [1, 8], i32: [0, 32], i64: [0, 64], bool: [6, 8] };
const ident = (s: string) => `dim_${s.replace(/[^A-Za-z0-9_]/g, "_")}`;
const dimText = (d: number | string) => (typeof d === "number" ? `${d}LL` : ident(d));

/** The entry point's symbol; graphs built together into one library add `_<index>`. */
export const GRAPH_ENTRY = "lathe_graph_run";

/**
 * `profile`: print each kernel's time to stderr (LATHE_PROFILE=1 when compiling a graph).
 * `entry`: the exported symbol (distinct per graph when several share a library).
 */
export function printGraphEntry(plan: ExecPlan, profile = false, entry = GRAPH_ENTRY): string {
  const L: string[] = [];
  const line = (s: string) => L.push(`  ${s}`);
  line(`if (num_args != ${plan.args.length}) { lathe_fail("graph: expected ${plan.args.length} arguments, got %d", (int)num_args); return 1; }`);
  for (const [name, { arg, dim }] of plan.dims) line(`const int64_t ${ident(name)} = args[${arg}].shape[${dim}];`);
  const sizeExpr = (v: Value) => [`(int64_t)${bytesOf(v.type.dtype)}`, ...v.type.shape.map(dimText)].join(" * ");
  plan.memory.storages.forEach((s) => {
    const bytes = [`(int64_t)${s.size.coef}`, ...s.size.syms.map(ident)].join(" * ");
    line(`static thread_local lathe::Block block${s.id};`);
    line(`if (!block${s.id}.reserve((size_t)(${bytes}))) { lathe_fail("graph: out of memory for a ${s.size.coef}-byte block"); return 3; }`);
  });
  const ptr = (v: Value): string => {
    const loc = plan.location.get(v)!;
    return loc.kind === "arg" ? `args[${loc.index}].data` : `(void*)block${loc.id}.data`;
  };
  plan.kernels.forEach((k, i) => {
    L.push(`  {`);
    k.args.forEach((v, j) => line(`  int64_t s${i}_${j}[] = {${v.type.shape.map(dimText).join(", ") || "1"}};`));
    const descs = k.args.map((v, j) => {
      const [code, bits] = DL[v.type.dtype];
      return `LatheTensor{${ptr(v)}, ${v.type.shape.length}, LatheDType{${code}, ${bits}, 1}, s${i}_${j}, nullptr}`;
    });
    line(`  const LatheTensor a[] = {${descs.join(", ")}};`);
    if (profile) line(`  const double t0 = omp_get_wtime();`);
    line(`  const int32_t rc = ${k.func.name}(a, ${k.args.length});`);
    if (profile) line(`  std::fprintf(stderr, "lathe-profile %s %.4f ms\\n", "${k.func.name}", (omp_get_wtime() - t0) * 1e3);`);
    line(`  if (rc != 0) return rc;`);
    L.push(`  }`);
  });
  for (const c of plan.copies) line(`std::memcpy(args[${c.to}].data, ${ptr(c.from)}, (size_t)(${sizeExpr(c.from)}));`);
  line("return 0;");
  return `extern "C" int32_t ${entry}(const LatheTensor* args, int32_t num_args) {\n${L.join("\n")}\n}\n`;
}

