/** Elementwise, broadcasting, comparison, reduction and shape ops. */
import type { OpDef } from "../op.ts";

export const basicOps: Readonly<Record<string, OpDef>> = {};
