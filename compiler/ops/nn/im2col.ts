/**
 * im2col: the patches a 2-D convolution reads, laid out as a matrix so the convolution
 * becomes one matrix product (the cpu target's lowering of conv2d, conv-to-gemm.ts).
 * x [N, C, H, W] (already padded) → col [C·kh·kw, N·OH·OW] with
 *   col[(c·kh + i)·kw + j, (n·OH + oh)·OW + ow] = x[n, c, oh·sh + i·dh, ow·sw + j·dw].
 * Shapes are static (the rows and columns are products of dimensions).
 * Gradient: every patch position adds its column entries back where it read them — per
 * kernel tap (i, j) that is slice_grad of the tap's strided slice, summed over taps.
 */
import type { Attrs, Value } from "../../graph/graph.ts";
import type { TensorType } from "../../graph/types.ts";
import { add, floordiv, floormod, int, mul } from "../../te/expr.ts";
import { compute } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { intsAttr, shapeError } from "./common.ts";

type Im2colAttrs = { readonly kernel: readonly number[]; readonly strides: readonly number[]; readonly dilations: readonly number[] };

const attrsOf = (a: Attrs): Im2colAttrs => ({ kernel: intsAttr(a, "kernel"), strides: intsAttr(a, "strides"), dilations: intsAttr(a, "dilations") });

function geometry(x: TensorType, a: Im2colAttrs, node: string) {
  const op = "im2col";
  if (x.shape.length !== 4) throw shapeError(node, op, "input must be [N, C, H, W]", [x]);
  const dims = x.shape.map((d) => {
    if (typeof d !== "number") throw shapeError(node, op, `symbolic dimension ${d}: im2col needs static shapes`, [x]);
    return d;
  });
  const [n, c, h, w] = dims as [number, number, number, number];
  const [kh, kw] = a.kernel as [number, number], [sh, sw] = a.strides as [number, number], [dh, dw] = a.dilations as [number, number];
  for (const [name, v] of [["kernel", a.kernel], ["strides", a.strides], ["dilations", a.dilations]] as const) {
    if (v.length !== 2 || v.some((k) => !Number.isInteger(k) || k < 1)) throw shapeError(node, op, `${name} must be two positive integers, got [${v.join(", ")}]`, [x]);
  }
  const oh = Math.floor((h - (dh * (kh - 1) + 1)) / sh) + 1, ow = Math.floor((w - (dw * (kw - 1) + 1)) / sw) + 1;
  if (oh < 1 || ow < 1) throw shapeError(node, op, `a ${kh}×${kw} window (dilation ${dh}×${dw}) does not fit ${h}×${w}`, [x]);
  return { n, c, h, w, kh, kw, sh, sw, dh, dw, oh, ow };
}

export const im2col: OpDef = defineOp({
  name: "im2col",
  fusion: "injective",
  attrs: { kernel: { kind: "ints" }, strides: { kind: "ints", default: [1, 1] }, dilations: { kind: "ints", default: [1, 1] } },
  infer: (inputs, attrs, node) => {
    const a = attrsOf(attrs);
    if (inputs.length !== 1) throw shapeError(node, "im2col", `takes 1 input, got ${inputs.length}`, inputs);
    const g = geometry(inputs[0]!, a, node);
    return [{ shape: [g.c * g.kh * g.kw, g.n * g.oh * g.ow], dtype: inputs[0]!.dtype }];
  },
  compute: ([x], attrs, ctx) => {
    const a = attrsOf(attrs);
    // Static shapes (checked by infer): the TE dimensions are constants.
    const g = geometry({ shape: x!.shape.map((e) => (e.kind === "const" ? e.value : String(e))), dtype: x!.dtype }, a, ctx.name);
    return [compute([int(g.c * g.kh * g.kw), int(g.n * g.oh * g.ow)], (r, q) => {
      const j = floormod(r!, int(g.kw)), i = floormod(floordiv(r!, int(g.kw)), int(g.kh)), c = floordiv(r!, int(g.kh * g.kw));
      const ow = floormod(q!, int(g.ow)), oh = floormod(floordiv(q!, int(g.ow)), int(g.oh)), n = floordiv(q!, int(g.oh * g.ow));
      return x!.at(n, c, add(mul(oh, int(g.sh)), mul(i, int(g.dh))), add(mul(ow, int(g.sw)), mul(j, int(g.dw))));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [gcol]) => {
    const x = node.inputs[0]!;
    if (!gcol) return [null];
    const g = geometry(x.type, attrsOf(node.attrs), node.name);
    // [C·kh·kw, N·OH·OW] → [C, kh·kw, N, OH, OW] → [N, C, kh·kw, OH, OW]: one slice per tap.
    const t = b.op1("transpose", [b.op1("reshape", [gcol], { shape: [g.c, g.kh * g.kw, g.n, g.oh, g.ow] })], { perm: [2, 0, 1, 3, 4] });
    let total: Value | null = null;
    for (let i = 0; i < g.kh; i++) {
      for (let j = 0; j < g.kw; j++) {
        const k = i * g.kw + j;
        const tap = b.op1("reshape", [b.op1("slice", [t], { starts: [k], ends: [k + 1], axes: [2] })], { shape: [g.n, g.c, g.oh, g.ow] });
        const back = b.op1("slice_grad", [tap, x], {
          starts: [i * g.dh, j * g.dw], ends: [i * g.dh + (g.oh - 1) * g.sh + 1, j * g.dw + (g.ow - 1) * g.sw + 1], axes: [2, 3], steps: [g.sh, g.sw],
        });
        total = total ? b.op1("add", [total, back]) : back;
      }
    }
    return [total];
  },
});
