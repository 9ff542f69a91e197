/** A region of memory the loop IR reads and writes: a kernel argument or an allocation. */
import type { DType } from "../../core/dtype.ts";
import type { Expr } from "./expr.ts";

/** Where a buffer lives. `local`/`shared`/`global` as in TVM; accelerator scopes are target-defined strings. */
export type Scope = "global" | "local" | "shared" | (string & {});

export interface Buffer {
  readonly name: string;
  readonly dtype: DType;
  /** Logical shape; after storage flattening, a single dimension. */
  readonly shape: readonly Expr[];
  readonly scope: Scope;
  /** Identity for printing and uniqueness; two buffers with the same name are different buffers. */
  readonly id: number;
}

let nextBufferId = 0;
export function makeBuffer(name: string, dtype: DType, shape: readonly Expr[], scope: Scope = "global"): Buffer {
  return { name, dtype, shape, scope, id: nextBufferId++ };
}
