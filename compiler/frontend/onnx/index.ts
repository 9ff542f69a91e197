/** The ONNX frontend: ONNX models in, Lathe graphs out. */
export { importOnnx, importModel } from "./import.ts";
export type { ImportOptions, ImportedModel, ModelValueInfo } from "./import.ts";
export { readTensorFile, tensorFromProto, dtypeOf, onnxTypeOf } from "./tensor.ts";
export { OnnxError, StaticInputError, UnsupportedFeatureError, UnsupportedOpsError } from "./errors.ts";
export { supportedOps } from "./convert.ts";
