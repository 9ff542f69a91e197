/**
 * A bounded queue between two threads over one MessagePort pair: the sender holds
 * `capacity` credits, spends one per message and waits when none is left; the receiver
 * gives a credit back (an ack) once it has finished with a message. So at most `capacity`
 * messages are queued or in work downstream, and a fast module cannot run ahead of a slow
 * one by more than that (memory stays bounded).
 */
import type { MessagePort, TransferListItem } from "node:worker_threads";

interface Ack { readonly kind: "ack" }

export class BoundedSender<T> {
  private credits: number;
  private waiting: (() => void)[] = [];
  constructor(private readonly port: MessagePort, capacity: number) {
    this.credits = capacity;
    port.on("message", (m: Ack) => {
      if (m.kind !== "ack") return;
      this.credits++;
      this.waiting.shift()?.();
    });
  }
  /** Resolves once the message is posted (after waiting for a credit). */
  async send(msg: T, transfer: readonly TransferListItem[] = []): Promise<void> {
    while (this.credits === 0) await new Promise<void>((res) => this.waiting.push(res));
    this.credits--;
    this.port.postMessage(msg, transfer as TransferListItem[]);
  }
  close(): void { this.port.close(); }
}

export class Receiver<T> {
  private readonly buffered: T[] = [];
  private waiting: ((m: T) => void) | null = null;
  constructor(private readonly port: MessagePort) {
    port.on("message", (m: T) => {
      if (this.waiting) { const w = this.waiting; this.waiting = null; w(m); } else this.buffered.push(m);
    });
  }
  next(): Promise<T> {
    const m = this.buffered.shift();
    return m !== undefined ? Promise.resolve(m) : new Promise((res) => { this.waiting = res; });
  }
  /** Done with one message: the sender may post another. */
  ack(): void { this.port.postMessage({ kind: "ack" } satisfies Ack); }
  close(): void { this.port.close(); }
}
