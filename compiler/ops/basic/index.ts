/** Elementwise, broadcasting, comparison, logical, reduction, scan, indexing and shape ops. */
import type { OpDef } from "../op.ts";
import { binaryOps } from "./binary.ts";
import { compareOps } from "./compare.ts";
import { gatherOps } from "./gather.ts";
import { gradHelperOps } from "./grad-helpers.ts";
import { linalgOps } from "./linalg.ts";
import { logicalOps } from "./logical.ts";
import { reduceOps } from "./reduce.ts";
import { scanOps } from "./scan.ts";
import { scatterOps } from "./scatter.ts";
import { segmentOps } from "./segment.ts";
import { shapeOps } from "./shape.ts";
import { sliceOps } from "./slice.ts";
import { stopGradientOps } from "./stop-gradient.ts";
import { unaryOps } from "./unary.ts";

// Each op is typed by its own attributes; the registry hands every op attributes already
// normalised against its schema (normalizeAttrs), so viewing them as plain Attrs is sound.
const all: readonly OpDef[] = [
  ...unaryOps, ...binaryOps, ...compareOps, ...reduceOps, ...shapeOps, ...sliceOps, ...gatherOps, ...gradHelperOps,
  ...logicalOps, ...scanOps, ...scatterOps, ...segmentOps,
  ...linalgOps,
  ...stopGradientOps,
].map((op) => op as OpDef);

export const basicOps: Readonly<Record<string, OpDef>> = Object.fromEntries(all.map((op) => [op.name, op]));
