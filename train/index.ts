/** Training: the `lt` model API (`lt.compile`: jit.ts), layers, losses, optimizers, `grad` and compiled steps. */
import { lt as tracing } from "./lt.ts";
import { jit } from "./jit.ts";

/** The model API: tracing (lt.ts: `lt.trace`, `lt.input`, `lt.param`, …) and `lt.compile` (jit.ts). */
export const lt: typeof tracing & { readonly compile: typeof jit } = { ...tracing, compile: jit };
export { Tracer, withTrace } from "./lt.ts";
export type { Operand, Conv2dOptions, PoolOptions, Traced, ScanBody, ScanOptions } from "./lt.ts";
export { Trace } from "./trace.ts";
export type { TraceOptions, InputSource } from "./trace.ts";
export { Parameter } from "./parameter.ts";
export * as nn from "./nn/index.ts";
export { crossEntropy, binaryCrossEntropy, mse } from "./losses.ts";
export * as optim from "./optim/index.ts";
export { grad, valueAndGrad } from "./grad.ts";
export type { GradResult } from "./grad.ts";
export { jit } from "./jit.ts";
export type { CompiledFunction, InputSpecs, JitOptions, Outputs, Realized, TensorInputs, TracerInputs } from "./jit.ts";
export { compileStep, compileLossStep, compileForward } from "./step.ts";
export type { StepFunction } from "./step.ts";
export type { InputSpec, Batch } from "./feed.ts";
export { compileExecutable, interpretedExecutable, defaultExecutor } from "./executable.ts";
export type { Executable, ExecOptions, ExecutorKind } from "./executable.ts";
export { accuracy } from "./metrics.ts";
