/**
 * conv2d in NCHW layout with OIHW weights: stride, zero padding through a padded stage
 * (a `select` on the bounds), dilation and groups; each configuration under several
 * schedules (the padded stage computed at root, inlined or computed at a loop of the conv).
 */
import { describe, test } from "vitest";
import { cacheRead, cacheWrite } from "../../compiler/schedule/cache.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { add, and, floordiv, ge, lt, mul, select, sub } from "../../compiler/te/expr.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder, reduceAxis, sum } from "../../compiler/te/tensor.ts";
import { checkKernel, cname, randomInputs } from "../helpers/check.ts";

interface ConvCfg {
  readonly N: number; readonly C: number; readonly H: number; readonly W: number;
  readonly F: number; readonly KH: number; readonly KW: number;
  readonly stride: number; readonly pad: number; readonly dil: number; readonly groups: number;
}

interface Conv { A: Tensor; Wt: Tensor; P: Tensor; O: Tensor }

function conv2d(c: ConvCfg): Conv {
  const { N, C, H, W, F, KH, KW, stride, pad, dil, groups } = c;
  const Cg = C / groups, Fg = F / groups;
  const A = placeholder([N, C, H, W], "f32", "A");
  const Wt = placeholder([F, Cg, KH, KW], "f32", "Wt");
  const P = compute([N, C, H + 2 * pad, W + 2 * pad], (n, ch, y, x) =>
    select(and(and(ge(y, pad), lt(y, H + pad)), and(ge(x, pad), lt(x, W + pad))), A.at(n, ch, sub(y, pad), sub(x, pad)), 0.0), "P");
  const OH = Math.floor((H + 2 * pad - dil * (KH - 1) - 1) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - dil * (KW - 1) - 1) / stride) + 1;
  const rc = reduceAxis(Cg, "rc"), ry = reduceAxis(KH, "ry"), rx = reduceAxis(KW, "rx");
  const O = compute([N, F, OH, OW], (n, f, y, x) => sum([rc, ry, rx], mul(
    P.at(n, add(mul(floordiv(f, Fg), Cg), rc.var), add(mul(y, stride), mul(ry.var, dil)), add(mul(x, stride), mul(rx.var, dil))),
    Wt.at(f, rc.var, ry.var, rx.var))), "O");
  return { A, Wt, P, O };
}

const CONFIGS: Record<string, ConvCfg> = {
  "3x3 stride 1 pad 1": { N: 1, C: 4, H: 14, W: 14, F: 8, KH: 3, KW: 3, stride: 1, pad: 1, dil: 1, groups: 1 },
  "3x3 stride 2 pad 1, odd input": { N: 2, C: 3, H: 15, W: 13, F: 6, KH: 3, KW: 3, stride: 2, pad: 1, dil: 1, groups: 1 },
  "3x3 dilation 2 pad 2": { N: 1, C: 4, H: 12, W: 11, F: 4, KH: 3, KW: 3, stride: 1, pad: 2, dil: 2, groups: 1 },
  "3x3 groups 2 pad 1": { N: 1, C: 8, H: 10, W: 10, F: 6, KH: 3, KW: 3, stride: 1, pad: 1, dil: 1, groups: 2 },
  "5x3 stride 2 no pad": { N: 1, C: 2, H: 17, W: 16, F: 3, KH: 5, KW: 3, stride: 2, pad: 0, dil: 1, groups: 1 },
};

const SCHEDULES: Record<string, (t: Conv) => Schedule> = {
  naive: ({ O }) => createSchedule(O),

  "pad inline + tiled + vectorized + parallel": ({ P, O }) => {
    const s = createSchedule(O);
    s.stage(P).computeInline();
    const o = s.stage(O);
    const [n, f, y, x] = o.axis;
    const [yo, xo, yi, xi] = o.tile(y!, x!, 2, 4);
    const [rc, ry, rx] = o.reduceAxis;
    o.reorder(n!, f!, yo, xo, rc!, ry!, rx!, yi, xi);
    o.vectorize(xi);
    o.unroll(yi);
    o.parallel(f!);
    return s;
  },

  "pad compute_at rows + fuse n,f + parallel": ({ P, O }) => {
    const s = createSchedule(O);
    const o = s.stage(O);
    const [n, f, y, x] = o.axis;
    const nf = o.fuse(n!, f!);
    o.parallel(nf);
    s.stage(P).computeAt(o, y!);
    const [xo, xi] = o.split(x!, { factor: 4 });
    o.reorder(nf, y!, xo, ...o.reduceAxis, xi);
    o.vectorize(xi);
    return s;
  },

  "cache_write local at row tile + unrolled rx + pad compute_at": ({ P, O }) => {
    const s = createSchedule(O);
    const OL = cacheWrite(s, O, "local");
    const o = s.stage(O);
    const [n, f, y, x] = o.axis;
    const [yo, yi] = o.split(y!, { factor: 3 });
    o.reorder(n!, f!, yo, yi, x!);
    o.parallel(f!);
    const ol = s.stage(OL);
    ol.computeAt(o, yo);
    const [, , oy, ox] = ol.axis;
    const [rc, ry, rx] = ol.reduceAxis;
    ol.reorder(rc!, ry!, rx!, oy!, ox!);
    ol.unroll(rx!);
    ol.vectorize(ox!);
    s.stage(P).computeAt(ol, rc!);
    return s;
  },

  "cache_read weights at f + nparts + pragma, pad inline": ({ Wt, P, O }) => {
    const s = createSchedule(O);
    s.stage(P).computeInline();
    const WP = cacheRead(s, Wt, "global", [O]);
    const o = s.stage(O);
    const [n, f, y, x] = o.axis;
    const [yo, yi] = o.split(y!, { nparts: 2 });
    o.reorder(n!, f!, yo, yi, x!);
    o.pragma(yo, "auto_unroll_max_step", 8);
    s.stage(WP).computeAt(o, f!);
    return s;
  },
};

describe.each(Object.keys(CONFIGS))("conv2d NCHW %s", (cfgName) => {
  test.concurrent.each(Object.keys(SCHEDULES))("%s", async (name) => {
    const cfg = CONFIGS[cfgName]!;
    const t = conv2d(cfg);
    const s = SCHEDULES[name]!(t);
    await checkKernel(s, [t.A, t.Wt, t.O], randomInputs([t.A, t.Wt], cfg.C * 100 + cfg.H), { name: cname(`conv_${name}`) });
  });
});
