/**
 * Barrier insertion for shared memory (TVM's storage sync, simplified): threads of a
 * workgroup fill a shared buffer together and then read what others wrote, so a
 * `barrier` must separate a write of a shared buffer from a later read of it (and a read
 * from a later overwrite). In a sequence, a barrier goes before the first statement that
 * would read after a write (or write after a read) since the last barrier; a serial loop
 * that both writes and reads a shared buffer ends its body with a barrier, so the next
 * iteration's writes wait for this iteration's reads. Conservative: a thread reading only
 * what it wrote itself still gets a barrier.
 */
import type { Expr } from "../../te/expr.ts";
import { visitExpr } from "../../te/expr.ts";
import type { Buffer } from "../../te/buffer.ts";
import type { Pass } from "../pass.ts";
import type { Stmt } from "../stmt.ts";
import { mapStmt, seq, visitStmt } from "../stmt.ts";

const BARRIER: Stmt = { kind: "barrier", scope: "shared" };

interface Access { readonly reads: Set<Buffer>; readonly writes: Set<Buffer>; readonly barrier: boolean }

function sharedAccess(s: Stmt): Access {
  const reads = new Set<Buffer>(), writes = new Set<Buffer>();
  let barrier = false;
  const exprReads = (e: Expr) => visitExpr(e, (x) => { if (x.kind === "load" && x.buffer.scope === "shared") reads.add(x.buffer); });
  visitStmt(s, (x) => {
    switch (x.kind) {
      case "store":
        if (x.buffer.scope === "shared") writes.add(x.buffer);
        x.indices.forEach(exprReads); exprReads(x.value); return;
      case "for": exprReads(x.min); exprReads(x.extent); return;
      case "if": exprReads(x.cond); return;
      case "let": case "evaluate": exprReads(x.value); return;
      case "barrier": barrier = true; return;
      default: return;
    }
  });
  return { reads, writes, barrier };
}

const meets = (a: ReadonlySet<Buffer>, b: ReadonlySet<Buffer>): boolean => [...a].some((x) => b.has(x));

function syncSeq(body: readonly Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  let written = new Set<Buffer>(), read = new Set<Buffer>();
  for (const s of body) {
    const a = sharedAccess(s);
    if (meets(a.reads, written) || meets(a.writes, read)) {
      out.push(BARRIER);
      written = new Set(); read = new Set();
    }
    // A statement with a barrier inside leaves its own accesses pending (an over-approximation).
    if (a.barrier) { written = new Set(a.writes); read = new Set(a.reads); } else {
      a.writes.forEach((b) => written.add(b));
      a.reads.forEach((b) => read.add(b));
    }
    out.push(s);
  }
  return out;
}

function sync(s: Stmt): Stmt {
  const x = mapStmt(s, sync, (e) => e);
  if (x.kind === "seq") return seq(...syncSeq(x.body));
  if (x.kind === "for" && x.forKind !== "thread") {
    const a = sharedAccess(x.body);
    if (meets(a.reads, a.writes)) return { ...x, body: seq(x.body, BARRIER) };
  }
  return x;
}

export const threadSync: Pass = { name: "thread-sync", run: (f) => ({ ...f, body: sync(f.body) }) };
