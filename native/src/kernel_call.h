// Calling a kernel: synchronously on the JS thread, or on a libuv worker thread
// with a Promise so long kernels do not block the event loop.
#ifndef LATHE_NATIVE_KERNEL_CALL_H_
#define LATHE_NATIVE_KERNEL_CALL_H_

#include <napi.h>

namespace lathe {

// callKernel(kernel, args): undefined; throws if the kernel returns non-zero.
Napi::Value CallKernel(const Napi::CallbackInfo& info);
// callKernelAsync(kernel, args): Promise<undefined>; rejects if the kernel returns non-zero.
Napi::Value CallKernelAsync(const Napi::CallbackInfo& info);

}  // namespace lathe

#endif  // LATHE_NATIVE_KERNEL_CALL_H_
