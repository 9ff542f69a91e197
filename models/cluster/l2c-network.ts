/**
 * The L2C network (Meier et al. 2018; ../shared/design/LEARNING.md "L2C") over a batch of
 * sets x [B, n, d]:
 *   embedding (identity for 2-D points) → FC (2·hidden) + LeakyReLU(0.3) → `layers`
 *   residual bidirectional LSTMs of `hidden` units per direction (h ← h + BDLSTM(h); the
 *   FC's width 2·hidden makes the sum line up) → per-k heads, a linear map to k label
 *   logits per point for k = 1…k_max; and the count head: a BDLSTM of `countHidden` units,
 *   its outputs at the first and the last point concatenated → FC `countFc` + LeakyReLU →
 *   k_max count logits.
 * The LSTMs are train/nn/lstm.ts's: each direction one `lt.scan`, so the graph does not
 * grow with n. The count head slices the first and last steps, so n is static in a traced
 * graph (inference compiles once per set size; l2c.ts caches them).
 * The paper's network: hidden 144 (FC 288), 14 layers, count head BDLSTM(128), FC 256.
 * Weights are drawn from `seed` (PyTorch's default uniform initialisation).
 */
import { ShapeError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/lt.ts";
import { LSTM } from "../../train/nn/lstm.ts";
import { Linear } from "../../train/nn/linear.ts";
import { Sequential } from "../../train/nn/module.ts";
import type { Parameter } from "../../train/parameter.ts";

export interface L2cArch {
  /** Features per point (2 for 2-D points). */
  readonly d: number;
  readonly kMax: number;
  /** LSTM units per direction; the FC layer has 2·hidden. */
  readonly hidden: number;
  /** Residual BDLSTM layers. */
  readonly layers: number;
  readonly countHidden: number;
  readonly countFc: number;
  readonly seed: number;
}

/** Small enough for tests and quick runs. */
export const L2C_SMALL: Omit<L2cArch, "d" | "seed"> = { kMax: 5, hidden: 32, layers: 2, countHidden: 16, countFc: 32 };
/** The paper's depth and widths. */
export const L2C_PAPER: Omit<L2cArch, "d" | "seed"> = { kMax: 5, hidden: 144, layers: 14, countHidden: 128, countFc: 256 };

/** LeakyReLU slope of the paper's network. */
const LEAK = 0.3;

export interface L2cOutputs {
  /** [B, k_max] */
  readonly countLogits: Tracer;
  /** heads[k−1]: [B, n, k] */
  readonly heads: readonly Tracer[];
}

export class L2cNetwork {
  readonly fc: Linear;
  readonly blocks: readonly LSTM[];
  readonly heads: readonly Linear[];
  readonly countLstm: LSTM;
  readonly countFc: Linear;
  readonly countOut: Linear;
  constructor(readonly arch: L2cArch) {
    const rng = new Rng(arch.seed), w = 2 * arch.hidden;
    this.fc = new Linear(arch.d, w, { rng, name: "l2c.fc" });
    this.blocks = Array.from({ length: arch.layers }, (_, i) => new LSTM(w, arch.hidden, { rng, name: `l2c.bdlstm${i}`, bidirectional: true }));
    this.heads = Array.from({ length: arch.kMax }, (_, i) => new Linear(w, i + 1, { rng, name: `l2c.head${i + 1}` }));
    this.countLstm = new LSTM(w, arch.countHidden, { rng, name: "l2c.count.bdlstm", bidirectional: true });
    this.countFc = new Linear(4 * arch.countHidden, arch.countFc, { rng, name: "l2c.count.fc" });
    this.countOut = new Linear(arch.countFc, arch.kMax, { rng, name: "l2c.count.out" });
  }

  /** Every parameter, in a fixed order (the order saved checkpoints use). */
  parameters(): Parameter[] {
    return new Sequential(this.fc, ...this.blocks, ...this.heads, this.countLstm, this.countFc, this.countOut).parameters();
  }

  apply(x: Tracer): L2cOutputs {
    const { d } = this.arch, n = x.shape[1];
    if (x.rank !== 3 || x.shape[2] !== d || typeof n !== "number" || n < 1) {
      throw new ShapeError(`l2c: input ${x.value.name} must be [sets, n, ${d}] with a static n ≥ 1, got [${x.shape.join(", ")}]`);
    }
    let h = this.fc.forward(x).leakyRelu(LEAK);
    for (const b of this.blocks) h = h.add(b.forward(h));
    const heads = this.heads.map((l) => l.forward(h));
    const c = this.countLstm.forward(h), w = 2 * this.arch.countHidden;
    const first = c.slice([0], [1], [1]).reshape([0, w]), last = c.slice([n - 1], [n], [1]).reshape([0, w]);
    const countLogits = this.countOut.forward(this.countFc.forward(lt.concat([first, last], 1)).leakyRelu(LEAK));
    return { countLogits, heads };
  }
}
