/** Tuning run ids: job ids derive from them (protocol.ts measureJobId). */
import { createHash, randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";

/**
 * The run of a tuning log: the same log path on the same tuner host, tuning for the same
 * device key, is the same run, so a restarted tuner finds its jobs again. No log: a fresh run.
 */
export function runIdFor(log: string | undefined, device: string): string {
  if (log === undefined) return randomBytes(8).toString("hex");
  return createHash("sha256").update(`${hostname()}\0${resolve(log)}\0${device}`).digest("hex").slice(0, 16);
}
