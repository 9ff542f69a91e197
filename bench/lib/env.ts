/** Benchmark settings read from the environment. */
import { LatheError } from "../../core/errors.ts";

/** A positive integer from environment variable `name`, or `dflt` when it is unset; anything else is an error naming it. */
export function envCount(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new LatheError(`${name} must be a positive integer, got "${v}"`);
  return n;
}
