/**
 * Gradient fuzzing: a random graph, built in f64, gets a scalar loss Σ_k Σ(out_k ⊙ r_k) with
 * random r_k; the autodiff pass's gradients (interpreted) are compared with central finite
 * differences of the interpreted loss at a few input elements each.
 *
 * A point near a kink (relu at 0, a max with a near tie, a comparison's threshold) has no
 * derivative to compare with: there the finite differences at two step sizes disagree, and
 * the element is skipped and counted as non-smooth rather than reported.
 */
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, Value } from "../../compiler/graph/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { autodiff } from "../../compiler/graph/passes/autodiff.ts";
import { Rng } from "../../runtime/random.ts";
import type { FuzzCase, Recipe } from "./graph-gen.ts";
import { buildCase } from "./graph-gen.ts";

/** Central-difference steps: the coarse one detects kinks, the fine one is compared. */
const H_COARSE = 1e-4, H_FINE = 1e-5;
/** |analytic − fd| ≤ GRAD_TOL·(1 + |fd|) (f64 throughout: truncation ~h², rounding ~1e-16/h). */
export const GRAD_TOL = 1e-5;
/** The two steps' estimates differ by more than this (relative): a kink, skipped. */
const KINK_TOL = 1e-6;

export interface GradientOutcome {
  readonly ok: boolean;
  readonly detail?: string;
  /** Elements whose derivative was compared. */
  readonly checked: number;
  /** Elements skipped as non-smooth. */
  readonly nonSmooth: number;
}

export interface GradientCase {
  readonly fwd: FuzzCase;
  /** The scalar loss graph (one output). */
  readonly loss: Graph;
  /** The loss graph with its gradients: outputs [loss, d loss / d x_i for each float input]. */
  readonly grad: Graph;
  /** Indices of the inputs the gradients are taken with respect to. */
  readonly wrt: readonly number[];
}

/** The recipe in f64 with its loss and gradient graphs; null when no float input reaches a float output. */
export function gradientCase(recipe: Recipe): GradientCase | null {
  const fwd = buildCase(recipe, { float: "f64" });
  const g = fwd.graph;
  const rng = new Rng(recipe.seed ^ 0x9e37);
  const b = GraphBuilder.from(g);
  const terms: Value[] = [];
  for (const out of g.outputs) {
    if (out.type.dtype !== "f64" || g.inputs.includes(out)) continue;
    // r broadcasts along symbolic dims (a constant's shape is static).
    const shape = out.type.shape, rShape = shape.map((d) => (typeof d === "number" ? d : 1)), n = rShape.reduce((a, c) => a * c, 1);
    const r = b.constant("r", Float64Array.from({ length: n }, () => rng.uniform(-1, 1)), rShape, "f64");
    const prod = b.op1("mul", [out, r]);
    terms.push(shape.length ? b.op1("sum", [prod], { axes: shape.map((_, i) => i) }) : prod);
  }
  const wrt = g.inputs.map((v, i) => (v.type.dtype === "f64" ? i : -1)).filter((i) => i >= 0);
  if (!terms.length || !wrt.length) return null;
  const lossValue = terms.reduce((acc, t) => b.op1("add", [acc, t]));
  const loss = b.build([lossValue]);
  const { graph } = autodiff(loss, lossValue, wrt.map((i) => loss.inputs[i]!));
  return { fwd, loss, grad: graph, wrt };
}

const lossAt = (loss: Graph, inputs: FuzzCase["inputs"]): number => interpret(loss, inputs).outputs[0]!.data[0]!;

/** Compares the autodiff gradients with finite differences at up to `perInput` elements of each float input. */
export function checkGradients(gc: GradientCase, perInput = 3): GradientOutcome {
  const { fwd, loss, grad, wrt } = gc;
  const analytic = interpret(grad, fwd.inputs).outputs.slice(1);
  const rng = new Rng(fwd.seed ^ 0x51ed);
  let checked = 0, nonSmooth = 0;
  for (let k = 0; k < wrt.length; k++) {
    const i = wrt[k]!, x = fwd.inputs[i]!;
    const picks = new Set(Array.from({ length: Math.min(perInput, x.data.length) }, () => rng.int(0, x.data.length)));
    for (const j of picks) {
      const fd = (h: number): number => {
        const shifted = (d: number) => fwd.inputs.map((y, m) => (m !== i ? y : { ...y, data: Float64Array.from(y.data, (v, q) => (q === j ? v + d : v)) }));
        return (lossAt(loss, shifted(h)) - lossAt(loss, shifted(-h))) / (2 * h);
      };
      const coarse = fd(H_COARSE), fine = fd(H_FINE);
      if (Math.abs(coarse - fine) > KINK_TOL * (1 + Math.abs(fine))) { nonSmooth++; continue; }
      const a = analytic[k]!.data[j]!;
      checked++;
      if (!(Math.abs(a - fine) <= GRAD_TOL * (1 + Math.abs(fine)))) {
        return { ok: false, detail: `d loss / d ${grad.inputs[i]!.name}[${j}]: autodiff gives ${a}, finite differences ${fine}`, checked, nonSmooth };
      }
    }
  }
  return { ok: true, checked, nonSmooth };
}
