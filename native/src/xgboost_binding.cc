#include "xgboost_binding.h"

#include "handle.h"

#include <cctype>
#include <cmath>
#include <utility>

namespace lathe::xgb {
namespace {

// Tags of this file's handles (see handle.h).
constexpr napi_type_tag kDMatrixTag = {0x6c61746865444d78ULL, 0x3b91d0c47e2a5f03ULL};
constexpr napi_type_tag kBoosterTag = {0x6c61746865427374ULL, 0xc6a4172e95b83d04ULL};

Napi::Value Arg(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() ? info[i] : info.Env().Undefined();
}

void CheckLive(Napi::Env env, const DMatrixState& d, const char* what) {
  if (d.disposed) throw Napi::Error::New(env, std::string(what) + ": the DMatrix has been disposed");
  if (d.inflight > 0) {
    throw Napi::Error::New(env, std::string(what) + ": the DMatrix is in use by a running Booster.train(); await it first");
  }
}

}  // namespace

DMatrixState::~DMatrixState() {
  if (handle != nullptr) XGDMatrixFree(handle);
}

void DMatrixState::FreeIfIdle() {
  if (disposed && inflight == 0 && handle != nullptr) {
    XGDMatrixFree(handle);
    handle = nullptr;
  }
}

BoosterState::~BoosterState() {
  if (handle != nullptr) XGBoosterFree(handle);
}

void BoosterState::FreeIfIdle() {
  if (disposed && !training && handle != nullptr) {
    XGBoosterFree(handle);
    handle = nullptr;
  }
}

std::string LastError() {
  const char* raw = XGBGetLastError();
  std::string text = raw != nullptr ? raw : "";
  size_t cut = text.find("Stack trace:");
  if (cut != std::string::npos) text.resize(cut);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text.empty() ? "(XGBoost gave no message)" : text;
}

void Check(Napi::Env env, int rc, const char* call) {
  if (rc != 0) throw Napi::Error::New(env, std::string("XGBoost ") + call + " failed: " + LastError());
}

Napi::Object WrapDMatrix(Napi::Env env, std::shared_ptr<DMatrixState> state) {
  return MakeHandle(env, std::move(state), kDMatrixTag);
}

Napi::Object WrapBooster(Napi::Env env, std::shared_ptr<BoosterState> state) {
  return MakeHandle(env, std::move(state), kBoosterTag);
}

std::shared_ptr<DMatrixState> DMatrixArg(const Napi::CallbackInfo& info, size_t i, const char* what, bool live) {
  auto d = UnwrapHandle<DMatrixState>(Arg(info, i), kDMatrixTag, what, "DMatrix");
  if (live) CheckLive(info.Env(), *d, what);
  return d;
}

std::shared_ptr<BoosterState> BoosterArg(const Napi::CallbackInfo& info, size_t i, const char* what, bool live) {
  auto b = UnwrapHandle<BoosterState>(Arg(info, i), kBoosterTag, what, "Booster");
  if (!live) return b;
  if (b->disposed) throw Napi::Error::New(info.Env(), std::string(what) + ": the Booster has been disposed");
  if (b->training) {
    throw Napi::Error::New(info.Env(), std::string(what) + ": the Booster is busy in train(); await it first");
  }
  return b;
}

std::vector<std::shared_ptr<DMatrixState>> DMatrixListArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = Arg(info, i);
  if (!v.IsArray()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an array of DMatrix handles");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::shared_ptr<DMatrixState>> out;
  for (uint32_t k = 0; k < a.Length(); ++k) {
    auto d = UnwrapHandle<DMatrixState>(a.Get(k), kDMatrixTag, what, "DMatrix");
    CheckLive(info.Env(), *d, what);
    out.push_back(std::move(d));
  }
  return out;
}

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = Arg(info, i);
  if (!v.IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must not contain NUL characters");
  }
  return s;
}

std::vector<std::string> StringListArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = Arg(info, i);
  if (!v.IsArray()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t k = 0; k < a.Length(); ++k) {
    Napi::Value item = a.Get(k);
    if (!item.IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an array of strings");
    out.push_back(item.As<Napi::String>().Utf8Value());
  }
  return out;
}

int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* what, int64_t lo, int64_t hi) {
  Napi::Value v = Arg(info, i);
  double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(x >= static_cast<double>(lo) && x <= static_cast<double>(hi)) || x != std::floor(x)) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be an integer in [" + std::to_string(lo) + ", " +
                                                std::to_string(hi) + "]");
  }
  return static_cast<int64_t>(x);
}

Napi::TypedArrayOf<float> Float32Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = Arg(info, i);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Float32Array");
  }
  return v.As<Napi::TypedArrayOf<float>>();
}

Napi::TypedArrayOf<uint32_t> Uint32Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  Napi::Value v = Arg(info, i);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Uint32Array");
  }
  return v.As<Napi::TypedArrayOf<uint32_t>>();
}

}  // namespace lathe::xgb
