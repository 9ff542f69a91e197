/**
 * Host-side packing into the accelerator's DRAM layouts (the same index maps as the
 * `block_pack` graph op, which the tests compare against): data NCHW → [N/b][C/bi][H][W][b][bi],
 * weights OIHW → [O/bo][C/bi][KH][KW][bo][bi], output [N/b][O/bo][OH][OW][b][bo] → NCHW.
 * Entries past the edge are zero.
 */
const cdiv = (a: number, b: number): number => Math.ceil(a / b);

/** [A, B, …rest] → [⌈A/ba⌉][⌈B/bb⌉][…rest][ba][bb]. */
export function blockPack(x: ArrayLike<number>, shape: readonly number[], ba: number, bb: number): Int8Array {
  const [A, B, ...rest] = shape as [number, number, ...number[]];
  const inner = rest.reduce((p, q) => p * q, 1);
  const Ao = cdiv(A, ba), Bo = cdiv(B, bb);
  const out = new Int8Array(Ao * Bo * inner * ba * bb);
  for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) {
    const src = (a * B + b) * inner;
    const base = (Math.floor(a / ba) * Bo + Math.floor(b / bb)) * inner;
    const lane = (a % ba) * bb + (b % bb);
    for (let r = 0; r < inner; r++) out[(base + r) * ba * bb + lane] = x[src + r]!;
  }
  return out;
}

/** The inverse of blockPack, cropped to [A, B, …rest]. */
export function blockUnpack(x: ArrayLike<number>, shape: readonly number[], ba: number, bb: number): Int8Array {
  const [A, B, ...rest] = shape as [number, number, ...number[]];
  const inner = rest.reduce((p, q) => p * q, 1);
  const Bo = cdiv(B, bb);
  const out = new Int8Array(A * B * inner);
  for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) {
    const dst = (a * B + b) * inner;
    const base = (Math.floor(a / ba) * Bo + Math.floor(b / bb)) * inner;
    const lane = (a % ba) * bb + (b % bb);
    for (let r = 0; r < inner; r++) out[dst + r] = x[(base + r) * ba * bb + lane]!;
  }
  return out;
}
