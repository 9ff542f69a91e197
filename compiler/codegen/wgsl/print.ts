/**
 * WGSL printer for the loop IR. It prints and decides nothing: the launch shape, shared
 * buffers and which parameters are written come from loop-IR analyses
 * (compiler/tir/passes/gpu-launch.ts), barriers from the thread-sync pass, vectors from
 * the vectorize pass. Parameters become storage buffers (binding k = parameter k), the
 * kernel's size variables one uniform array after them; a loop bound to blockIdx/threadIdx
 * becomes the workgroup/invocation id (guarded when it covers only part of the launch).
 */
import { BuildError } from "../../../core/errors.ts";
import type { DType } from "../../../core/dtype.ts";
import type { Expr, Intrinsic, Var } from "../../te/expr.ts";
import { INTRINSIC_ARITY, constInt, lanesOf } from "../../te/expr.ts";
import type { Buffer } from "../../te/buffer.ts";
import type { Launch } from "../../tir/passes/gpu-launch.ts";
import { coversLaunch, launchOf, writtenParams } from "../../tir/passes/gpu-launch.ts";
import type { PrimFunc, Stmt } from "../../tir/stmt.ts";
import type { WgslScalar, WgslStorage } from "./types.ts";
import { storageType, valueType, wgslType } from "./types.ts";

export interface WgslBinding {
  readonly param: number;
  readonly access: "read" | "read_write";
  readonly storage: WgslStorage;
}

export interface WgslKernel {
  readonly name: string;
  readonly code: string;
  readonly launch: Launch;
  /** One per parameter, in parameter order (binding index = parameter index). */
  readonly bindings: readonly WgslBinding[];
  /** Binding index of the uniform holding the size variables, or null when there are none. */
  readonly sizesBinding: number | null;
  /** The size variables, in the order the uniform holds them (the kernel's `sizeVars`). */
  readonly sizeVars: readonly Var[];
}

export interface WgslOptions {
  /** The device offers `shader-f16` (f16 buffers and arithmetic). */
  readonly f16?: boolean;
}

const BIN: Record<string, string> = { add: "+", sub: "-", mul: "*", div: "/", truncdiv: "/", truncmod: "%" };
const CMP: Record<string, string> = { eq: "==", ne: "!=", lt: "<", le: "<=", gt: ">", ge: ">=" };
/** Intrinsics that are WGSL builtins with the same meaning (componentwise on vectors). */
const BUILTIN: Partial<Record<Intrinsic, string>> = {
  exp: "exp", log: "log", sqrt: "sqrt", rsqrt: "inverseSqrt", abs: "abs", floor: "floor", ceil: "ceil", sin: "sin", cos: "cos",
  tan: "tan", asin: "asin", acos: "acos", atan: "atan", sinh: "sinh", cosh: "cosh", asinh: "asinh", acosh: "acosh", atanh: "atanh",
  // WGSL's round is round-half-to-even, as C's nearbyint in the default rounding mode.
  round: "round",
};
const BITS: Partial<Record<DType, number>> = { i8: 8, u8: 8, i32: 32, i64: 32 };
/** Wraps an integer result to the width of its Lathe dtype (narrow types live in 32-bit values). */
const wrapInt = (t: DType, x: string): string => (t === "u8" ? `(${x} & 255u)` : t === "i8" ? `((${x} << 24u) >> 24u)` : x);
/**
 * Scalar helpers for intrinsics WGSL lacks or defines differently (its tanh may overflow
 * through exp; its pow is undefined for negative bases; shifts by ≥ the bit width act as
 * shifting one bit at a time, as the cpu target defines them). `T` is the WGSL type.
 */
const HELPER: Partial<Record<Intrinsic, (T: string, t: DType, name: string) => string>> = {
  tanh: (T, _, n) => `fn ${n}(x: ${T}) -> ${T} { let e = exp(-2.0 * abs(x)); return sign(x) * (1.0 - e) / (1.0 + e); }`,
  sigmoid: (T, _, n) => `fn ${n}(x: ${T}) -> ${T} { return 1.0 / (1.0 + exp(-x)); }`,
  // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7).
  erf: (T, _, n) => `fn ${n}(x: ${T}) -> ${T} {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return sign(x) * y;
}`,
  pow: (T, _, n) => `fn ${n}(x: ${T}, y: ${T}) -> ${T} {
  if (y == 0.0) { return 1.0; }
  if (x == 0.0) { return select(0.0, 1.0 / x, y < 0.0); }
  let r = pow(abs(x), y);
  if (x > 0.0) { return r; }
  if (floor(y) != y) { return (x - x) / (x - x); }
  return select(r, -r, y - 2.0 * floor(0.5 * y) == 1.0);
}`,
  fmod: (T, t, n) => (T === "f32" || T === "f16"
    ? `fn ${n}(a: ${T}, b: ${T}) -> ${T} { return a - b * trunc(a / b); }`
    : `fn ${n}(a: ${T}, b: ${T}) -> ${T} { return a % b; }`),
  shl: (T, t, n) => `fn ${n}(a: ${T}, s: ${T}) -> ${T} {
  if (s <= ${T}(0)) { return a; }
  if (s >= ${T}(${BITS[t] ?? 32})) { return ${T}(0); }
  return ${wrapInt(t, `(a << u32(s))`)};
}`,
  shr: (T, t, n) => `fn ${n}(a: ${T}, s: ${T}) -> ${T} {
  if (s <= ${T}(0)) { return a; }
  if (s >= ${T}(${BITS[t] ?? 32})) { return select(${T}(0), ${T}(0) - ${T}(1), a < ${T}(0)); }
  return a >> u32(s);
}`,
  bitand: (T, _, n) => `fn ${n}(a: ${T}, b: ${T}) -> ${T} { return a & b; }`,
  bitor: (T, _, n) => `fn ${n}(a: ${T}, b: ${T}) -> ${T} { return a | b; }`,
  bitxor: (T, _, n) => `fn ${n}(a: ${T}, b: ${T}) -> ${T} { return a ^ b; }`,
  bitnot: (T, t, n) => `fn ${n}(a: ${T}) -> ${T} { return ${wrapInt(t, "(~a)")}; }`,
};

/** Prints one kernel as a WGSL module with entry point `main`. */
export function printWgsl(f: PrimFunc, opts: WgslOptions = {}): WgslKernel {
  const where = `kernel ${f.name}`;
  const launch = launchOf(f);
  const written = writtenParams(f);
  const helpers = new Map<string, string>();
  const names = new Map<object, string>();
  const taken = new Set<string>();
  const nameOf = (key: Var | Buffer, prefix: string): string => {
    let n = names.get(key);
    if (n) return n;
    const base = `${prefix}${key.name.replace(/[^A-Za-z0-9_]/g, "_")}`.replace(/__+/g, "_");
    n = base;
    for (let k = 1; taken.has(n); k++) n = `${base}_${k}`;
    taken.add(n);
    names.set(key, n);
    return n;
  };
  const vt = (t: DType): WgslScalar => {
    const v = valueType(t, where);
    if (v === "f16" && !opts.f16) throw new BuildError(`${where}: f16 needs an adapter with the shader-f16 feature, which this one lacks`);
    return v;
  };
  const ty = (t: DType, lanes: number): string => wgslType(vt(t), lanes);
  const isParam = (b: Buffer) => f.params.includes(b);
  const bufName = (b: Buffer): string => nameOf(b, isParam(b) ? "p_" : b.scope === "shared" ? "s_" : "l_");

  const helper = (fn: Intrinsic, t: DType, lanes: number): string => {
    const make = HELPER[fn];
    if (!make) throw new BuildError(`${where}: intrinsic ${fn} has no WGSL form`);
    const T = vt(t);
    const scalar = `lathe_${fn}_${t}`;
    if (!helpers.has(scalar)) helpers.set(scalar, make(T, t, scalar));
    if (lanes === 1) return scalar;
    const name = `${scalar}x${lanes}`;
    const V = wgslType(T, lanes);
    const arity = INTRINSIC_ARITY[fn];
    const ps = ["x", "y"].slice(0, arity);
    const lanesOut = Array.from({ length: lanes }, (_, k) => `${scalar}(${ps.map((p) => `${p}[${k}]`).join(", ")})`);
    helpers.set(name, `fn ${name}(${ps.map((p) => `${p}: ${V}`).join(", ")}) -> ${V} { return ${V}(${lanesOut.join(", ")}); }`);
    return name;
  };
  const intDivHelper = (op: "floordiv" | "floormod", t: DType, lanes: number): string => {
    const V = ty(t, lanes);
    const name = `lathe_${op}_${V.replace(/[<>]/g, "_")}`;
    const zero = `${V}(0)`;
    // Truncating / and % corrected toward −∞ when the signs differ.
    helpers.set(name, op === "floordiv"
      ? `fn ${name}(a: ${V}, b: ${V}) -> ${V} { let q = a / b; return select(q, q - ${V}(1), (a % b != ${zero}) & ((a < ${zero}) != (b < ${zero}))); }`
      : `fn ${name}(a: ${V}, b: ${V}) -> ${V} { let r = a % b; return select(r, r + b, (r != ${zero}) & ((r < ${zero}) != (b < ${zero}))); }`);
    return name;
  };

  const expr = (e: Expr): string => {
    const lanes = lanesOf(e);
    switch (e.kind) {
      case "const": return literal(e.value, vt(e.dtype), where, helpers);
      case "var": return nameOf(e, "v_");
      case "bin": {
        const a = expr(e.a), b = expr(e.b);
        if (e.op === "min" || e.op === "max") return `${e.op}(${a}, ${b})`;
        if (e.op === "floordiv" || e.op === "floormod") {
          if (vt(e.dtype) === "f32" || vt(e.dtype) === "f16") return e.op === "floordiv" ? `floor(${a} / ${b})` : `(${a} - ${b} * floor(${a} / ${b}))`;
          return `${intDivHelper(e.op, e.dtype, lanes)}(${a}, ${b})`;
        }
        return `(${a} ${BIN[e.op]} ${b})`;
      }
      case "cmp": return `(${expr(e.a)} ${CMP[e.op]} ${expr(e.b)})`;
      case "and": return lanes > 1 ? `(${expr(e.a)} & ${expr(e.b)})` : `(${expr(e.a)} && ${expr(e.b)})`;
      case "or": return lanes > 1 ? `(${expr(e.a)} | ${expr(e.b)})` : `(${expr(e.a)} || ${expr(e.b)})`;
      case "not": return `(!${expr(e.a)})`;
      case "call": {
        const fn = BUILTIN[e.fn] ?? helper(e.fn, e.dtype, lanes);
        return `${fn}(${e.args.map(expr).join(", ")})`;
      }
      case "select": return `select(${expr(e.f)}, ${expr(e.t)}, ${expr(e.cond)})`;
      case "cast": { const c = `${ty(e.dtype, lanes)}(${expr(e.value)})`; return lanes === 1 ? wrapInt(e.dtype, c) : c; }
      case "load": {
        const idx = e.indices[0]!;
        const one = (i: string) => fromStorage(`${bufName(e.buffer)}[${i}]`, e.buffer);
        if (lanes === 1) return one(expr(idx));
        if (idx.kind !== "ramp") throw new Error("internal: vector load without a ramp index");
        return `${ty(e.dtype, lanes)}(${lanesList(idx).map(one).join(", ")})`;
      }
      case "ramp": {
        const steps = Array.from({ length: e.lanes }, (_, k) => `${k}`).join(", ");
        return `(${ty(e.dtype, e.lanes)}(${expr(e.base)}) + ${ty(e.dtype, e.lanes)}(${steps}) * ${expr(e.stride)})`;
      }
      case "broadcast": return `${ty(e.dtype, e.lanes)}(${expr(e.value)})`;
      case "access": case "reduce": throw new Error(`internal: ${e.kind} reached the WGSL printer (lowering missed it)`);
    }
  };
  const lanesList = (r: Extract<Expr, { kind: "ramp" }>): string[] =>
    Array.from({ length: r.lanes }, (_, k) => `(${expr(r.base)} + ${k} * ${expr(r.stride)})`);
  // Buffers hold bool as u32 and narrow integers widened; loads and stores convert.
  const fromStorage = (x: string, b: Buffer): string => (b.dtype === "bool" ? `(${x} != 0u)` : x);
  const toStorage = (x: string, b: Buffer, lanes: number): string => {
    if (b.dtype !== "bool") return x;
    return lanes === 1 ? `select(0u, 1u, ${x})` : `select(vec${lanes}<u32>(0u), vec${lanes}<u32>(1u), ${x})`;
  };

  const lines: string[] = [];
  let depth = 1;
  const line = (s: string): void => { lines.push("  ".repeat(depth) + s); };
  const open = (s: string) => { line(s ? `${s} {` : "{"); depth++; };
  const close = () => { depth--; line("}"); };

  const stmt = (s: Stmt): void => {
    switch (s.kind) {
      case "for": {
        const v = nameOf(s.loopVar, "v_");
        if (s.forKind === "thread") {
          const [kind, d] = s.thread!.split(".");
          open("");
          line(`let ${v}: i32 = ${expr(s.min)} + i32(${kind === "blockIdx" ? "lathe_wid" : "lathe_lid"}.${d});`);
          const guarded = !coversLaunch(launch, s.thread!, s.extent);
          if (guarded) open(`if (${v} < ${expr(s.min)} + ${expr(s.extent)})`);
          stmt(s.body);
          if (guarded) close();
          return close();
        }
        open(`for (var ${v}: i32 = ${expr(s.min)}; ${v} < ${expr(s.min)} + ${expr(s.extent)}; ${v}++)`);
        stmt(s.body);
        return close();
      }
      case "store": {
        const b = bufName(s.buffer), idx = s.indices[0]!, lanes = lanesOf(s.value);
        if (lanes === 1) return line(`${b}[${expr(idx)}] = ${toStorage(expr(s.value), s.buffer, 1)};`);
        if (idx.kind !== "ramp") throw new Error("internal: vector store without a ramp index");
        open("");
        line(`let lathe_v = ${expr(s.value)};`);
        lanesList(idx).forEach((i, k) => line(`${b}[${i}] = ${toStorage(`lathe_v[${k}]`, s.buffer, 1)};`));
        return close();
      }
      case "allocate": {
        const b = s.buffer;
        if (b.scope === "shared") return stmt(s.body); // declared at module scope
        if (b.scope !== "local") {
          throw new BuildError(`${where}: buffer ${b.name} (scope ${b.scope}) would be allocated inside the kernel; a GPU kernel can only allocate local or shared memory (compute it at a loop, or as its own kernel)`);
        }
        open("");
        line(`var ${bufName(b)}: array<${storageType(b.dtype, where)}, ${constSize(b, where)}>;`);
        stmt(s.body);
        return close();
      }
      case "if":
        open(`if (${expr(s.cond)})`);
        stmt(s.then);
        if (s.else) { depth--; open("} else"); stmt(s.else); }
        return close();
      case "seq": s.body.forEach(stmt); return;
      case "let":
        open("");
        line(`let ${nameOf(s.v, "v_")}: ${ty(s.v.dtype, 1)} = ${expr(s.value)};`);
        stmt(s.body);
        return close();
      case "attr": line(`// ${s.key} = ${s.value}`); stmt(s.body); return;
      case "evaluate": line(`_ = ${expr(s.value)};`); return;
      case "barrier": line(s.scope === "shared" ? "workgroupBarrier();" : "storageBarrier();"); return;
      case "nop": return;
    }
  };

  const sizeDecls = f.sizeVars.map((sv, k) => `  let ${nameOf(sv.v, "v_")}: i32 = lathe_sizes[${k >> 2}][${k & 3}];`);
  stmt(f.body);

  const bindings: WgslBinding[] = f.params.map((p, k) => ({
    param: k, access: written.has(p) ? "read_write" : "read", storage: storageType(p.dtype, where),
  }));
  if (bindings.some((b) => b.storage === "f16") && !opts.f16) throw new BuildError(`${where}: f16 needs an adapter with the shader-f16 feature, which this one lacks`);
  const decls = f.params.map((p, k) => `@group(0) @binding(${k}) var<storage, ${bindings[k]!.access}> ${bufName(p)}: array<${bindings[k]!.storage}>;`);
  const sizesBinding = f.sizeVars.length > 0 ? f.params.length : null;
  if (sizesBinding !== null) decls.push(`@group(0) @binding(${sizesBinding}) var<uniform> lathe_sizes: array<vec4<i32>, ${Math.ceil(f.sizeVars.length / 4)}>;`);
  for (const b of launch.shared) decls.push(`var<workgroup> ${bufName(b)}: array<${storageType(b.dtype, where)}, ${constSize(b, where)}>;`);
  const [wx, wy, wz] = launch.workgroup;
  const usesF16 = opts.f16 && /\bf16\b/.test(lines.join("\n") + decls.join("\n") + [...helpers.values()].join("\n"));
  const code = [
    `// ${f.name}`,
    ...(usesF16 ? ["enable f16;"] : []),
    ...decls,
    ...helpers.values(),
    `@compute @workgroup_size(${wx}, ${wy}, ${wz})`,
    "fn main(@builtin(workgroup_id) lathe_wid: vec3<u32>, @builtin(local_invocation_id) lathe_lid: vec3<u32>) {",
    ...sizeDecls,
    ...lines,
    "}",
    "",
  ].join("\n");
  return { name: f.name, code, launch, bindings, sizesBinding, sizeVars: f.sizeVars.map((s) => s.v) };
}

function constSize(b: Buffer, where: string): number {
  const dims = b.shape.map(constInt);
  if (dims.some((d) => d === null)) throw new BuildError(`${where}: buffer ${b.name} (scope ${b.scope}) needs a constant size on a GPU`);
  return Math.max(1, (dims as number[]).reduce((a, d) => a * d, 1));
}

function literal(v: number, t: WgslScalar, where: string, helpers: Map<string, string>): string {
  switch (t) {
    case "bool": return v ? "true" : "false";
    case "f32": case "f16": {
      if (Number.isFinite(v)) {
        const s = Number.isInteger(v) ? `${v}.0` : String(v);
        return `${s}${t === "f32" ? "f" : "h"}`;
      }
      // WGSL has no literal for inf/NaN (and rejects them in constant expressions): build them at run time.
      helpers.set("lathe_f32_bits", "fn lathe_f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }");
      const bits = Number.isNaN(v) ? "0x7fc00000u" : v > 0 ? "0x7f800000u" : "0xff800000u";
      return t === "f32" ? `lathe_f32_bits(${bits})` : `f16(lathe_f32_bits(${bits}))`;
    }
    case "i32":
      if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new BuildError(`${where}: integer constant ${v} does not fit in i32`);
      return v === -2147483648 ? "(-2147483647i - 1i)" : `${v}i`;
    case "u32": return `${v >>> 0}u`;
  }
}
