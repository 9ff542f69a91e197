/**
 * C++17 printer for the loop IR. It prints, and decides nothing: loops are already
 * partitioned, vectorized and unrolled by loop-IR passes; vectors print as GCC vector
 * types, `parallel` as OpenMP.
 */
import type { DType } from "../../../core/dtype.ts";
import { bytesOf } from "../../../core/dtype.ts";
import type { Expr, Intrinsic, Var } from "../../te/expr.ts";
import { lanesOf } from "../../te/expr.ts";
import type { Buffer } from "../../te/buffer.ts";
import type { PrimFunc, Stmt } from "../../tir/stmt.ts";
import { PRELUDE } from "./prelude.ts";

const C_TYPE: Record<DType, string> = {
  f16: "_Float16", f32: "float", f64: "double", i8: "int8_t", u8: "uint8_t", i32: "int32_t", i64: "int64_t", bool: "bool",
};
const DL_CODE: Record<DType, number> = { f16: 2, f32: 2, f64: 2, i8: 0, u8: 1, i32: 0, i64: 0, bool: 6 };
const C_BIN: Record<string, string> = { add: "+", sub: "-", mul: "*", div: "/", truncdiv: "/", truncmod: "%" };
const C_CMP: Record<string, string> = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };
const C_CALL: Record<Intrinsic, string> = {
  exp: "std::exp", log: "std::log", sqrt: "std::sqrt", rsqrt: "lathe_rsqrt", tanh: "std::tanh",
  sigmoid: "lathe_sigmoid", pow: "std::pow", abs: "lathe_abs", floor: "std::floor", ceil: "std::ceil",
  sin: "std::sin", cos: "std::cos", erf: "std::erf",
  tan: "std::tan", asin: "std::asin", acos: "std::acos", atan: "std::atan", sinh: "std::sinh", cosh: "std::cosh",
  asinh: "std::asinh", acosh: "std::acosh", atanh: "std::atanh", round: "std::nearbyint", fmod: "lathe_fmod",
  shl: "lathe_shl", shr: "lathe_shr", bitand: "lathe_bitand", bitor: "lathe_bitor", bitxor: "lathe_bitxor", bitnot: "lathe_bitnot",
};
/** Calls with a vector form in the prelude (libmvec where the toolchain has it). */
const VECTOR_MATH: ReadonlySet<string> = new Set(["exp", "log", "tanh", "erf", "sin", "cos", "sigmoid"]);
/** Arrays up to this size live on the stack; larger ones on the heap (OpenMP threads have small stacks). */
const STACK_BYTES = 128 * 1024;

export const vecType = (t: DType, lanes: number): string => `lathe_${t}x${lanes}`;

class Writer {
  readonly lines: string[] = [];
  private depth = 1;
  line(s: string): void { this.lines.push("  ".repeat(this.depth) + s); }
  open(s: string): void { this.line(s + " {"); this.depth++; }
  close(): void { this.depth--; this.line("}"); }
}

/** Per-function C identifiers for variables and buffers (sanitized, unique). */
class Names {
  private readonly taken = new Set<string>();
  private readonly byKey = new Map<object, string>();
  of(key: object, hint: string): string {
    let n = this.byKey.get(key);
    if (n) return n;
    const base = hint.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(\d)/, "_$1") || "v";
    n = base;
    for (let k = 1; this.taken.has(n) || RESERVED.has(n); k++) n = `${base}_${k}`;
    this.taken.add(n);
    this.byKey.set(key, n);
    return n;
  }
}
const RESERVED = new Set([
  "args", "num_args", "int", "float", "double", "bool", "for", "if", "else", "return", "auto", "char", "long", "short", "const", "new", "delete", "this",
  // C++ keywords and alternative operator tokens a value name (an op's name: `not`, `xor`, `switch`…) may collide with.
  "and", "and_eq", "bitand", "bitor", "compl", "not", "not_eq", "or", "or_eq", "xor", "xor_eq",
  "alignas", "alignof", "asm", "break", "case", "catch", "class", "const_cast", "constexpr", "continue", "decltype", "default", "do",
  "dynamic_cast", "enum", "explicit", "export", "extern", "false", "friend", "goto", "inline", "mutable", "namespace", "noexcept",
  "nullptr", "operator", "private", "protected", "public", "register", "reinterpret_cast", "signed", "sizeof", "static",
  "static_assert", "static_cast", "struct", "switch", "template", "thread_local", "throw", "true", "try", "typedef", "typeid",
  "typename", "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while",
]);


/** A whole translation unit with one exported kernel per function. */
export function printCppModule(funcs: readonly PrimFunc[]): string {
  const vec = new Set<string>();
  const bodies = funcs.map((f) => printKernel(f, vec));
  return [PRELUDE, ...vectorTypedefs(vec), "", ...bodies].join("\n");
}

/** One kernel and the vector types it uses, without the prelude (for reading, e.g. `lathe inspect`). */
export function printCppKernel(f: PrimFunc): string {
  const vec = new Set<string>();
  const body = printKernel(f, vec);
  return [...vectorTypedefs(vec), ...(vec.size ? [""] : []), body].join("\n");
}

function vectorTypedefs(vec: ReadonlySet<string>): string[] {
  return [...vec].sort().map((key) => {
    const [t, l] = key.split("x") as [DType, string];
    const bytes = bytesOf(t) * Number(l);
    return `typedef ${C_TYPE[t]} ${vecType(t, Number(l))} __attribute__((vector_size(${bytes})));\n` +
      `typedef ${C_TYPE[t]} ${vecType(t, Number(l))}_u __attribute__((vector_size(${bytes}), aligned(${bytesOf(t)})));`;
  });
}

function printKernel(f: PrimFunc, vec: Set<string>): string {
  const names = new Names();
  const w = new Writer();
  const nameOf = (v: Var) => names.of(v, v.name);
  const bufName = (b: Buffer) => names.of(b, b.name);
  const useVec = (t: DType, lanes: number): string => { vec.add(`${t}x${lanes}`); return vecType(t, lanes); };

  const expr = (e: Expr): string => {
    const lanes = lanesOf(e);
    switch (e.kind) {
      case "const": return literal(e.value, e.dtype);
      case "var": return nameOf(e);
      case "bin":
        if (e.op === "min" || e.op === "max") return `lathe_${e.op}(${expr(e.a)}, ${expr(e.b)})`;
        if (e.op === "floordiv" || e.op === "floormod") return `lathe_${e.op}(${expr(e.a)}, ${expr(e.b)})`;
        return `(${expr(e.a)} ${C_BIN[e.op]} ${expr(e.b)})`;
      case "cmp": return `(${expr(e.a)} ${C_CMP[e.op]} ${expr(e.b)})`;
      // Vector conditions are masks (all bits set for true): combine them bitwise.
      case "and": return lanes > 1 ? `(${expr(e.a)} & ${expr(e.b)})` : `(${expr(e.a)} && ${expr(e.b)})`;
      case "or": return lanes > 1 ? `(${expr(e.a)} | ${expr(e.b)})` : `(${expr(e.a)} || ${expr(e.b)})`;
      case "not": return lanes > 1 ? `(~${expr(e.a)})` : `(!${expr(e.a)})`;
      case "call":
        if (lanes > 1 && VECTOR_MATH.has(e.fn) && (e.dtype === "f32" || e.dtype === "f64")) return `lathe_v${e.fn}(${expr(e.args[0]!)})`;
        if (lanes > 1) return `lathe_vmap(${e.args.map(expr).join(", ")}, [](${C_TYPE[e.dtype]} x${e.args.length > 1 ? `, ${C_TYPE[e.dtype]} y` : ""}) { return ${C_CALL[e.fn]}(x${e.args.length > 1 ? ", y" : ""}); })`;
        return `${C_CALL[e.fn]}(${e.args.map(expr).join(", ")})`;
      case "select": return `(${expr(e.cond)} ? ${expr(e.t)} : ${expr(e.f)})`;
      case "cast":
        return lanes > 1 ? `__builtin_convertvector(${expr(e.value)}, ${useVec(e.dtype, lanes)})` : `((${C_TYPE[e.dtype]})(${expr(e.value)}))`;
      case "load": {
        const b = bufName(e.buffer);
        const idx = e.indices[0]!;
        if (lanes === 1) return `${b}[${expr(idx)}]`;
        if (idx.kind !== "ramp") throw new Error("internal: vector load without a ramp index");
        const vload = (at: string) => `(*(const ${useVec(e.dtype, lanes)}_u*)(&${b}[${at}]))`;
        if (isOne(idx.stride)) return vload(expr(idx.base));
        // Stride 2 (pooling and strided convolutions): two overlapping loads covering exactly
        // [base, base + 2·lanes − 2] and one shuffle of their even/odd lanes, instead of a
        // scalar load per lane.
        if (idx.stride.kind === "const" && idx.stride.value === 2) {
          const base = expr(idx.base);
          const pick = Array.from({ length: lanes }, (_, k) => (2 * k < lanes ? 2 * k : 2 * k + 1));
          return `((${useVec(e.dtype, lanes)})__builtin_shufflevector(${vload(base)}, ${vload(`(${base}) + ${lanes - 1}`)}, ${pick.join(", ")}))`;
        }
        return `(${useVec(e.dtype, lanes)}){${lanesList(idx).map((i) => `${b}[${i}]`).join(", ")}}`;
      }
      case "ramp": return `(${useVec(e.dtype, e.lanes)}){${lanesList(e).join(", ")}}`;
      // x − (+0) is x for every x (−0 included), so g++ folds it to a plain broadcast, which
      // it can take from memory or embed in an FMA; 0 + x is not (it turns −0 into +0),
      // so that spelling left a scalar add in front of every broadcast.
      case "broadcast": return `((${C_TYPE[e.dtype]})(${expr(e.value)}) - ${useVec(e.dtype, e.lanes)}{})`;
      case "access": case "reduce": throw new Error(`internal: ${e.kind} reached the C++ printer (lowering missed it)`);
    }
  };
  const lanesList = (r: Extract<Expr, { kind: "ramp" }>): string[] =>
    Array.from({ length: r.lanes }, (_, k) => `(${expr(r.base)} + ${k} * ${expr(r.stride)})`);

  const stmt = (s: Stmt): void => {
    switch (s.kind) {
      case "for": {
        const v = nameOf(s.loopVar);
        if (s.forKind === "parallel") w.line("#pragma omp parallel for schedule(static)");
        if (s.forKind === "unrolled") w.line(`#pragma GCC unroll ${Math.min(64, s.extent.kind === "const" ? s.extent.value : 8)}`);
        const end = isZero(s.min) ? expr(s.extent) : `${expr(s.min)} + ${expr(s.extent)}`;
        w.open(`for (int32_t ${v} = ${expr(s.min)}; ${v} < ${end}; ++${v})`);
        stmt(s.body);
        w.close();
        return;
      }
      case "store": {
        const b = bufName(s.buffer);
        const idx = s.indices[0]!;
        const lanes = lanesOf(s.value);
        if (lanes === 1) return w.line(`${b}[${expr(idx)}] = ${expr(s.value)};`);
        if (idx.kind !== "ramp") throw new Error("internal: vector store without a ramp index");
        if (isOne(idx.stride)) return w.line(`*(${useVec(s.buffer.dtype, lanes)}_u*)(&${b}[${expr(idx.base)}]) = ${expr(s.value)};`);
        w.open("");
        w.line(`const ${useVec(s.buffer.dtype, lanes)} lathe_v = ${expr(s.value)};`);
        lanesList(idx).forEach((i, k) => w.line(`${b}[${i}] = lathe_v[${k}];`));
        return w.close();
      }
      case "allocate": {
        const b = s.buffer, n = bufName(b), t = C_TYPE[b.dtype];
        const size = b.shape.map(expr).join(" * ") || "1";
        const constSize = b.shape.every((d) => d.kind === "const") ? b.shape.reduce((a, d) => a * (d as { value: number }).value, 1) : null;
        w.open("");
        if (constSize !== null && constSize * bytesOf(b.dtype) <= STACK_BYTES) {
          w.line(`alignas(64) ${t} ${n}[${constSize}];`);
          stmt(s.body);
          return w.close();
        }
        // No early return: this may run inside an OpenMP region; the status is checked at the end.
        w.line(`lathe::HeapArray<${t}> ${n}_mem((size_t)(${size}));`);
        w.open(`if (!${n}_mem.ok())`);
        w.line("#pragma omp atomic write");
        w.line("lathe_status = 3;");
        w.close();
        w.open("else");
        w.line(`${t}* __restrict__ ${n} = ${n}_mem.data;`);
        stmt(s.body);
        w.close();
        return w.close();
      }
      case "if":
        w.open(`if (${expr(s.cond)})`);
        stmt(s.then);
        w.close();
        if (s.else) { w.open("else"); stmt(s.else); w.close(); }
        return;
      case "seq": s.body.forEach(stmt); return;
      case "let":
        w.open("");
        w.line(`const ${C_TYPE[s.v.dtype]} ${nameOf(s.v)} = ${expr(s.value)};`);
        stmt(s.body);
        return w.close();
      case "attr": w.line(`// ${s.key} = ${s.value}`); stmt(s.body); return;
      case "evaluate": w.line(`(void)(${expr(s.value)});`); return;
      case "barrier": throw new Error("internal: barrier reached the C++ printer (the cpu target rejects it)");
      case "nop": return;
    }
  };

  const head = `extern "C" int32_t ${f.name}(const LatheTensor* args, int32_t num_args)`;
  w.line(`if (num_args != ${f.params.length}) { lathe_fail("kernel ${f.name}: expected ${f.params.length} arguments, got %d", (int)num_args); return 1; }`);
  f.params.forEach((p, k) => {
    const what = `kernel ${f.name}: argument ${k} (${p.name})`;
    w.line(`if (args[${k}].ndim != ${p.shape.length}) { lathe_fail("${what}: expected ${p.shape.length} dimensions, got %d", (int)args[${k}].ndim); return 2; }`);
    w.line(`if (args[${k}].dtype.code != ${DL_CODE[p.dtype]} || args[${k}].dtype.bits != ${p.dtype === "bool" ? 8 : bytesOf(p.dtype) * 8} || args[${k}].dtype.lanes != 1) { lathe_fail("${what}: expected dtype ${p.dtype}"); return 2; }`);
    w.line(`if (args[${k}].strides != nullptr) { lathe_fail("${what}: strided tensors are not supported; pass a compact one"); return 2; }`);
  });
  for (const sv of f.sizeVars) w.line(`const int32_t ${nameOf(sv.v)} = (int32_t)args[${sv.param}].shape[${sv.dim}];`);
  f.params.forEach((p, k) => p.shape.forEach((d, dim) => {
    w.line(`if (args[${k}].shape[${dim}] != (int64_t)(${expr(d)})) { lathe_fail("kernel ${f.name}: argument ${k} (${p.name}) dimension ${dim} is %lld, expected %lld", (long long)args[${k}].shape[${dim}], (long long)(${expr(d)})); return 2; }`);
  }));
  f.params.forEach((p, k) => w.line(`${C_TYPE[p.dtype]}* __restrict__ ${bufName(p)} = (${C_TYPE[p.dtype]}*)args[${k}].data;`));
  w.line("int32_t lathe_status = 0;");
  stmt(f.body);
  w.line(`if (lathe_status != 0) lathe_fail("kernel ${f.name}: out of memory for a temporary buffer");`);
  w.line("return lathe_status;");
  return `${head} {\n${w.lines.join("\n")}\n}\n`;
}

const isZero = (e: Expr): boolean => e.kind === "const" && e.value === 0;
const isOne = (e: Expr): boolean => e.kind === "const" && e.value === 1;

function literal(v: number, t: DType): string {
  if (t === "bool") return v ? "true" : "false";
  if (t === "f32" || t === "f64" || t === "f16") {
    const c = t === "f32" ? "float" : t === "f64" ? "double" : "_Float16";
    if (Number.isNaN(v)) return `((${c})NAN)`;
    if (!Number.isFinite(v)) return `(${v > 0 ? "" : "-"}(${c})INFINITY)`;
    // String() may give exponent form (3.4028234663852886e+38): that is already a float literal.
    const s = /[.eE]/.test(String(v)) ? String(v) : `${v}.0`;
    return t === "f32" ? `${s}f` : t === "f64" ? s : `((_Float16)${s})`;
  }
  if (t === "i32" && v === -2147483648) return "(-2147483647 - 1)";
  if (t === "i64") return `((int64_t)${v}LL)`;
  return t === "i32" ? String(v) : `((${C_TYPE[t]})${v})`;
}
