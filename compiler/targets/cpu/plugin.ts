/**
 * The cpu target as a TargetPlugin: the same passes, printer and toolchain as
 * cpu/index.ts, the untuned schedules of lower-group.ts (a template's default config, else
 * schedules/default.ts), the tuning templates of schedules/templates.ts, and host memory
 * as its device. Plugins
 * derived from cpu spread it and add what they change (examples/openblas-target).
 */
import { LatheError } from "../../../core/errors.ts";
import { groupTemplate } from "./schedules/templates.ts";
import { printCppModule } from "../../codegen/cpp/print.ts";
import { defaultGroupSchedule } from "./lower-group.ts";
import { shapeSize } from "../../../runtime/shape.ts";
import type { KernelArg } from "../../../runtime/native.ts";
import type { DType, TypedArray } from "../../../core/dtype.ts";
import { typedArrayFor } from "../../../core/dtype.ts";
import { defineTarget, type DeviceBuffer, type TargetDevice } from "../plugin.ts";
import { hostVectorBytes } from "./host.ts";
import { cpuTarget } from "./index.ts";

/** Host memory: buffers are typed arrays with a shape, which kernels read in place. */
function hostDevice(): TargetDevice {
  const mine = new WeakSet<DeviceBuffer>();
  const own = (b: DeviceBuffer): KernelArg => {
    if (!mine.has(b)) throw new LatheError(`cpu device: buffer ${b.dtype}[${b.shape.join(", ")}] was not allocated by this device`);
    return b as KernelArg;
  };
  return {
    kind: "host",
    alloc(dtype: DType, shape: readonly number[]) {
      const b: KernelArg = { data: typedArrayFor(dtype, shapeSize(shape)), shape: [...shape], dtype };
      mine.add(b);
      return b;
    },
    async upload(dst, src: TypedArray) {
      const d = own(dst).data;
      if (src.length !== d.length) throw new LatheError(`cpu device: upload of ${src.length} elements into a buffer of ${d.length}`);
      d.set(src as never); // same dtype family; typed-array set converts element by element
    },
    async download(src) { return own(src).data.slice(); },
    async launch(mod, fn, args) { await mod.runAsync(fn, args.map(own)); },
    // Launches resolve when their kernel has finished: nothing is ever outstanding.
    async sync() {},
  };
}

export const cpuPlugin = defineTarget({
  name: "cpu",
  description: "C++17 kernels built with g++ (-O3 -march=native, OpenMP) and run in-process",
  passes: cpuTarget.passes,
  codegen: printCppModule,
  build: (funcs, opts) => cpuTarget.build(funcs, opts),
  device: hostDevice(),
  schedule: (s, { outputs, anchor, anchorOp }) => defaultGroupSchedule(s, outputs, anchor, anchorOp, hostVectorBytes()),
  tuning: (s, { outputs, anchor, anchorOp }) => groupTemplate(s, outputs, anchor, anchorOp, hostVectorBytes()),
});
