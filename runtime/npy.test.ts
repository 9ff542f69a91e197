// .npy reading and writing: round trips, and files written and read by numpy itself.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { LatheError } from "../core/errors.ts";
import { DTYPES } from "../core/dtype.ts";
import { decodeNpy, encodeNpy, readNpy, writeNpy } from "./npy.ts";
import { Tensor } from "./tensor.ts";
import { NEEDS, skipReason } from "../test/helpers/skip.ts";

const PY = "/usr/bin/python3";
const hasNumpy = existsSync(PY) && spawnSync(PY, ["-c", "import numpy"]).status === 0;
const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-npy-"));
const python = (code: string) => {
  const r = spawnSync(PY, ["-c", code], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
};

describe("npy", () => {
  test.each(DTYPES)("round trip %s (shapes: scalar, 1-d, 3-d, empty)", (dtype) => {
    for (const shape of [[], [5], [2, 3, 4], [0, 3]]) {
      const t = Tensor.random(shape, dtype, 3);
      const back = decodeNpy(encodeNpy(t));
      expect(back.dtype).toBe(dtype);
      expect(back.shape).toEqual(shape);
      expect(back.data).toEqual(t.data);
    }
  });

  test("headers are padded to 64 bytes and end in a newline", () => {
    const bytes = encodeNpy(Tensor.zeros([7, 1], "f32"));
    const len = bytes[8]! | (bytes[9]! << 8);
    expect((10 + len) % 64).toBe(0);
    expect(bytes[10 + len - 1]).toBe(0x0a);
  });

  test.runIf(hasNumpy)(skipReason("reads files written by numpy (v1.0, v2.0, v3.0 headers, every dtype)", !hasNumpy && NEEDS.numpy), () => {
    const cases: [string, string][] = [["float16", "f16"], ["float32", "f32"], ["float64", "f64"], ["int8", "i8"], ["uint8", "u8"], ["int32", "i32"], ["int64", "i64"], ["bool", "bool"]];
    python(`
import numpy as np
from numpy.lib import format as F
for i, (t, _) in enumerate(${JSON.stringify(cases)}):
    a = (np.arange(24).reshape(2, 3, 4) * 7 - 60).astype(t) if t != 'bool' else (np.arange(24).reshape(2, 3, 4) % 3 == 0)
    for v in [(1, 0), (2, 0), (3, 0)]:
        with open('${tmp}/np_%s_%d.npy' % (t, v[0]), 'wb') as f:
            F.write_array(f, a, version=v)
np.save('${tmp}/scalar.npy', np.float32(2.5))
`);
    for (const [t, dtype] of cases) {
      for (const v of [1, 2, 3]) {
        const got = readNpy(`${tmp}/np_${t}_${v}.npy`);
        expect(got.dtype).toBe(dtype);
        expect(got.shape).toEqual([2, 3, 4]);
        const want = Array.from({ length: 24 }, (_, i) => (dtype === "bool" ? Number(i % 3 === 0) : i * 7 - 60));
        const wrap = (x: number) => (dtype === "u8" ? ((x % 256) + 256) % 256 : dtype === "i8" ? ((((x + 128) % 256) + 256) % 256) - 128 : x);
        expect(got.toArray()).toEqual(want.map(wrap));
      }
    }
    const s = readNpy(`${tmp}/scalar.npy`);
    expect(s.shape).toEqual([]);
    expect(s.toArray()).toEqual([2.5]);
  });

  test.runIf(hasNumpy)(skipReason("numpy reads what Lathe writes", !hasNumpy && NEEDS.numpy), () => {
    const ts = DTYPES.map((d, i) => Tensor.random([3, 2], d, i + 1));
    ts.forEach((t) => writeNpy(`${tmp}/lathe_${t.dtype}.npy`, t));
    const out = python(`
import numpy as np, json
print(json.dumps({d: [str(a.dtype), list(a.shape), a.astype('float64').ravel().tolist()] for d in ${JSON.stringify(DTYPES)} for a in [np.load('${tmp}/lathe_' + d + '.npy')]}))
`);
    const got = JSON.parse(out) as Record<string, [string, number[], number[]]>;
    const npName: Record<string, string> = { f16: "float16", f32: "float32", f64: "float64", i8: "int8", u8: "uint8", i32: "int32", i64: "int64", bool: "bool" };
    for (const t of ts) {
      const [dt, shape, values] = got[t.dtype]!;
      expect(dt).toBe(npName[t.dtype]);
      expect(shape).toEqual([3, 2]);
      expect(values).toEqual(t.toArray());
    }
  });

  describe("bad files get a LatheError naming the file", () => {
    const header = (dict: string) => {
      const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
      const h = dict + " ".repeat(total - 11 - dict.length) + "\n";
      const b = new Uint8Array(total);
      b.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
      b[8] = h.length & 0xff; b[9] = h.length >> 8;
      b.set(new TextEncoder().encode(h), 10);
      return b;
    };
    const bad = (name: string, bytes: Uint8Array) => {
      const file = `${tmp}/${name}.npy`;
      writeFileSync(file, bytes);
      let err: unknown;
      try { readNpy(file); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(LatheError);
      expect((err as Error).message).toContain(file);
      return (err as Error).message;
    };
    test("fortran order", () => {
      expect(bad("fortran", header("{'descr': '<f4', 'fortran_order': True, 'shape': (0,), }"))).toMatch(/fortran_order/);
    });
    test("big-endian", () => {
      expect(bad("big", header("{'descr': '>f4', 'fortran_order': False, 'shape': (0,), }"))).toMatch(/big-endian/);
    });
    test("unsupported dtype", () => {
      expect(bad("complex", header("{'descr': '<c8', 'fortran_order': False, 'shape': (0,), }"))).toMatch(/unsupported dtype '<c8'/);
    });
    test("truncated data and truncated header", () => {
      const full = encodeNpy(Tensor.random([4, 4], "f32", 1));
      expect(bad("trunc", full.subarray(0, full.length - 1))).toMatch(/truncated data: shape \[4, 4\] of f32 needs 64 bytes, the file has 63/);
      expect(bad("trunc-header", full.subarray(0, 40))).toMatch(/truncated header/);
    });
    test("not npy at all, and a missing file", () => {
      expect(bad("text", new TextEncoder().encode("hello world, not numpy"))).toMatch(/not a \.npy file/);
      expect(() => readNpy(`${tmp}/nope.npy`)).toThrow(/cannot read .*nope\.npy/);
    });
  });

  test("writeNpy leaves no temporary file behind", () => {
    writeNpy(`${tmp}/clean.npy`, Tensor.zeros([2], "i32"));
    expect(readFileSync(`${tmp}/clean.npy`).length).toBe(128 + 8);
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });
});
