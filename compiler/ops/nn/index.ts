/** Neural-network ops: matmul, convolution, pooling, normalization, softmax, dropout, recurrent cells. */
import type { OpDef } from "../op.ts";

export const nnOps: Readonly<Record<string, OpDef>> = {};
