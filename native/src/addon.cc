// lathe_native: loads generated kernel libraries (see native/include/lathe_rt.h)
// and calls their kernels on JS typed arrays without copying.
#include <napi.h>

#include "kernel_call.h"
#include "library.h"
#include "xgboost.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("openLibrary", Napi::Function::New(env, lathe::OpenLibrary, "openLibrary"));
  exports.Set("closeLibrary", Napi::Function::New(env, lathe::CloseLibrary, "closeLibrary"));
  exports.Set("getKernel", Napi::Function::New(env, lathe::GetKernel, "getKernel"));
  exports.Set("hasSymbol", Napi::Function::New(env, lathe::HasSymbol, "hasSymbol"));
  exports.Set("setNumThreads", Napi::Function::New(env, lathe::SetNumThreads, "setNumThreads"));
  exports.Set("callKernel", Napi::Function::New(env, lathe::CallKernel, "callKernel"));
  exports.Set("callKernelAsync", Napi::Function::New(env, lathe::CallKernelAsync, "callKernelAsync"));
  lathe::RegisterXGBoost(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(lathe_native, Init)
