/** Layers for the `lt` model API. */
export { Module, Sequential, applyLayer, manualSeed } from "./module.ts";
export type { Layer } from "./module.ts";
export { Linear } from "./linear.ts";
export { Conv2d } from "./conv.ts";
export { BatchNorm, LayerNorm } from "./norm.ts";
export { Dropout } from "./dropout.ts";
export { LSTM } from "./lstm.ts";
export { Embedding } from "./embedding.ts";
