// Type-tagged handles for native state shared with JS: the tag tells our handles from
// any other object, so misuse is a TypeError rather than a wild pointer.
#ifndef LATHE_NATIVE_HANDLE_H_
#define LATHE_NATIVE_HANDLE_H_

#include <napi.h>

#include <memory>
#include <string>

namespace lathe {

template <typename State>
void FinalizeHolder(napi_env, void* data, void*) {
  delete static_cast<std::shared_ptr<State>*>(data);
}

/** A JS object that keeps `state` alive until it is garbage collected. */
template <typename State>
Napi::Object MakeHandle(Napi::Env env, std::shared_ptr<State> state, const napi_type_tag& tag) {
  Napi::Object obj = Napi::Object::New(env);
  auto* holder = new std::shared_ptr<State>(std::move(state));
  if (napi_wrap(env, obj, holder, FinalizeHolder<State>, nullptr, nullptr) != napi_ok) {
    delete holder;
    throw Napi::Error::New(env, "lathe_native: napi_wrap failed");
  }
  obj.TypeTag(&tag);
  return obj;
}

/** The state behind a handle made by MakeHandle with `tag`; a TypeError naming `what` otherwise. */
template <typename State>
std::shared_ptr<State> UnwrapHandle(const Napi::Value& v, const napi_type_tag& tag, const char* what, const char* kind) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&tag)) {
    throw Napi::TypeError::New(env, std::string(what) + " must be a " + kind + " handle");
  }
  void* data = nullptr;
  if (napi_unwrap(env, v, &data) != napi_ok || data == nullptr) {
    throw Napi::TypeError::New(env, std::string(what) + " is not a live " + kind + " handle");
  }
  return *static_cast<std::shared_ptr<State>*>(data);
}

}  // namespace lathe

#endif  // LATHE_NATIVE_HANDLE_H_
