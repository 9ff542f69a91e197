import { LatheError } from "../../core/errors.ts";
import type { Points } from "./types.ts";

/** Refuses points that are not n ≥ 1 rows of d ≥ 1 finite f32 features, naming the first bad one. */
export function checkPoints(points: Points, what: string): void {
  const { n, d, data } = points;
  if (!Number.isSafeInteger(n) || n < 1 || !Number.isSafeInteger(d) || d < 1) throw new LatheError(`${what}: points must have n ≥ 1 and d ≥ 1, got n = ${n}, d = ${d}`);
  if (!(data instanceof Float32Array) || data.length !== n * d) throw new LatheError(`${what}: points data must be a Float32Array of n·d = ${n * d} numbers, got ${data.length}`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new LatheError(`${what}: point ${Math.floor(i / d)}, feature ${i % d} is ${data[i]}, not a finite number`);
  }
}
