/**
 * Memory planning: every intermediate value gets a storage block; a block is reused by a
 * later value once every reader of its previous value has run (liveness over the kernel
 * order). Sizes may be symbolic (a product of a constant and size names), and a block
 * is reused only for values whose size has the same symbolic part and fits.
 */
import { bytesOf } from "../../core/dtype.ts";
import type { Value } from "../graph/graph.ts";
import type { FusionGroup } from "../graph/passes/fuse.ts";

/** bytes = coef × Π syms. */
export interface SymbolicSize { readonly coef: number; readonly syms: readonly string[] }

export interface Storage { readonly id: number; size: SymbolicSize }

export interface MemoryPlan {
  readonly storages: readonly Storage[];
  /** Intermediate values (not graph inputs, constants or outputs) → their storage. */
  readonly assignment: ReadonlyMap<Value, Storage>;
}

export function sizeOf(v: Value): SymbolicSize {
  let coef = bytesOf(v.type.dtype);
  const syms: string[] = [];
  for (const d of v.type.shape) {
    if (typeof d === "number") coef *= d;
    else syms.push(d);
  }
  return { coef, syms: syms.sort() };
}

const sameSyms = (a: SymbolicSize, b: SymbolicSize) => a.syms.length === b.syms.length && a.syms.every((s, i) => s === b.syms[i]);

/** `external`: values that live in caller memory (graph inputs, constants, outputs). */
export function planMemory(groups: readonly FusionGroup[], external: ReadonlySet<Value>): MemoryPlan {
  const lastUse = new Map<Value, number>();
  groups.forEach((g, i) => g.inputs.forEach((v) => lastUse.set(v, i)));
  const storages: Storage[] = [];
  const assignment = new Map<Value, Storage>();
  const free: Storage[] = [];
  const releaseAt = new Map<number, Storage[]>();
  groups.forEach((g, i) => {
    for (const v of g.outputs) {
      if (external.has(v)) continue;
      const need = sizeOf(v);
      // Best fit among free blocks with the same symbolic part; grow a block if none fits.
      const candidates = free.filter((s) => sameSyms(s.size, need));
      let block = candidates.filter((s) => s.size.coef >= need.coef).sort((a, b) => a.size.coef - b.size.coef)[0]
        ?? candidates.sort((a, b) => b.size.coef - a.size.coef)[0];
      if (block) {
        free.splice(free.indexOf(block), 1);
        if (block.size.coef < need.coef) block.size = need;
      } else {
        block = { id: storages.length, size: need };
        storages.push(block);
      }
      assignment.set(v, block);
      const end = lastUse.get(v) ?? i;
      releaseAt.set(end, [...(releaseAt.get(end) ?? []), block]);
    }
    // Blocks whose values were last read by this group are free for the next groups.
    free.push(...(releaseAt.get(i) ?? []));
  });
  return { storages, assignment };
}
