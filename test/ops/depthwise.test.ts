/**
 * Depthwise conv2d (NCHW, one filter per channel, weights [C, KH, KW]) with zero padding
 * through a padded stage, under several schedules and strides.
 */
import { describe, test } from "vitest";
import { cacheRead, cacheWrite } from "../../compiler/schedule/cache.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { add, and, ge, lt, mul, select, sub } from "../../compiler/te/expr.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder, reduceAxis, sum } from "../../compiler/te/tensor.ts";
import { checkKernel, cname, randomInputs } from "../helpers/check.ts";

interface DwCfg { readonly N: number; readonly C: number; readonly H: number; readonly W: number; readonly K: number; readonly stride: number; readonly pad: number }
interface Dw { A: Tensor; Wt: Tensor; P: Tensor; O: Tensor }

function depthwise({ N, C, H, W, K, stride, pad }: DwCfg): Dw {
  const A = placeholder([N, C, H, W], "f32", "A");
  const Wt = placeholder([C, K, K], "f32", "Wt");
  const P = compute([N, C, H + 2 * pad, W + 2 * pad], (n, c, y, x) =>
    select(and(and(ge(y, pad), lt(y, H + pad)), and(ge(x, pad), lt(x, W + pad))), A.at(n, c, sub(y, pad), sub(x, pad)), 0.0), "P");
  const OH = Math.floor((H + 2 * pad - K) / stride) + 1, OW = Math.floor((W + 2 * pad - K) / stride) + 1;
  const ry = reduceAxis(K, "ry"), rx = reduceAxis(K, "rx");
  const O = compute([N, C, OH, OW], (n, c, y, x) =>
    sum([ry, rx], mul(P.at(n, c, add(mul(y, stride), ry.var), add(mul(x, stride), rx.var)), Wt.at(c, ry.var, rx.var))), "O");
  return { A, Wt, P, O };
}

const CONFIGS: Record<string, DwCfg> = {
  "3x3 stride 1 pad 1": { N: 2, C: 8, H: 16, W: 16, K: 3, stride: 1, pad: 1 },
  "3x3 stride 2 pad 1, odd input": { N: 1, C: 5, H: 15, W: 13, K: 3, stride: 2, pad: 1 },
  "5x5 stride 1 pad 2": { N: 1, C: 3, H: 11, W: 19, K: 5, stride: 1, pad: 2 },
};

const SCHEDULES: Record<string, (t: Dw) => Schedule> = {
  naive: ({ O }) => createSchedule(O),

  "pad inline + fuse n,c parallel + unrolled window + vectorized x": ({ P, O }) => {
    const s = createSchedule(O);
    s.stage(P).computeInline();
    const o = s.stage(O);
    const [n, c, y, x] = o.axis;
    const nc = o.fuse(n!, c!);
    o.parallel(nc);
    const [xo, xi] = o.split(x!, { factor: 4 });
    const [ry, rx] = o.reduceAxis;
    o.reorder(nc, y!, xo, ry!, rx!, xi);
    o.unroll(ry!);
    o.unroll(rx!);
    o.vectorize(xi);
    return s;
  },

  "pad compute_at channel + tile + vectorize": ({ P, O }) => {
    const s = createSchedule(O);
    const o = s.stage(O);
    const [n, c, y, x] = o.axis;
    const [yo, xo, yi, xi] = o.tile(y!, x!, 3, 4);
    o.reorder(n!, c!, yo, xo, yi, ...o.reduceAxis, xi);
    o.vectorize(xi);
    o.parallel(c!);
    s.stage(P).computeAt(o, c!);
    return s;
  },

  "cache_write local at row tile + pad compute_at + pragma": ({ P, O }) => {
    const s = createSchedule(O);
    const OL = cacheWrite(s, O, "local");
    const o = s.stage(O);
    const [n, c, y, x] = o.axis;
    const [yo, yi] = o.split(y!, { factor: 2 });
    o.reorder(n!, c!, yo, yi, x!);
    o.pragma(yo, "auto_unroll_max_step", 16);
    const ol = s.stage(OL);
    ol.computeAt(o, yo);
    const [, , oy, ox] = ol.axis;
    const [ry, rx] = ol.reduceAxis;
    ol.reorder(ry!, rx!, oy!, ox!);
    ol.unroll(oy!);
    s.stage(P).computeAt(o, yo);
    return s;
  },

  "cache_read weights at channel + nparts": ({ Wt, O }) => {
    const s = createSchedule(O);
    const WP = cacheRead(s, Wt, "local", [O]);
    const o = s.stage(O);
    const [n, c, y, x] = o.axis;
    const [co, ci] = o.split(c!, { nparts: 2 });
    const [xo, xi] = o.split(x!, { nparts: 3 });
    o.reorder(n!, co, ci, y!, xo, xi);
    o.parallel(co);
    s.stage(WP).computeAt(o, ci);
    return s;
  },
};

describe.each(Object.keys(CONFIGS))("depthwise conv2d %s", (cfgName) => {
  test.concurrent.each(Object.keys(SCHEDULES))("%s", async (name) => {
    const cfg = CONFIGS[cfgName]!;
    const t = depthwise(cfg);
    const s = SCHEDULES[name]!(t);
    await checkKernel(s, [t.A, t.Wt, t.O], randomInputs([t.A, t.Wt], cfg.C * 10 + cfg.K), { name: cname(`dw_${name}`) });
  });
});
