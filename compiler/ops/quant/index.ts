/** int8 ops for quantized inference: conversions, int8 products and the accelerator's blocked layouts. */
import type { OpDef } from "../op.ts";
import { blockPack, blockUnpack, qconv2dPacked, qmatmulPacked } from "./pack.ts";
import { qconv2d, qmatmul } from "./qlinear.ts";
import { dequantize, quantize, requantize } from "./quantize.ts";

const list: readonly OpDef[] = [quantize, dequantize, requantize, qmatmul, qconv2d, blockPack, blockUnpack, qconv2dPacked, qmatmulPacked];

export const quantOps: Readonly<Record<string, OpDef>> = Object.fromEntries(list.map((op) => [op.name, op]));
