/**
 * Schedule templates for fused groups on the cpu: a config space whose knobs are read off the
 * group's anchor, and `apply(s, config)` that schedules every stage of the group.
 *
 * - **gemm** (matmul / batch_matmul anchors, the default schedule's register tiling with
 *   knobs): `mr` rows × `nr` columns per register block, `ku`-fold unrolled reduction,
 *   `pack` (the column operand packed per panel, or read in place).
 * - **conv** (conv2d_nchwc whose output block fills whole vectors): a register tile of output
 *   columns × channel blocks (see convNchwcTemplate).
 * - **depthwise** (depthwise_conv2d_nchwc whose block fills whole vectors): a register tile of
 *   output rows × columns, each a vector of channels (see depthwiseNchwcTemplate).
 * - **reduce** (every other anchor that is a reduction computed over its output's index
 *   space: conv2d in NCHW and other NCHWc blocks, depthwise conv2d in NCHW, pooling,
 *   sum/mean/max/min over axes):
 *   the output is tiled over its three innermost data axes (`tw` innermost, `th`, `tc`), the
 *   anchor accumulates one tile in a local buffer computed inside the tile loop, the first
 *   reduce axis is split by `rs` (its inner part moved innermost of the reduce loops), the
 *   innermost reduce loop is unrolled when `ru` = 1, the tile's innermost axis is vectorized
 *   when `vec` = 1, and the first `par` outer tile loops are fused and run in parallel.
 *
 * Both start as every cpu schedule does (elementwise intermediates inlined, a padded input
 * materialized) and leave the stages outside the anchor's nest to the default schedule.
 * Other targets add templates the same way: a `defineSpace` of their own knobs plus an apply
 * (a GPU template's knobs would be threads per block and vthreads).
 */
import { basename } from "node:path";
import type { Tensor } from "../../../te/tensor.ts";
import { bytesOf } from "../../../../core/dtype.ts";
import type { Schedule, Stage } from "../../../schedule/schedule.ts";
import type { Axis } from "../../../schedule/axis.ts";
import { cacheWrite } from "../../../schedule/cache.ts";
import {
  defaultGemmTiling, finishStages, gemmLike, gemmLikeApplies, inlineIntermediates, markScheduled, sameIndexSpace,
} from "./default.ts";
import { defineSpace, type Config, type ConfigSpace } from "../../../autotune/space.ts";
import { bestConfigs, describeStale, readLog, splitByFingerprint, type TuneRecord } from "../../../autotune/log.ts";
import { vectorRegisters } from "../host.ts";
import { hostFingerprint } from "../fingerprint.ts";

/** Task key → the config to compile it with (what `tunedConfigs(log)` returns). */
export type TunedConfigs = ReadonlyMap<string, Config>;

export type TemplateKind = "gemm" | "conv" | "depthwise" | "reduce";

export interface GroupTemplate {
  readonly kind: TemplateKind;
  readonly space: ConfigSpace;
  /** Floating-point operations of one run of the group's anchor (for GFLOP/s). */
  readonly flops: number;
  /** The config that reproduces the default schedule, when the space holds one (measured first). */
  readonly defaultConfig?: Config;
  /** Schedules every stage of `s` (the schedule the template was made for) by `config`. */
  apply(s: Schedule, config: Config): void;
}

/** Anchors scheduled with register tiling (the op registry's schedule hint for them). */
export const GEMM_OPS: ReadonlySet<string> = new Set(["matmul", "batch_matmul"]);
/** Anchors whose reduction body is a multiply-add (two operations per reduce step). */
const MULTIPLY_ADD = /^(matmul|batch_matmul|conv|depthwise_conv)/;

/**
 * The candidates that divide `extent` (1 always does). Tiles that leave a tail put a guard in
 * the innermost loop, which stops it from vectorizing and multiplies the unrolled code.
 */
const dividing = (cands: readonly number[], extent: number): number[] => {
  const vs = cands.filter((c) => c <= extent && extent % c === 0);
  return vs.includes(1) ? vs : [1, ...vs];
};
const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/**
 * The template for a group, or null when none applies (no anchor, a symbolic shape, several
 * outputs, more than one reduction, an epilogue that changes the index space). `s` is a fresh
 * schedule of `outputs`; the template is bound to it.
 */
export function groupTemplate(s: Schedule, outputs: readonly Tensor[], anchorOut: Tensor | null, anchorOp: string | null, vectorBytes: number): GroupTemplate | null {
  if (anchorOut === null || anchorOp === null || outputs.length !== 1) return null;
  const out = outputs[0]!;
  // The group's one reduction (the anchor op's output itself, or a stage inside it, as the
  // sum inside avg_pool2d's division).
  const reductions = s.stages.filter((st) => st.op !== null && st.op.body.kind === "reduce");
  if (reductions.length !== 1) return null;
  const a = reductions[0]!;
  const anchor = a.tensor;
  if (out !== anchor && !s.dependsOn(s.stage(out), a)) return null;
  if (!sameIndexSpace(a, s.stage(out))) return null;
  const data = a.axis.map((x) => a.constExtent(x));
  const red = a.reduceAxis.map((x) => a.constExtent(x));
  if (data.length === 0 || red.length === 0 || [...data, ...red].some((e) => e === null)) return null;
  const D = data as number[], R = red as number[];
  const flops = product(D) * product(R) * (MULTIPLY_ADD.test(anchorOp) ? 2 : 1);

  if (GEMM_OPS.has(anchorOp) && gemmLikeApplies(s, anchor, out, vectorBytes)) {
    // Dividing tiles, plus the default schedule's own block (which may leave a tail: the
    // default schedule handles it), so the search can never do worse than the default.
    const def = defaultGemmTiling(D.at(-2)!, D.at(-1)!, vectorBytes, anchor.dtype);
    const withDefault = (vs: number[], d: number): number[] => (vs.includes(d) ? vs : [...vs, d].sort((a, b) => a - b));
    const space = defineSpace({
      knobs: {
        mr: withDefault(dividing([1, 2, 3, 4, 6, 8, 12, 16], D.at(-2)!), def.mr),
        nr: withDefault(dividing([4, 8, 16, 32, 64, 128], D.at(-1)!), def.nr),
        ku: dividing([1, 2, 4, 8, 16], R[0]!),
        // 1: pack the column operand per panel; 0: read it in place (a few rows reuse each
        // panel, as in a convolution's im2col GEMM with 64 output channels).
        pack: [1, 0],
      },
      defaults: { pack: 1 }, // logs from before the knob: the panel was always packed
    });
    return nestTemplate("gemm", space, flops, outputs, vectorBytes, (sched, config, done) => {
      const tiles = { mr: config["mr"] as number, nr: config["nr"] as number, ku: config["ku"] as number, pack: config["pack"] === 1 };
      if (!gemmLike(sched, anchor, out, vectorBytes, tiles)) {
        throw new Error(`gemm template: the anchor ${anchor.name} no longer fits`); // gemmLikeApplies said it does
      }
      markScheduled(sched, done);
    }, { mr: def.mr, nr: def.nr, ku: def.ku, pack: 1 });
  }

  if (anchorOp === "conv2d_nchwc" && D.length === 5 && R.length === 4) {
    const conv = convNchwcTemplate(D, R, flops, anchor, out, outputs, vectorBytes);
    if (conv) return conv;
  }
  if (anchorOp === "depthwise_conv2d_nchwc" && D.length === 5 && R.length === 2) {
    const dw = depthwiseNchwcTemplate(D, R, flops, anchor, out, outputs, vectorBytes);
    if (dw) return dw;
  }

  const r = D.length;
  // Tiles stay within a register file's worth of accumulators (th·tc ≤ 32 rows of tw lanes),
  // which also bounds the unrolled code g++ has to compile.
  const knobs: Record<string, number[]> = { tw: dividing([1, 2, 4, 7, 8, 14, 16], D[r - 1]!) };
  if (r >= 2) knobs["th"] = dividing([1, 2, 3, 4], D[r - 2]!);
  if (r >= 3) knobs["tc"] = dividing([1, 2, 4, 8], D[r - 3]!);
  knobs["rs"] = dividing([1, 2, 4, 8, 16], R[0]!);
  // ru unrolls the innermost reduce loop (rs's inner part when split) when it has ≤ 16 steps.
  knobs["ru"] = [0, 1];
  knobs["vec"] = [0, 1];
  knobs["par"] = [0, 1, 2].filter((p) => p <= r);
  return nestTemplate("reduce", defineSpace({ knobs }), flops, outputs, vectorBytes, (sched, config, done) => tileReduction(sched, anchor, out, config, done));
}

/**
 * A template whose `nest` schedules the anchor's loop nest (adding the stages it scheduled to
 * `done`): every cpu schedule's first step before it, the default schedule of the rest after.
 */
function nestTemplate(
  kind: TemplateKind, space: ConfigSpace, flops: number, outputs: readonly Tensor[], vectorBytes: number,
  nest: (s: Schedule, config: Config, done: Set<Stage>) => void, defaultConfig?: Config,
): GroupTemplate {
  return {
    kind, space, flops, ...(defaultConfig ? { defaultConfig } : {}),
    apply(sched, config) {
      space.positions(config); // rejects configs outside the space
      inlineIntermediates(sched);
      const done = new Set<Stage>();
      nest(sched, config, done);
      finishStages(sched, outputs, vectorBytes, done);
    },
  };
}

/** The anchor's accumulating stage and the stage storing the output: a local copy of the anchor when it is the output itself. */
function accumulatorAndOutput(s: Schedule, anchorT: Tensor, outT: Tensor): [Stage, Stage] {
  if (anchorT !== outT) return [s.stage(anchorT), s.stage(outT)];
  return [s.stage(cacheWrite(s, anchorT, "local")), s.stage(anchorT)];
}

const MAX_UNROLL = 16;

/**
 * Vector accumulators a direct convolution's register tile may hold: the register file less
 * room for the weight vectors and the broadcast input (28 of 32 with AVX-512, 12 of 16 with AVX2).
 */
const convMaxAcc = (vectorBytes: number): number => vectorRegisters(vectorBytes) - 4;

/**
 * The blocked direct convolution (conv2d_nchwc, output [N, K/bo, OH, OW, bo]), TVM's x86
 * NCHWc recipe: a register tile of `ow` output columns × `kb` output-channel blocks × bo
 * lanes accumulates over (input-channel block, kernel row, kernel column, input channel), so
 * each step loads kb weight vectors and broadcasts ow input values for ow·kb FMAs. `ku`
 * unrolls the innermost input-channel loop; `par` fuses the outer channel blocks with the
 * output rows into the parallel loop. The inner block bo must fill a vector.
 */
function convNchwcTemplate(D: readonly number[], R: readonly number[], flops: number, anchorT: Tensor, outT: Tensor, outputs: readonly Tensor[], vectorBytes: number): GroupTemplate | null {
  const [, K, , OW, bo] = D as [number, number, number, number, number];
  const lanes = vectorBytes / bytesOf(anchorT.dtype);
  if (bo % lanes !== 0 || bo > 4 * lanes) return null;
  const vecs = bo / lanes;
  const maxAcc = convMaxAcc(vectorBytes);
  // Column tiles divide the width; a width with no divisor from 4 to 8 (13, 17, 35 …) also
  // gets tiles of 4 to 8 with a tail (loop partitioning gives the tail its own copy).
  const owTiles = dividing([1, 2, 3, 4, 5, 6, 7, 8, 12, 14, 16, 28], OW);
  if (!owTiles.some((t) => t >= 4 && t <= 8)) owTiles.push(...[4, 5, 6, 7, 8].filter((t) => t < OW));
  owTiles.sort((a, b) => a - b);
  const tiles: string[] = [];
  for (const kb of dividing([1, 2, 4], K)) {
    for (const ow of owTiles) if (ow * kb * vecs <= maxAcc) tiles.push(`${ow}x${kb}`);
  }
  const space = defineSpace({ knobs: { tile: tiles, ku: dividing([1, 2, 4, 8, 16], R[3]!), par: [1, 2] } });
  // The default (what the measurements of ResNet-18's layers favoured on AVX-512): up to 8 columns × 2
  // channel blocks, parallel over channel blocks and rows (a network's first layers have only
  // a few channel blocks to share between threads).
  // With fewer registers (AVX2), the most accumulators that fit, two channel blocks on a tie
  // (each broadcast input then feeds two FMAs).
  let best = { ow: 1, kb: 1 };
  for (const kb of K % 2 === 0 ? [2, 1] : [1]) {
    const ow = Math.max(...owTiles.filter((t) => t <= 8 && t * kb * vecs <= maxAcc), 1);
    if (ow * kb > best.ow * best.kb) best = { ow, kb };
  }
  return nestTemplate("conv", space, flops, outputs, vectorBytes, (sched, config, done) => tileConvNchwc(sched, anchorT, outT, config, done),
    { tile: `${best.ow}x${best.kb}`, ku: 1, par: 2 });
}

function tileConvNchwc(s: Schedule, anchorT: Tensor, outT: Tensor, c: Config, done: Set<Stage>): void {
  const [anchor, out] = accumulatorAndOutput(s, anchorT, outT);
  const [owb, kb] = (c["tile"] as string).split("x").map(Number) as [number, number];
  const [n, ko, oh, ow, ki] = out.axis as readonly Axis[] as readonly [Axis, Axis, Axis, Axis, Axis];
  const [koo, koi] = out.split(ko, { factor: kb });
  const [owo, owi] = out.split(ow, { factor: owb });
  out.reorder(n, koo, oh, owo, koi, owi, ki);
  out.unroll(koi);
  out.unroll(owi);
  out.vectorize(ki);
  anchor.computeAt(out, owo);
  done.add(anchor).add(out);

  const [rco, rr, rs, rci] = anchor.reduceAxis as readonly Axis[] as readonly [Axis, Axis, Axis, Axis];
  const [an, ako, aoh, aow, aki] = anchor.axis as readonly Axis[] as readonly [Axis, Axis, Axis, Axis, Axis];
  const ku = c["ku"] as number;
  let inner: Axis[] = [rci];
  let outerR: Axis[] = [rco, rr, rs];
  if (ku > 1) {
    const [rio, rii] = anchor.split(rci, { factor: ku });
    outerR = [rco, rr, rs, rio];
    inner = [rii];
  }
  anchor.reorder(...outerR, ...inner, an, ako, aoh, aow, aki);
  if (ku > 1) anchor.unroll(inner[0]!);
  anchor.unroll(ako);
  anchor.unroll(aow);
  anchor.vectorize(aki);

  const par = c["par"] as number;
  out.parallel(par >= 2 ? out.fuse(out.fuse(n, koo), oh) : out.fuse(n, koo));
}

/**
 * The blocked depthwise convolution (depthwise_conv2d_nchwc, output [N, C/b, OH, OW, b]), TVM's
 * x86 depthwise NCHWc recipe. Each output vector is the b channels of one pixel, and input
 * and weight hold the same channels in the same lanes, so a kernel tap is one weight vector
 * load and, per accumulator, one input vector load and one FMA — no broadcast. A register
 * tile of `oh` rows × `ow` columns (× b/lanes vectors) accumulates over the kernel, whose
 * loops `unroll` unrolls (0: none, 1: the columns, 2: rows and columns); `par` fuses batch and
 * channel blocks (1), and the tile rows too (2), into the parallel loop; `pad` 1 makes the
 * padded input per channel block inside that loop (with par 2 the rows of each block run in
 * parallel instead). The accumulators fit the host's register file (host.ts) with room for the
 * weight and input vectors.
 */
function depthwiseNchwcTemplate(D: readonly number[], R: readonly number[], flops: number, anchorT: Tensor, outT: Tensor, outputs: readonly Tensor[], vectorBytes: number): GroupTemplate | null {
  const [, , OH, OW, b] = D as [number, number, number, number, number];
  const lanes = vectorBytes / bytesOf(anchorT.dtype);
  if (b % lanes !== 0 || b > 4 * lanes) return null;
  const vecs = b / lanes;
  const maxAcc = convMaxAcc(vectorBytes);
  // Column tiles as the conv template's: dividing ones, plus 4 to 8 with a tail when none of those divides.
  const owTiles = dividing([1, 2, 3, 4, 5, 6, 7, 8, 12, 14, 16, 28], OW);
  if (!owTiles.some((t) => t >= 4 && t <= 8)) owTiles.push(...[4, 5, 6, 7, 8].filter((t) => t < OW));
  owTiles.sort((x, y) => x - y);
  const ohTiles = dividing([1, 2, 3, 4], OH);
  const tiles: string[] = [];
  for (const oh of ohTiles) for (const ow of owTiles) if (oh * ow * vecs <= maxAcc) tiles.push(`${ow}x${oh}`);
  const unroll = R.every((k) => k <= MAX_UNROLL) ? [0, 1, 2] : [0];
  const space = defineSpace({ knobs: { tile: tiles, unroll, par: [1, 2], pad: [0, 1] } });
  // The default: one row of the most columns up to 8 that fit the registers (8 × 1 vector on
  // AVX2 and AVX-512; a wider block takes fewer columns), the kernel unrolled, each channel
  // block's padded plane made just before it is read, channel blocks in parallel (MobileNet-v2's
  // layers have 4 to 120 of them). On MobileNet-v2's layers, 1 thread, AVX2: as fast as or up
  // to 1.3× faster than padding the whole input first (the 112×112 stride-2 layer: 0.29 against
  // 0.35–0.44 ms).
  const ow = Math.max(...owTiles.filter((t) => t <= 8 && t * vecs <= maxAcc), 1);
  return nestTemplate("depthwise", space, flops, outputs, vectorBytes, (sched, config, done) => tileDepthwiseNchwc(sched, anchorT, outT, config, done),
    { tile: `${ow}x1`, unroll: unroll.at(-1)!, par: 1, pad: 1 });
}

function tileDepthwiseNchwc(s: Schedule, anchorT: Tensor, outT: Tensor, c: Config, done: Set<Stage>): void {
  const [anchor, out] = accumulatorAndOutput(s, anchorT, outT);
  const [owb, ohb] = (c["tile"] as string).split("x").map(Number) as [number, number];
  const [n, cb, oh, ow, ki] = out.axis as readonly Axis[] as readonly [Axis, Axis, Axis, Axis, Axis];
  const [oho, ohi] = out.split(oh, { factor: ohb });
  const [owo, owi] = out.split(ow, { factor: owb });
  out.reorder(n, cb, oho, owo, ohi, owi, ki);
  out.unroll(ohi);
  out.unroll(owi);
  out.vectorize(ki);
  anchor.computeAt(out, owo);
  done.add(anchor).add(out);

  const [rr, rs] = anchor.reduceAxis as readonly Axis[] as readonly [Axis, Axis];
  const [an, acb, aoh, aow, aki] = anchor.axis as readonly Axis[] as readonly [Axis, Axis, Axis, Axis, Axis];
  anchor.reorder(rr, rs, an, acb, aoh, aow, aki);
  const unroll = c["unroll"] as number;
  if (unroll >= 2) anchor.unroll(rr);
  if (unroll >= 1) anchor.unroll(rs);
  anchor.unroll(aoh);
  anchor.unroll(aow);
  anchor.vectorize(aki);

  const nc = out.fuse(n, cb);
  if (c["pad"] === 1) {
    // The padded input (a materialized copy: default.ts materializeGuarded) made per channel
    // block, just before its rows read it, rather than whole beforehand: a big layer's padded
    // copy does not fit the cache, its plane does. With par 2 the copy is serial and the rows
    // of each plane run in parallel.
    const padded = s.stages.find((st) => st.op !== null && st.attach.kind === "root" && !st.isOutput && s.consumersOf(st).includes(anchor));
    if (padded) {
      padded.computeAt(out, nc);
      padded.vectorize(padded.axis.at(-1)!);
      done.add(padded);
    }
    out.parallel(c["par"] === 2 ? oho : nc);
  } else {
    out.parallel(c["par"] === 2 ? out.fuse(nc, oho) : nc);
  }
}

/** The reduce template's loop nest (see the file comment); adds the stages it scheduled to `done`. */
function tileReduction(s: Schedule, anchorT: Tensor, outT: Tensor, c: Config, done: Set<Stage>): void {
  const [anchor, out] = accumulatorAndOutput(s, anchorT, outT);
  const r = out.axis.length;
  const factors = new Map<number, number>([[r - 1, c["tw"] as number]]);
  if (r >= 2) factors.set(r - 2, c["th"] as number);
  if (r >= 3) factors.set(r - 3, c["tc"] as number);
  const outer: Axis[] = [], inner: Axis[] = [];
  out.axis.forEach((x, k) => {
    const f = factors.get(k) ?? 1;
    if (f > 1) {
      const [o, i] = out.split(x, { factor: f });
      outer.push(o);
      inner.push(i);
    } else outer.push(x);
  });
  out.reorder(...outer, ...inner);
  const vec = c["vec"] === 1;
  const tw = c["tw"] as number;
  // The tile's loops in the output stage: innermost vectorized, the rest unrolled.
  inner.forEach((x, k) => {
    if (k === inner.length - 1 && tw > 1 && factors.get(r - 1)! > 1) {
      if (vec) out.vectorize(x);
    } else out.unroll(x);
  });
  anchor.computeAt(out, outer.at(-1)!);
  done.add(anchor).add(out);

  // The local accumulator: reduce loops outside, the tile's data loops inside.
  const rs = c["rs"] as number;
  const red = [...anchor.reduceAxis];
  let reduceOrder: Axis[] = red;
  if (rs > 1) {
    const [ro, ri] = anchor.split(red[0]!, { factor: rs });
    reduceOrder = [ro, ...red.slice(1), ri];
  }
  const dataLeaves = [...anchor.axis];
  anchor.reorder(...reduceOrder, ...dataLeaves);
  const last = reduceOrder.at(-1)!;
  if (c["ru"] === 1 && (anchor.constExtent(last) ?? Infinity) <= MAX_UNROLL) anchor.unroll(last);
  dataLeaves.forEach((x, k) => {
    const f = factors.get(k) ?? 1;
    if (f <= 1) return;
    if (k === r - 1) {
      if (vec) anchor.vectorize(x);
    } else anchor.unroll(x);
  });

  const par = c["par"] as number;
  if (par >= 1) {
    let p = outer[0]!;
    if (par >= 2 && outer.length >= 2) p = out.fuse(outer[0]!, outer[1]!);
    out.parallel(p);
  }
}

/** Task key → best config of each task in the records (what compileGraph's `tuned` option takes). */
export function tunedConfigs(records: readonly TuneRecord[]): TunedConfigs {
  return new Map([...bestConfigs(records)].map(([k, r]) => [k, r.config]));
}

export interface LoadTunedOptions {
  /**
   * Also use records of another fingerprint (`--accept-stale`): measured by another version of
   * the code generator, another g++ or on another host, or before fingerprints existed. They
   * only fill in tasks that have no successful record of the current fingerprint: costs
   * measured by another compiler or host are not comparable with this one's.
   */
  readonly acceptStale?: boolean;
  /** The current fingerprint (default: this process's, fingerprint.ts `hostFingerprint`). */
  readonly fingerprint?: string;
}

/**
 * tunedConfigs of a tuning log file (`lathe compile --tuning-log`); torn lines are skipped with a
 * warning. Only records of the current compiler fingerprint count unless `acceptStale`; the
 * others are reported in one warning with their count (and used, with acceptStale).
 */
export function loadTunedConfigs(path: string, onWarning?: (message: string) => void, opts: LoadTunedOptions = {}): TunedConfigs {
  const fingerprint = opts.fingerprint ?? hostFingerprint();
  const { current, stale, staleCounts } = splitByFingerprint(readLog(path, { onWarning }), fingerprint);
  const name = basename(path);
  if (stale.length > 0 && !opts.acceptStale) {
    onWarning?.(`${name}: ${describeStale(staleCounts)} ignored (this one is ${fingerprint}); pass --accept-stale to use them`);
    return tunedConfigs(current);
  }
  const mine = tunedConfigs(current);
  const theirs = [...tunedConfigs(stale)].filter(([task]) => !mine.has(task));
  if (stale.length > 0) {
    onWarning?.(`${name}: using ${describeStale(staleCounts)} for ${theirs.length} task(s) that have no record of this one (${fingerprint}) (--accept-stale)`);
  }
  return new Map([...mine, ...theirs]);
}
