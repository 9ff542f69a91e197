/**
 * Dense linear algebra on batches of small square matrices (the last two axes; any leading
 * axes, static or symbolic, are a batch):
 *
 * - `cholesky(A)` → L, lower triangular with L Lᵀ = (A + Aᵀ)/2. The symmetric part is
 *   factored (as jax.lax.linalg.cholesky's default `symmetrize_input`), so the op depends on
 *   both triangles alike and its gradient is the symmetric one. The strict upper triangle of
 *   L is 0. A matrix that is not positive definite gives NaN from the first failing pivot
 *   on (sqrt of a negative number), where NumPy raises: callers that can meet one (GMM)
 *   check the pivots.
 * - `triangular_solve(L, B){transpose}` → X with L X = B (transpose = 0, forward
 *   substitution) or Lᵀ X = B (transpose = 1, back substitution), L lower triangular
 *   [..., n, n] (its strict upper triangle is never read), B [..., n, m] with the same batch
 *   axes; m may be symbolic. An upper-triangular system U X = B is the transpose = 1 case
 *   with L = Uᵀ, so no `lower` attribute.
 *
 * A log-determinant is not an op: log det A = 2 Σ log diag(cholesky(A)) is three existing
 * ops after cholesky (a product with the identity summed along the last axis, log, sum),
 * its gradient (A⁻¹) comes from cholesky's VJP through them, and callers that factor A
 * anyway (GMM's Gaussian log-density) reuse L instead of factoring twice.
 *
 * Lowering. TE reductions run over fixed ranges and a compute has no sequential loop, so
 * both ops unroll their n steps into n stages, each an elementwise compute over the whole
 * [..., n, n] (or [..., n, m]) working matrix that reads the previous stage:
 * - cholesky is right-looking (outer-product form): stage j finishes column j
 *   (M[i, j] / √M[j, j] for i ≥ j) and updates the trailing lower triangle by the Schur
 *   complement, M[i, c] − M[i, j] M[c, j] / M[j, j] for i ≥ c > j; finished columns are copied.
 * - triangular_solve takes one row of X per stage: x_r = W[r, ·] / L[r, r], and the rows
 *   still to solve subtract L[i, r] x_r (Lᵀ's column r, i.e. L[r, i], when transposed).
 * Every stage but the last is tagged MATERIALIZE (the cpu and webgpu schedules keep it in
 * a buffer; inlined, each stage would re-evaluate its predecessor several times per
 * element, exponentially). Cost: n stages × (batch · n²) element updates for cholesky and
 * n × (batch · n · m) for a solve, i.e. O(n³) and O(n² m) as the dense algorithms, with
 * about 2–3× their flops (each stage also copies the finished part and the reference
 * factorisation does n³/3), plus n intermediate buffers of the working matrix's size and n
 * loop nests of generated code. The order n must therefore be static and at most
 * MAX_ORDER: the stage count, code size and compile time grow with n (a graph of one
 * cholesky and one solve, 2n stages, compiled in 1.8 s at n = 8, 6.8 s at n = 32 and
 * 22 s at n = 64 on the 2-core build host; the interpreter evaluates every stage). A
 * larger n is an error that says so; reduce the dimension first (e.g. PCA) or use a
 * diagonal model. Run time is fine at that size (cholesky of 10 × 50 × 50 f64: 1.2 ms on
 * one thread), but each stage is its own parallel loop over the batch, so on a busy host
 * the n thread barriers can cost more than the arithmetic. A BYOC extern kernel
 * (targets/byoc.ts) would be the way past both limits, but the interpreter would still
 * need this compute as the op's meaning.
 *
 * VJPs (written with matmul, transpose, trilu and triangular_solve, so they differentiate
 * again):
 * - cholesky (Murray 2016, "Differentiation of the Cholesky decomposition"; PyTorch's
 *   cholesky_backward): P = Φ(Lᵀ tril(L̄)) with Φ = lower triangle, diagonal halved;
 *   S = L⁻ᵀ P L⁻¹; Ā = (S + Sᵀ)/2 — exact for the symmetrised input.
 * - triangular_solve (L X = B): B̄ = L⁻ᵀ X̄, L̄ = −tril(B̄ Xᵀ); (Lᵀ X = B): B̄ = L⁻¹ X̄,
 *   L̄ = −tril(X B̄ᵀ). tril because only the lower triangle of L is read.
 */
import { ShapeError } from "../../../core/errors.ts";
import type { Value } from "../../graph/graph.ts";
import type { Dim, TensorType } from "../../graph/types.ts";
import { showType } from "../../graph/types.ts";
import type { Expr, ExprLike, Var } from "../../te/expr.ts";
import { add, call, div, eq, float, ge, gt, lt, mul, select, sub } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, MATERIALIZE } from "../../te/tensor.ts";
import type { ComputeContext, OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { at, floatOnly, outShape } from "./common.ts";
import type { GraphOps } from "./vjp-util.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

/** The largest matrix order the ops unroll (one stage per column or row; see the header). */
export const MAX_ORDER = 64;

/** The static order n of a [..., n, n] or [..., n, m] operand, checked. */
function staticOrder(t: TensorType, node: string, op: string, what: string): number {
  if (t.shape.length < 2) throw new ShapeError(`${at(node, op)}: ${what} must be a matrix or a batch of matrices (rank ≥ 2), got ${showType(t)}`);
  const n = t.shape[t.shape.length - 2]!;
  if (typeof n !== "number") {
    throw new ShapeError(`${at(node, op)}: ${what} ${showType(t)} has a symbolic order ${n}; the order must be static (the op unrolls one stage per column)`);
  }
  if (n < 1) throw new ShapeError(`${at(node, op)}: ${what} ${showType(t)} is empty; the order must be ≥ 1`);
  if (n > MAX_ORDER) {
    throw new ShapeError(`${at(node, op)}: ${what} ${showType(t)} has order ${n}, more than ${MAX_ORDER}, the most this op unrolls (one stage per column); reduce the dimension first (e.g. PCA) or use a diagonal model`);
  }
  return n;
}

const sameDims = (a: readonly Dim[], b: readonly Dim[]): boolean => a.length === b.length && a.every((d, k) => d === b[k]);

/** Reads element (i, c) of the batch `b` of a working matrix. */
type Reader = (b: readonly Var[], i: ExprLike, c: ExprLike) => Expr;
const reader = (t: TeTensor): Reader => (b, i, c) => t.at(...b, i, c);

/** A stage over `shape` whose element (b…, i, c) is `f(b, i, c)`; kept in memory unless it is the op's output. */
function stage(shape: readonly Expr[], name: string, last: boolean, f: (b: readonly Var[], i: Var, c: Var) => Expr): TeTensor {
  return compute(shape, (...o) => f(o.slice(0, -2), o.at(-2)!, o.at(-1)!), name, { tag: last ? "" : MATERIALIZE });
}

export const cholesky = defineOp({
  name: "cholesky",
  fusion: "opaque",
  attrs: {},
  infer: (inputs, _attrs, node) => {
    if (inputs.length !== 1) throw new ShapeError(`${at(node, "cholesky")}: takes 1 input (A), got ${inputs.length}`);
    const a = inputs[0]!;
    floatOnly(a, node, "cholesky");
    const n = staticOrder(a, node, "cholesky", "A");
    if (a.shape.at(-1) !== n) throw new ShapeError(`${at(node, "cholesky")}: A ${showType(a)} must be square in its last two axes`);
    return [{ shape: [...a.shape], dtype: a.dtype }];
  },
  compute: ([a], _attrs, ctx: ComputeContext) => {
    const shape = outShape(ctx);
    const n = ctx.outputs[0]!.shape.at(-1) as number;
    const zero = float(0, a!.dtype), half = float(0.5, a!.dtype);
    // Stage 0 reads the symmetric part of A directly.
    let prev: Reader = (b, i, c) => mul(half, add(a!.at(...b, i, c), a!.at(...b, c, i)));
    let out: TeTensor | null = null;
    for (let j = 0; j < n; j++) {
      const P = prev;
      out = stage(shape, `${ctx.name}.col${j}`, j === n - 1, (b, i, c) => {
        const pivot = P(b, j, j);
        const column = select(ge(i, j), div(P(b, i, j), call("sqrt", pivot)), zero);
        const trailing = select(ge(i, c), sub(P(b, i, c), div(mul(P(b, i, j), P(b, c, j)), pivot)), zero);
        return select(lt(c, j), P(b, i, c), select(eq(c, j), column, trailing));
      });
      prev = reader(out);
    }
    return [out!];
  },
  vjp: ({ node, b }, [g]) => {
    const a = node.inputs[0]!;
    if (!g || !differentiable(a)) return [null];
    const o = graphOps(b);
    const L = node.outputs[0]!;
    const T = swapLast(o), tril = (x: Value, k = 0) => o.op("trilu", [x], { upper: 0, k });
    const half = o.scalar(0.5, a.type.dtype);
    const phi0 = o.op("matmul", [T(L), tril(g)]);
    const phi = o.mul(o.add(tril(phi0), tril(phi0, -1)), half); // lower triangle, diagonal halved
    const x = o.op("triangular_solve", [L, phi], { transpose: 1 }); // L⁻ᵀ P
    const s = T(o.op("triangular_solve", [L, T(x)], { transpose: 1 })); // L⁻ᵀ P L⁻¹
    return [o.mul(o.add(s, T(s)), half)];
  },
});

/** Transposes the last two axes. */
const swapLast = (o: GraphOps) => (x: Value): Value => {
  const r = x.type.shape.length;
  return o.op("transpose", [x], { perm: [...Array.from({ length: r - 2 }, (_, k) => k), r - 1, r - 2] });
};

type SolveAttrs = { readonly transpose: number };

export const triangularSolve = defineOp<SolveAttrs>({
  name: "triangular_solve",
  fusion: "opaque",
  attrs: { transpose: { kind: "int", default: 0 } },
  infer: (inputs, { transpose }, node) => {
    const OP = "triangular_solve";
    if (inputs.length !== 2) throw new ShapeError(`${at(node, OP)}: takes 2 inputs (L, B), got ${inputs.length}`);
    const [l, bt] = inputs as [TensorType, TensorType];
    floatOnly(l, node, OP);
    floatOnly(bt, node, OP);
    if (l.dtype !== bt.dtype) throw new ShapeError(`${at(node, OP)}: L ${showType(l)} and B ${showType(bt)} must have one dtype (insert a cast)`);
    if (transpose !== 0 && transpose !== 1) throw new ShapeError(`${at(node, OP)}: transpose must be 0 (L X = B) or 1 (Lᵀ X = B), got ${transpose}`);
    const n = staticOrder(l, node, OP, "L");
    if (l.shape.at(-1) !== n) throw new ShapeError(`${at(node, OP)}: L ${showType(l)} must be square in its last two axes`);
    if (bt.shape.length < 2) throw new ShapeError(`${at(node, OP)}: B must be a matrix or a batch of matrices (rank ≥ 2), got ${showType(bt)}`);
    if (bt.shape.at(-2) !== n || !sameDims(l.shape.slice(0, -2), bt.shape.slice(0, -2))) {
      throw new ShapeError(`${at(node, OP)}: B ${showType(bt)} must be [..., ${n}, m] with L's batch axes (L ${showType(l)})`);
    }
    return [{ shape: [...bt.shape], dtype: bt.dtype }];
  },
  compute: ([l, bm], { transpose }, ctx) => {
    const shape = outShape(ctx);
    const n = ctx.outputs[0]!.shape.at(-2) as number;
    let prev: Reader = reader(bm!);
    let out: TeTensor | null = null;
    for (let s = 0; s < n; s++) {
      // Forward substitution solves row 0 first; back substitution (Lᵀ, upper) row n−1 first.
      const r = transpose ? n - 1 - s : s;
      const W = prev;
      out = stage(shape, `${ctx.name}.row${r}`, s === n - 1, (b, i, c) => {
        const x = div(W(b, r, c), l!.at(...b, r, r));
        // The solved row's coefficient in row i: L[i, r] below the diagonal, or Lᵀ[i, r] = L[r, i] above it.
        const coef = transpose ? l!.at(...b, r, i) : l!.at(...b, i, r);
        const pending = transpose ? lt(i, r) : gt(i, r);
        return select(eq(i, r), x, select(pending, sub(W(b, i, c), mul(coef, x)), W(b, i, c)));
      });
      prev = reader(out);
    }
    return [out!];
  },
  vjp: ({ node, b }, [g]) => {
    const [l, bm] = node.inputs as [Value, Value];
    const none: (Value | null)[] = [null, null];
    if (!g) return none;
    const o = graphOps(b);
    const { transpose } = node.attrs as SolveAttrs;
    const x = node.outputs[0]!;
    const T = swapLast(o);
    const gb = o.op("triangular_solve", [l, g], { transpose: transpose ? 0 : 1 });
    const outer = transpose ? o.op("matmul", [x, T(gb)]) : o.op("matmul", [gb, T(x)]);
    const gl = o.neg(o.op("trilu", [outer], { upper: 0, k: 0 }));
    return [differentiable(l) ? gl : null, differentiable(bm) ? gb : null];
  },
});

export const linalgOps: readonly OpDef[] = [cholesky as OpDef, triangularSolve as OpDef];
