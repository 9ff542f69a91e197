/** 2-D convolution layer over NCHW input with OIHW weights and a per-channel bias. */
import type { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../lt.ts";
import { lt } from "../lt.ts";
import type { Parameter } from "../parameter.ts";
import { Module, rngOr, uniformParam } from "./module.ts";

export interface Conv2dLayerOptions {
  readonly stride?: number;
  /** Same padding on every side. */
  readonly padding?: number;
  readonly dilation?: number;
  readonly groups?: number;
  readonly bias?: boolean;
  readonly rng?: Rng;
  readonly name?: string;
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private readonly stride: number;
  private readonly padding: number;
  private readonly dilation: number;
  private readonly groups: number;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: number, opts: Conv2dLayerOptions = {}) {
    super();
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    this.dilation = opts.dilation ?? 1;
    this.groups = opts.groups ?? 1;
    const rng = rngOr(opts.rng), name = opts.name ?? "conv2d";
    const fanIn = (inChannels / this.groups) * kernel * kernel, bound = 1 / Math.sqrt(fanIn);
    this.weight = uniformParam(`${name}.weight`, [outChannels, inChannels / this.groups, kernel, kernel], bound, rng);
    this.bias = opts.bias === false ? null : uniformParam(`${name}.bias`, [outChannels], bound, rng);
  }
  forward(x: Tracer): Tracer {
    const { stride: s, padding: p, dilation: d } = this;
    const y = x.conv2d(lt.param(this.weight), { strides: [s, s], pads: [p, p, p, p], dilations: [d, d], groups: this.groups });
    return this.bias ? y.add(lt.param(this.bias).reshape([this.outChannels, 1, 1])) : y;
  }
}
