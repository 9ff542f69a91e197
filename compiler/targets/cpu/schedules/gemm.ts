/**
 * The hand-written GEMM schedule the gemm benchmark measures (TVM's opt_gemm recipe):
 * C is tiled into mr×nr register blocks accumulated in a local buffer (cache_write),
 * B is packed one nr-wide column panel at a time (cache_read computed at the panel loop),
 * the panel loop runs in parallel, the block's rows are unrolled and its columns vectorized.
 */
import type { Tensor } from "../../../te/tensor.ts";
import { compute, placeholder, reduceAxis, sum } from "../../../te/tensor.ts";
import { mul } from "../../../te/expr.ts";
import { cacheRead, cacheWrite } from "../../../schedule/cache.ts";
import type { Schedule } from "../../../schedule/schedule.ts";
import { createSchedule } from "../../../schedule/schedule.ts";
import { defineSpace, type Config, type ConfigSpace, type TemplateSpace } from "../../../autotune/space.ts";
import { LatheError } from "../../../../core/errors.ts";
import { defaultGemmTiling } from "./default.ts";
import { hostVectorBytes } from "../host.ts";

export interface GemmTiles { readonly mr: number; readonly nr: number; readonly ku: number }

export function gemmCompute(M: number, N: number, K: number): { A: Tensor; B: Tensor; C: Tensor } {
  const A = placeholder([M, K], "f32", "A");
  const B = placeholder([K, N], "f32", "B");
  const k = reduceAxis(K, "k");
  const C = compute([M, N], (i, j) => sum(k, mul(A.at(i, k.var), B.at(k.var, j))), "C");
  return { A, B, C };
}

/** `tiles` default to the graph compiler's register block for the host (defaultGemmTiling: 6 × 4 vectors with AVX-512, 6 × 2 with AVX2). */
export function gemmSchedule(M: number, N: number, K: number, tiles: GemmTiles = defaultGemmTiling(M, N, hostVectorBytes(), "f32")): { s: Schedule; args: Tensor[] } {
  const { A, B, C } = gemmCompute(M, N, K);
  const s = createSchedule(C);
  const CL = cacheWrite(s, C, "local");
  const BP = cacheRead(s, B, "global", [CL]);
  const c = s.stage(C);
  const mr = Math.min(tiles.mr, M), nr = Math.min(tiles.nr, N);
  const [io, jo, ii, ji] = c.tile(c.axis[0]!, c.axis[1]!, mr, nr);
  c.reorder(jo, io, ii, ji);
  c.vectorize(ji);
  c.parallel(jo);
  const cl = s.stage(CL);
  cl.computeAt(c, io);
  const [ci, cj] = cl.axis;
  const [kk] = cl.reduceAxis;
  if (tiles.ku > 1 && tiles.ku <= K) {
    const [ko, ki] = cl.split(kk!, { factor: tiles.ku });
    cl.reorder(ko, ki, ci!, cj!);
    cl.unroll(ki);
  } else {
    cl.reorder(kk!, ci!, cj!);
  }
  cl.unroll(ci!);
  cl.vectorize(cj!);
  s.stage(BP).computeAt(c, jo);
  return { s, args: [A, B, C] };
}

/**
 * The knobs of the cpu GEMM template (gemmSchedule above): mr rows × nr columns of C per
 * register block, ku-fold unrolling of the reduction. Values are restricted to the shape:
 * mr ≤ M, nr ≤ N (powers of two, vectorized), ku ≤ K; a dimension smaller than every
 * candidate keeps its own size as the only value.
 */
export function matmulSpace(M: number, N: number, K: number): TemplateSpace {
  for (const [n, v] of [["M", M], ["N", N], ["K", K]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new LatheError(`matmulSpace: ${n} must be a positive integer, got ${v}`);
  }
  const upTo = (cands: number[], limit: number): number[] => {
    const vs = cands.filter((c) => c <= limit);
    return vs.length > 0 ? vs : [limit];
  };
  const space = defineSpace({
    knobs: {
      mr: upTo([1, 2, 3, 4, 6, 8, 12, 16], M),
      nr: upTo([4, 8, 16, 32, 64, 128], N),
      ku: upTo([1, 2, 4, 8, 16], K),
    },
  }) as ConfigSpace & { apply?: TemplateSpace["apply"] };
  space.apply = (config: Config) => {
    space.positions(config); // rejects configs outside the space
    return gemmSchedule(M, N, K, { mr: config["mr"] as number, nr: config["nr"] as number, ku: config["ku"] as number });
  };
  return space as TemplateSpace;
}
