/** Model zoo: standard architectures built from the `nn` layers. */
export { mlp } from "./mlp.ts";
export type { MlpOptions } from "./mlp.ts";
export { lenet } from "./lenet.ts";
export type { LeNetOptions } from "./lenet.ts";
export { resnet18 } from "./resnet.ts";
export type { ResNetOptions } from "./resnet.ts";
export { mobilenetV2, makeDivisible } from "./mobilenet.ts";
export type { MobileNetV2Options } from "./mobilenet.ts";
