// lathe doctor's redis-server row (the job queue of lathe worker / lathe tune --queue).
import { spawnSync } from "node:child_process";
import { expect, test } from "vitest";
import { CHECKS, redisVersionVerdict } from "./doctor-checks.ts";

test("redis-server is a required check whose fix is the apt package; versions below 6.2 are reported", async () => {
  const row = CHECKS.find((c) => c.name === "redis-server")!;
  expect(row.required).toBe(true);
  expect(row.fix).toBe("apt-get install -y redis-server");
  expect(redisVersionVerdict("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64")).toEqual({ ok: true, detail: "Redis 7.0.15" });
  expect(redisVersionVerdict("Redis server v=6.2.0 sha=0")).toEqual({ ok: true, detail: "Redis 6.2.0" });
  expect(redisVersionVerdict("Redis server v=5.0.14 sha=0")).toEqual({ ok: false, detail: "Redis 5.0.14 is older than 6.2 (BullMQ's recommended minimum)" });
  expect(redisVersionVerdict("garbage").ok).toBe(false);
  const installed = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  const probed = await row.probe();
  if (installed.status === 0) expect(probed).toEqual(redisVersionVerdict(installed.stdout.trim()));
  else expect(probed).toEqual({ ok: false, detail: "redis-server not found" });
});
