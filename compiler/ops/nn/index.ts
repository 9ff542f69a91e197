/** Neural-network ops: matmul, convolution, pooling, normalization, softmax, dropout, recurrent cells. */
import type { OpDef } from "../op.ts";
import { augmentOps } from "./augment.ts";
import { conv1d, conv2d } from "./conv.ts";
import { conv1dGradWeight, conv2dGradWeight } from "./conv-grad.ts";
import { convTranspose1d, convTranspose2d } from "./conv-transpose.ts";
import { dropout } from "./dropout.ts";
import { im2col } from "./im2col.ts";
import { conv2dNchwc, layoutTransform } from "./layout.ts";
import { depthwiseConv2dNchwc } from "./depthwise-nchwc.ts";
import { lstmCell } from "./lstm.ts";
import { batchMatmul, matmul } from "./matmul.ts";
import { batchNorm, batchNormTrain, layerNorm } from "./norm.ts";
import { avgPool2d, globalAvgPool2d, globalMaxPool2d, maxPool2d } from "./pool.ts";
import {
  avgPool2dGrad, globalAvgPool2dGrad, globalMaxPool2dGather, globalMaxPool2dGrad, maxPool2dGather, maxPool2dGrad,
} from "./pool-grad.ts";
import { patchesOps } from "./patches.ts";
import { logSoftmax, softmax } from "./softmax.ts";

// Typed-attribute ops see their attrs normalised against their schema (normalizeAttrs), so
// viewing them as plain Attrs is sound.
const list: readonly OpDef[] = [
  matmul as OpDef, batchMatmul as OpDef,
  conv1d, conv2d, convTranspose1d, convTranspose2d, conv1dGradWeight, conv2dGradWeight,
  maxPool2d, avgPool2d, globalAvgPool2d, globalMaxPool2d,
  maxPool2dGrad, maxPool2dGather, avgPool2dGrad, globalAvgPool2dGrad, globalMaxPool2dGrad, globalMaxPool2dGather,
  batchNorm, batchNormTrain, layerNorm,
  softmax, logSoftmax,
  dropout,
  lstmCell,
  layoutTransform, conv2dNchwc, depthwiseConv2dNchwc,
  im2col,
  ...augmentOps,
  ...patchesOps,
];

export const nnOps: Readonly<Record<string, OpDef>> = Object.fromEntries(list.map((op) => [op.name, op]));
