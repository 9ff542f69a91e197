/**
 * The queue's address: `redis://[[user]:password@]host[:port][/db]`, or `rediss://…` for TLS.
 * The URL goes to ioredis as it is (it reads the password and turns TLS on for rediss); this
 * module checks its form, hides the password in messages, and turns the first connection's
 * failures into one line each: an unreachable host within a bounded time, a wrong or
 * missing password.
 */
import { Redis } from "ioredis";
import { QueueError } from "./errors.ts";

/** How long the first connection may take before "no answer" (default). */
export const CONNECT_TIMEOUT_MS = 5000;

export interface QueueUrl {
  readonly url: string;
  /** The URL with its password replaced by "***", for messages and logs. */
  readonly display: string;
  readonly tls: boolean;
}

export function parseQueueUrl(url: string): QueueUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueError(`queue URL "${url}" is not a URL (expected redis://[:password@]host[:port] or rediss://… for TLS)`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new QueueError(`queue URL ${redact(url)}: scheme must be redis: or rediss: (TLS), got ${u.protocol}`);
  if (u.hostname === "") throw new QueueError(`queue URL ${redact(url)} names no host`);
  if (u.pathname !== "" && u.pathname !== "/" && !/^\/\d+$/.test(u.pathname)) throw new QueueError(`queue URL ${redact(url)}: the path must be a database number, got ${u.pathname}`);
  return { url, display: redact(url), tls: u.protocol === "rediss:" };
}

/** The URL with its password (if any) replaced by "***". */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}

/**
 * Options for the long-lived connections (BullMQ's and the registry's) after checkQueue
 * passed: they reconnect without limit, so a Redis restarted mid-run is waited for, and
 * commands issued meanwhile are queued (maxRetriesPerRequest null, as BullMQ's workers need).
 */
export interface ConnectionOptions {
  readonly url: string;
  readonly connectTimeout: number;
  readonly maxRetriesPerRequest: null;
  readonly retryStrategy: (times: number) => number;
}

export function connectionOptions(q: QueueUrl): ConnectionOptions {
  return {
    url: q.url,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}

/** A plain ioredis client on the queue (for the worker registry and run sets). */
export function redisClient(q: QueueUrl, onError: (e: Error) => void): Redis {
  const { url, ...opts } = connectionOptions(q);
  const r = new Redis(url, opts);
  r.on("error", onError); // without a listener an 'error' event would end the process
  return r;
}

/** The one line a failed first connection is reported as. */
function describe(q: QueueUrl, e: Error & { code?: string }, timeoutMs: number): string {
  const m = e.message ?? String(e);
  if (/WRONGPASS|invalid password|invalid username-password/i.test(m)) return `the queue at ${q.display} refused the password (${m.split("\n")[0]})`;
  if (/NOAUTH/i.test(m)) return `the queue at ${q.display} needs a password: put it in the URL, redis://:PASSWORD@host:port`;
  if (e.code === "ECONNREFUSED") return `cannot reach the queue at ${q.display}: connection refused (is redis-server running and bound to that address?)`;
  if (e.code === "ECONNRESET") return `cannot use the queue at ${q.display}: the server closed the connection (a TLS port? then use rediss://)`;
  if (e.code === "ENOTFOUND" || e.code === "EAI_AGAIN") return `cannot reach the queue at ${q.display}: host not found`;
  if (e.code === "ETIMEDOUT" || /timed? ?out/i.test(m)) return `cannot reach the queue at ${q.display}: no answer within ${(timeoutMs / 1000).toFixed(1)} s`;
  if (/certificate|self[- ]signed|SSL|TLS/i.test(m)) return `cannot use the queue at ${q.display}: TLS: ${m.split("\n")[0]} (a private CA: NODE_EXTRA_CA_CERTS=/path/ca.pem)`;
  return `cannot use the queue at ${q.display}: ${m.split("\n")[0]}`;
}

/**
 * Connects once, authenticates and pings, all within `timeoutMs`; a QueueError of one line
 * otherwise. Called before anything else touches the queue, so that a typo in the URL or a
 * wrong password is reported at once instead of retried for ever by the long-lived clients.
 */
export async function checkQueue(q: QueueUrl, timeoutMs: number = CONNECT_TIMEOUT_MS): Promise<void> {
  const client = new Redis(q.url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  let last: (Error & { code?: string }) | null = null;
  client.on("error", (e: Error) => { last = e; });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })), timeoutMs);
  });
  try {
    await Promise.race([client.connect().then(() => client.ping()), deadline]);
  } catch (e) {
    // The socket's own error (ECONNREFUSED, WRONGPASS) says more than "Connection is closed".
    const err = (last ?? e) as Error & { code?: string };
    const why = last && /closed/i.test((e as Error).message ?? "") ? last : (e as Error & { code?: string });
    throw new QueueError(describe(q, /NOAUTH|WRONGPASS/.test(err.message) ? err : why, timeoutMs));
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
