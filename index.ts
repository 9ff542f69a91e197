/**
 * `lathe`: the compiler as a library. Build or import a graph, run the graph passes, and
 * compile it for a target with one call:
 *
 *   import { GraphBuilder, compile } from "lathe";
 *   const b = new GraphBuilder();
 *   const y = b.op1("relu", [b.input("x", ["batch", 4])]);
 *   const m = await compile(b.build([y]), "cpu");
 *
 * The model API is `lathe/train`, artifacts without the compiler `lathe/runtime`, target
 * plugins `lathe/targets`.
 */
export { compile, isNativeModule } from "./compiler/driver/compile.ts";
export type { CompileOptions, CpuCompileOptions, TargetRef } from "./compiler/driver/compile.ts";
export type { CompiledGraph, GraphLayout } from "./compiler/targets/cpu/graph.ts";
export type { WebGpuGraph } from "./compiler/targets/webgpu/graph.ts";
export type { GraphModule } from "./compiler/targets/plugin.ts";
export { writeArtifact } from "./compiler/targets/cpu/artifact.ts";
export { listTargets, getTarget, loadPlugin } from "./compiler/targets/registry.ts";

export { GraphBuilder } from "./compiler/graph/builder.ts";
export type { Graph, Node, Value, Attrs, AttrValue, Constant } from "./compiler/graph/graph.ts";
export type { Dim, TensorType } from "./core/tensor-type.ts";
export { parseGraph } from "./compiler/graph/text/parse.ts";
export { printGraph } from "./compiler/graph/text/print.ts";
export { validate } from "./compiler/graph/validate.ts";
export { interpret } from "./compiler/graph/interpret.ts";
export { runGraphPasses, standardGraphPasses } from "./compiler/graph/passes/index.ts";
export { autodiff } from "./compiler/graph/passes/autodiff.ts";

export { importOnnx } from "./compiler/frontend/onnx/index.ts";
export type { ImportOptions, ImportedModel } from "./compiler/frontend/onnx/index.ts";
export { OnnxError, StaticInputError, UnsupportedOpsError } from "./compiler/frontend/onnx/index.ts";

export { Tensor } from "./runtime/tensor.ts";
export { readNpy, writeNpy } from "./runtime/npy.ts";
export { LatheError, ShapeError, BuildError } from "./core/errors.ts";
export type { DType } from "./core/dtype.ts";
