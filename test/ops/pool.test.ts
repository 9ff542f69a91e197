/**
 * Max pooling (padding with −∞ through a padded stage) and average pooling (zero padding,
 * a window-sum stage then a divide stage, count including padding), NCHW, under several
 * schedules.
 */
import { describe, test } from "vitest";
import { cacheWrite } from "../../compiler/schedule/cache.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { add, and, div, ge, lt, mul, select, sub } from "../../compiler/te/expr.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder, reduceAxis, rmax, sum } from "../../compiler/te/tensor.ts";
import { checkKernel, cname, randomInputs } from "../helpers/check.ts";

interface PoolCfg { readonly N: number; readonly C: number; readonly H: number; readonly W: number; readonly K: number; readonly stride: number; readonly pad: number }
/** P: padded input; R: the window reduction; O: the output (R itself for max pooling). */
interface Pool { kind: "max" | "avg"; A: Tensor; P: Tensor; R: Tensor; O: Tensor }

function pool(kind: "max" | "avg", { N, C, H, W, K, stride, pad }: PoolCfg): Pool {
  const A = placeholder([N, C, H, W], "f32", "A");
  const fill = kind === "max" ? -Infinity : 0.0;
  const P = compute([N, C, H + 2 * pad, W + 2 * pad], (n, c, y, x) =>
    select(and(and(ge(y, pad), lt(y, H + pad)), and(ge(x, pad), lt(x, W + pad))), A.at(n, c, sub(y, pad), sub(x, pad)), fill), "P");
  const OH = Math.floor((H + 2 * pad - K) / stride) + 1, OW = Math.floor((W + 2 * pad - K) / stride) + 1;
  const ry = reduceAxis(K, "ry"), rx = reduceAxis(K, "rx");
  const red = kind === "max" ? rmax : sum;
  const R = compute([N, C, OH, OW], (n, c, y, x) =>
    red([ry, rx], P.at(n, c, add(mul(y, stride), ry.var), add(mul(x, stride), rx.var))), kind === "max" ? "O" : "S");
  const O = kind === "max" ? R : compute([N, C, OH, OW], (n, c, y, x) => div(R.at(n, c, y, x), K * K), "O");
  return { kind, A, P, R, O };
}

const SCHEDULES: Record<string, (t: Pool) => Schedule> = {
  naive: ({ O }) => createSchedule(O),

  "pad inline + fuse n,c parallel + vectorized x + unrolled window": ({ P, R, O }) => {
    const s = createSchedule(O);
    s.stage(P).computeInline();
    if (R !== O) s.stage(R).computeAt(s.stage(O), s.stage(O).axis[2]!);
    const r = s.stage(R);
    const [n, c, y, x] = r.axis;
    const [xo, xi] = r.split(x!, { factor: 4 });
    const [ry, rx] = r.reduceAxis;
    r.reorder(n!, c!, y!, xo, ry!, rx!, xi);
    r.unroll(ry!);
    r.unroll(rx!);
    r.vectorize(xi);
    const o = s.stage(O);
    const nc = o.fuse(o.axis[0]!, o.axis[1]!);
    o.parallel(nc);
    return s;
  },

  "pad compute_at rows of a tiled output": ({ P, R, O }) => {
    const s = createSchedule(O);
    const o = s.stage(O);
    const [, c, y, x] = o.axis;
    const [yo, , , xi] = o.tile(y!, x!, 2, 4);
    o.parallel(c!);
    if (R === O) {
      s.stage(P).computeAt(o, yo);
    } else {
      o.vectorize(xi);
      const r = s.stage(R);
      r.computeAt(o, yo);
      s.stage(P).computeAt(r, r.axis[2]!);
    }
    return s;
  },

  "window reduction cached/computed at a tile + pragma": ({ P, R, O }) => {
    const s = createSchedule(O);
    // For max pooling the reduction is the output: accumulate it in a local buffer (cache_write).
    const local = R === O ? cacheWrite(s, O, "local") : R;
    const o = s.stage(O);
    const [, , y, x] = o.axis;
    const [yo, xo, yi, xi] = o.tile(y!, x!, 3, 4);
    o.pragma(yo, "auto_unroll_max_step", 16);
    o.unroll(yi);
    o.vectorize(xi);
    const l = s.stage(local);
    l.computeAt(o, xo);
    const [ry, rx] = l.reduceAxis;
    l.reorder(ry!, rx!, l.axis[2]!, l.axis[3]!);
    s.stage(P).computeInline();
    return s;
  },

  "nparts splits + fuse + pad compute_at fused": ({ P, R, O }) => {
    const s = createSchedule(O);
    const o = s.stage(O);
    const [n, c, y, x] = o.axis;
    const nc = o.fuse(n!, c!);
    const [yo, yi] = o.split(y!, { nparts: 3 });
    const [xo, xi] = o.split(x!, { nparts: 2 });
    o.reorder(nc, yo, xo, yi, xi);
    const f = o.fuse(nc, yo);
    o.parallel(f);
    if (R !== O) s.stage(R).computeAt(o, xo);
    s.stage(P).computeAt(o, f);
    return s;
  },
};

const CONFIGS: Record<string, PoolCfg> = {
  "3x3 stride 2 pad 1": { N: 2, C: 3, H: 17, W: 16, K: 3, stride: 2, pad: 1 },
  "2x2 stride 2 no pad": { N: 1, C: 4, H: 16, W: 12, K: 2, stride: 2, pad: 0 },
};

describe.each(["max", "avg"] as const)("%s pooling", (kind) => {
  describe.each(Object.keys(CONFIGS))("%s", (cfgName) => {
    test.concurrent.each(Object.keys(SCHEDULES))("%s", async (name) => {
      const cfg = CONFIGS[cfgName]!;
      const t = pool(kind, cfg);
      const s = SCHEDULES[name]!(t);
      await checkKernel(s, [t.A, t.O], randomInputs([t.A], cfg.H * cfg.W), { name: cname(`${kind}pool_${name}`) });
    });
  });
});
