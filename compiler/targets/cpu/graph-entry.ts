/**
 * Prints the C++ entry point of a compiled graph from its execution plan: bind symbolic
 * sizes from the inputs, allocate the planned storage blocks, call each fused kernel on
 * tensor descriptors pointing into arguments or blocks, copy pass-through outputs.
 *
 * A scan step becomes a C++ loop around its body's kernel calls (printed once, whatever
 * the trip count): the carries live in two blocks swapped after each step, a step's
 * slice of a sequence or of a stacked output is addressed in place (axis 0 is scanned,
 * so slice t starts t slices into the buffer), and the invariants are the enclosing
 * plan's buffers. The body's intermediates have blocks of their own, reused every step.
 */
import type { DType } from "../../../core/dtype.ts";
import { bytesOf } from "../../../core/dtype.ts";
import { LatheError } from "../../../core/errors.ts";
import type { Value } from "../../graph/graph.ts";
import { scanAttrs, scanLength } from "../../graph/scan.ts";
import type { TensorType } from "../../graph/types.ts";
import type { ExecPlan, PlanStep } from "../../lower/exec-plan.ts";
import type { LoweredGroup } from "../../lower/group.ts";

const DL: Record<DType, [number, number]> = { f16: [2, 16], f32: [2, 32], f64: [2, 64], i8: [0, 8], u8: [1, 8], i32: [0, 32], i64: [0, 64], bool: [6, 8] };
const ident = (s: string) => `dim_${s.replace(/[^A-Za-z0-9_]/g, "_")}`;
const dimText = (d: number | string) => (typeof d === "number" ? `${d}LL` : ident(d));
const bytesExpr = (t: TensorType) => [`(int64_t)${bytesOf(t.dtype)}`, ...t.shape.map(dimText)].join(" * ");

/** The entry point's symbol; graphs built together into one library add `_<index>`. */
export const GRAPH_ENTRY = "lathe_graph_run";

/** Where the printer is: lines so far, the indentation, and whether to time kernels. */
interface Out {
  readonly lines: string[];
  readonly profile: boolean;
}

/**
 * `profile`: print each kernel's time to stderr (LATHE_PROFILE=1 when compiling a graph).
 * `entry`: the exported symbol (distinct per graph when several share a library).
 */
export function printGraphEntry(plan: ExecPlan, profile = false, entry = GRAPH_ENTRY): string {
  const out: Out = { lines: [], profile };
  const line = (s: string) => out.lines.push(`  ${s}`);
  line(`if (num_args != ${plan.args.length}) { lathe_fail("graph: expected ${plan.args.length} arguments, got %d", (int)num_args); return 1; }`);
  for (const [name, { arg, dim }] of plan.dims) line(`const int64_t ${ident(name)} = args[${arg}].shape[${dim}];`);
  printPlan(plan, (i) => `args[${i}].data`, "", "  ", out);
  line("return 0;");
  return `extern "C" int32_t ${entry}(const LatheTensor* args, int32_t num_args) {\n${out.lines.join("\n")}\n}\n`;
}

/**
 * A plan's blocks, steps and copies. `argPtr(i)`: a C++ pointer expression for the plan's
 * argument i; `prefix` keeps a body's names apart from its enclosing plan's.
 */
function printPlan(plan: ExecPlan, argPtr: (index: number) => string, prefix: string, indent: string, out: Out): void {
  const line = (s: string) => out.lines.push(`${indent}${s}`);
  plan.memory.storages.forEach((s) => {
    const bytes = [`(int64_t)${s.size.coef}`, ...s.size.syms.map(ident)].join(" * ");
    line(`static thread_local lathe::Block ${prefix}block${s.id};`);
    line(`if (!${prefix}block${s.id}.reserve((size_t)(${bytes}))) { lathe_fail("graph: out of memory for a ${s.size.coef}-byte block"); return 3; }`);
  });
  const ptr = (v: Value): string => {
    const loc = plan.location.get(v);
    if (!loc) throw new LatheError(`graph entry: value ${v.name} has no storage (nothing reads it?)`);
    return loc.kind === "arg" ? argPtr(loc.index) : `(void*)${prefix}block${loc.id}.data`;
  };
  plan.steps.forEach((step, i) => {
    if (step.kind === "kernel") printKernelCall(step.kernel, ptr, `${prefix}${i}`, indent, out);
    else printScan(step, plan, ptr, `${prefix}s${i}_`, indent, out);
  });
  for (const c of plan.copies) line(`std::memcpy(${argPtr(c.to)}, ${ptr(c.from)}, (size_t)(${bytesExpr(c.from.type)}));`);
}

function printKernelCall(k: LoweredGroup, ptr: (v: Value) => string, tag: string, indent: string, out: Out): void {
  const line = (s: string) => out.lines.push(`${indent}${s}`);
  line(`{`);
  k.args.forEach((v, j) => line(`  int64_t s${tag}_${j}[] = {${v.type.shape.map(dimText).join(", ") || "1"}};`));
  const descs = k.args.map((v, j) => {
    const [code, bits] = DL[v.type.dtype];
    return `LatheTensor{${ptr(v)}, ${v.type.shape.length}, LatheDType{${code}, ${bits}, 1}, s${tag}_${j}, nullptr}`;
  });
  line(`  const LatheTensor a[] = {${descs.join(", ")}};`);
  if (out.profile) line(`  const double t0 = omp_get_wtime();`);
  line(`  const int32_t rc = ${k.func.name}(a, ${k.args.length});`);
  if (out.profile) line(`  std::fprintf(stderr, "lathe-profile %s %.4f ms\\n", "${k.func.name}", (omp_get_wtime() - t0) * 1e3);`);
  line(`  if (rc != 0) return rc;`);
  line(`}`);
}

/** A scan step: the loop, with the body's arguments bound to this step's carries and slices. */
function printScan(step: Extract<PlanStep, { kind: "scan" }>, plan: ExecPlan, ptr: (v: Value) => string, p: string, indent: string, out: Out): void {
  const line = (s: string) => out.lines.push(`${indent}${s}`);
  const { node, body } = step;
  const attrs = scanAttrs(node.attrs, node.name);
  const { carries: C, sequences: S } = attrs;
  if (body.numConstants !== 0) throw new LatheError(`graph entry: the body of scan ${node.name} still has constants (hoist-scan-constants runs before lowering)`);
  const T = scanLength(node.inputs.map((v) => v.type), attrs, node.name);
  const bodyIn = node.body.inputs, bodyOut = node.body.outputs;
  line(`{`);
  line(`  const int64_t ${p}T = ${dimText(T)};`);
  for (let k = 0; k < C; k++) {
    const bytes = bytesExpr(bodyIn[k]!.type);
    line(`  static thread_local lathe::Block ${p}ca${k}, ${p}cb${k};`);
    line(`  if (!${p}ca${k}.reserve((size_t)(${bytes})) || !${p}cb${k}.reserve((size_t)(${bytes}))) { lathe_fail("graph: out of memory for a scan carry"); return 3; }`);
    line(`  void* ${p}cur${k} = ${p}ca${k}.data;`);
    line(`  void* ${p}nxt${k} = ${p}cb${k}.data;`);
    line(`  std::memcpy(${p}cur${k}, ${ptr(node.inputs[k]!)}, (size_t)(${bytes}));`);
  }
  const slice = (base: string, t: TensorType) => `(void*)((char*)${base} + ${p}t * (${bytesExpr(t)}))`;
  const numIn = body.numInputs;
  const argPtr = (a: number): string => {
    if (a < C) return `${p}cur${a}`;
    if (a < C + S) return slice(ptr(node.inputs[a]!), bodyIn[a]!.type);
    if (a < numIn) return ptr(node.inputs[a]!);
    const o = a - numIn;
    return o < C ? `${p}nxt${o}` : slice(ptr(node.outputs[o]!), bodyOut[o]!.type);
  };
  line(`  for (int64_t ${p}i = 0; ${p}i < ${p}T; ++${p}i) {`);
  line(`    const int64_t ${p}t = ${attrs.reverse ? `${p}T - 1 - ${p}i` : `${p}i`};`);
  line(`    (void)${p}t;`);
  printPlan(body, argPtr, p, `${indent}    `, out);
  for (let k = 0; k < C; k++) line(`    { void* tmp = ${p}cur${k}; ${p}cur${k} = ${p}nxt${k}; ${p}nxt${k} = tmp; }`);
  line(`  }`);
  for (let k = 0; k < C; k++) {
    const final = node.outputs[k]!;
    if (plan.location.has(final)) line(`  std::memcpy(${ptr(final)}, ${p}cur${k}, (size_t)(${bytesExpr(final.type)}));`);
  }
  line(`}`);
}
