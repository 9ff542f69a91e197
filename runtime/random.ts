/**
 * A small seeded PRNG (xoshiro128**, seeded by splitmix32), so test inputs and
 * random tensors are the same on every run and every machine.
 */

/** splitmix32: spreads one 32-bit seed over the xoshiro state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export class Rng {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    const st = { s: seed >>> 0 };
    for (let i = 0; i < 4; i++) this.s[i] = splitmix32(st);
  }

  /** A generator at an exact xoshiro128** state (not all zero), e.g. to replay a stream. */
  static fromState(state: readonly [number, number, number, number]): Rng {
    const r = new Rng(0);
    state.forEach((x, i) => (r.s[i] = x >>> 0));
    if (r.s.every((x) => x === 0)) throw new RangeError("xoshiro128** state must not be all zero");
    return r;
  }

  /** Next raw 32-bit output, in [0, 2^32). */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2] ^= s[0]!;
    s[3] ^= s[1]!;
    s[1] ^= s[2]!;
    s[0] ^= s[3]!;
    s[2] ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor((hi - lo) * this.float());
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.float(); // (0, 1], so log is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }
}

/** A permutation of 0..n-1 (Fisher–Yates driven by `rng`). */
export function permutation(n: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
