/**
 * The accelerator's schedule for a requantized convolution, written with the ordinary
 * schedule primitives (the lowering in lower.ts reads everything from them):
 *
 *   conv = qconv2d_packed(data, weight)           int32, blocked layouts (ops/quant/pack.ts)
 *   res  = requantize(conv)                       int8
 *   cache_write(conv, "vta.acc")  → the GEMM stage, accumulating in the accumulator buffer
 *   cache_write(res,  "vta.acc")  → the ALU stage (shift, clip) in the accumulator buffer
 *   cache_read(data, "vta.inp"), cache_read(weight, "vta.wgt") → the load stages
 *   res: split channels/rows/columns into tiles; the GEMM and ALU stages compute_at the
 *        innermost tile loop; one tile loop split off as `vthread` (two contexts: one
 *        tile's loads overlap another's GEMMs, its store the next one's compute)
 *   GEMM: reduction split into input-channel chunks; the load stages compute_at the chunk
 *        loop; the innermost batch × block-out × block-in nest `tensorize`d as vta.gemm.
 */
import { getOp } from "../../ops/registry.ts";
import type { Tensor } from "../../te/tensor.ts";
import { placeholder } from "../../te/tensor.ts";
import type { Schedule, Stage } from "../../schedule/schedule.ts";
import { createSchedule } from "../../schedule/schedule.ts";
import { cacheRead, cacheWrite } from "../../schedule/cache.ts";
import type { Axis, TensorIntrin } from "../../schedule/axis.ts";
import type { VtaParams } from "./params.ts";
import type { ConvLayer } from "./layer.ts";
import { outH, outW } from "./layer.ts";

export const SCOPE = { inp: "vta.inp", wgt: "vta.wgt", acc: "vta.acc" } as const;
export const GEMM_INTRIN = "vta.gemm";

/** Tile sizes: output rows × columns × channel blocks per tile, input-channel blocks per load chunk, virtual threads. */
export interface Tiling {
  readonly th: number; readonly tw: number; readonly tco: number; readonly tci: number; readonly vthreads: number;
}

export interface VtaSchedule {
  readonly schedule: Schedule;
  readonly layer: ConvLayer;
  readonly params: VtaParams;
  readonly data: Tensor; readonly weight: Tensor;
  /** The stages, by role. */
  readonly res: Stage; readonly gemm: Stage; readonly alu: Stage; readonly inp: Stage; readonly wgt: Stage;
}

export const blocks = (l: ConvLayer, p: VtaParams) => ({
  no: Math.ceil(l.n / p.batch), ci: Math.ceil(l.c / p.blockIn), co: Math.ceil(l.o / p.blockOut),
});

export const gemmIntrin = (p: VtaParams): TensorIntrin => ({ name: GEMM_INTRIN, params: { batch: p.batch, blockOut: p.blockOut, blockIn: p.blockIn } });

/** The packed conv and its requantization as tensor expressions (the quant ops' compute rules). */
export function convExpr(l: ConvLayer, p: VtaParams): { data: Tensor; weight: Tensor; conv: Tensor; res: Tensor } {
  const B = blocks(l, p);
  const data = placeholder([B.no, B.ci, l.h, l.w, p.batch, p.blockIn], "i8", "data");
  const weight = placeholder([B.co, B.ci, l.kh, l.kw, p.blockOut, p.blockIn], "i8", "weight");
  const shape = [B.no, B.co, outH(l), outW(l), p.batch, p.blockOut];
  const ctx = (name: string, dtype: "i32" | "i8") => ({ name, outputs: [{ shape, dtype }], sizes: new Map() });
  const [conv] = getOp("qconv2d_packed").compute([data, weight], { strides: [l.strideH, l.strideW], pads: [...l.pads] }, ctx(`${l.name}.conv`, "i32"));
  const [res] = getOp("requantize").compute([conv!], { shift: l.shift, relu: l.relu }, ctx(l.name, "i8"));
  return { data, weight, conv: conv!, res: res! };
}

/** The default VTA schedule of a layer with the given tiling. */
export function scheduleConv(l: ConvLayer, t: Tiling, p: VtaParams): VtaSchedule {
  const { data, weight, conv, res } = convExpr(l, p);
  const s = createSchedule(res);
  const convAcc = cacheWrite(s, conv, SCOPE.acc);
  s.stage(conv).computeInline();
  const resAcc = cacheWrite(s, res, SCOPE.acc);
  const inpT = cacheRead(s, data, SCOPE.inp, [convAcc]);
  const wgtT = cacheRead(s, weight, SCOPE.wgt, [convAcc]);

  const R = s.stage(res), G = s.stage(convAcc), A = s.stage(resAcc);
  const [n, co, y, x, b, o] = R.leaves as [Axis, Axis, Axis, Axis, Axis, Axis];
  const [coO, coI] = R.split(co, { factor: t.tco });
  const [yO, yI] = R.split(y, { factor: t.th });
  const [xO, xI] = R.split(x, { factor: t.tw });
  R.reorder(n, coO, yO, xO, coI, yI, xI, b, o);
  let tileAxis = xO;
  if (t.vthreads > 1) {
    // Split the tile loop with the most iterations; its outer part becomes the virtual threads.
    const cand = [coO, yO, xO].map((a) => ({ a, e: R.constExtent(a) ?? 1 })).sort((u, v) => v.e - u.e)[0]!;
    const [vt, rest] = R.split(cand.a, { nparts: Math.min(t.vthreads, cand.e) });
    R.vthread(vt);
    if (cand.a === xO) tileAxis = rest;
  }
  G.computeAt(R, tileAxis);
  A.computeAt(R, tileAxis);

  const [gn, gco, gy, gx, gb, go, rco, rh, rw, rci] = G.leaves as Axis[];
  const [rcoO, rcoI] = G.split(rco!, { factor: t.tci });
  G.reorder(rcoO, gn!, gco!, gy!, gx!, rcoI, rh!, rw!, gb!, go!, rci!);
  G.tensorize(gb!, gemmIntrin(p));
  s.stage(inpT).computeAt(G, rcoO);
  s.stage(wgtT).computeAt(G, rcoO);
  return { schedule: s, layer: l, params: p, data, weight, res: R, gemm: G, alu: A, inp: s.stage(inpT), wgt: s.stage(wgtT) };
}
