/** Errors of the job queue: a bad URL, an unreachable or refusing Redis, a bad key or payload, a refused worker. */
import { LatheError } from "../../core/errors.ts";

export class QueueError extends LatheError {
  override name = "QueueError";
}
