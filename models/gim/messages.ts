/** Messages between the GIM training threads (async.ts, worker.ts). */
import type { MessagePort } from "node:worker_threads";
import type { ExecutorKind } from "../../train/executable.ts";
import type { GimConfig } from "./config.ts";

/** A batch of module inputs, or the end of the stream. */
export type Item = { readonly kind: "batch"; readonly data: Float32Array; readonly shape: readonly number[] } | { readonly kind: "end" };

export interface WorkerInit {
  /** The TypeScript module worker-boot.mjs loads. */
  readonly module: string;
  readonly cfg: GimConfig;
  readonly index: number;
  readonly executor: ExecutorKind;
  readonly capacity: number;
  readonly upstream: MessagePort;
  readonly downstream: MessagePort | null;
  /** Fail deliberately before this step (0-based), to exercise the failure path. */
  readonly failAtStep: number | null;
}

/** Worker → main thread. */
export type Report =
  | { readonly kind: "ready"; readonly memoryBytes: number }
  | { readonly kind: "done"; readonly losses: readonly number[]; readonly times: readonly number[]; readonly params: readonly Float32Array[] };
