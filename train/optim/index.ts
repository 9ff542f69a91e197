/** Optimizers written as graph updates. */
export type { Optimizer, UpdateContext, Updated } from "./optimizer.ts";
export { SGD } from "./sgd.ts";
export { Adam, AdamW } from "./adam.ts";
export { Adadelta } from "./adadelta.ts";
