/** The graph passes by name, and the default simplification pipeline. */
import { cse } from "./cse.ts";
import { dce } from "./dce.ts";
import { foldConstantsPass } from "./fold-constants.ts";
import { inferShapesPass } from "./infer-shapes.ts";
import type { GraphPass } from "./pass.ts";
import { simplify } from "./simplify.ts";

export { cse, dce, foldConstantsPass, inferShapesPass, simplify };
export type { GraphPass } from "./pass.ts";
export { runGraphPasses } from "./pass.ts";

/** Types first; simplify and folding expose duplicates and dead nodes for cse and dce. */
export const standardGraphPasses: readonly GraphPass[] = [inferShapesPass, simplify, foldConstantsPass, cse, dce];
