/**
 * vitest globalSetup: every test's temporary files go under one fresh directory, removed when
 * the run ends. Tests make their scratch directories with mkdtemp(os.tmpdir()) and not all
 * remove them (a run left ~600 behind in /tmp); os.tmpdir() reads TMPDIR, which the forked
 * test workers and the compilers and servers they start inherit.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const previous = process.env["TMPDIR"];
  const root = mkdtempSync(join(tmpdir(), "lathe-test-"));
  process.env["TMPDIR"] = root;
  return () => {
    if (previous === undefined) delete process.env["TMPDIR"];
    else process.env["TMPDIR"] = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
