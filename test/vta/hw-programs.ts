/**
 * Hand-built VTA programs for the hardware tests, and their closed-form reference:
 * out = clip((A·Wᵀ + bias) >> shift, -128, 127) as int8, computed in plain TypeScript.
 */
import { type Insn, type Uop, alu, encodeUops, finish, gemm, load, store } from "../../compiler/targets/vta/isa.ts";
import { type VtaParams, entryBytes } from "../../compiler/targets/vta/params.ts";

export interface GemmCase {
  /** Rows of A, in input tiles (each `batch` rows). */
  readonly m: number;
  /** Columns of W's output, in blockOut tiles. */
  readonly nb: number;
  /** Reduction, in blockIn tiles. */
  readonly kb: number;
  readonly shift: number;
  readonly bias: boolean;
  /** Number of LOAD instructions the input is split into (row chunks), each with its own token. */
  readonly inpChunks: number;
  /** Unused entries between rows of the input and of the output in DRAM (exercises xStride). */
  readonly gap?: number;
}

export interface BuiltGemm {
  readonly program: Insn[];
  readonly dram: Uint8Array;
  /** Byte offset and length of the output region. */
  readonly outOffset: number;
  readonly outBytes: number;
  readonly expected: Int8Array;
}

export type Rng = () => number;
export function rng(seed: number): Rng {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}
export const randInt = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/**
 * DRAM layout (entry-granular regions, each aligned to its entry size):
 *   uops | inp tiles (m, kb), rows kb + gap apart | wgt tiles (nb, kb) | bias tiles (m, nb)
 *   | out tiles (m, nb), rows nb + gap apart
 */
export function buildGemm(c: GemmCase, p: VtaParams, r: Rng): BuiltGemm {
  const E = entryBytes(p);
  const { batch, blockIn: BI, blockOut: BO } = p;
  const A = Int8Array.from({ length: c.m * batch * c.kb * BI }, () => randInt(r, -128, 127));
  const W = Int8Array.from({ length: c.nb * BO * c.kb * BI }, () => randInt(r, -128, 127));
  const bias = Int32Array.from({ length: c.m * batch * c.nb * BO }, () => randInt(r, -70000, 70000));
  const K = c.kb * BI, N = c.nb * BO;
  const gap = c.gap ?? 0, inpRow = c.kb + gap, outRow = c.nb + gap;

  const chunkRows = Math.ceil(c.m / c.inpChunks);
  const chunks: [number, number][] = [];
  for (let m0 = 0; m0 < c.m; m0 += chunkRows) chunks.push([m0, Math.min(c.m, m0 + chunkRows)]);
  // Micro-ops: [0] the ALU/reset uop of the whole output; per chunk, a reset uop and kb GEMM
  // uops whose bases point at the chunk's first row.
  const uops: Uop[] = [{ acc: 0, inp: 0, wgt: 0 }];
  const chunkUop = chunks.map(([m0]) => {
    const first = uops.length;
    uops.push({ acc: m0 * c.nb, inp: 0, wgt: 0 });
    for (let k = 0; k < c.kb; k++) uops.push({ acc: m0 * c.nb, inp: m0 * c.kb + k, wgt: k });
    return first;
  });
  const align = (x: number, a: number): number => Math.ceil(x / a) * a;
  let off = 0;
  const uopOff = off; off = align(off + uops.length * E.uop, E.inp);
  const inpOff = off; off = align(off + c.m * inpRow * E.inp, E.wgt);
  const wgtOff = off; off = align(off + c.nb * c.kb * E.wgt, E.acc);
  const biasOff = off; off = align(off + c.m * c.nb * E.acc, E.out);
  const outOff = off; off += c.m * outRow * E.out;
  const dram = new Uint8Array(off + 64);
  dram.set(encodeUops(uops), uopOff);
  const dv = new DataView(dram.buffer);
  for (let m = 0; m < c.m; m++) for (let kb = 0; kb < c.kb; kb++) for (let b = 0; b < batch; b++) for (let k = 0; k < BI; k++) {
    dram[inpOff + (m * inpRow + kb) * E.inp + b * BI + k] = A[(m * batch + b) * K + kb * BI + k]! & 0xff;
  }
  for (let n = 0; n < c.nb; n++) for (let kb = 0; kb < c.kb; kb++) for (let o = 0; o < BO; o++) for (let k = 0; k < BI; k++) {
    dram[wgtOff + (n * c.kb + kb) * E.wgt + o * BI + k] = W[(n * BO + o) * K + kb * BI + k]! & 0xff;
  }
  for (let m = 0; m < c.m; m++) for (let n = 0; n < c.nb; n++) for (let b = 0; b < batch; b++) for (let o = 0; o < BO; o++) {
    dv.setInt32(biasOff + (m * c.nb + n) * E.acc + (b * BO + o) * 4, bias[(m * batch + b) * N + n * BO + o]!, true);
  }

  const program: Insn[] = [];
  // Load module: weights, then the input in chunks of rows; each chunk hands compute a token.
  program.push(load({ memType: "wgt", sramBase: 0, dramBase: wgtOff / E.wgt, ySize: 1, xSize: c.nb * c.kb }));
  chunks.forEach(([m0, m1]) => {
    // A 2D load: rows of A tiles, strided by kb entries.
    program.push(load({ memType: "inp", sramBase: m0 * c.kb, dramBase: inpOff / E.inp + m0 * inpRow, ySize: m1 - m0, xSize: c.kb, xStride: inpRow, pushNext: true }));
  });
  // Compute module: micro-ops and initial accumulators.
  program.push(load({ memType: "uop", sramBase: 0, dramBase: uopOff / E.uop, ySize: 1, xSize: uops.length }));
  if (c.bias) program.push(load({ memType: "acc", sramBase: 0, dramBase: biasOff / E.acc, ySize: 1, xSize: c.m * c.nb }));
  chunks.forEach(([m0, m1], i) => {
    const tileLoop = { iterOut: m1 - m0, iterIn: c.nb, dstFactorOut: c.nb, dstFactorIn: 1 };
    const u = chunkUop[i]!;
    if (!c.bias) program.push(gemm({ reset: true, uopBegin: u, uopEnd: u + 1, ...tileLoop }));
    // acc (m, n) += Σ_kb inp (m, kb) · wgt (n, kb), after the chunk's input has arrived.
    program.push(gemm({
      popPrev: true, uopBegin: u + 1, uopEnd: u + 1 + c.kb, ...tileLoop, srcFactorOut: c.kb, wgtFactorIn: c.kb,
    }));
  });
  // Requantize: shift, clip. The last ALU hands the store module a token.
  const all = { uopBegin: 0, uopEnd: 1, iterOut: c.m, iterIn: c.nb, dstFactorOut: c.nb, dstFactorIn: 1, srcFactorOut: c.nb, srcFactorIn: 1 };
  program.push(alu({ aluOp: "shr", useImm: true, imm: c.shift, ...all }));
  program.push(alu({ aluOp: "max", useImm: true, imm: -128, ...all }));
  program.push(alu({ aluOp: "min", useImm: true, imm: 127, ...all, pushNext: true }));
  program.push(store({ popPrev: true, pushPrev: true, sramBase: 0, dramBase: outOff / E.out, ySize: c.m, xSize: c.nb, xStride: outRow }));
  program.push(finish({ popNext: true }));

  // Closed form.
  const expected = new Int8Array(c.m * outRow * E.out);
  for (let m = 0; m < c.m; m++) for (let b = 0; b < batch; b++) for (let n = 0; n < N; n++) {
    let s = c.bias ? bias[(m * batch + b) * N + n]! : 0;
    for (let k = 0; k < K; k++) s += A[(m * batch + b) * K + k]! * W[n * K + k]!;
    s = Math.max(-128, Math.min(127, (s | 0) >> c.shift));
    const nb = Math.floor(n / BO), o = n % BO;
    expected[(m * outRow + nb) * E.out + b * BO + o] = s;
  }
  return { program, dram, outOffset: outOff, outBytes: c.m * outRow * E.out, expected };
}

/**
 * A random ALU program over 16 accumulator entries of random int32s: every operation, with
 * immediates (negative ones too) and with a second accumulator operand, under random
 * two-level loops. No closed form of its own: fsim (checked against `aluApply` in its own
 * tests) is the reference the hardware simulators must match.
 */
export function buildAluFuzz(p: VtaParams, r: Rng): { program: Insn[]; dram: Uint8Array } {
  const E = entryBytes(p);
  const N = 16, lanes = p.batch * p.blockOut;
  const uops: Uop[] = [{ acc: 0, inp: 0, wgt: 0 }];
  for (let i = 0; i < 6; i++) uops.push({ acc: randInt(r, 0, 7), inp: randInt(r, 0, 7), wgt: 0 });
  const uopOff = N * E.acc, outOff = uopOff + Math.ceil((uops.length * 4) / E.out) * E.out;
  const dram = new Uint8Array(outOff + N * E.out);
  const dv = new DataView(dram.buffer);
  for (let i = 0; i < N * lanes; i++) {
    dv.setInt32(i * 4, r() < 0.5 ? randInt(r, -300, 300) : randInt(r, -(2 ** 31), 2 ** 31 - 1), true);
  }
  dram.set(encodeUops(uops), uopOff);
  const program: Insn[] = [
    load({ memType: "acc", sramBase: 0, dramBase: 0, ySize: 2, xSize: N / 2, xStride: N / 2 }),
    load({ memType: "uop", sramBase: 0, dramBase: uopOff / 4, ySize: 1, xSize: uops.length }),
    // Touch every entry once so that all of out is written.
    alu({ aluOp: "add", useImm: true, imm: 0, uopBegin: 0, uopEnd: 1, iterOut: N, dstFactorOut: 1 }),
  ];
  const ops = ["min", "max", "add", "shr", "mul"] as const;
  for (let i = 0; i < 12; i++) {
    const b = randInt(r, 1, uops.length - 1), e = randInt(r, b, uops.length);
    program.push(alu({
      aluOp: ops[randInt(r, 0, 4)]!, useImm: r() < 0.5, imm: randInt(r, -40, 40) * (r() < 0.2 ? 800 : 1),
      uopBegin: b, uopEnd: e, iterOut: randInt(r, 1, 2), iterIn: randInt(r, 1, 2),
      dstFactorOut: randInt(r, 0, 3), dstFactorIn: randInt(r, 0, 3), srcFactorOut: randInt(r, 0, 3), srcFactorIn: randInt(r, 0, 3),
      pushNext: i === 11,
    }));
  }
  program.push(store({ popPrev: true, pushPrev: true, sramBase: 0, dramBase: outOff / E.out, ySize: 1, xSize: N }));
  program.push(finish({ popNext: true }));
  return { program, dram };
}
