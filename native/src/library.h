// Loaded kernel libraries and the kernels looked up in them, as JS handles.
#ifndef LATHE_NATIVE_LIBRARY_H_
#define LATHE_NATIVE_LIBRARY_H_

#include <napi.h>

#include <memory>
#include <string>

#include "lathe_rt.h"

namespace lathe {

// One dlopen'ed library. Shared by its JS handle, its kernels and in-flight calls,
// so the code stays mapped while anything can still jump into it.
struct LibState {
  void* handle = nullptr;
  std::string path;
  LatheLastErrorFn last_error = nullptr;
  LatheSetNumThreadsFn set_num_threads = nullptr;
  int32_t num_threads = 0;  // 0: never set; re-applied on each calling thread
  int inflight = 0;         // async calls not yet settled
  bool closed = false;      // close() was asked for; dlclose waits for inflight == 0

  ~LibState();
  void DlcloseIfIdle();
  // Called on the thread that runs a kernel: OpenMP thread counts are per thread.
  void ApplyNumThreads() const;
};

struct KernelState {
  std::shared_ptr<LibState> lib;
  LatheKernelFn fn = nullptr;
  std::string name;
};

// Unwraps a handle made by this addon; throws a JS TypeError for anything else.
std::shared_ptr<LibState> UnwrapLibrary(const Napi::Value& v, const char* what);
std::shared_ptr<KernelState> UnwrapKernel(const Napi::Value& v, const char* what);

// Throws a JS Error if the library was closed.
void CheckOpen(Napi::Env env, const LibState& lib);

Napi::Value OpenLibrary(const Napi::CallbackInfo& info);
Napi::Value CloseLibrary(const Napi::CallbackInfo& info);
Napi::Value GetKernel(const Napi::CallbackInfo& info);
Napi::Value HasSymbol(const Napi::CallbackInfo& info);
Napi::Value SetNumThreads(const Napi::CallbackInfo& info);

}  // namespace lathe

#endif  // LATHE_NATIVE_LIBRARY_H_
