/**
 * The Lathe version a tuner and its workers must share: package.json's version and a hash of
 * the code generator's sources (targets/cpu/fingerprint.ts `sourcesHash`), so two checkouts
 * of one release that build different kernels for a config are told apart.
 * LATHE_TEST_VERSION replaces it (tests start a worker of "another version" with it).
 */
import { readFileSync } from "node:fs";
import { sourcesHash } from "../targets/cpu/fingerprint.ts";

let cached: string | null = null;

export function latheVersion(): string {
  const forced = process.env.LATHE_TEST_VERSION;
  if (forced) return forced;
  if (cached !== null) return cached;
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  cached = `${pkg.version}+${sourcesHash().slice(0, 12)}`;
  return cached;
}
