/**
 * Overlapping patches on a grid, as Greedy InfoMax and CPC cut images (models/gim):
 *
 *   patches{size: [ph, pw], strides: [sh, sw]}(x [N, C, H, W]) → [N, gh, gw, C, ph, pw]
 *       y[n, a, b, c, i, j] = x[n, c, a·sh + i, b·sw + j],  gh = ⌊(H − ph) / sh⌋ + 1 (gw alike)
 *
 * e.g. 28×28 images, 7×7 patches at stride 3: an 8×8 grid. The batch may be symbolic (the
 * grid axes stay separate from it, so no dimension is a product with a symbol); C, H and W
 * are static. Rows and columns the grid does not reach are simply not read.
 *
 *   patches_grad{size, strides}(g [N, gh, gw, C, ph, pw], x) → like x
 *       the overlap-add: every patch adds its values back where it read them,
 *       dx[n, c, r, s] = Σ_{a, b} g[n, a, b, c, r − a·sh, s − b·sw] over the patches covering (r, s).
 *
 * patches_grad is the VJP of patches and the adjoint of it (x only gives the shape); the VJP
 * of patches_grad is patches again. A pixel is covered by patches a = ⌊r / sh⌋ − t for
 * t < ⌈ph / sh⌉ (those with a in [0, gh)), so the sum is a small fixed reduction.
 */
import type { TensorType } from "../../graph/types.ts";
import type { Expr } from "../../te/expr.ts";
import { add, and, float, floordiv, ge, int, lt, max, min, mul, select, sub } from "../../te/expr.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { Attrs } from "../../graph/graph.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { attrError, expectArity, expectFloat, intsAttr, outShape, shapeError } from "./common.ts";

interface Grid { readonly ph: number; readonly pw: number; readonly sh: number; readonly sw: number; readonly h: number; readonly w: number; readonly gh: number; readonly gw: number }

/** The grid of `x` [N, C, H, W] for the node's attributes; errors name the node. */
function grid(op: string, x: TensorType, a: Attrs, node: string): Grid {
  const size = intsAttr(a, "size"), strides = intsAttr(a, "strides");
  for (const [name, v] of [["size", size], ["strides", strides]] as const) {
    if (v.length !== 2 || v.some((k) => !Number.isInteger(k) || k < 1)) throw attrError(node, op, `${name} must be two positive integers, got [${v.join(", ")}]`);
  }
  if (x.shape.length !== 4) throw shapeError(node, op, "x must be images [N, C, H, W]", [x]);
  const [, , h, w] = x.shape;
  if (typeof h !== "number" || typeof w !== "number") throw shapeError(node, op, "the image height and width must be static", [x]);
  const [ph, pw] = size as [number, number], [sh, sw] = strides as [number, number];
  if (ph > h || pw > w) throw shapeError(node, op, `a ${ph}×${pw} patch is larger than the ${h}×${w} image`, [x]);
  return { ph, pw, sh, sw, h, w, gh: Math.floor((h - ph) / sh) + 1, gw: Math.floor((w - pw) / sw) + 1 };
}

const attrs = { size: { kind: "ints" as const }, strides: { kind: "ints" as const } };

export const patches: OpDef = defineOp({
  name: "patches",
  fusion: "injective",
  attrs,
  infer: (inputs, a, node) => {
    expectArity(node, "patches", inputs, 1);
    const x = inputs[0]!, g = grid("patches", x, a, node);
    return [{ shape: [x.shape[0]!, g.gh, g.gw, x.shape[1]!, g.ph, g.pw], dtype: x.dtype }];
  },
  compute: ([x], a, ctx) => {
    const sh = intsAttr(a, "strides")[0]!, sw = intsAttr(a, "strides")[1]!;
    return [compute(outShape(ctx), (n, ga, gb, c, i, j) =>
      x!.at(n!, c!, add(mul(ga!, sh), i!), add(mul(gb!, sw), j!)), ctx.name)];
  },
  vjp: ({ node, b }, [g]) => (g ? [b.op1("patches_grad", [g, node.inputs[0]!], node.attrs)] : [null]),
});

export const patchesGrad: OpDef = defineOp({
  name: "patches_grad",
  fusion: "opaque",
  attrs,
  infer: (inputs, a, node) => {
    expectArity(node, "patches_grad", inputs, 2);
    expectFloat(node, "patches_grad", inputs, [0]);
    const [gt, x] = inputs as [TensorType, TensorType];
    const g = grid("patches_grad", x, a, node);
    const want = [x.shape[0]!, g.gh, g.gw, x.shape[1]!, g.ph, g.pw];
    if (gt.shape.length !== 6 || gt.shape.some((d, k) => d !== want[k])) {
      throw shapeError(node, "patches_grad", `the patch gradient must be [${want.join(", ")}]`, inputs);
    }
    return [{ shape: x.shape, dtype: gt.dtype }];
  },
  compute: ([gp], a, ctx) => {
    const x = ctx.outputs[0]!;
    const g = grid("patches_grad", x, a, ctx.name);
    const ra = reduceAxis(Math.ceil(g.ph / g.sh), "ta"), rb = reduceAxis(Math.ceil(g.pw / g.sw), "tb");
    const dt = gp!.dtype;
    return [compute(outShape(ctx), (n, c, r, s) => {
      const pa = sub(floordiv(r!, int(g.sh)), ra.var), pb = sub(floordiv(s!, int(g.sw)), rb.var);
      const i = sub(r!, mul(pa, int(g.sh))), j = sub(s!, mul(pb, int(g.sw)));
      const ok = and(and(ge(pa, 0), lt(pa, int(g.gh))), and(ge(pb, 0), lt(pb, int(g.gw))));
      // Reads clamped into bounds; the select decides whether they count (i, j < patch size by construction of t).
      const clamp = (e: Expr, n: number): Expr => max(min(e, int(n - 1)), int(0));
      const read = gp!.at(n!, clamp(pa, g.gh), clamp(pb, g.gw), c!, clamp(i, g.ph), clamp(j, g.pw));
      return sum([ra, rb], select(and(ok, and(lt(i, int(g.ph)), lt(j, int(g.pw)))), read, float(0, dt)));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => (g ? [b.op1("patches", [g], node.attrs), null] : [null, null]),
});

export const patchesOps = [patches, patchesGrad] as const;
