/** IEEE 754 half-precision conversions: f16 tensors store raw bits in a Uint16Array. */

/** Rounds half-way cases to the even neighbour, as IEEE's default rounding does. */
function roundTiesEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The half-precision bit pattern nearest to v (round to nearest, ties to even). */
export function f16ToBits(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00; // 65520 and above round to infinity
  if (a < 2 ** -14) return sign | roundTiesEven(a * 2 ** 24); // subnormal; 1024 carries into the exponent correctly
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1; // log2 can be off by one ulp near powers of two
  else if (2 ** (e + 1) <= a) e += 1;
  let m = roundTiesEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e += 1;
  }
  return sign | ((e + 15) << 10) | m;
}

/** The value of a half-precision bit pattern. */
export function f16FromBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
