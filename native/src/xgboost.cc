#include "xgboost.h"

#ifdef LATHE_HAVE_XGBOOST
#include "xgboost_binding.h"
#endif

namespace lathe {

void RegisterXGBoost([[maybe_unused]] Napi::Env env, [[maybe_unused]] Napi::Object exports) {
#ifdef LATHE_HAVE_XGBOOST
  Napi::Object x = Napi::Object::New(env);
  auto add = [&](const char* name, Napi::Function::Callback fn) { x.Set(name, Napi::Function::New(env, fn, name)); };
  add("version", xgb::Version);
  add("dmatrixCreate", xgb::DMatrixCreate);
  add("dmatrixSetFloatInfo", xgb::DMatrixSetFloatInfo);
  add("dmatrixSetUIntInfo", xgb::DMatrixSetUIntInfo);
  add("dmatrixShape", xgb::DMatrixShape);
  add("dmatrixFree", xgb::DMatrixFree);
  add("boosterCreate", xgb::BoosterCreate);
  add("boosterSetParam", xgb::BoosterSetParam);
  add("boosterBoostedRounds", xgb::BoosterBoostedRounds);
  add("boosterNumFeatures", xgb::BoosterNumFeatures);
  add("boosterEval", xgb::BoosterEval);
  add("boosterPredict", xgb::BoosterPredict);
  add("boosterSaveModel", xgb::BoosterSaveModel);
  add("boosterLoadModel", xgb::BoosterLoadModel);
  add("boosterSaveToBuffer", xgb::BoosterSaveToBuffer);
  add("boosterLoadFromBuffer", xgb::BoosterLoadFromBuffer);
  add("boosterFree", xgb::BoosterFree);
  add("boosterTrain", xgb::BoosterTrain);
  exports.Set("xgboost", x);
#endif
}

}  // namespace lathe
