/**
 * Whole-file writes that are atomic: the data goes to a temporary file in the same
 * directory, is flushed to disk, and is renamed over the target, so a reader (or a
 * process killed half way) sees the old file or the new one, never a prefix.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { LatheError } from "../core/errors.ts";

/** A fresh temporary path beside `file` (same filesystem, so rename is atomic). */
export const tempPathFor = (file: string): string =>
  join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);

export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = tempPathFor(file);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    const fd = openSync(tmp, "w");
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new LatheError(`cannot write ${file}: ${(e as Error).message}`);
  }
}
