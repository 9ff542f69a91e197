#include "library.h"

#include "handle.h"

#include <dlfcn.h>

namespace lathe {
namespace {

// Tags of this file's handles (see handle.h).
constexpr napi_type_tag kLibTag = {0x6c617468654c6962ULL, 0x9a3c1f2e7b6d4a01ULL};
constexpr napi_type_tag kKernelTag = {0x6c617468654b726eULL, 0x51e8c0d2a4b73f02ULL};

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

}  // namespace

LibState::~LibState() {
  if (handle != nullptr) dlclose(handle);
}

void LibState::DlcloseIfIdle() {
  if (closed && inflight == 0 && handle != nullptr) {
    dlclose(handle);
    handle = nullptr;
    last_error = nullptr;
    set_num_threads = nullptr;
  }
}

void LibState::ApplyNumThreads() const {
  if (num_threads > 0 && set_num_threads != nullptr) set_num_threads(num_threads);
}

std::shared_ptr<LibState> UnwrapLibrary(const Napi::Value& v, const char* what) {
  return UnwrapHandle<LibState>(v, kLibTag, what, "library");
}

std::shared_ptr<KernelState> UnwrapKernel(const Napi::Value& v, const char* what) {
  return UnwrapHandle<KernelState>(v, kKernelTag, what, "kernel");
}

void CheckOpen(Napi::Env env, const LibState& lib) {
  if (lib.closed) throw Napi::Error::New(env, "library " + lib.path + " is closed");
}

Napi::Value OpenLibrary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "openLibrary: path");
  dlerror();  // clear any stale message
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* err = dlerror();
    throw Napi::Error::New(env, "cannot load library " + path + ": " + (err ? err : "unknown dlopen error"));
  }
  auto lib = std::make_shared<LibState>();
  lib->handle = h;
  lib->path = path;
  lib->last_error = reinterpret_cast<LatheLastErrorFn>(dlsym(h, "lathe_last_error"));
  lib->set_num_threads = reinterpret_cast<LatheSetNumThreadsFn>(dlsym(h, "lathe_set_num_threads"));
  Napi::Object obj = MakeHandle(env, lib, kLibTag);
  obj.Set("path", path);
  return obj;
}

Napi::Value CloseLibrary(const Napi::CallbackInfo& info) {
  auto lib = UnwrapLibrary(info[0], "closeLibrary: lib");
  lib->closed = true;
  lib->DlcloseIfIdle();
  return info.Env().Undefined();
}

Napi::Value GetKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto lib = UnwrapLibrary(info[0], "getKernel: lib");
  std::string name = StringArg(info, 1, "getKernel: name");
  CheckOpen(env, *lib);
  dlerror();
  void* sym = dlsym(lib->handle, name.c_str());
  if (sym == nullptr) {
    throw Napi::Error::New(env, "kernel symbol '" + name + "' not found in library " + lib->path);
  }
  auto k = std::make_shared<KernelState>();
  k->lib = lib;
  k->fn = reinterpret_cast<LatheKernelFn>(sym);
  k->name = name;
  Napi::Object obj = MakeHandle(env, k, kKernelTag);
  obj.Set("name", name);
  return obj;
}

Napi::Value HasSymbol(const Napi::CallbackInfo& info) {
  auto lib = UnwrapLibrary(info[0], "hasSymbol: lib");
  std::string name = StringArg(info, 1, "hasSymbol: name");
  CheckOpen(info.Env(), *lib);
  return Napi::Boolean::New(info.Env(), dlsym(lib->handle, name.c_str()) != nullptr);
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto lib = UnwrapLibrary(info[0], "setNumThreads: lib");
  if (info.Length() < 2 || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "setNumThreads: n must be a number");
  }
  double n = info[1].As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n <= 4096) || n != static_cast<double>(static_cast<int32_t>(n))) {
    throw Napi::RangeError::New(env, "setNumThreads: n must be an integer in [1, 4096]");
  }
  CheckOpen(env, *lib);
  lib->num_threads = static_cast<int32_t>(n);
  lib->ApplyNumThreads();
  return Napi::Boolean::New(env, lib->set_num_threads != nullptr);
}

}  // namespace lathe
