/**
 * GPU launch analysis and checks on the loop IR: the workgroup shape and grid a kernel's
 * thread-bound loops imply, the shared (workgroup) buffers it allocates, and the rules a
 * GPU kernel must follow (constant thread extents, constant shared sizes, barriers only in
 * control flow every thread of a workgroup takes). GPU targets run `gpuLegalize` first
 * and read `launchOf` when printing and dispatching.
 */
import { BuildError } from "../../../core/errors.ts";
import type { Expr, Var } from "../../te/expr.ts";
import { constInt, usesVar } from "../../te/expr.ts";
import { printExpr } from "../print.ts";
import { exprKey, simplify } from "../../arith/index.ts";
import type { Buffer } from "../../te/buffer.ts";
import type { Pass } from "../pass.ts";
import type { PrimFunc, Stmt } from "../stmt.ts";
import { mapStmt, visitStmt } from "../stmt.ts";

export type ThreadTag = `${"blockIdx" | "threadIdx"}.${"x" | "y" | "z"}`;
const DIMS = ["x", "y", "z"] as const;

export interface Launch {
  /** Threads per workgroup in x, y, z (the largest extent bound to each threadIdx axis). */
  readonly workgroup: readonly [number, number, number];
  /** Workgroups in x, y, z; may depend on the kernel's size variables. */
  readonly grid: readonly [Expr, Expr, Expr];
  /** Shared buffers (allocated once per workgroup, at module scope in WGSL). */
  readonly shared: readonly Buffer[];
}

const ONE: Expr = { kind: "const", value: 1, dtype: "i32" };

/** The launch shape of a lowered, legalized kernel. */
export function launchOf(f: PrimFunc): Launch {
  const extents = new Map<string, Expr[]>();
  const shared: Buffer[] = [];
  visitStmt(f.body, (s) => {
    if (s.kind === "for" && s.forKind === "thread") {
      const list = extents.get(s.thread!) ?? [];
      list.push(s.extent);
      extents.set(s.thread!, list);
    }
    if (s.kind === "allocate" && s.buffer.scope === "shared" && !shared.includes(s.buffer)) shared.push(s.buffer);
  });
  const workgroup = DIMS.map((d) => {
    const list = extents.get(`threadIdx.${d}`) ?? [];
    return list.reduce((m, e) => Math.max(m, constInt(e)!), 1);
  }) as [number, number, number];
  const grid = DIMS.map((d) => gridExtent(f, extents.get(`blockIdx.${d}`) ?? [])) as [Expr, Expr, Expr];
  return { workgroup, grid, shared };
}

/** The grid size for one blockIdx axis: the one extent every loop bound to it shares, or the largest constant. */
function gridExtent(f: PrimFunc, list: readonly Expr[]): Expr {
  if (list.length === 0) return ONE;
  const keys = new Set(list.map((e) => exprKey(simplify(e))));
  if (keys.size === 1) return simplify(list[0]!);
  const consts = list.map(constInt);
  if (consts.every((c) => c !== null)) return { kind: "const", value: Math.max(...(consts as number[])), dtype: "i32" };
  throw new BuildError(`kernel ${f.name}: loops bound to the same blockIdx axis have different symbolic extents (${list.map(printExpr).join(", ")})`);
}

/** Whether a loop bound to `tag` with this extent covers the whole launch axis (no guard needed). */
export function coversLaunch(launch: Launch, tag: string, extent: Expr): boolean {
  const [kind, d] = tag.split(".") as ["blockIdx" | "threadIdx", "x" | "y" | "z"];
  const k = DIMS.indexOf(d);
  if (kind === "threadIdx") return constInt(extent) === launch.workgroup[k];
  return exprKey(simplify(extent)) === exprKey(launch.grid[k]!);
}

/**
 * Legalizes and checks a kernel for a GPU: virtual threads run as serial loops (no
 * interleaving yet), `parallel` loops are rejected (bind them instead), threadIdx extents
 * and shared sizes must be constants.
 */
export const gpuLegalize: Pass = {
  name: "gpu-legalize",
  run: (f) => {
    const go = (s: Stmt): Stmt => {
      const x = mapStmt(s, go, (e) => e);
      if (x.kind === "for" && x.forKind === "parallel") {
        throw new BuildError(`kernel ${f.name}: loop ${x.loopVar.name} is parallel, which a GPU target cannot run; bind it to blockIdx/threadIdx instead`);
      }
      if (x.kind === "for" && x.forKind === "thread" && x.thread!.startsWith("threadIdx") && constInt(simplify(x.extent)) === null) {
        throw new BuildError(`kernel ${f.name}: loop ${x.loopVar.name} bound to ${x.thread} has extent ${printExpr(x.extent)}, which is not a constant (split it by a constant factor first)`);
      }
      if (x.kind === "allocate" && x.buffer.scope === "shared" && x.buffer.shape.some((d) => constInt(simplify(d)) === null)) {
        throw new BuildError(`kernel ${f.name}: shared buffer ${x.buffer.name} has a size that is not a constant`);
      }
      if (x.kind === "for" && x.forKind === "vthread") return { ...x, forKind: "serial" };
      return x;
    };
    return { ...f, body: go(f.body) };
  },
};

/**
 * Rejects barriers that not every thread of a workgroup reaches: under a threadIdx loop
 * narrower than the workgroup (its threads past the extent skip the body) or under a
 * branch on a thread index. Runs after the last pass that moves barriers.
 */
export const gpuCheckBarriers: Pass = {
  name: "gpu-check-barriers",
  run: (f) => {
    const launch = launchOf(f);
    const threadVars: Var[] = [];
    const walk = (s: Stmt, divergent: string | null): void => {
      switch (s.kind) {
        case "barrier":
          if (divergent) throw new BuildError(`kernel ${f.name}: a barrier is reached by only some threads (${divergent}); keep barriers outside thread-dependent branches`);
          return;
        case "for": {
          let why = divergent;
          if (s.forKind === "thread") {
            if (s.thread!.startsWith("threadIdx")) threadVars.push(s.loopVar);
            if (!coversLaunch(launch, s.thread!, s.extent)) why ??= `loop ${s.loopVar.name} covers only part of ${s.thread}`;
          } else if (threadVars.some((v) => usesVar(s.extent, (x) => x === v))) {
            why ??= `loop ${s.loopVar.name}'s extent depends on a thread index`;
          }
          return walk(s.body, why);
        }
        case "if": {
          const why = divergent ?? (threadVars.some((v) => usesVar(s.cond, (x) => x === v)) ? "a branch on a thread index" : null);
          walk(s.then, why);
          if (s.else) walk(s.else, why);
          return;
        }
        case "allocate": case "let": case "attr": return walk(s.body, divergent);
        case "seq": s.body.forEach((b) => walk(b, divergent)); return;
        default: return;
      }
    };
    walk(f.body, null);
    return f;
  },
};

/** The parameters a kernel stores to (bound read-write); the others are read-only. */
export function writtenParams(f: PrimFunc): Set<Buffer> {
  const out = new Set<Buffer>();
  visitStmt(f.body, (s) => { if (s.kind === "store" && f.params.includes(s.buffer)) out.add(s.buffer); });
  return out;
}
