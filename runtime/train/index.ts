/** Training: the `lt` model API, layers, losses, optimizers, `grad` and compiled steps. */
export { lt, Tracer, withTrace } from "./lt.ts";
export type { Operand, Conv2dOptions, PoolOptions, Traced } from "./lt.ts";
export { Trace } from "./trace.ts";
export type { TraceOptions, InputSource } from "./trace.ts";
export { Parameter } from "./parameter.ts";
export * as nn from "./nn/index.ts";
export { crossEntropy, binaryCrossEntropy, mse } from "./losses.ts";
export * as optim from "./optim/index.ts";
export { grad, valueAndGrad } from "./grad.ts";
export type { GradResult } from "./grad.ts";
export { compileStep, compileLossStep, compileForward } from "./step.ts";
export type { StepFunction } from "./step.ts";
export type { InputSpec, Batch } from "./feed.ts";
export { compileExecutable, interpretedExecutable, defaultExecutor } from "./executable.ts";
export type { Executable, ExecOptions, ExecutorKind } from "./executable.ts";
export { accuracy } from "./metrics.ts";
