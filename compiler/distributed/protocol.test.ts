// The queue's payload checks, device keys, URLs and job ids, without a Redis server.
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../graph/builder.ts";
import { extractTasks, taskSpec, type TaskSpec } from "../autotune/task.ts";
import { MAX_PAYLOAD_BYTES, measureJobId, validatePayload, type MeasureJob } from "./protocol.ts";
import { KNOWN_DEVICE_KEYS, parseDeviceKey, webgpuDeviceKey } from "./device-key.ts";
import { parseQueueUrl, redact } from "./queue-url.ts";
import { stubCost } from "./stub.ts";
import { QueueError } from "./errors.ts";

function matmulTask(n: number): TaskSpec {
  const b = new GraphBuilder();
  return taskSpec(extractTasks(b.build([b.op1("matmul", [b.input("A", [n, n]), b.input("B", [n, n])])]), "cpu")[0]!);
}

const task = matmulTask(16);
const good: MeasureJob = { kind: "measure", version: "0.1.0+abc", run: "0123456789abcdef", task, config: { tile_m: 4, vec: "on" }, repeats: 3, minRepeatMs: 50, flush: true };
const opts = { target: "cpu", acceptStub: false, benches: ["gemm", "queue"] };
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe("validatePayload", () => {
  test("a measure job of a real task passes whole and equals what was sent", () => {
    expect(validatePayload("measure", clone(good), opts)).toEqual(good);
  });

  test("each malformed field is named", () => {
    // any: each case reaches into nested fields of a copy to break one.
    const cases: [string, (j: Record<string, any>) => void, RegExp][] = [
      ["unknown field", (j) => { j.command = "rm -rf /"; }, /payload has unknown field command/],
      ["path as task", (j) => { j.task = "../../etc/passwd"; }, /payload\.task is not an object/],
      ["unknown op", (j) => { j.task.nodes[0].op = "system"; }, /nodes\[0\]\.op "system" is not an op/],
      ["task key that does not hash", (j) => { j.task.key = "cpu/matmul/0000000000000000"; }, /payload\.task\.key .* is not the key of the task/],
      ["shape changed under the same key", (j) => { j.task.types[0].shape = [16, 17]; j.task.inputs[0].shape = [16, 17]; }, /is not the key of the task/],
      ["huge tensor", (j) => { j.task.types[0].shape = [1 << 20, 1 << 20]; }, /shape\[0\] is not an integer|more than/],
      ["bad dtype", (j) => { j.task.types[0].dtype = "f128"; }, /types\[0\]\.dtype is not one of/],
      ["index out of range", (j) => { j.task.nodes[0].inputs = [99]; }, /nodes\[0\]\.inputs\[0\] is not an integer in \[0, 2\]/],
      ["repeats", (j) => { j.repeats = 1e9; }, /payload\.repeats is not an integer in \[1, 100\]/],
      ["config value", (j) => { j.config.tile_m = { $gt: 1 }; }, /payload\.config\.tile_m is not a string/],
      ["config key", (j) => { j.config["../x"] = 1; }, /payload\.config key/],
      ["version", (j) => { j.version = "1.0; rm"; }, /payload\.version/],
      ["run", (j) => { j.run = "ZZ"; }, /payload\.run/],
      ["kind differs from the job's name", (j) => { j.kind = "bench"; }, /payload\.kind is not "measure"/],
    ];
    for (const [what, change, msg] of cases) {
      const j = clone(good) as unknown as Record<string, any>;
      change(j);
      expect(() => validatePayload("measure", j, opts), what).toThrow(msg);
      expect(() => validatePayload("measure", j, opts), what).toThrow(QueueError);
    }
    for (const junk of [null, "garbage", 42, [1, 2]]) expect(() => validatePayload("measure", junk, opts)).toThrow(/payload is not an object/);
  });

  test("an oversized payload is refused before it is read", () => {
    const big = { ...clone(good), config: { pad: "x".repeat(MAX_PAYLOAD_BYTES) } };
    expect(() => validatePayload("measure", big, opts)).toThrow(/job payload of 25[67] KiB is larger than the 256 KiB limit/);
  });

  test("job kinds: stub jobs only where accepted, benches only by the worker's names", () => {
    const stub = { kind: "measure-stub", version: "1", run: "0123456789abcdef", task: { key: task.key }, config: { a: 1 }, delayMs: 10 };
    expect(() => validatePayload("measure-stub", stub, opts)).toThrow(/job kind "measure-stub" is not one this worker runs \(measure, bench\)/);
    expect(validatePayload("measure-stub", stub, { ...opts, acceptStub: true })).toEqual(stub);
    expect(() => validatePayload("exec", { cmd: "sh" }, opts)).toThrow(/job kind "exec" is not one/);
    const bench = { kind: "bench", version: "1", name: "gemm", quick: true };
    expect(validatePayload("bench", bench, opts)).toEqual(bench);
    expect(() => validatePayload("bench", { ...bench, name: "../../x" }, opts)).toThrow(/payload\.name .* does not match/);
    expect(() => validatePayload("bench", { ...bench, name: "conv2d" }, opts)).toThrow(/"conv2d" is not a benchmark of this worker \(gemm, queue\)/);
    expect(() => validatePayload("measure", { ...clone(good), task: { ...clone(task), target: "webgpu" } }, opts)).toThrow(/payload\.task\.target is not "cpu"/);
  });
});

describe("device keys, URLs, job ids", () => {
  test("known keys parse; anything else is one error listing them", () => {
    expect(parseDeviceKey("cpu/x86-64-avx2")).toEqual({ key: "cpu/x86-64-avx2", target: "cpu", variant: "x86-64-avx2" });
    expect(parseDeviceKey("vta/verilator").target).toBe("vta");
    expect(parseDeviceKey(webgpuDeviceKey("Google SwiftShader Device (Subzero)")).key).toBe("webgpu/google-swiftshader-device-subzero");
    for (const k of ["cpu/avx2", "cpu/x86-64-avx3", "gpu/x", "vta/fpga", "cpu/x86-64-avx2/extra", "webgpu/", "webgpu/Big Name"]) {
      expect(() => parseDeviceKey(k), k).toThrow(`unknown device key "${k}" (known: ${KNOWN_DEVICE_KEYS.join(", ")})`);
    }
  });

  test("queue URLs: redis and rediss only, passwords never printed", () => {
    expect(parseQueueUrl("rediss://:s3cret@10.0.0.2:6380/2")).toEqual({ url: "rediss://:s3cret@10.0.0.2:6380/2", display: "rediss://:***@10.0.0.2:6380/2", tls: true });
    expect(redact("redis://user:pw@h:1")).toBe("redis://user:***@h:1");
    expect(() => parseQueueUrl("http://h:1")).toThrow(/scheme must be redis: or rediss:/);
    expect(() => parseQueueUrl("redis://:pw@h/etc/passwd")).toThrow(/redis:\/\/:\*\*\*@h\/etc\/passwd: the path must be a database number/);
    expect(() => parseQueueUrl("not a url")).toThrow(/is not a URL/);
  });

  test("job ids are a function of run, fingerprint, task and config (key order aside)", () => {
    const a = measureJobId("r1", "fp", "t", { x: 1, y: "a" });
    expect(measureJobId("r1", "fp", "t", { y: "a", x: 1 })).toBe(a);
    expect(a).toMatch(/^m-[0-9a-f]{32}$/);
    for (const other of [measureJobId("r2", "fp", "t", { x: 1, y: "a" }), measureJobId("r1", "fp2", "t", { x: 1, y: "a" }), measureJobId("r1", "fp", "t", { x: 2, y: "a" })]) expect(other).not.toBe(a);
  });

  test("the stub cost is deterministic and a bowl: its minimum over a knob is where the closed form puts it", () => {
    expect(stubCost("t", { a: 3 })).toBe(stubCost("t", { a: 3 }));
    // Knob "a" (char code 97, 97 % 4 = 1) is smallest where log2(1 + v) = 1, i.e. v = 1.
    const costs = [0, 1, 2, 3, 7].map((v) => stubCost("t", { a: v }));
    expect(costs.indexOf(Math.min(...costs))).toBe(1);
    expect(stubCost("t", { a: 1 }) / stubCost("u", { a: 1 })).not.toBe(1);
  });
});
