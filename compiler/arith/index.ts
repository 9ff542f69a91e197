/** The arithmetic analyzer: simplification, symbolic/numeric bounds, proofs. */
export { simplify, canProve, exprEqual } from "./simplify.ts";
export { intervalOf, constIntervalOf } from "./interval.ts";
export type { Interval, VarRanges } from "./interval.ts";
export { exprKey } from "./key.ts";
