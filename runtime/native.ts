/**
 * Typed access to the lathe_native addon: loading generated kernel libraries and
 * calling their kernels on typed arrays without copying.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LatheError, RuntimeError, ShapeError } from "../core/errors.ts";
import type { DType, TypedArray } from "../core/dtype.ts";
import { nativeDType, type NativeDType } from "./dlpack.ts";
import { checkShape, shapeSize } from "./shape.ts";
import { checkArrayFor } from "./typed-array.ts";

export const NATIVE_ADDON_PATH = fileURLToPath(new URL("../build/Release/lathe_native.node", import.meta.url));

/** One kernel argument; a runtime Tensor fits this shape too. */
export interface KernelArg {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Opaque handles made by the addon (type-tagged objects). */
export interface LibHandle {
  readonly path: string;
}
export interface KernelHandle {
  readonly name: string;
}
export interface NativeArg {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: NativeDType;
}

/** The addon's exports (native/src/addon.cc). */
export interface NativeAddon {
  openLibrary(path: string): LibHandle;
  closeLibrary(lib: LibHandle): void;
  getKernel(lib: LibHandle, name: string): KernelHandle;
  hasSymbol(lib: LibHandle, name: string): boolean;
  /** Returns whether the library exports lathe_set_num_threads. */
  setNumThreads(lib: LibHandle, n: number): boolean;
  callKernel(kernel: KernelHandle, args: readonly NativeArg[]): void;
  callKernelAsync(kernel: KernelHandle, args: readonly NativeArg[]): Promise<void>;
}

let addon: NativeAddon | undefined;

/** Loads the addon once; a LatheError says how to build it if it is missing. */
export function loadNative(): NativeAddon {
  if (addon) return addon;
  if (!existsSync(NATIVE_ADDON_PATH)) {
    throw new LatheError(
      `the native addon is not built (${NATIVE_ADDON_PATH} is missing): run \`npm run build:native\` or \`bash scripts/setup.sh\``,
    );
  }
  try {
    addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
  } catch (e) {
    throw new LatheError(`cannot load the native addon ${NATIVE_ADDON_PATH}: ${(e as Error).message}; rebuild it with \`npm run build:native\``);
  }
  return addon;
}

/** Runs a native call, turning its errors into RuntimeError with the same message. */
function native<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof LatheError ? e : new RuntimeError((e as Error).message);
  }
}

function toNativeArgs(args: readonly KernelArg[]): NativeArg[] {
  if (!Array.isArray(args as unknown)) throw new RuntimeError("kernel args must be an array");
  return args.map((a, i) => {
    if (typeof a !== "object" || a === null) throw new RuntimeError(`kernel arg ${i} must be {data, shape, dtype}`);
    checkArrayFor(a.dtype, a.data, `kernel arg ${i}`);
    checkShape(a.shape, `kernel arg ${i} shape`);
    if (shapeSize(a.shape) !== a.data.length) {
      throw new ShapeError(`kernel arg ${i}: shape [${a.shape.join(", ")}] has ${shapeSize(a.shape)} elements but the data has ${a.data.length}`);
    }
    return { data: a.data, shape: a.shape, dtype: nativeDType(a.dtype) };
  });
}

export class NativeKernel {
  /** @internal made by NativeLibrary.kernel */
  constructor(private readonly handle: KernelHandle, readonly name: string) {}

  /** Runs the kernel on the JS thread; throws RuntimeError with the library's message if it fails. */
  call(args: readonly KernelArg[]): void {
    const nargs = toNativeArgs(args);
    native(() => loadNative().callKernel(this.handle, nargs));
  }

  /** Runs the kernel on a libuv worker thread; do not touch, resize or transfer the arrays until the promise settles. */
  async callAsync(args: readonly KernelArg[]): Promise<void> {
    const nargs = toNativeArgs(args);
    const pending = native(() => loadNative().callKernelAsync(this.handle, nargs));
    try {
      await pending;
    } catch (e) {
      throw new RuntimeError((e as Error).message);
    }
  }
}

export class NativeLibrary {
  private constructor(private readonly handle: LibHandle, readonly path: string) {}

  /** dlopens a kernel library; relative paths are relative to the working directory. */
  static open(path: string): NativeLibrary {
    if (typeof path !== "string" || path === "") throw new RuntimeError("NativeLibrary.open needs a file path");
    const abs = resolve(path); // dlopen would search LD_LIBRARY_PATH for a bare name
    const lib = loadNative();
    return new NativeLibrary(native(() => lib.openLibrary(abs)), abs);
  }

  kernel(name: string): NativeKernel {
    return new NativeKernel(native(() => loadNative().getKernel(this.handle, name)), name);
  }

  /** Whether the library exports a symbol of this name. */
  has(name: string): boolean {
    return native(() => loadNative().hasSymbol(this.handle, name));
  }

  /**
   * Sets the kernels' thread count through the library's lathe_set_num_threads; a
   * no-op for a library that does not export it. Applies to async calls as well.
   */
  setNumThreads(n: number): void {
    native(() => loadNative().setNumThreads(this.handle, n));
  }

  /** Unloads the library once no async call is running; later calls throw. */
  close(): void {
    native(() => loadNative().closeLibrary(this.handle));
  }
}
