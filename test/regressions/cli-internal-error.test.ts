// A non-Lathe error (a bug) escaping a command used to reach Node with its stack trace. It
// prints one line and exits non-zero now; LATHE_DEBUG adds the stack.
import { Command } from "commander";
import { afterEach, describe, expect, test, vi } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { lathe } from "../helpers/cli.ts";

// `lathe te` stands in for any command: its action throws what the argument asks for.
vi.mock("../../cli/commands/te.ts", () => ({
  teCommand: () => new Command("te").argument("<what>").action((what: string) => {
    if (what === "lathe") throw new LatheError("a diagnosed problem in model.lg:3:1");
    if (what === "string") throw "a thrown string";
    throw new TypeError("Cannot read properties of undefined (reading 'shape')\nsecond line");
  }),
}));

afterEach(() => { delete process.env.LATHE_DEBUG; });

describe("lathe main: errors", () => {
  test("a TypeError prints one line (no stack) and exits 2", async () => {
    const r = await lathe("te", "bug");
    expect(r.code).toBe(2);
    expect(r.err).toBe("lathe: TypeError: Cannot read properties of undefined (reading 'shape') second line (an internal error; LATHE_DEBUG=1 prints its stack)");
    expect(r.err).not.toMatch(/\n/);
  });

  test("a thrown non-Error is one line too", async () => {
    const r = await lathe("te", "string");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^lathe: Error: a thrown string \(an internal error; /);
  });

  test("LATHE_DEBUG adds the stack after the line", async () => {
    process.env.LATHE_DEBUG = "1";
    const r = await lathe("te", "bug");
    expect(r.code).toBe(2);
    const lines = r.err.split("\n");
    expect(lines[0]).toMatch(/^lathe: TypeError: Cannot read properties/);
    expect(lines.some((l) => /^\s+at /.test(l))).toBe(true);
  });

  test("a LatheError is unchanged: one line, exit 1", async () => {
    const r = await lathe("te", "lathe");
    expect(r.code).toBe(1);
    expect(r.err).toBe("lathe: LatheError: a diagnosed problem in model.lg:3:1");
  });
});
