/** Scaling inputs to [0, 1] f32. */
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";

/** u8 pixels (0–255) → f32 in [0, 1]. */
export function pixelsToUnit(t: Tensor): Tensor {
  if (t.dtype !== "u8") throw new LatheError(`pixelsToUnit: expects u8 pixels, got ${t.dtype}`);
  const out = new Float32Array(t.size);
  const src = t.data as Uint8Array;
  for (let i = 0; i < out.length; i++) out[i] = src[i]! / 255;
  return new Tensor(out, t.shape, "f32");
}

/**
 * Min–max scaling to [0, 1] f32 over the whole tensor, or per column of a 2-D
 * tensor ([n, features]) with `perFeature`. A constant range maps to 0.
 */
export function minMaxScale(t: Tensor, opts: { perFeature?: boolean } = {}): Tensor {
  const v = t.toArray();
  const cols = opts.perFeature ? (t.ndim === 2 ? t.shape[1]! : (() => { throw new LatheError(`minMaxScale: perFeature needs [n, features], got [${t.shape.join(", ")}]`); })()) : 1;
  const lo = new Array<number>(cols).fill(Infinity), hi = new Array<number>(cols).fill(-Infinity);
  v.forEach((x, i) => { const c = i % cols; lo[c] = Math.min(lo[c]!, x); hi[c] = Math.max(hi[c]!, x); });
  const out = new Float32Array(v.length);
  v.forEach((x, i) => { const c = i % cols, r = hi[c]! - lo[c]!; out[i] = r > 0 ? (x - lo[c]!) / r : 0; });
  return new Tensor(out, t.shape, "f32");
}
