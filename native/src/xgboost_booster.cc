// Booster: create with parameters, evaluate, predict, save and load; train() is in
// xgboost_train.cc.
#include <cstring>
#include <utility>

#include "xgboost_binding.h"

namespace lathe::xgb {
namespace {

void SetParam(Napi::Env env, BoosterState& b, const std::string& key, const std::string& value) {
  Check(env, XGBoosterSetParam(b.handle, key.c_str(), value.c_str()), "XGBoosterSetParam");
  if (key == "num_feature") b.needs_num_feature = false;
}

std::vector<DMatrixHandle> Handles(const std::vector<std::shared_ptr<DMatrixState>>& ds) {
  std::vector<DMatrixHandle> out;
  for (const auto& d : ds) out.push_back(d->handle);
  return out;
}

}  // namespace

// version(): [major, minor, patch] of the libxgboost in use.
Napi::Value Version(const Napi::CallbackInfo& info) {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  Napi::Array v = Napi::Array::New(info.Env(), 3);
  v.Set(0u, major);
  v.Set(1u, minor);
  v.Set(2u, patch);
  return v;
}

// boosterCreate(cache: DMatrix[], keys: string[], values: string[]): handle.
// Parameters are set in order; XGBoost checks them when it first trains or predicts.
Napi::Value BoosterCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto cache = DMatrixListArg(info, 0, "boosterCreate: cache");
  auto keys = StringListArg(info, 1, "boosterCreate: keys");
  auto values = StringListArg(info, 2, "boosterCreate: values");
  if (keys.size() != values.size()) throw Napi::RangeError::New(env, "boosterCreate: keys and values differ in length");
  auto b = std::make_shared<BoosterState>();
  std::vector<DMatrixHandle> handles = Handles(cache);
  Check(env, XGBoosterCreate(handles.data(), handles.size(), &b->handle), "XGBoosterCreate");
  b->needs_num_feature = cache.empty();
  for (size_t i = 0; i < keys.size(); ++i) SetParam(env, *b, keys[i], values[i]);
  return WrapBooster(env, std::move(b));
}

// boosterSetParam(b, key, value).
Napi::Value BoosterSetParam(const Napi::CallbackInfo& info) {
  auto b = BoosterArg(info, 0, "boosterSetParam: b");
  SetParam(info.Env(), *b, StringArg(info, 1, "boosterSetParam: key"), StringArg(info, 2, "boosterSetParam: value"));
  return info.Env().Undefined();
}

// boosterBoostedRounds(b): rounds trained so far (also counts a loaded model's).
Napi::Value BoosterBoostedRounds(const Napi::CallbackInfo& info) {
  auto b = BoosterArg(info, 0, "boosterBoostedRounds: b");
  int rounds = 0;
  // Asking XGBoost would configure the booster, which fails before it knows the features.
  if (b->needs_num_feature) return Napi::Number::New(info.Env(), 0);
  Check(info.Env(), XGBoosterBoostedRounds(b->handle, &rounds), "XGBoosterBoostedRounds");
  return Napi::Number::New(info.Env(), rounds);
}

// boosterNumFeatures(b): the feature count the model expects.
Napi::Value BoosterNumFeatures(const Napi::CallbackInfo& info) {
  auto b = BoosterArg(info, 0, "boosterNumFeatures: b");
  bst_ulong n = 0;
  Check(info.Env(), XGBoosterGetNumFeature(b->handle, &n), "XGBoosterGetNumFeature");
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

// boosterEval(b, iteration, dmats: DMatrix[], names: string[]): "[iteration]\tname-metric:value…".
Napi::Value BoosterEval(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto b = BoosterArg(info, 0, "boosterEval: b");
  int iteration = static_cast<int>(IntArg(info, 1, "boosterEval: iteration", 0, INT32_MAX));
  auto dmats = DMatrixListArg(info, 2, "boosterEval: dmats");
  auto names = StringListArg(info, 3, "boosterEval: names");
  if (dmats.size() != names.size()) throw Napi::RangeError::New(env, "boosterEval: dmats and names differ in length");
  std::vector<DMatrixHandle> handles = Handles(dmats);
  std::vector<const char*> cnames;
  for (const auto& n : names) cnames.push_back(n.c_str());
  const char* out = nullptr;
  Check(env, XGBoosterEvalOneIter(b->handle, iteration, handles.data(), cnames.data(), handles.size(), &out),
        "XGBoosterEvalOneIter");
  return Napi::String::New(env, out != nullptr ? out : "");
}

// boosterPredict(b, d, outputMargin: boolean): Float32Array (a copy; XGBoost owns its buffer).
Napi::Value BoosterPredict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto b = BoosterArg(info, 0, "boosterPredict: b");
  auto d = DMatrixArg(info, 1, "boosterPredict: d");
  bool margin = info.Length() > 2 && info[2].ToBoolean().Value();
  const char* config = margin
      ? R"({"type": 1, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})"
      : R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* result = nullptr;
  Check(env, XGBoosterPredictFromDMatrix(b->handle, d->handle, config, &shape, &dims, &result),
        "XGBoosterPredictFromDMatrix");
  size_t n = 1;
  for (bst_ulong i = 0; i < dims; ++i) n *= shape[i];
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  if (n > 0) std::memcpy(out.Data(), result, n * sizeof(float));
  return out;
}

// boosterSaveModel(b, path): the format follows the extension (.json or .ubj).
Napi::Value BoosterSaveModel(const Napi::CallbackInfo& info) {
  auto b = BoosterArg(info, 0, "boosterSaveModel: b");
  std::string path = StringArg(info, 1, "boosterSaveModel: path");
  Check(info.Env(), XGBoosterSaveModel(b->handle, path.c_str()), "XGBoosterSaveModel");
  return info.Env().Undefined();
}

// boosterLoadModel(b, path): replaces b's model; set parameters (nthread) afterwards.
Napi::Value BoosterLoadModel(const Napi::CallbackInfo& info) {
  auto b = BoosterArg(info, 0, "boosterLoadModel: b");
  std::string path = StringArg(info, 1, "boosterLoadModel: path");
  Check(info.Env(), XGBoosterLoadModel(b->handle, path.c_str()), "XGBoosterLoadModel");
  b->needs_num_feature = false;
  return info.Env().Undefined();
}

// boosterSaveToBuffer(b, format: "json" | "ubj"): Uint8Array.
Napi::Value BoosterSaveToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto b = BoosterArg(info, 0, "boosterSaveToBuffer: b");
  std::string format = StringArg(info, 1, "boosterSaveToBuffer: format");
  if (format != "json" && format != "ubj") throw Napi::RangeError::New(env, "boosterSaveToBuffer: format must be \"json\" or \"ubj\"");
  std::string config = "{\"format\": \"" + format + "\"}";
  bst_ulong len = 0;
  const char* data = nullptr;
  Check(env, XGBoosterSaveModelToBuffer(b->handle, config.c_str(), &len, &data), "XGBoosterSaveModelToBuffer");
  Napi::ArrayBuffer bytes = Napi::ArrayBuffer::New(env, len);
  if (len > 0) std::memcpy(bytes.Data(), data, len);
  return Napi::Uint8Array::New(env, len, bytes, 0);
}

// boosterLoadFromBuffer(b, bytes: Uint8Array): a model saved as JSON or UBJ.
Napi::Value BoosterLoadFromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto b = BoosterArg(info, 0, "boosterLoadFromBuffer: b");
  if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "boosterLoadFromBuffer: bytes must be a Uint8Array");
  }
  Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
  if (bytes.ElementLength() == 0) throw Napi::Error::New(env, "boosterLoadFromBuffer: the model buffer is empty");
  Check(env, XGBoosterLoadModelFromBuffer(b->handle, bytes.Data(), bytes.ElementLength()), "XGBoosterLoadModelFromBuffer");
  b->needs_num_feature = false;
  return env.Undefined();
}

// boosterFree(b): later calls with b throw; a running train() stops after its current round.
Napi::Value BoosterFree(const Napi::CallbackInfo& info) {
  auto b = BoosterArg(info, 0, "boosterFree: b", /*live=*/false);
  b->disposed = true;
  b->FreeIfIdle();
  return info.Env().Undefined();
}

}  // namespace lathe::xgb
