import { describe, expect, test } from "vitest";
import { formatOutcome } from "./commands/doctor.ts";
import { runChecks, type Check } from "./doctor-checks.ts";
import { compileAndRun, findFiles, toolVersion } from "./probes.ts";

describe("doctor checks", () => {
  test("outcomes keep table order; a crashing probe is reported, not thrown", async () => {
    const checks: Check[] = [
      { name: "slow", required: true, fix: "none", probe: () => new Promise((r) => setTimeout(() => r({ ok: true, detail: "v1" }), 30)) },
      { name: "boom", required: false, fix: "apt-get install -y boom", probe: () => Promise.reject(new Error("kaput")) },
    ];
    const out = await runChecks(checks);
    expect(out.map((o) => [o.check.name, o.ok, o.detail])).toEqual([["slow", true, "v1"], ["boom", false, "probe crashed: kaput"]]);
    expect(formatOutcome(out[0]!, 5)).toBe("ok       slow   v1");
    expect(formatOutcome(out[1]!, 5)).toBe("missing  boom   probe crashed: kaput (optional) — fix: apt-get install -y boom");
  });

  test("compileAndRun reports the program's output, a compile error, or a missing library", async () => {
    expect(await compileAndRun(`#include <cstdio>\nint main() { std::printf("%d\\n", 6 * 7); }`, [])).toEqual({ ok: true, detail: "42" });
    const noHeader = await compileAndRun(`#include <no_such_header_xyz.h>\nint main() {}`, []);
    expect(noHeader).toEqual({ ok: false, detail: "cannot build a test program: no_such_header_xyz.h: No such file or directory" });
    const noLib = await compileAndRun(`int main() {}`, ["-lno_such_lib_xyz"]);
    expect(noLib.ok).toBe(false);
    expect(noLib.detail).toMatch(/cannot find -lno_such_lib_xyz/);
    expect((await compileAndRun(`int main() { return 3; }`, [])).detail).toBe("probe program failed: exit 3");
  });

  test("toolVersion gives the first line, or says the tool is absent", async () => {
    expect((await toolVersion("g++", ["--version"])).detail).toMatch(/^g\+\+ .*\d+\.\d+\.\d+$/);
    expect(await toolVersion("no-such-tool-xyz", ["--version"])).toEqual({ ok: false, detail: "no-such-tool-xyz not found" });
  });

  test("findFiles respects the depth limit", () => {
    const here = new URL(".", import.meta.url).pathname;
    expect(findFiles(here, /^doctor-checks\.ts$/, 0)).toEqual([`${here}doctor-checks.ts`]);
    expect(findFiles(`${here}..`, /^doctor-checks\.ts$/, 0)).toEqual([]);
    expect(findFiles(`${here}..`, /^doctor-checks\.ts$/, 1)).toHaveLength(1);
  });
});
