/**
 * Every error Lathe raises on bad input is a LatheError (or a subclass), so callers and
 * fuzz tests can tell a diagnosed failure from a crash.
 */
export class LatheError extends Error {
  override name = "LatheError";
}

/** A text input (DSL, graph text) was malformed; carries the source position. */
export class ParseError extends LatheError {
  override name = "ParseError";
  constructor(message: string, readonly line: number, readonly column: number, readonly source?: string) {
    super(`${source ? source + ":" : ""}${line}:${column}: ${message}`);
  }
}

/** A schedule primitive was invalid for the stage/axis it was applied to. */
export class ScheduleError extends LatheError {
  override name = "ScheduleError";
}

/** Shapes or dtypes that do not fit together. */
export class ShapeError extends LatheError {
  override name = "ShapeError";
}

/** The native toolchain or a generated kernel failed. */
export class BuildError extends LatheError {
  override name = "BuildError";
}

export class RuntimeError extends LatheError {
  override name = "RuntimeError";
}
