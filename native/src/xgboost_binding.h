// The XGBoost binding's handles and argument helpers. Compiled only when CMake
// found libxgboost-dev (LATHE_HAVE_XGBOOST).
//
// Threading: every function here runs on the JS thread except TrainWorker::Execute.
// XGBoost boosters are not thread-safe, and DMatrix objects build caches lazily, so
// while train() runs, its booster and every DMatrix it reads refuse other calls;
// dispose() during training is deferred until the training thread lets go.
#ifndef LATHE_NATIVE_XGBOOST_BINDING_H_
#define LATHE_NATIVE_XGBOOST_BINDING_H_

#include <napi.h>
#include <xgboost/c_api.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lathe::xgb {

struct DMatrixState {
  DMatrixHandle handle = nullptr;
  uint64_t rows = 0;
  uint64_t cols = 0;
  int inflight = 0;  // running train() calls that read this matrix
  bool disposed = false;

  ~DMatrixState();
  void FreeIfIdle();
};

struct BoosterState {
  BoosterHandle handle = nullptr;
  bool training = false;
  // Made without a cache or a model: XGBoost 1.7 does not know the column count
  // ("0 feature is supplied"), so the first train() sets num_feature from its data.
  bool needs_num_feature = false;
  std::atomic<bool> disposed{false};  // also read by the training thread, to stop early

  ~BoosterState();
  void FreeIfIdle();
};

// XGBoost's message for the last failed call on this thread, without the stack trace.
std::string LastError();
// Throws a JS Error "XGBoost <call> failed: <XGBoost's message>" when rc != 0.
void Check(Napi::Env env, int rc, const char* call);

Napi::Object WrapDMatrix(Napi::Env env, std::shared_ptr<DMatrixState> state);
Napi::Object WrapBooster(Napi::Env env, std::shared_ptr<BoosterState> state);

// Unwraps a handle made here; a TypeError for anything else. `live` also rejects a
// disposed handle, and one that a running train() uses.
std::shared_ptr<DMatrixState> DMatrixArg(const Napi::CallbackInfo& info, size_t i, const char* what,
                                         bool live = true);
std::shared_ptr<BoosterState> BoosterArg(const Napi::CallbackInfo& info, size_t i, const char* what,
                                         bool live = true);
std::vector<std::shared_ptr<DMatrixState>> DMatrixListArg(const Napi::CallbackInfo& info, size_t i,
                                                          const char* what);

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what);
std::vector<std::string> StringListArg(const Napi::CallbackInfo& info, size_t i, const char* what);
// An integer in [lo, hi].
int64_t IntArg(const Napi::CallbackInfo& info, size_t i, const char* what, int64_t lo, int64_t hi);
Napi::TypedArrayOf<float> Float32Arg(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::TypedArrayOf<uint32_t> Uint32Arg(const Napi::CallbackInfo& info, size_t i, const char* what);

// exports.xgboost.*, one group per file.
Napi::Value Version(const Napi::CallbackInfo& info);
Napi::Value DMatrixCreate(const Napi::CallbackInfo& info);
Napi::Value DMatrixSetFloatInfo(const Napi::CallbackInfo& info);
Napi::Value DMatrixSetUIntInfo(const Napi::CallbackInfo& info);
Napi::Value DMatrixShape(const Napi::CallbackInfo& info);
Napi::Value DMatrixFree(const Napi::CallbackInfo& info);
Napi::Value BoosterCreate(const Napi::CallbackInfo& info);
Napi::Value BoosterSetParam(const Napi::CallbackInfo& info);
Napi::Value BoosterBoostedRounds(const Napi::CallbackInfo& info);
Napi::Value BoosterNumFeatures(const Napi::CallbackInfo& info);
Napi::Value BoosterEval(const Napi::CallbackInfo& info);
Napi::Value BoosterPredict(const Napi::CallbackInfo& info);
Napi::Value BoosterSaveModel(const Napi::CallbackInfo& info);
Napi::Value BoosterLoadModel(const Napi::CallbackInfo& info);
Napi::Value BoosterSaveToBuffer(const Napi::CallbackInfo& info);
Napi::Value BoosterLoadFromBuffer(const Napi::CallbackInfo& info);
Napi::Value BoosterFree(const Napi::CallbackInfo& info);
Napi::Value BoosterTrain(const Napi::CallbackInfo& info);

}  // namespace lathe::xgb

#endif  // LATHE_NATIVE_XGBOOST_BINDING_H_
