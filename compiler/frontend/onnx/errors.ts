/** Errors of the ONNX frontend: every problem names the node, op, input or field it concerns. */
import { LatheError } from "../../../core/errors.ts";

export class OnnxError extends LatheError {
  override name = "OnnxError";
}

/** A valid model uses a feature Lathe does not import (a dtype, sequence graph inputs, an opset, external data, …). */
export class UnsupportedFeatureError extends OnnxError {
  override name = "UnsupportedFeatureError";
}

export interface UnsupportedOp {
  readonly node: string;
  readonly op: string;
  readonly reason: string;
}

/** The model uses ops (or op variants) Lathe cannot import; lists all of them at once. */
export class UnsupportedOpsError extends OnnxError {
  override name = "UnsupportedOpsError";
  constructor(readonly unsupported: readonly UnsupportedOp[]) {
    super(`unsupported ONNX ops (${unsupported.length}):\n${unsupported.map((u) => `  ${u.op} (node ${u.node}): ${u.reason}`).join("\n")}`);
  }
}

/**
 * An operand that Lathe needs at compile time (a shape, axes, pads, …) comes from a graph
 * input. `inputs` are the graph inputs to bind (ImportOptions.bind) to make it static.
 */
export class StaticInputError extends OnnxError {
  override name = "StaticInputError";
  constructor(readonly node: string, readonly op: string, readonly operand: string, readonly inputs: readonly string[]) {
    super(`${op} (node ${node}): operand '${operand}' must be known at compile time` +
      (inputs.length ? `; it comes from graph input(s) ${inputs.join(", ")} — bind them (ImportOptions.bind / --bind name=file.npy)` : ""));
  }
}
