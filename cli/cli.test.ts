// The CLI end to end, as a user runs it: node bin/lathe.mjs <command>.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { CHECKS } from "./doctor-checks.ts";

const BIN = fileURLToPath(new URL("../bin/lathe.mjs", import.meta.url));
const lathe = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });

describe("lathe CLI", () => {
  test("--help lists the registered commands", () => {
    const r = lathe("--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\s+doctor\b/m);
    expect(r.stdout).toMatch(/^\s+bench \[options\] <name>/m);
  });

  test("doctor prints one line per check and exits 0", () => {
    const r = lathe("doctor");
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(CHECKS.length + 1);
    CHECKS.forEach((c, i) => expect(lines[i]).toMatch(new RegExp(`^(ok     |missing)  ${c.name.replace(/[+]/g, "\\+")}\\s`)));
    for (const line of lines.slice(0, -1).filter((l) => l.startsWith("missing"))) expect(line).toMatch(/ — fix: \S/);
    // The test run itself needs these, so they must be there.
    for (const name of ["node", "g++", "native addon"]) expect(lines.find((l) => l.includes(` ${name} `))).toMatch(/^ok /);

    const strict = lathe("doctor", "--strict");
    const anyMissing = lines.some((l) => l.startsWith("missing"));
    expect(strict.status).toBe(anyMissing ? 1 : 0);
  });

  test("bench with an unknown name fails with the list of benchmarks", () => {
    const r = lathe("bench", "no-such-bench");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no benchmark named "no-such-bench" .*available: /);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a diagnosed error, not a stack trace
  });

  test("an unknown command is a usage error", () => {
    const r = lathe("frobnicate");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
